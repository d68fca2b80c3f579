// Per-file analysis: parse with tree-sitter-rust, run one native query for the node kinds the engine
// needs, and reduce the file to a FileSummary. Nothing here walks every node from JS.

import { createRequire } from 'node:module';
import { isUtf8 } from 'node:buffer';
import type ParserT from 'tree-sitter';
import { lex, lexInto, Tok, type Token } from './lexer.js';
import { MAX_PATH_SEGS, parseUseTree, scanTokens, type TokenSink } from './tokens.js';
import { emptySummary, type FactContext, type FileSummary, type Scope } from './summary.js';
import { fileIndicators } from '../indicators/file.js';
import { includeBytesTargets } from '../indicators/package-indicators.js';

const require = createRequire(import.meta.url);
const Parser = require('tree-sitter') as typeof ParserT;
const Rust = require('tree-sitter-rust') as ParserT.Language;

type Node = ParserT.SyntaxNode;

export interface AnalyzerConfig {
  /** Attribute names rules care about. */
  attributeNames: string[];
  /** Method names of trait-method rules. */
  methodNames: string[];
  /** Rule-supplied tree-sitter queries (capture `@match`). */
  queries: { rule: string; query: string }[];
}

export interface FileOptions {
  /** Keep cfg(test) code (marked ctx 'test') instead of dropping it. */
  keepTests: boolean;
  /** The file belongs to a proc-macro crate: quote! bodies are generated code. */
  procMacro: boolean;
  /** The file is part of a build script. */
  buildScript: boolean;
  /** The whole file is test code (a tests/ or benches/ target, or a cfg(test) module). */
  test: boolean;
  /**
   * Analyse the file as tokens only (no syntax tree), listing this reason as unanalyzed: the fallback
   * for a file a limit keeps off the tree path (nothing is dropped, it is only analysed more cheaply).
   */
  tokensOnly?: string;
}

/** Files larger than this are not parsed (reported as unanalyzed). */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

const ITEM_KINDS = ['struct_item', 'enum_item', 'union_item', 'trait_item', 'function_item', 'const_item', 'static_item', 'macro_definition'];

const BASE_QUERY = [
  '(use_declaration) @use',
  '(extern_crate_declaration) @extern_crate',
  '(mod_item) @mod',
  '(type_item) @alias',
  // items that declare names; whether one sits in a file, a module body or a block (not an impl or trait)
  // is checked in JS: 24 parent-context patterns cost ~15% of the query on the corpus
  `[${ITEM_KINDS.map((k) => `(${k})`).join(' ')}] @item`,
  '(scoped_identifier) @path',
  '(call_expression function: (identifier) @ident)',
  '(generic_function function: (identifier) @ident)',
  '(arguments (identifier) @ident)',
  '(let_declaration value: (identifier) @ident)',
  '(static_item value: (identifier) @ident)',
  '(const_item value: (identifier) @ident)',
  // paths that are not values: the module path of a type (`std::fs::File` as a type), `pub(in a::b)`
  '(scoped_type_identifier path: (scoped_identifier) @skip)',
  '(visibility_modifier (scoped_identifier) @skip)',
  '(macro_invocation) @macro',
  '(macro_definition) @macro_def',
  '(attribute_item) @attr',
  '(inner_attribute_item) @attr',
  '(unsafe_block) @unsafe_block',
  '(function_item (function_modifiers) @fn_mods)',
  '(impl_item "unsafe" @unsafe_impl)',
  '(trait_item "unsafe" @unsafe_trait)',
  '(foreign_mod_item) @extern_block',
  '(impl_item) @impl',
  '(ERROR) @error',
].join('\n');

// Patterns only a file whose text could match gets (each capture is a JS object with a native finalizer;
// these two were ~25% of all captures on the corpus, nearly all useless):
/** String literals, kept only when they hold a build directive (`"cargo:…"`, escapes not decoded). */
const STRING_QUERY = ['(string_literal) @str', '(raw_string_literal) @str'].join('\n');
/** Calls of trait methods the rules name; `#any-of?` is checked in JS on every method call's name. */
const methodQuery = (names: string[]) =>
  `(call_expression function: (field_expression field: (field_identifier) @method (#any-of? @method ${names.map((n) => JSON.stringify(n)).join(' ')})))`;

/** First string-literal argument of calls: `TcpStream::connect("host:443")`. */
// (The callee is looked up from the argument: a @callee capture in the pattern came back for every call
// of the file, matched or not: 80k captures for 3.6k string arguments on 3000 corpus files.)
const CALL_ARG_QUERY = `(call_expression arguments: (arguments . [(string_literal) (raw_string_literal)] @callarg))`;
const CALLEE_TYPES = new Set(['scoped_identifier', 'identifier']);

let parser: ParserT | null = null;
const queryCache = new Map<string, { base: ParserT.Query; rules: { rule: string; q: ParserT.Query }[] }>();
const configKeys = new WeakMap<AnalyzerConfig, string>();

/** The query for a file: the base patterns, plus the string and method patterns when its text could match them. */
function getQueries(cfg: AnalyzerConfig, source: string) {
  let cfgKey = configKeys.get(cfg);
  if (cfgKey === undefined) configKeys.set(cfg, (cfgKey = JSON.stringify(cfg)));
  const strings = source.includes('cargo:');
  const methods = cfg.methodNames.some((n) => source.includes(n));
  const key = `${+strings}${+methods}${cfgKey}`;
  let q = queryCache.get(key);
  if (!q) {
    // one query, one pass over the tree: every extra query would walk the whole tree again
    const patterns = [BASE_QUERY, CALL_ARG_QUERY];
    if (strings) patterns.push(STRING_QUERY);
    if (methods) patterns.push(methodQuery(cfg.methodNames));
    q = {
      base: new Parser.Query(Rust, patterns.join('\n')),
      rules: cfg.queries.map((r) => ({ rule: r.rule, q: new Parser.Query(Rust, r.query) })),
    };
    queryCache.set(key, q);
  }
  return q;
}

export function getParser(): ParserT {
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(Rust);
  }
  return parser;
}

/** Decode file bytes; invalid UTF-8 is replaced and reported. */
export function decodeSource(buf: Buffer, summaryProblems: { line: number; reason: string }[]): string {
  if (!isUtf8(buf)) summaryProblems.push({ line: 1, reason: 'invalid-utf8' });
  return buf.toString('utf8');
}

