// Token-level analysis, for code tree-sitter hands over as flat tokens (macro token trees, macro_rules!
// bodies) or could not parse (ERROR regions). It finds the same facts as the syntax-tree analysis:
// paths in value position, macro invocations, unsafe, extern blocks and attributes.

import { KEYWORDS, Tok, type Token } from './lexer.js';
import type { FactContext, FileSummary } from './summary.js';
import { groupCloses, macroExportBefore, recordMacroCall, recordMacroDef } from './macro-facts.js';

export interface UseBinding {
  name: string;
  target: string[];
  global: boolean;
  glob: boolean;
}

/**
 * Parse a `use` tree starting at tokens[i] (just after the `use` keyword). Returns the bindings and the
 * index after the tree.
 */
export function parseUseTree(tokens: Token[], i: number): { bindings: UseBinding[]; next: number } {
  const out: UseBinding[] = [];
  let global = false;
  const walk = (j: number, prefix: string[]): number => {
    const segs: string[] = [];
    if (tokens[j]?.t === Tok.PathSep) {
      if (prefix.length === 0) global = true;
      j++;
    }
    for (;;) {
      const tk = tokens[j];
      if (!tk) break;
      if (tk.t === Tok.Ident && tk.v !== 'as') {
        if (segs.length < MAX_PATH_SEGS) segs.push(tk.v);
        j++;
        if (tokens[j]?.t === Tok.PathSep) {
          j++;
          continue;
        }
        break;
      }
      if (tk.t === Tok.Punct && tk.v === '{') {
        j++;
        const base = [...prefix, ...segs];
        while (tokens[j] && !(tokens[j]!.t === Tok.Punct && tokens[j]!.v === '}')) {
          const before = j;
          j = walk(j, base);
          if (tokens[j]?.t === Tok.Punct && tokens[j]!.v === ',') j++;
          else if (j === before) j++; // unexpected token: skip it
        }
        return j + 1;
      }
      if (tk.t === Tok.Punct && tk.v === '*') {
        out.push({ name: '*', target: [...prefix, ...segs], global, glob: true });
        return j + 1;
      }
      break;
    }
    const full = [...prefix, ...segs];
    let name = segs[segs.length - 1];
    let target = full;
    if (name === 'self') {
      target = full.slice(0, -1);
      name = target[target.length - 1];
    }
    if (tokens[j]?.t === Tok.Ident && tokens[j]!.v === 'as' && tokens[j + 1]) {
      name = tokens[j + 1]!.v;
      j += 2;
    }
    if (name !== undefined && target.length > 0) out.push({ name, target, global, glob: false });
    return j;
  };
  const next = walk(i, []);
  return { bindings: out, next };
}

export interface TokenSink {
  summary: FileSummary;
  /** The text the tokens were lexed from. */
  source: string;
  scope: number;
  ctx: FactContext | undefined;
  /** Paths here are code generated into the user's crate (proc-macro quote!). */
  generated: boolean;
  pos: (offset: number) => { line: number; column: number };
  /** Attribute names worth recording. */
  attributeNames: Set<string>;
  /** Method names worth recording (trait-method rules). */
  methodNames: Set<string>;
  /** Do not record macro definitions and invocations (a macro_rules! body: its `$x` are not code yet). */
  noMacroFacts?: boolean;
}

/**
 * Segments kept of one path (real paths have a handful; a 100k-segment `a::a::…` made name resolution
 * quadratic). The rest of such a path is scanned as a path of its own.
 */
export const MAX_PATH_SEGS = 256;

const TYPE_PREFIX_SKIP = new Set(['&', 'mut', 'dyn', 'impl', '*', 'const']);

