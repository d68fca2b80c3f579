// Always-false cfg predicates (issue 18 item 6): `#[cfg(any())]`, `#[cfg(all(any()))]`, `#[cfg(not(all()))]`
// … are never true on any target with any features, so the item they mark is never compiled. Its findings
// are still reported, with context `disabled`, but not counted in the crate's capabilities.
//
// Three-valued evaluation: `any()` is false, `all()` is true, `not` flips, every other predicate
// (`unix`, `feature = "x"`, `target_os = "…"`, unknown names) is unknown. Only a predicate that is false
// whatever the unknowns are makes the item disabled, so a real configuration is never called disabled.

import type { Cap, Node } from './captures.js';
import { ITEM_SKIP_BEFORE } from './scope-map.js';
import { RangeSet } from './text-index.js';

type V = true | false | null;

/** The value of a cfg predicate's text (`any()`, `not(all())`, `unix`), null when unknown or unparsable. */
export function cfgValue(text: string): V {
  const src = text.replace(/\s+/g, '');
  let i = 0;
  let steps = 0;
  const pred = (depth: number): V | undefined => {
    if (++steps > 10_000 || depth > 64) return undefined;
    const m = /^[A-Za-z_][\w]*/.exec(src.slice(i, i + 64));
    if (!m) return undefined;
    const name = m[0];
    i += name.length;
    if ((name === 'any' || name === 'all' || name === 'not') && src[i] === '(') {
      i++;
      const vals: V[] = [];
      while (src[i] !== ')') {
        const v = pred(depth + 1);
        if (v === undefined) return undefined;
        vals.push(v);
        if (src[i] === ',') i++;
        else if (src[i] !== ')') return undefined;
      }
      i++;
      if (name === 'not') return vals.length === 1 ? (vals[0] === null ? null : !vals[0]) : undefined;
      if (name === 'any') return vals.includes(true) ? true : vals.includes(null) ? null : false;
      return vals.includes(false) ? false : vals.includes(null) ? null : true;
    }
    // `name`, `name = "value"`, or a predicate this evaluator does not know (`name(…)`): unknown
    if (src[i] === '=') {
      const s = /^="(?:[^"\\]|\\.)*"/.exec(src.slice(i));
      if (!s) return undefined;
      i += s[0].length;
    } else if (src[i] === '(') {
      let d = 0;
      for (; i < src.length; i++) {
        if (src[i] === '(') d++;
        else if (src[i] === ')' && --d === 0) break;
      }
      if (i >= src.length) return undefined;
      i++;
    }
    return null;
  };
  const v = pred(0);
  return v === undefined || i !== src.length ? null : v;
}

const CFG_ATTR = /^#(!?)\[\s*cfg\s*\(([\s\S]*)\)\s*\]$/;

/** The ranges of a file's items (or the whole file, `#![cfg(any())]`) under an always-false cfg. */
export function disabledRanges(caps: Cap[], sourceLength: number): RangeSet {
  const out = new RangeSet();
  for (const c of caps) {
    if (c.name !== 'attr') continue;
    // cheap gate: an always-false predicate has an empty any() or all()
    const text = c.node.text;
    if (!/\b(?:any|all)\s*\(\s*\)/.test(text)) continue;
    const m = CFG_ATTR.exec(text);
    if (!m || cfgValue(m[2]!) !== false) continue;
    if (m[1] === '!') {
      const p: Node | null = c.node.parent;
      if (!p || p.type === 'source_file') out.add({ start: 0, end: sourceLength + 1 });
      else out.add({ start: p.startIndex, end: p.endIndex });
    } else {
      let it: Node | null = c.node.nextNamedSibling;
      while (it && ITEM_SKIP_BEFORE.has(it.type)) it = it.nextNamedSibling;
      if (it) out.add({ start: c.start, end: it.endIndex });
    }
  }
  return out;
}