class LineIndex {
  private starts: number[] = [0];
  constructor(text: string) {
    let i = text.indexOf('\n');
    while (i >= 0) {
      this.starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
  }
  /** Offset where a 1-based line starts. */
  lineStart(line: number): number {
    return this.starts[Math.min(Math.max(line - 1, 0), this.starts.length - 1)]!;
  }
  pos(offset: number): { line: number; column: number } {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - s[lo]! + 1 };
  }
}

interface Range {
  start: number;
  end: number;
}

/** Sorted, possibly nested ranges; `contains` answers in O(log n). */
class RangeSet {
  private list: Range[] = [];
  private sorted = true;
  add(r: Range) {
    this.list.push(r);
    this.sorted = false;
  }
  get size() {
    return this.list.length;
  }
  contains(offset: number): boolean {
    if (this.list.length === 0) return false;
    if (!this.sorted) {
      this.list.sort((a, b) => a.start - b.start || b.end - a.end);
      // merge into disjoint ranges
      const merged: Range[] = [];
      for (const r of this.list) {
        const last = merged[merged.length - 1];
        if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
        else merged.push({ ...r });
      }
      this.list = merged;
      this.sorted = true;
    }
    let lo = 0;
    let hi = this.list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.list[mid]!;
      if (offset < r.start) hi = mid - 1;
      else if (offset >= r.end) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

function withCtx<T extends object>(fact: T, ctx: FactContext | undefined): T {
  if (ctx) (fact as { ctx?: FactContext }).ctx = ctx;
  return fact;
}

function unquote(text: string): string {
  // string_literal / raw_string_literal text → contents (escapes kept)
  const m = /^(?:b|c)?r?(#*)"([\s\S]*)"\1$/.exec(text);
  return m ? m[2]! : text;
}

function tokensOf(text: string, start: number, end: number): Token[] {
  return lex(text, start, end);
}

function segsOf(text: string, start: number, end: number): { segs: string[]; global: boolean } {
  const toks = tokensOf(text, start, end);
  return segsOfTokens(toks, 0, toks.length);
}

/** Path segments of toks[from, to): generic arguments dropped; `<T>::m` is T::m and `<T as Trait>::m` is Trait::m. */
function segsOfTokens(toks: Token[], from: number, to: number): { segs: string[]; global: boolean } {
  const segs: string[] = [];
  let global = false;
  let depth = 0;
  let i = from;
  const punct = (t: Token | undefined, v: string) => t !== undefined && t.t === Tok.Punct && t.v === v;
  if (punct(toks[i], '<')) {
    // qualified path: the trait's path when there is one (the rules name trait methods), else the type's
    let j = i + 1;
    let asAt = -1;
    for (let d = 1; j < to; j++) {
      const t = toks[j]!;
      if (punct(t, '<')) d++;
      else if (punct(t, '>') && --d === 0) break;
      else if (d === 1 && t.t === Tok.Ident && t.v === 'as') asAt = j;
    }
    const inner = segsOfTokens(toks, asAt >= 0 ? asAt + 1 : i + 1, j);
    segs.push(...inner.segs);
    global = inner.global;
    i = j + 1;
  }
  for (let k = i; k < to; k++) {
    const t = toks[k]!;
    if (punct(t, '<')) depth++;
    else if (punct(t, '>')) depth--;
    else if (depth === 0 && t.t === Tok.Ident && segs.length < MAX_PATH_SEGS) segs.push(t.v === '$crate' ? 'crate' : t.v);
    else if (depth === 0 && t.t === Tok.PathSep && k === from) global = true;
  }
  return { segs, global };
}

const TEST_ATTRS = new Set(['test', 'bench']);
const PATH_ATTR = /^#\[\s*path\s*=\s*"((?:[^"\\]|\\.)*)"\s*\]$/;
const CFG_ATTR_PATH = /^#\[\s*cfg_attr\s*\([\s\S]*,\s*path\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?\s*\)\s*\]$/;

function isCfgTest(args: string): boolean {
  const a = args.replace(/\s+/g, '');
  if (a === '(test)') return true;
  if (a.startsWith('(all(')) {
    const inner = a.replace(/not\([^()]*\)/g, '');
    return /[(,]test[,)]/.test(inner);
  }
  return false;
}

const ITEM_SKIP_BEFORE = new Set(['attribute_item', 'line_comment', 'block_comment']);

function nextItem(n: Node): Node | null {
  let s = n.nextNamedSibling;
  while (s && ITEM_SKIP_BEFORE.has(s.type)) s = s.nextNamedSibling;
  return s;
}

/** Captures that declare names (bound in the scope that holds them). */
const DECLARATIONS = new Set(['use', 'extern_crate', 'alias', 'item', 'mod']);
/** Captures that can hold declarations. */
const CONTAINERS = new Set(['item', 'mod', 'impl', 'extern_block', 'error']);

/** An item directly in a file, an inline module body or a block (not an impl, trait or extern block). */
function inNameScope(p: Node | null): boolean {
  if (!p) return false;
  const t = p.type;
  if (t === 'source_file' || t === 'block') return true;
  return t === 'declaration_list' && p.parent?.type === 'mod_item';
}

const ITEM_PARENTS = new Set(['source_file', 'declaration_list', 'block']);

/**
 * The item (child of a file, module body or block) that contains a node, for nodes given in document
 * order. node.parent walks down from the root through every sibling on the way (quadratic on a flat file of
 * broken statements: 1,500 `Err(err)` lines took 30 s); one tree cursor moving forward instead visits each
 * node a bounded number of times over the whole file.
 */
class ItemLocator {
  private cursor: ParserT.TreeCursor;
  /** The cursor's ancestors and itself: [type, start, end]. */
  private path: { type: string; start: number; end: number }[] = [];
  constructor(root: Node) {
    this.cursor = root.walk();
    this.path.push({ type: root.type, start: root.startIndex, end: root.endIndex });
  }
  private top() {
    return this.path[this.path.length - 1]!;
  }
  private sync() {
    const c = this.cursor;
    const t = this.top();
    t.type = c.nodeType;
    t.start = c.startIndex;
    t.end = c.endIndex;
  }
  private up(): boolean {
    if (this.path.length <= 1 || !this.cursor.gotoParent()) return false;
    this.path.pop();
    return true;
  }
  /** The item node that contains n (n itself when it is one, the root when n is the root). */
  itemOf(n: Node): Node {
    const s = n.startIndex;
    const e = n.endIndex;
    const type = n.type;
    const c = this.cursor;
    // back up to a node that contains n (the cursor only ever moves forward between calls)
    for (;;) {
      const t = this.top();
      if (t.start <= s && e <= t.end) break;
      if (t.end <= s && this.path.length > 1 && c.gotoNextSibling()) {
        this.sync();
        continue;
      }
      if (!this.up()) break;
    }
    // down to n
    while (!(this.top().start === s && this.top().end === e && this.top().type === type)) {
      if (!c.gotoFirstChild()) break;
      this.path.push({ type: c.nodeType, start: c.startIndex, end: c.endIndex });
      let found = false;
      for (;;) {
        const t = this.top();
        if (t.start <= s && e <= t.end) {
          found = true;
          break;
        }
        if (t.start > s || !c.gotoNextSibling()) break;
        this.sync();
      }
      if (!found) {
        this.up();
        break;
      }
    }
    // the item: the ancestor whose parent is a file, module body or block
    let i = this.path.length - 1;
    while (i > 0 && !ITEM_PARENTS.has(this.path[i - 1]!.type)) i--;
    while (this.path.length - 1 > i) this.up();
    return c.currentNode;
  }
}

/** The bindings of the `use` tree at toks[i] (the `use` keyword), in `scope`. */
function bindUseAt(toks: Token[], i: number, scope: number, summary: FileSummary, line: number): void {
  for (const b of parseUseTree(toks, i + 1).bindings) {
    summary.bindings.push({ scope, name: b.name, kind: b.glob ? 'glob' : 'use', target: b.target, global: b.global, line });
  }
}

/** `use` declarations found in a token sequence bind names in `scope`. */
function bindUses(toks: Token[], scope: number, summary: FileSummary, pos: (o: number) => { line: number }): void {
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const prev = toks[i - 1]?.v;
    if (t.t === Tok.Ident && t.v === 'use' && (i === 0 || prev === ';' || prev === '}' || prev === '{' || prev === 'pub' || prev === ')')) {
      bindUseAt(toks, i, scope, summary, pos(t.s).line);
    }
  }
}

/**
 * Items a token sequence declares: `use` bindings, and `mod` declarations (with `#[path]` and
 * `#[cfg(test)]`; inline `mod a { mod b; }` gets a scope, so `b` is looked up under `a/`), which the
 * crate scanner follows like any other. For item-level macro invocations (`cfg_if!`, tokio's
 * `cfg_net!`) and broken regions: without it their modules were scanned as "unreferenced" files,
 * outside the crate's module tree (35% of the real workspace's findings).
 */
function bindItems(toks: Token[], scope0: number, summary: FileSummary, pos: (o: number) => { line: number }, inTest: boolean): void {
  const punct = (t: Token | undefined, v: string) => t !== undefined && t.t === Tok.Punct && t.v === v;
  // an item starts after `;`, a brace, an attribute's `]`, a visibility
  const startsItem = (i: number) => {
    const prev = toks[i - 1];
    return !prev || (prev.t === Tok.Punct && (prev.v === ';' || prev.v === '{' || prev.v === '}' || prev.v === ']' || prev.v === ')')) || (prev.t === Tok.Ident && prev.v === 'pub');
  };
  const open: { scope: number; depth: number; test: boolean }[] = [];
  let depth = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.t === Tok.Punct) {
      if (t.v === '{') depth++;
      else if (t.v === '}') {
        depth--;
        while (open.length > 0 && open[open.length - 1]!.depth > depth) open.pop();
      }
      continue;
    }
    if (t.t !== Tok.Ident || !startsItem(i)) continue;
    const inner = open[open.length - 1];
    const scope = inner ? inner.scope : scope0;
    if (t.v === 'use') {
      bindUseAt(toks, i, scope, summary, pos(t.s).line);
      continue;
    }
    if (t.v !== 'mod' || toks[i + 1]?.t !== Tok.Ident) continue;
    const inlineBody = punct(toks[i + 2], '{');
    if (!inlineBody && !punct(toks[i + 2], ';')) continue;
    const attrs = attributesBefore(toks, i);
    const test = inTest || (inner?.test ?? false) || attrs.test;
    const name = toks[i + 1]!.v;
    const line = pos(t.s).line;
    let body = -1;
    if (inlineBody) {
      body = summary.scopes.length;
      summary.scopes.push({ id: body, parent: scope, kind: 'mod', name });
      open.push({ scope: body, depth: depth + 1, test });
    }
    const modIndex = summary.mods.length;
    for (const pathAttr of attrs.paths.length > 0 && !inlineBody ? attrs.paths : [null]) {
      summary.mods.push(test ? { name, scope, body, pathAttr, line, test: true, macro: true } : { name, scope, body, pathAttr, line, macro: true });
    }
    if (!test) summary.bindings.push({ scope, name, kind: 'mod', target: null, global: false, line, mod: modIndex });
  }
}