function isTypePosition(tokens: Token[], i: number): boolean {
  let k = i - 1;
  while (k >= 0) {
    const tk = tokens[k]!;
    if (tk.t === Tok.Lifetime || TYPE_PREFIX_SKIP.has(tk.v)) {
      k--;
      continue;
    }
    break;
  }
  const p = tokens[k];
  if (!p) return false;
  if (p.t === Tok.Punct && p.v === '=' && tokens[k - 1]?.t === Tok.Ident && tokens[k - 2]?.v === 'type') return true; // `type X = a::b;`
  return (p.t === Tok.Punct && (p.v === ':' || p.v === '->')) || (p.t === Tok.Ident && (p.v === 'as' || p.v === 'for'));
}

/** Skip a balanced `<…>` starting at tokens[i] (which is `<`); returns the index after `>`. */
function skipAngles(tokens: Token[], i: number): number {
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const v = tokens[j]!.v;
    if (tokens[j]!.t !== Tok.Punct) continue;
    if (v === '<') depth++;
    else if (v === '>') {
      depth--;
      if (depth === 0) return j + 1;
    } else if (v === ';' || v === '{' || v === '}') return j;
  }
  return tokens.length;
}

function firstString(tokens: Token[], from: number): string | undefined {
  // the first string literal inside the delimited group starting at tokens[from]
  const open = tokens[from];
  if (!open || open.t !== Tok.Punct || !'([{'.includes(open.v)) return undefined;
  const t = tokens[from + 1];
  return t && t.t === Tok.Str ? t.v : undefined;
}

