// Stage 2 of the tree analysis: from the placed captures, the scopes that declare names (file, inline
// module bodies, blocks), the test-only ranges (#[cfg(test)], #[test]) and the ranges whose paths are not
// uses (types, attributes, `use` trees, macro names).

import type { Scope, FileSummary } from './summary.js';
import type { Cap, Node } from './captures.js';
import { isCfgTest } from './token-items.js';
import { RangeSet, type Range } from './text-index.js';

const TEST_ATTRS = new Set(['test', 'bench']);

/** Nodes between an item's attributes and the item. */
export const ITEM_SKIP_BEFORE = new Set(['attribute_item', 'line_comment', 'block_comment']);

function nextItem(n: Node): Node | null {
  let s = n.nextNamedSibling;
  while (s && ITEM_SKIP_BEFORE.has(s.type)) s = s.nextNamedSibling;
  return s;
}

interface ScopeRange extends Range {
  id: number;
}

export interface ScopeMap {
  /** Innermost scope (index into summary.scopes) of an offset. */
  scopeAt: (offset: number) => number;
  /** cfg(test) and #[test] code. */
  testRanges: RangeSet;
  /** Paths starting inside these are not uses. */
  skip: RangeSet;
  /** Inline module: mod_item start → scope id of its body. */
  modBodies: Map<number, number>;
}

/** The scopes and ranges of a file's captures; adds the scopes to summary.scopes and sets summary.testOnly. */
export function mapScopes(caps: Cap[], sourceLength: number, summary: FileSummary): ScopeMap {
  const scopeRanges: ScopeRange[] = [{ id: 0, start: 0, end: sourceLength + 1 }];
  const newScope = (kind: Scope['kind'], name: string | null, start: number, end: number): number => {
    const id = summary.scopes.length;
    summary.scopes.push({ id, parent: -1, kind, name });
    scopeRanges.push({ id, start, end });
    return id;
  };
  const { testRanges, skipRanges, modBodies } = collectRanges(caps, summary, newScope);
  const scopeAt = scopeLookup(scopeRanges, summary.scopes);
  skipRanges.sort((a, b) => a.start - b.start || b.end - a.end);
  const skip = new RangeSet();
  for (const r of skipRanges) skip.add(r);
  return { scopeAt, testRanges, skip, modBodies };
}

type NewScope = (kind: Scope['kind'], name: string | null, start: number, end: number) => number;

function collectRanges(caps: Cap[], summary: FileSummary, newScope: NewScope) {
  const blockScopeByStart = new Map<number, number>();
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
      case 'attr':
        skipRanges.push(c);
        testAttribute(c, summary, testRanges);
        break;
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
  return { testRanges, skipRanges, modBodies };
}

/** A `#[cfg(test)]`, `#[test]` or `#![cfg(test)]` attribute marks its item (or the file) as test code. */
function testAttribute(c: Cap, summary: FileSummary, testRanges: RangeSet): void {
  const text = c.node.text;
  // `#[name args]`, `#![name args]`, `#[unsafe(name args)]` (the wrapper's `)` is not part of args)
  const m = /^#(!?)\[\s*(unsafe\s*\(\s*)?([A-Za-z_][\w:]*)\s*([\s\S]*?)\s*\]$/.exec(text);
  if (!m) return;
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
}

/** Sorts the scope ranges, sets each scope's parent (ranges nest properly) and returns the innermost-scope lookup. */
function scopeLookup(scopeRanges: ScopeRange[], scopes: Scope[]): (offset: number) => number {
  scopeRanges.sort((a, b) => a.start - b.start || b.end - a.end);
  {
    const stack: ScopeRange[] = [];
    for (const r of scopeRanges) {
      while (stack.length && stack[stack.length - 1]!.end <= r.start) stack.pop();
      if (r.id !== 0) scopes[r.id]!.parent = stack.length ? stack[stack.length - 1]!.id : 0;
      stack.push(r);
    }
  }
  const rangeById: ScopeRange[] = [];
  for (const r of scopeRanges) rangeById[r.id] = r;
  // innermost scope of an offset: scopes are few, binary search over the sorted starts then walk up
  return (offset: number): number => {
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
      id = scopes[id]!.parent;
      r = rangeById[id];
    }
    return r ? r.id : 0;
  };
}