/** `#[path = "…"]` and `#[cfg(test)]` among the attributes (and visibility) right before toks[i]. */
function attributesBefore(toks: Token[], i: number): { paths: string[]; test: boolean } {
  const punct = (t: Token | undefined, v: string) => t !== undefined && t.t === Tok.Punct && t.v === v;
  let j = i - 1;
  if (toks[j]?.t === Tok.Ident && toks[j]!.v === 'pub') j--;
  else if (punct(toks[j], ')')) {
    let k = j;
    while (k >= 0 && !punct(toks[k], '(')) k--;
    if (toks[k - 1]?.t === Tok.Ident && toks[k - 1]!.v === 'pub') j = k - 2;
  }
  const paths: string[] = [];
  let test = false;
  while (punct(toks[j], ']')) {
    let k = j;
    let depth = 0;
    for (; k >= 0; k--) {
      if (punct(toks[k], ']')) depth++;
      else if (punct(toks[k], '[') && --depth === 0) break;
    }
    if (k < 1 || !punct(toks[k - 1], '#')) break;
    const body = toks.slice(k + 1, j);
    const n = body.length;
    if (body[0]?.v === 'path' && punct(body[1], '=') && body[2]?.t === Tok.Str) paths.push(body[2].v.replace(/\\\\/g, '\\'));
    // #[cfg_attr(pred, path = "…")]: the path is the last argument
    const [pa, eq, str] = [body[n - 4], body[n - 3], body[n - 2]];
    if (body[0]?.v === 'cfg_attr' && pa?.v === 'path' && punct(eq, '=') && str?.t === Tok.Str && punct(body[n - 1], ')')) paths.push(str.v.replace(/\\\\/g, '\\'));
    if (body[0]?.v === 'cfg' && isCfgTest(body.slice(1).map((x) => x.v).join(''))) test = true;
    j = k - 2;
  }
  return { paths: paths.reverse(), test };
}