/** Analyse a flat token sequence and add what it finds to sink.summary. */
export function scanTokens(tokens: Token[], sink: TokenSink): void {
  const s = sink.summary;
  const add = <T extends { ctx?: FactContext }>(list: T[], fact: T) => {
    if (sink.ctx) fact.ctx = sink.ctx;
    list.push(fact);
  };
  let i = 0;
  // macro facts (src/expand/): group ends computed once, nothing recorded inside a macro_rules! body
  let closes: Int32Array | null = null;
  let quietUntil = sink.noMacroFacts || sink.generated ? tokens.length : -1;
  const closeOf = (open: number) => (closes ??= groupCloses(tokens))[open]!;
  /** End of the extern block being scanned: one nested in it (not Rust) was covered by its items. */
  let externEnd = -1;
  while (i < tokens.length) {
    const tk = tokens[i]!;
    if (tk.t === Tok.Ident && tk.v === 'macro_rules' && tokens[i + 1]?.v === '!' && tokens[i + 2]?.t === Tok.Ident && i > quietUntil) {
      const open = tokens[i + 3];
      if (open && open.t === Tok.Punct && '([{'.includes(open.v)) {
        const close = closeOf(i + 3);
        if (close > 0) {
          const p = sink.pos(tk.s);
          const r = sink.pos(open.s);
          const def = { name: tokens[i + 2]!.v, scope: sink.scope, exported: macroExportBefore(tokens, i), line: p.line, column: p.column, ctx: sink.ctx };
          recordMacroDef(s, sink.source, def, { start: open.s, end: tokens[close]!.s + 1, line: r.line, column: r.column });
          quietUntil = close;
        }
      }
    }
    // attributes: #[name …] / #![name …] / #[unsafe(name …)]
    if (tk.t === Tok.Punct && tk.v === '#') {
      let j = i + 1;
      if (tokens[j]?.v === '!') j++;
      if (tokens[j]?.v === '[') {
        const end = matchClose(tokens, j);
        let k = j + 1;
        const wrapped = tokens[k]?.v === 'unsafe' && tokens[k + 1]?.v === '(';
        if (wrapped) k += 2;
        const nameParts: string[] = [];
        while (tokens[k]?.t === Tok.Ident) {
          nameParts.push(tokens[k]!.v);
          if (tokens[k + 1]?.t === Tok.PathSep) k += 2;
          else {
            k++;
            break;
          }
        }
        const name = nameParts.join('::');
        if (sink.attributeNames.has(name)) {
          const p = sink.pos(tk.s);
          const close = tokens[end]!;
          const text = sink.source.slice(tk.s, close.s + 1).replace(/\s+/g, ' ');
          // arguments as written, without an `unsafe(…)` wrapper's closing parenthesis
          const argEnd = wrapped && tokens[end - 1]?.v === ')' ? end - 1 : end;
          const args = k < argEnd ? sink.source.slice(tokens[k]!.s, tokens[argEnd]!.s).trim() : '';
          add(s.attrs, { name, args, evidence: text, line: p.line, column: p.column });
        }
        i = end + 1;
        continue;
      }
    }
    if (tk.t === Tok.Ident && tk.v === 'unsafe') {
      const nx = tokens[i + 1];
      let construct: string | null = null;
      let name: string | null = null;
      if (nx?.v === '{') construct = 'unsafe-block';
      else if (nx?.v === 'impl') construct = 'unsafe-impl';
      else if (nx?.v === 'trait') {
        construct = 'unsafe-trait';
        name = tokens[i + 2]?.v ?? null;
      } else if (nx?.v === 'fn' || (nx?.v === 'extern' && tokens[i + 2]?.t === Tok.Str && tokens[i + 3]?.v === 'fn')) {
        construct = 'unsafe-fn';
        const f = nx.v === 'fn' ? i + 2 : i + 4;
        name = tokens[f]?.t === Tok.Ident ? tokens[f]!.v : null;
      }
      if (construct) {
        const p = sink.pos(tk.s);
        const evidence = construct === 'unsafe-block' ? 'unsafe { … }' : `unsafe ${nx!.v}${name ? ' ' + name : ''}`;
        add(s.syntax, { construct, name, evidence, line: p.line, column: p.column });
      }
      i++;
      continue;
    }
    if (tk.t === Tok.Ident && tk.v === 'extern' && i > externEnd) {
      // (nested blocks are skipped: each one's scan to its end made `extern {` × n quadratic)
      const block = externBlockAt(tokens, i);
      if (block) {
        externEnd = block.end;
        for (const it of block.items) {
          const p = sink.pos(tokens[it.at]!.s);
          add(s.syntax, { construct: it.construct, name: it.name, evidence: it.evidence, line: p.line, column: p.column, scope: sink.scope });
        }
        i = block.open + 1; // keep scanning inside for paths/attributes
        continue;
      }
    }
    if (tk.t === Tok.Ident && tk.v === 'use' && !sink.generated) {
      // a use inside a macro body or broken region: skip its tree (it names paths, it does not use them)
      const { next } = parseUseTree(tokens, i + 1);
      i = Math.max(next, i + 1);
      continue;
    }
    // paths
    const startsPath =
      (tk.t === Tok.Ident && !KEYWORDS.has(tk.v)) ||
      (tk.t === Tok.PathSep && tokens[i + 1]?.t === Tok.Ident);
    if (startsPath) {
      const prev = tokens[i - 1];
      if (prev && prev.t === Tok.Punct && prev.v === '.') {
        // method call or field: record trait-method candidates
        if (tk.t === Tok.Ident && sink.methodNames.has(tk.v)) {
          const after = tokens[i + 1];
          if (after && (after.v === '(' || after.t === Tok.PathSep)) {
            const p = sink.pos(tk.s);
            add(s.methods, { scope: sink.scope, name: tk.v, line: p.line, column: p.column });
          }
        }
        i++;
        continue;
      }
      if (prev && prev.t === Tok.Punct && prev.v === '$' ) {
        i++;
        continue;
      }
      if (prev && prev.t === Tok.Ident && prev.v === 'fn') {
        // a function's own name where it is declared (`fn system(…)`, also in an extern block) is not a use
        i++;
        continue;
      }
      if (tk.t === Tok.Ident) {
        // a lone name that is neither called nor invoked (most of them) is no reference: nothing to build
        const nx = tokens[i + 1];
        if (!nx || (nx.t !== Tok.PathSep && !(nx.t === Tok.Punct && (nx.v === '!' || nx.v === '(')))) {
          i++;
          continue;
        }
      }
      let j = i;
      let global = false;
      if (tokens[j]!.t === Tok.PathSep) {
        global = true;
        j++;
      }
      const segs: string[] = [];
      for (;;) {
        const t = tokens[j];
        if (!t || t.t !== Tok.Ident || segs.length >= MAX_PATH_SEGS) break;
        segs.push(t.v === '$crate' ? 'crate' : t.v);
        j++;
        if (tokens[j]?.t === Tok.PathSep) {
          if (tokens[j + 1]?.v === '<') {
            j = skipAngles(tokens, j + 1);
            if (tokens[j]?.t === Tok.PathSep) {
              j++;
              continue;
            }
            break;
          }
          j++;
          continue;
        }
        break;
      }
      if (segs.length === 0) {
        i = j > i ? j : i + 1;
        continue;
      }
      const nx = tokens[j];
      const isMacro = nx?.t === Tok.Punct && nx.v === '!' && tokens[j + 1] && '([{'.includes(tokens[j + 1]!.v);
      const isCall = nx?.t === Tok.Punct && nx.v === '(';
      if (isMacro) {
        const p = sink.pos(tk.s);
        const ref = { scope: sink.scope, segs, global, how: 'macro' as const, line: p.line, column: p.column };
        const arg = firstString(tokens, j + 1);
        add(s.refs, arg === undefined ? ref : { ...ref, arg });
        const close = i > quietUntil ? closeOf(j + 1) : -1;
        if (close > 0) {
          const o = tokens[j + 1]!;
          const tp = sink.pos(o.s);
          recordMacroCall(s, sink.source, { scope: ref.scope, segs, global, line: ref.line, column: ref.column, ctx: sink.ctx }, { start: o.s, end: tokens[close]!.s + 1, line: tp.line, column: tp.column });
        }
        i = j + 1;
        continue;
      }
      if ((segs.length > 1 || isCall) && !isTypePosition(tokens, i)) {
        const p = sink.pos(tk.s);
        add(s.refs, isCall ? { scope: sink.scope, segs, global, how: 'token' as const, line: p.line, column: p.column, call: true as const } : { scope: sink.scope, segs, global, how: 'token' as const, line: p.line, column: p.column });
      }
      i = j;
      continue;
    }
    i++;
  }
}

