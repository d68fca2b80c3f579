// The file analysis's stages on literals: the placed query captures, the scope map they give, the facts,
// and the token fallback (same facts without a tree), each with exact output.

import { describe, expect, it } from 'vitest';
import { getParser, getQueries, placeCaptures } from '../src/parse/captures.js';
import { mapScopes } from '../src/parse/scope-map.js';
import { analyzeSource, type AnalyzerConfig } from '../src/parse/analyze.js';
import { analyzeTokens } from '../src/parse/token-fallback.js';
import { bindItems } from '../src/parse/token-items.js';
import { lex } from '../src/parse/lexer.js';
import { emptySummary } from '../src/parse/summary.js';

const cfg: AnalyzerConfig = { attributeNames: [], methodNames: [], queries: [] };
const SRC = [
  'use std::fs;', // 1
  'mod a { fn f() { use std::env; } }', // 2
  'impl S { fn m() {} }', // 3
  '#[cfg(test)]', // 4
  'mod t { fn g() { std::process::exit(1); } }', // 5
  'fn h() { unsafe { fs::read("x"); } }', // 6
].join('\n');

function stages(source: string) {
  const root = getParser().parse(source).rootNode;
  const caps = placeCaptures(getQueries(cfg, source).base, root);
  return { root, caps };
}

describe('captures', () => {
  it('are placed: items in impls dropped, declarations told file / module / member apart', () => {
    const { caps } = stages(SRC);
    const line = (o: number) => SRC.slice(0, o).split('\n').length;
    expect(caps.filter((c) => ['use', 'mod', 'item', 'impl'].includes(c.name)).map((c) => `${line(c.start)} ${c.name} ${c.at ?? `parent=${c.parent?.type}`}`)).toEqual([
      '1 use file',
      '2 mod file',
      '2 item mod',
      '2 use parent=block',
      '3 impl parent=undefined',
      '5 mod file',
      '5 item mod',
      '6 item file',
    ]);
  });
});

describe('scope map', () => {
  it('gives each inline module and each declaring block a scope, and marks cfg(test) ranges', () => {
    const { caps } = stages(SRC);
    const summary = emptySummary();
    const map = mapScopes(caps, SRC.length, summary);
    expect(summary.scopes).toEqual([
      { id: 0, parent: -1, kind: 'file', name: null },
      { id: 1, parent: 0, kind: 'mod', name: 'a' },
      { id: 2, parent: 1, kind: 'block', name: null },
      { id: 3, parent: 0, kind: 'mod', name: 't' },
    ]);
    const at = (needle: string) => SRC.indexOf(needle);
    expect([at('use std::fs'), at('use std::env'), at('fn f'), at('std::process'), at('fs::read')].map(map.scopeAt)).toEqual([0, 2, 1, 3, 0]);
    expect([at('std::process'), at('fs::read')].map((o) => map.testRanges.contains(o))).toEqual([true, false]);
    expect([...map.modBodies.values()]).toEqual([1, 3]);
    expect(summary.testOnly).toBe(false);
  });
});

describe('facts', () => {
  it('bindings, refs and unsafe of the tree; cfg(test) code dropped without --all-targets', () => {
    const s = analyzeSource(SRC, cfg, { keepTests: false, procMacro: false, buildScript: false, test: false });
    expect(s.bindings.map((b) => `${b.scope} ${b.kind} ${b.name} ${b.target?.join('::') ?? '-'} :${b.line}`)).toEqual([
      '0 use fs std::fs :1',
      '0 mod a - :2',
      '1 item f - :2',
      '2 use env std::env :2',
      '0 item h - :6',
    ]);
    expect(s.refs.map((r) => `${r.scope} ${r.segs.join('::')} ${r.line}:${r.column} ${r.arg ?? '-'}`)).toEqual(['0 fs::read 6:19 x']);
    expect(s.syntax.map((h) => `${h.construct} ${h.line}:${h.column}`)).toEqual(['unsafe-block 6:10']);
    // the cfg(test) module is inline: no file to mark as test code, nothing listed
    expect(s.mods).toEqual([{ name: 'a', scope: 0, body: 1, pathAttr: null, line: 2 }]);
    expect(s.problems).toEqual([]);
  });
});

describe('token fallback', () => {
  it('finds the same uses, refs and unsafe without a tree, and lists why', () => {
    const s = analyzeTokens('use std::fs;\nfn h() { unsafe { fs::read("x"); } }\n', cfg, [], 'test-reason: analysed as tokens');
    expect(s.bindings.map((b) => `${b.scope} ${b.kind} ${b.name} ${b.target?.join('::')} :${b.line}`)).toEqual(['0 use fs std::fs :1']);
    expect(s.refs.map((r) => `${r.segs.join('::')} ${r.line}:${r.column} ${r.how}`)).toEqual(['fs::read 2:19 token']); // a function's own name where it is declared (`fn h(`) is not a use (issue 14: a foreign fn's declaration is not its call)
    expect(s.syntax.map((h) => `${h.construct} ${h.line}:${h.column}`)).toEqual(['unsafe-block 2:10']);
    expect(s.problems).toEqual([{ line: 1, reason: 'test-reason: analysed as tokens' }]);
  });

  it('token items: mod declarations with #[path] and cfg(test), inline bodies as scopes', () => {
    const text = 'mod unix; #[path = "w.rs"] mod win; #[cfg(test)] mod t; mod inl { mod deep; }';
    const summary = emptySummary();
    bindItems(lex(text, 0, text.length), 0, summary, () => ({ line: 3 }), false);
    expect(summary.mods).toEqual([
      { name: 'unix', scope: 0, body: -1, pathAttr: null, line: 3, macro: true },
      { name: 'win', scope: 0, body: -1, pathAttr: 'w.rs', line: 3, macro: true },
      { name: 't', scope: 0, body: -1, pathAttr: null, line: 3, test: true, macro: true },
      { name: 'inl', scope: 0, body: 1, pathAttr: null, line: 3, macro: true },
      { name: 'deep', scope: 1, body: -1, pathAttr: null, line: 3, macro: true },
    ]);
    expect(summary.bindings.map((b) => `${b.scope} ${b.name} mod=${b.mod}`)).toEqual(['0 unix mod=0', '0 win mod=1', '0 inl mod=3', '1 deep mod=4']);
  });
});