/**
 * Files nested deeper than this are analysed as tokens only: tree-sitter's queries slow down
 * super-linearly on pathological nesting (100k nested blocks: minutes in native code), and no real
 * crate comes near it.
 */
export const MAX_NESTING = 10_000;

/** Maximum bracket nesting depth (strings and comments not excluded: an upper bound is enough). */
export function maxNesting(source: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
  }
  return max;
}

/**
 * Files with more tokens than this (a cheap linear estimate, see estimateTokens) are analysed as tokens:
 * tree-sitter's tree costs ~300-600 bytes of native memory per token and its parse slows down
 * super-linearly on long flat or deep runs (`a+a+…+a`, 4M tokens: 2.4 GiB). The largest real file of the
 * Debian corpus (encoding_rs data.rs) has 0.8M.
 */
export const MAX_TREE_TOKENS = 1_200_000;

/** Tokens per batch of the token-level pass (memory bound: a batch's tokens are dropped before the next). */
export const TOKEN_BATCH = 200_000;

/**
 * Upper estimate of the tokens (and so of the syntax-tree leaves) of a text: each run of word characters
 * and each other non-blank character counts one; stops counting past `limit`.
 */
export function estimateTokens(source: string, limit = Infinity): number {
  let n = 0;
  let word = false;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    const w = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
    if (w) {
      if (!word && ++n > limit) return n;
    } else if (c !== 32 && c !== 10 && c !== 9 && c !== 13 && ++n > limit) return n;
    word = w;
  }
  return n;
}

/**
 * Files whose longest operator chain exceeds this are analysed as tokens: a chain of N `.`/`::`/binary
 * operators is a syntax tree N levels deep without any bracket nesting (`a.b().b()…`, `a::a::…`,
 * `a+a+…`), and tree-sitter's query slows down quadratically with depth (10k chained calls: 4.6 s).
 */
export const MAX_CHAIN = 4_000;

/**
 * Upper estimate of the operator-chain depth of a text: operator characters (`.`, `:`, `+`, `-`, `*`, `/`,
 * `%`, `^`, `&`, `|`, `<`, `>`, `=`, `!`, `?`) counted along an expression, a `,` `;` `{` or `}` ending
 * the chain at its bracket level (a `(`/`[` opens a level, its close returns to the outer chain).
 * String literals, char literals and comments are skipped. Stops past `limit`.
 */
export function chainDepth(source: string, limit = Infinity): number {
  const levels: number[] = [0];
  let sum = 0;
  let max = 0;
  const n = source.length;
  for (let i = 0; i < n; i++) {
    const c = source.charCodeAt(i);
    switch (c) {
      case 34: // "
        for (i++; i < n && source.charCodeAt(i) !== 34; i++) if (source.charCodeAt(i) === 92) i++;
        break;
      case 39: // '
        if (source.charCodeAt(i + 1) === 92) {
          const e = source.indexOf("'", i + 3);
          if (e > 0 && e - i <= 12) i = e;
        } else if (source.charCodeAt(i + 2) === 39) i += 2;
        break;
      case 47: // /
        if (source.charCodeAt(i + 1) === 47) {
          const e = source.indexOf('\n', i);
          i = e < 0 ? n : e;
        } else if (source.charCodeAt(i + 1) === 42) {
          const e = source.indexOf('*/', i + 2);
          i = e < 0 ? n : e + 1;
        } else if (++levels[levels.length - 1]! > 0 && ++sum > max && (max = sum) > limit) return max;
        break;
      case 40: // (
      case 91: // [
        levels.push(0);
        break;
      case 41: // )
      case 93: // ]
        if (levels.length > 1) sum -= levels.pop()!;
        break;
      case 44: // ,
      case 59: // ;
      case 123: // {
      case 125: // }
        sum -= levels[levels.length - 1]!;
        levels[levels.length - 1] = 0;
        break;
      case 46: case 58: case 43: case 45: case 42: case 37: case 94: case 38: case 124: case 60: case 62: case 61: case 33: case 63:
        levels[levels.length - 1]!++;
        if (++sum > max && (max = sum) > limit) return max;
        break;
    }
  }
  return max;
}

/** Why a text is kept off the syntax tree (analysed as tokens), or null. */
export function treeGuard(source: string): string | null {
  // nesting deeper than MAX_NESTING needs more opening brackets than a shorter file has characters
  const depth = source.length <= MAX_NESTING ? 0 : maxNesting(source);
  if (depth > MAX_NESTING) return `nesting-too-deep (${depth} levels): analysed as tokens`;
  if (source.length > MAX_CHAIN) {
    const d = chainDepth(source, MAX_CHAIN);
    if (d > MAX_CHAIN) return `expression-too-deep (over ${MAX_CHAIN} chained operators): analysed as tokens`;
  }
  if (source.length > MAX_TREE_TOKENS) {
    const n = estimateTokens(source, MAX_TREE_TOKENS);
    if (n > MAX_TREE_TOKENS) return `too-many-tokens (over ${MAX_TREE_TOKENS}): analysed as tokens`;
  }
  return null;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? '').slice(0, 200);
}

export function analyzeSource(source: string, cfg: AnalyzerConfig, opts: FileOptions, problems: { line: number; reason: string }[] = []): FileSummary {
  let reason = opts.tokensOnly ?? treeGuard(source);
  if (reason === null) {
    try {
      return analyzeTree(source, cfg, opts, problems);
    } catch (e) {
      // the tree or the query path failed (stack overflow, native error…): nothing is dropped, the file is
      // analysed again as tokens
      reason = `analysis-failed (${firstLine(e)}): analysed as tokens`;
    }
  }
  return analyzeTokens(source, cfg, problems, reason);
}