/** A function or static of an extern block, as the token pass and the tree pass both describe it. */
export interface ExternItem {
  /** `extern-fn`, `extern-static`, or `wasm-import` (an item of a `#[wasm_bindgen]` block: a JS import). */
  construct: 'extern-fn' | 'extern-static' | 'wasm-import';
  kw: 'fn' | 'static';
  /** Rust name. */
  name: string;
  /** C symbol: the `#[link_name = "…"]` value, else the name. */
  symbol: string;
  evidence: string;
  /** Token index of the name. */
  at: number;
}

const LINK_NAME = /^#\[\s*link_name\s*=\s*"((?:[^"\\]|\\.)*)"\s*\]$/;
/** `#[wasm_bindgen]`, `#[wasm_bindgen(…)]`, `#[wasm_bindgen::prelude::wasm_bindgen]`; not under cfg_attr (a C block elsewhere). */
const WASM_BINDGEN = /^#\[\s*(?:::\s*)?(?:wasm_bindgen\s*::\s*(?:prelude\s*::\s*)?)?wasm_bindgen\s*(?:\(|\])/;

/** Whether an attribute's text makes an extern block a `#[wasm_bindgen]` one (JS imports). */
export function isWasmBindgenAttr(text: string): boolean {
  return WASM_BINDGEN.test(text);
}

/** The `#[link_name = "…"]` value of an attribute's text, or null. */
export function linkNameOf(text: string): string | null {
  const m = LINK_NAME.exec(text);
  return m ? m[1]! : null;
}

/** The evidence of an extern item. */
export function externEvidence(construct: ExternItem['construct'], abi: string, kw: string, name: string, symbol: string): string {
  const head = construct === 'wasm-import' ? '#[wasm_bindgen] extern' : `extern${abi ? ` "${abi}"` : ''}`;
  return `${head} ${kw} ${name}${symbol !== name ? ` (link_name = "${symbol}")` : ''}`;
}

