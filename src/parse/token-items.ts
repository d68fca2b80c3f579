// Declarations read from a token sequence (a macro's token tree, a broken region, a file the tree path
// refused): `use` bindings, `mod` declarations with their `#[path]` and `#[cfg(test)]` attributes.

import { Tok, type Token } from './lexer.js';
import { externBlockAt, parseUseTree } from './tokens.js';
import { FOREIGN_ROOT, WASM_IMPORT_ABI, type FileSummary } from './summary.js';

export function isCfgTest(args: string): boolean {
  const a = args.replace(/\s+/g, '');
  if (a === '(test)') return true;
  if (a.startsWith('(all(')) {
    const inner = a.replace(/not\([^()]*\)/g, '');
    return /[(,]test[,)]/.test(inner);
  }
  return false;
}

/** The bindings of the `use` tree at toks[i] (the `use` keyword), in `scope`. */
export function bindUseAt(toks: Token[], i: number, scope: number, summary: FileSummary, line: number): void {
  for (const b of parseUseTree(toks, i + 1).bindings) {
    summary.bindings.push({ scope, name: b.name, kind: b.glob ? 'glob' : 'use', target: b.target, global: b.global, line });
  }
}

/**
 * Items a token sequence declares: `use` bindings, and `mod` declarations (with `#[path]` and
 * `#[cfg(test)]`; inline `mod a { mod b; }` gets a scope, so `b` is looked up under `a/`), which the
 * crate scanner follows like any other. For item-level macro invocations (`cfg_if!`, tokio's
 * `cfg_net!`) and broken regions: without it their modules were scanned as "unreferenced" files,
 * outside the crate's module tree (35% of the real workspace's findings).
 */
export function bindItems(toks: Token[], scope0: number, summary: FileSummary, pos: (o: number) => { line: number }, inTest: boolean): void {
  const punct = (t: Token | undefined, v: string) => t !== undefined && t.t === Tok.Punct && t.v === v;
  // an item starts after `;`, a brace, an attribute's `]`, a visibility
  const startsItem = (i: number) => {
    const prev = toks[i - 1];
    return !prev || (prev.t === Tok.Punct && (prev.v === ';' || prev.v === '{' || prev.v === '}' || prev.v === ']' || prev.v === ')')) || (prev.t === Tok.Ident && (prev.v === 'pub' || (prev.v === 'unsafe' && toks[i]!.v === 'extern')));
  };
  const open: { scope: number; depth: number; test: boolean }[] = [];
  let depth = 0;
  let externEnd = -1;
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
    if (t.v === 'extern' && i > externEnd) {
      const block = externBlockAt(toks, i);
      if (block) {
        externEnd = block.end; // a block nested in it (not Rust) is covered by its items: linear
        for (const it of block.items) if (it.construct !== 'extern-static') bindForeignFn(summary, scope, it.construct === 'wasm-import' ? WASM_IMPORT_ABI : block.abi, it.name, it.symbol, pos(toks[it.at]!.s).line);
      }
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

/**
 * Binds a C foreign function `name` (symbol `symbol`) declared in an extern block of `scope`: it resolves
 * to `$ffi::<abi>::<symbol>` (see FOREIGN_ROOT), so a call of it is known to be a foreign call.
 */
export function bindForeignFn(summary: FileSummary, scope: number, abi: string, name: string, symbol: string, line: number): void {
  summary.bindings.push({ scope, name, kind: 'alias', target: [FOREIGN_ROOT, abi || 'C', symbol], global: true, line });
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