/**
 * Token-level analysis of a whole file (paths, macros, unsafe, extern blocks, attributes, uses), listing
 * `reason` as unanalyzed. Linear; tokens are lexed and scanned in batches of TOKEN_BATCH cut after a `;`
 * or `}`, so memory stays bounded whatever the file's size.
 */
export function analyzeTokens(source: string, cfg: AnalyzerConfig, problems: { line: number; reason: string }[], reason: string): FileSummary {
  const summary = emptySummary();
  summary.problems.push(...problems);
  summary.problems.push({ line: 1, reason });
  const lines = new LineIndex(source);
  const pos = (o: number) => lines.pos(o);
  const sink: TokenSink = {
    summary,
    source,
    scope: 0,
    ctx: undefined,
    generated: false,
    pos,
    attributeNames: new Set([...cfg.attributeNames, 'cfg', 'test', 'bench', 'path']),
    methodNames: new Set(cfg.methodNames),
  };
  for (let at = 0; at < source.length; ) {
    const toks: Token[] = [];
    const next = lexInto(source, at, source.length, toks, TOKEN_BATCH);
    at = next > at ? next : source.length;
    bindUses(toks, 0, summary, pos);
    scanTokens(toks, sink);
  }
  return summary;
}

/**
 * Time a file's parse may take (microseconds): tree-sitter's error recovery is super-linear on some broken
 * inputs (58 KB of `"#d` repeated: ~40 s), so a parse over 2 s plus 0.5 µs per byte (8 MiB: ~6 s; the
 * largest real files parse in well under a second) is stopped and the file gets the token pass.
 */
export function parseBudgetMicros(bytes: number): number {
  return 2_000_000 + Math.ceil(bytes / 2);
}