/** Text of tokens[from..to] joined without spaces (for matching attributes). */
function tokenText(tokens: Token[], from: number, to: number): string {
  let t = '';
  for (let k = from; k <= to; k++) {
    const x = tokens[k]!;
    t += x.t === Tok.Str ? `"${x.v}"` : x.t === Tok.PathSep ? '::' : x.v;
  }
  return t;
}

/** Longest attribute looked at before an extern block (`#[wasm_bindgen]` is a handful of tokens). */
const MAX_ATTR_TOKENS = 256;

/**
 * Whether attributes right before tokens[i] (an `unsafe` before it skipped) include `#[wasm_bindgen]`.
 * A longer or unbalanced attribute is not looked into: the block then counts as C (more findings).
 */
function wasmBindgenBefore(tokens: Token[], i: number): boolean {
  let k = i - 1;
  if (tokens[k]?.t === Tok.Ident && tokens[k]!.v === 'unsafe') k--;
  while (k > 0 && tokens[k]!.t === Tok.Punct && tokens[k]!.v === ']') {
    let depth = 0;
    let open = -1;
    // bounded: an unbalanced `]` before each of n blocks would scan back to the start n times
    for (let j = k; j >= 0 && k - j < MAX_ATTR_TOKENS; j--) {
      const t = tokens[j]!;
      if (t.t !== Tok.Punct) continue;
      if (t.v === ']') depth++;
      else if (t.v === '[' && --depth === 0) {
        open = j;
        break;
      }
    }
    if (open < 1 || tokens[open - 1]!.v !== '#') return false;
    if (isWasmBindgenAttr(tokenText(tokens, open - 1, k))) return true;
    k = open - 2;
  }
  return false;
}

/** The extern block whose `extern` keyword is tokens[i] (`extern "abi" { … }`), or null for anything else. */
export function externBlockAt(tokens: Token[], i: number): { abi: string; open: number; end: number; items: ExternItem[] } | null {
  let j = i + 1;
  let abi = '';
  if (tokens[j]?.t === Tok.Str) {
    abi = tokens[j]!.v;
    j++;
  }
  if (tokens[j]?.v !== '{' || tokens[j]!.t !== Tok.Punct) return null;
  const end = matchClose(tokens, j);
  const wasm = wasmBindgenBefore(tokens, i);
  const items: ExternItem[] = [];
  let symbol: string | null = null;
  for (let k = j + 1; k < end; k++) {
    const t = tokens[k]!;
    if (t.t === Tok.Punct && t.v === '#' && tokens[k + 1]?.v === '[') {
      const close = matchClose(tokens, k + 1);
      symbol = linkNameOf(tokenText(tokens, k, close)) ?? symbol;
      k = close;
      continue;
    }
    if (t.t === Tok.Punct && (t.v === ';' || t.v === '}')) symbol = null;
    if (t.t === Tok.Ident && (t.v === 'fn' || t.v === 'static') && tokens[k + 1]?.t === Tok.Ident) {
      let n = k + 1;
      if (tokens[n]!.v === 'mut') n++;
      const name = tokens[n]?.t === Tok.Ident ? tokens[n]!.v : undefined;
      if (!name) continue;
      const kw = t.v;
      const construct = wasm ? 'wasm-import' : kw === 'fn' ? 'extern-fn' : 'extern-static';
      const sym = symbol ?? name;
      items.push({ construct, kw, name, symbol: sym, evidence: externEvidence(construct, abi, kw, name, sym), at: n });
      symbol = null;
    }
  }
  return { abi, open: j, end, items };
}

/** Index of the token closing the group opened at tokens[open] (or the last index). */
export function matchClose(tokens: Token[], open: number): number {
  const o = tokens[open]!.v;
  const c = o === '(' ? ')' : o === '[' ? ']' : '}';
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.t !== Tok.Punct) continue;
    if (t.v === o) depth++;
    else if (t.v === c) {
      depth--;
      if (depth === 0) return j;
    }
  }
  return tokens.length - 1;
}