function analyzeTree(source: string, cfg: AnalyzerConfig, opts: FileOptions, problems: { line: number; reason: string }[]): FileSummary {
  const summary = emptySummary();
  summary.problems.push(...problems);
  const lines = new LineIndex(source);
  const p = getParser();
  const budget = parseBudgetMicros(source.length);
  p.setTimeoutMicros(budget);
  const tree = p.parse(source) as ParserT.Tree | null;
  if (!tree) {
    // a parse over budget returns null and would resume on the next call: start afresh
    p.reset();
    throw new Error(`parse over its ${(budget / 1e6).toFixed(1)} s budget`);
  }
  const root = tree.rootNode;
  const qs = getQueries(cfg, source);
  const attributeNames = new Set([...cfg.attributeNames, 'cfg', 'test', 'bench', 'path']);
  const methodNames = new Set(cfg.methodNames);

  // ---- pass 1: collect captures by category
  type Cap = { name: string; node: Node; start: number; end: number; parent?: Node | null; at?: 'file' | 'mod' | 'member'; itemLevel?: boolean };
  const all: Cap[] = [];
  let hasError = false;
  for (const c of qs.base.captures(root)) {
    const node = c.node;
    if (c.name === 'error') hasError = true;
    all.push({ name: c.name, node, start: node.startIndex, end: node.endIndex });
  }
  // Where each declaration sits. node.parent is a native walk down from the root and makes a JS node with
  // a finalizer; the enclosing captured item tells the common cases apart without it: no enclosing item is
  // the file, an inline module is its body, an impl or extern block is a member. Only a declaration
  // inside another item (a block, a trait) or in a file with ERROR nodes asks for its parent.
  const caps: Cap[] = [];
  const open: Cap[] = [];
  for (const c of all) {
    if (c.name === 'macro') {
      // an invocation where items go (a file or an inline module body): what it wraps are items
      // (`cfg_if! { if #[cfg(unix)] { mod unix; pub use unix::*; } }`)
      while (open.length > 0 && open[open.length - 1]!.end <= c.start) open.pop();
      const top = open[open.length - 1];
      if (hasError) {
        const p = c.node.parent;
        c.itemLevel = p !== null && (p.type === 'source_file' || (p.type === 'declaration_list' && p.parent?.type === 'mod_item'));
      } else c.itemLevel = !top || top.name === 'mod';
    }
    const decl = DECLARATIONS.has(c.name);
    if (decl || CONTAINERS.has(c.name)) {
      while (open.length > 0 && open[open.length - 1]!.end <= c.start) open.pop();
      if (decl) {
        const top = open[open.length - 1];
        if (hasError || (top && top.name !== 'mod' && top.name !== 'impl' && top.name !== 'extern_block')) c.parent = c.node.parent;
        else c.at = !top ? 'file' : top.name === 'mod' ? 'mod' : 'member';
      }
      if (CONTAINERS.has(c.name)) open.push(c);
    }
    if (c.name === 'item' && !(c.at ? c.at !== 'member' : inNameScope(c.parent!))) continue;
    caps.push(c);
  }

  // scopes: file, inline module bodies, and blocks that declare names
  interface ScopeRange extends Range {
    id: number;
  }
  const scopeRanges: ScopeRange[] = [{ id: 0, start: 0, end: source.length + 1 }];
  const blockScopeByStart = new Map<number, number>();
  const newScope = (kind: Scope['kind'], name: string | null, start: number, end: number): number => {
    const id = summary.scopes.length;
    summary.scopes.push({ id, parent: -1, kind, name });
    scopeRanges.push({ id, start, end });
    return id;
  };

  // Blocks that declare names get a scope. (node.parent is O(depth) in tree-sitter, cheap at real nesting
  // depths; a query pattern for such blocks measured ~6% of the analysis on the real-world corpus.)
  const blockScopeFor = (c: Cap) => {
    if (c.at) return; // a file, module body or impl: not a block
    const parent = c.parent === undefined ? c.node.parent : c.parent;
    if (parent && parent.type === 'block' && !blockScopeByStart.has(parent.startIndex)) {
      blockScopeByStart.set(parent.startIndex, newScope('block', null, parent.startIndex, parent.endIndex));
    }
  };

  // test-only ranges (#[cfg(test)], #[test]) and exclusion ranges for paths (types, attributes, …)
  const testRanges = new RangeSet();
  const skipRanges: Range[] = [];
  const modBodies = new Map<number, number>(); // mod_item start → scope id

  for (const c of caps) {
    switch (c.name) {
      case 'mod': {
        const body = c.node.childForFieldName('body');
        if (body) modBodies.set(c.start, newScope('mod', c.node.childForFieldName('name')?.text ?? null, body.startIndex, body.endIndex));
        blockScopeFor(c);
        break;
      }
      case 'use':
      case 'extern_crate':
      case 'alias':
      case 'item':
        blockScopeFor(c);
        if (c.name === 'use') skipRanges.push(c);
        break;
      case 'attr': {
        skipRanges.push(c);
        const text = c.node.text;
        // `#[name args]`, `#![name args]`, `#[unsafe(name args)]` (the wrapper's `)` is not part of args)
        const m = /^#(!?)\[\s*(unsafe\s*\(\s*)?([A-Za-z_][\w:]*)\s*([\s\S]*?)\s*\]$/.exec(text);
        if (!m) break;
        const inner = m[1] === '!';
        const name = m[3]!;
        const args = m[2] && m[4]!.endsWith(')') ? m[4]!.slice(0, -1).trimEnd() : m[4]!;
        if ((name === 'cfg' && isCfgTest(args)) || (!inner && TEST_ATTRS.has(name))) {
          if (inner) {
            if (c.node.parent?.type === 'source_file') summary.testOnly = true;
            else if (c.node.parent) testRanges.add({ start: c.node.parent.startIndex, end: c.node.parent.endIndex });
          } else {
            const it = nextItem(c.node);
            if (it) testRanges.add({ start: c.start, end: it.endIndex });
          }
        }
        break;
      }
      case 'skip':
        skipRanges.push(c);
        break;
      case 'macro': {
        const name = c.node.childForFieldName('macro');
        if (name) skipRanges.push({ start: name.startIndex, end: name.endIndex });
        break;
      }
    }
  }

  // sort scopes and compute parents (ranges nest properly)
  scopeRanges.sort((a, b) => a.start - b.start || b.end - a.end);
  {
    const stack: ScopeRange[] = [];
    for (const r of scopeRanges) {
      while (stack.length && stack[stack.length - 1]!.end <= r.start) stack.pop();
      if (r.id !== 0) summary.scopes[r.id]!.parent = stack.length ? stack[stack.length - 1]!.id : 0;
      stack.push(r);
    }
  }
  const rangeById: ScopeRange[] = [];
  for (const r of scopeRanges) rangeById[r.id] = r;
  // innermost scope of an offset: scopes are few, binary search over the sorted starts then walk up
  const scopeAt = (offset: number): number => {
    let lo = 0;
    let hi = scopeRanges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (scopeRanges[mid]!.start <= offset) lo = mid;
      else hi = mid - 1;
    }
    let r: ScopeRange | undefined = scopeRanges[lo];
    let id = r!.id;
    while (r && !(r.start <= offset && offset < r.end)) {
      id = summary.scopes[id]!.parent;
      r = rangeById[id];
    }
    return r ? r.id : 0;
  };

  skipRanges.sort((a, b) => a.start - b.start || b.end - a.end);
  const skip = new RangeSet();
  for (const r of skipRanges) skip.add(r);

  const ctxAt = (offset: number): FactContext | undefined | null => {
    if (summary.testOnly || testRanges.contains(offset)) return opts.keepTests ? 'test' : null;
    return undefined;
  };
  const pos = (o: number) => lines.pos(o);

  const tokenSink = (scope: number, ctx: FactContext | undefined, generated = false): TokenSink => ({
    summary,
    source,
    scope,
    ctx: generated ? 'generated' : ctx,
    generated,
    pos,
    attributeNames,
    methodNames,
  });

  // a call's first string argument, by the start of its callee (a path or a name)
  const callArgs = new Map<number, string>();
  for (const c of caps) {
    if (c.name !== 'callarg') continue;
    const callee = c.node.parent?.parent?.childForFieldName('function');
    if (callee && CALLEE_TYPES.has(callee.type)) callArgs.set(callee.startIndex, unquote(c.node.text));
  }

  // ---- pass 2: facts
  let lastPathEnd = -1;
  const errorItems = new Set<number>();
  const errorSpans = new RangeSet(); // token-analysed broken regions (an ERROR inside one is already covered)
  let errorSpanEnd = -1;
  let locator: ItemLocator | undefined;
  for (const c of caps) {
    const ctx0 = ctxAt(c.start);
    if (ctx0 === null && c.name !== 'mod') continue;
    const ctx = ctx0 ?? undefined;
    switch (c.name) {
      case 'use': {
        const scope = scopeAt(c.start);
        const toks = tokensOf(source, c.start, c.end);
        const u = toks.findIndex((t) => t.t === Tok.Ident && t.v === 'use');
        if (u < 0) break;
        bindUseAt(toks, u, scope, summary, pos(c.start).line);
        break;
      }
      case 'extern_crate': {
        const scope = scopeAt(c.start);
        const name = c.node.childForFieldName('name')?.text;
        const alias = c.node.childForFieldName('alias')?.text;
        if (name) {
          summary.bindings.push({ scope, name: alias ?? name, kind: 'extern-crate', target: [name.replace(/^r#/, '')], global: true, line: pos(c.start).line });
        }
        break;
      }
      case 'alias': {
        const scope = scopeAt(c.start);
        const name = c.node.childForFieldName('name')?.text;
        const ty = c.node.childForFieldName('type');
        if (name && ty && (ty.type === 'scoped_type_identifier' || ty.type === 'type_identifier' || ty.type === 'generic_type')) {
          const { segs, global } = segsOf(source, ty.startIndex, ty.endIndex);
          summary.bindings.push({ scope, name, kind: 'alias', target: segs, global, line: pos(c.start).line });
        } else if (name) {
          summary.bindings.push({ scope, name, kind: 'item', target: null, global: false, line: pos(c.start).line });
        }
        break;
      }
      case 'item': {
        const name = c.node.childForFieldName('name')?.text;
        if (name) {
          summary.bindings.push({ scope: scopeAt(c.start), name: name.replace(/^r#/, ''), kind: 'item', target: null, global: false, line: pos(c.start).line });
        }
        break;
      }
      case 'mod': {
        const scope = scopeAt(c.start);
        const name = c.node.childForFieldName('name')?.text?.replace(/^r#/, '');
        if (!name) break;
        if (ctx0 === null) {
          // cfg(test) module: not bound; its file is known to be test code, not unreferenced
          if (!modBodies.has(c.start)) summary.mods.push({ name, scope, body: -1, pathAttr: null, line: pos(c.start).line, test: true });
          break;
        }
        // #[path = "…"], and each #[cfg_attr(pred, path = "…")]: every configuration's file is the module
        const paths: string[] = [];
        for (let s = c.node.previousNamedSibling; s && ITEM_SKIP_BEFORE.has(s.type); s = s.previousNamedSibling) {
          const m = PATH_ATTR.exec(s.text) ?? CFG_ATTR_PATH.exec(s.text);
          if (m) paths.push(m[1]!.replace(/\\\\/g, '\\'));
        }
        const body = modBodies.get(c.start) ?? -1;
        const modIndex = summary.mods.length;
        for (const pathAttr of paths.length > 0 ? paths.reverse() : [null]) {
          summary.mods.push(ctx === 'test' ? { name, scope, body, pathAttr, line: pos(c.start).line, test: true } : { name, scope, body, pathAttr, line: pos(c.start).line });
        }
        summary.bindings.push({ scope, name, kind: 'mod', target: null, global: false, line: pos(c.start).line, mod: modIndex });
        break;
      }
      case 'path': {
        if (c.start < lastPathEnd || skip.contains(c.start)) break;
        lastPathEnd = c.end;
        const { segs, global } = segsOf(source, c.start, c.end);
        if (segs.length === 0) break;
        const p0 = pos(c.start);
        const arg = callArgs.get(c.start);
        const ref = withCtx({ scope: scopeAt(c.start), segs, global, how: 'value' as const, line: p0.line, column: p0.column }, ctx);
        summary.refs.push(arg === undefined ? ref : { ...ref, arg });
        break;
      }
      case 'ident': {
        if (c.start < lastPathEnd) break;
        const p0 = pos(c.start);
        const arg = callArgs.get(c.start);
        const ref = withCtx({ scope: scopeAt(c.start), segs: [c.node.text.replace(/^r#/, '')], global: false, how: 'value' as const, line: p0.line, column: p0.column }, ctx);
        summary.refs.push(arg === undefined ? ref : { ...ref, arg });
        break;
      }
      case 'macro': {
        const nameNode = c.node.childForFieldName('macro');
        if (!nameNode) break;
        const scope = scopeAt(c.start);
        const { segs, global } = segsOf(source, nameNode.startIndex, nameNode.endIndex);
        const tt = c.node.lastNamedChild;
        const toks = tt && tt.type === 'token_tree' ? tokensOf(source, tt.startIndex, tt.endIndex) : [];
        const p0 = pos(c.start);
        const arg = toks[1]?.t === Tok.Str ? toks[1]!.v : undefined;
        const ref = withCtx({ scope, segs, global, how: 'macro' as const, line: p0.line, column: p0.column }, ctx);
        summary.refs.push(arg === undefined ? ref : { ...ref, arg });
        const last = segs[segs.length - 1];
        if (last === 'include' && arg !== undefined && segs.length <= 2) {
          summary.includes.push({ scope, path: arg, line: p0.line });
        }
        const generated = opts.procMacro && (last === 'quote' || last === 'quote_spanned' || last === 'parse_quote' || last === 'parse_quote_spanned');
        if (toks.length > 2 && c.itemLevel && !generated && last !== 'macro_rules') bindItems(toks.slice(1, -1), scope, summary, pos, ctx === 'test');
        if (toks.length > 2) scanTokens(toks.slice(1, -1), tokenSink(scope, ctx, generated));
        break;
      }
      case 'macro_def': {
        const toks = tokensOf(source, c.start, c.end);
        // skip `macro_rules! name`
        scanTokens(toks.slice(3), tokenSink(scopeAt(c.start), ctx));
        break;
      }
      case 'attr': {
        const toks = tokensOf(source, c.start, c.end);
        // records the attribute itself; paths inside an attribute are not uses
        scanTokens(toks, tokenSink(scopeAt(c.start), ctx));
        break;
      }
      case 'unsafe_block': {
        const p0 = pos(c.start);
        summary.syntax.push(withCtx({ construct: 'unsafe-block', name: null, evidence: 'unsafe { … }', line: p0.line, column: p0.column }, ctx));
        break;
      }
      case 'fn_mods': {
        if (!/\bunsafe\b/.test(c.node.text)) break;
        const fn = c.node.parent;
        const name = fn?.childForFieldName('name')?.text ?? null;
        const p0 = pos(c.start);
        summary.syntax.push(withCtx({ construct: 'unsafe-fn', name, evidence: `unsafe fn ${name ?? ''}`.trim(), line: p0.line, column: p0.column }, ctx));
        break;
      }
      case 'unsafe_impl':
      case 'unsafe_trait': {
        const item = c.node.parent!;
        const head = source.slice(item.startIndex, Math.min(item.endIndex, item.startIndex + 200)).split('{')[0]!.replace(/\s+/g, ' ').trim();
        const p0 = pos(c.start);
        const construct = c.name === 'unsafe_impl' ? 'unsafe-impl' : 'unsafe-trait';
        const name = construct === 'unsafe-trait' ? item.childForFieldName('name')?.text ?? null : null;
        summary.syntax.push(withCtx({ construct, name, evidence: head, line: p0.line, column: p0.column }, ctx));
        break;
      }
      case 'extern_block': {
        const abiNode = c.node.namedChildren.find((n) => n.type === 'extern_modifier');
        const abiM = abiNode ? /"([^"]*)"/.exec(abiNode.text) : null;
        const abi = abiM ? ` "${abiM[1]}"` : '';
        const body = c.node.childForFieldName('body');
        for (const it of body ? body.namedChildren : []) {
          const kw = it.type === 'function_signature_item' ? 'fn' : it.type === 'static_item' ? 'static' : null;
          if (!kw) continue;
          const nameNode = it.childForFieldName('name');
          if (!nameNode) continue;
          const p0 = pos(nameNode.startIndex);
          const name = nameNode.text.replace(/^r#/, '');
          summary.syntax.push(withCtx({ construct: kw === 'fn' ? 'extern-fn' : 'extern-static', name, evidence: `extern${abi} ${kw} ${name}`, line: p0.line, column: p0.column }, ctx));
        }
        break;
      }
      case 'str': {
        const value = unquote(c.node.text);
        if (value.includes('cargo:')) {
          const p0 = pos(c.start);
          summary.strings.push(withCtx({ value, line: p0.line, column: p0.column }, ctx));
        }
        break;
      }
      case 'error': {
        const line = pos(c.start).line;
        summary.errors.push(line);
        // errors come in document order: one inside a region already analysed as tokens is covered by it
        // (its item is that region's item or one nested in it)
        if (c.start < errorSpanEnd) break;
        locator ??= new ItemLocator(root);
        const item = locator.itemOf(c.node);
        if (errorItems.has(item.startIndex) || (item.startIndex < errorSpanEnd && errorSpans.contains(item.startIndex))) break;
        errorItems.add(item.startIndex);
        let end = item.endIndex;
        if (item.type === 'ERROR') {
          // An unfinished item prefix the grammar does not know (Rust 2024 `unsafe extern "C"`): the item it
          // starts is the next sibling, so analyse both together or the extern block is lost.
          const last = source.slice(item.startIndex, item.endIndex).trimEnd().slice(-1);
          const next = last !== ';' && last !== '}' ? item.nextNamedSibling : null;
          if (next && next.type !== 'ERROR') end = next.endIndex;
        }
        errorSpans.add({ start: item.startIndex, end });
        errorSpanEnd = Math.max(errorSpanEnd, end);
        const toks = tokensOf(source, item.startIndex, end);
        const scope = scopeAt(item.startIndex);
        // use and mod declarations in broken regions still bind names (and mods are followed)
        bindItems(toks, scope, summary, pos, ctx === 'test');
        scanTokens(toks, tokenSink(scope, ctx));
        break;
      }
    }
  }

  // rule-supplied queries
  for (const { rule, q } of qs.rules) {
    for (const c of q.captures(root)) {
      if (c.name !== 'match') continue;
      const ctx0 = ctxAt(c.node.startIndex);
      if (ctx0 === null) continue;
      const ctx = ctx0 ?? undefined;
      const p0 = pos(c.node.startIndex);
      const evidence = c.node.text.split('\n')[0]!.slice(0, 120);
      summary.queries.push(withCtx({ rule, evidence, line: p0.line, column: p0.column }, ctx));
    }
  }
  // trait-method calls
  for (const c of caps) {
    if (c.name !== 'method') continue;
    const ctx0 = ctxAt(c.start);
    if (ctx0 === null) continue;
    const p0 = pos(c.start);
    summary.methods.push(withCtx({ scope: scopeAt(c.start), name: c.node.text, line: p0.line, column: p0.column }, ctx0 ?? undefined));
  }
  summary.errors = [...new Set(summary.errors)].sort((a, b) => a - b);
  const ind = fileIndicators(root, source, '', {
    buildScript: opts.buildScript,
    test: opts.test,
    isTestOffset: (o) => summary.testOnly || testRanges.contains(o),
  });
  // indicators found on raw text (bidi characters) inside cfg(test) code count only with --all-targets
  const lineInTest = (line: number) => {
    let o = lines.lineStart(line);
    while (source[o] === ' ' || source[o] === '\t') o++;
    return testRanges.contains(o);
  };
  summary.indicators = opts.keepTests ? ind.indicators : ind.indicators.filter((i) => !lineInTest(i.line));
  summary.urls = ind.urls;
  if (source.includes('include_bytes')) summary.includeBytes = includeBytesTargets(root, source);
  if (typeof (tree as unknown as { delete?: () => void }).delete === 'function') (tree as unknown as { delete: () => void }).delete();
  return summary;
}

/**
 * Files larger than MAX_FILE_BYTES and up to this size still get the token-level pass (linear, memory
 * bounded by TOKEN_BATCH); larger ones are only listed as unanalyzed.
 */
export const MAX_TOKEN_FILE_BYTES = 32 * 1024 * 1024;

/**
 * The encoding of bytes that are not UTF-8 source rustc could compile: UTF-16 (a BOM, or NUL bytes in every
 * other position), `binary` (NUL bytes or invalid sequences everywhere), or null (UTF-8, perhaps with a
 * few bad bytes).
 */
export function sniffEncoding(buf: Buffer): 'utf-16le' | 'utf-16be' | 'binary' | null {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return 'utf-16le';
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return 'utf-16be';
  if (buf.indexOf(0) < 0) return null;
  // NUL bytes: their pattern over a sample tells UTF-16 of mostly-ASCII text from binary data
  const n = Math.min(buf.length, 1 << 16);
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i++) {
    if (buf[i] === 0) {
      if (i & 1) odd++;
      else even++;
    }
  }
  const half = n / 2;
  if (odd >= half * 0.3 && even <= odd * 0.1) return 'utf-16le';
  if (even >= half * 0.3 && odd <= even * 0.1) return 'utf-16be';
  return even + odd >= n * 0.01 ? 'binary' : null;
}

/** Analyse raw file bytes (size and encoding checks included). */
export function analyzeFile(buf: Buffer, cfg: AnalyzerConfig, opts: FileOptions): FileSummary {
  const enc = sniffEncoding(buf);
  if (enc === 'utf-16le' || enc === 'utf-16be') {
    // rustc cannot compile it; its text still gets the (linear) token pass, never tree-sitter
    if (buf.length > MAX_TOKEN_FILE_BYTES) return tooLarge(buf.length, `not-utf8 (${enc})`);
    let b = buf.subarray(buf.length >= 2 && (buf[0] === 0xff || buf[0] === 0xfe) && (buf[1] === 0xfe || buf[1] === 0xff) ? 2 : 0);
    if (b.length & 1) b = b.subarray(0, b.length - 1);
    if (enc === 'utf-16be') b = Buffer.from(b).swap16();
    return analyzeTokens(b.toString('utf16le'), cfg, [], `not-utf8 (${enc}): analysed as tokens`);
  }
  if (buf.length > MAX_FILE_BYTES) {
    if (buf.length > MAX_TOKEN_FILE_BYTES) return tooLarge(buf.length, `file-too-large (${buf.length} bytes)`);
    return analyzeTokens(buf.toString('utf8'), cfg, [], `file-too-large (${buf.length} bytes): analysed as tokens`);
  }
  if (enc === 'binary') return analyzeTokens(buf.toString('utf8'), cfg, [], 'not-utf8 (binary): analysed as tokens');
  const problems: { line: number; reason: string }[] = [];
  const source = decodeSource(buf, problems);
  return analyzeSource(source, cfg, opts, problems);
}

function tooLarge(bytes: number, reason: string): FileSummary {
  const s = emptySummary();
  s.problems.push({ line: 1, reason });
  return s;
}
