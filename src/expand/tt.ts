// Token trees for macro_rules! expansion: tokens with their exact text (so a transcription is written back
// as source), whether they touch the token before them (`==`, `&&` stay one operator), and where they come
// from in the scanned file (the invocation's position for tokens of a macro body).

import { lex, Tok } from '../parse/lexer.js';

export { Tok };

export interface OTok {
  t: Tok;
  v: string;
  /** The token's text as written. */
  text: string;
  /** Unique id; `glue` is the id of the token it touches in its source (-1: whitespace before it). */
  id: number;
  glue: number;
  /** Position in the scanned file it comes from (0: a macro body token, placed at the invocation). */
  line: number;
  column: number;
  /** Written by a macro body (placed at the invocation), not taken from an invocation's input. */
  body?: true;
}

export type TT = { k: 0; tok: OTok } | { k: 1; open: OTok; close: OTok; inner: TT[] };

let nextId = 1;

/** End offset of a lexer token starting at `s` (the lexer keeps only starts). */
function tokenEnd(text: string, t: Tok, v: string, s: number): number {
  switch (t) {
    case Tok.Str: {
      let j = s;
      while (text[j] === 'b' || text[j] === 'c' || text[j] === 'r') j++;
      let hashes = 0;
      while (text[j] === '#') {
        hashes++;
        j++;
      }
      // j is at the opening quote
      return Math.min(text.length, j + 1 + v.length + 1 + hashes);
    }
    case Tok.Ident:
      return s + (text.startsWith('r#', s) && !v.startsWith('r#') ? 2 : 0) + v.length;
    case Tok.Lifetime:
      return s + 1 + v.length;
    default:
      return s + v.length;
  }
}

/** Position of an offset of `text`, given where the text starts. */
export type OriginOf = (offset: number) => { line: number; column: number };

/** Origins of a text that starts at (line, column) of a file. */
export function originsFrom(text: string, line: number, column: number): OriginOf {
  const starts: number[] = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (o) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return lo === 0 ? { line, column: column + o } : { line: line + lo, column: o - starts[lo]! + 1 };
  };
}

/** The tokens of `text`, with origins (null: body tokens, no origin). */
export function lexTokens(text: string, origin: OriginOf | null): OTok[] {
  const out: OTok[] = [];
  let prevEnd = -2;
  let prevId = -1;
  for (const k of lex(text)) {
    const end = tokenEnd(text, k.t, k.v, k.s);
    const id = nextId++;
    const o = origin ? origin(k.s) : { line: 0, column: 0 };
    out.push({ t: k.t, v: k.v, text: text.slice(k.s, end), id, glue: prevEnd === k.s ? prevId : -1, line: o.line, column: o.column });
    prevEnd = end;
    prevId = id;
  }
  return out;
}

/** Tokens of short texts lexed at every expansion (`$crate`), ids aside. */
const shapes = new Map<string, OTok[]>();

/**
 * The tokens of `text` placed at a position (body tokens), as lexTokens(text, null) mapped by placed()
 * gives them: the same fresh ids (taken from the same counter), lexed once per text.
 */
export function lexPlaced(text: string, line: number, column: number): OTok[] {
  let shape = shapes.get(text);
  if (!shape) {
    const first = nextId;
    shape = lexTokens(text, null);
    nextId = first; // ids are given below, as lexTokens gives them
    shapes.set(text, shape);
  }
  const base = nextId - (shape.length > 0 ? shape[0]!.id : 0);
  nextId += shape.length;
  return shape.map((t) => ({ t: t.t, v: t.v, text: t.text, id: t.id + base, glue: t.glue < 0 ? -1 : t.glue + base, line, column, body: true as const }));
}

const OPEN: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** Token trees of a token list; null when delimiters do not balance. */
export function treesOf(toks: OTok[]): TT[] | null {
  const root: TT[] = [];
  const stack: { open: OTok; inner: TT[]; parent: TT[] }[] = [];
  let cur = root;
  for (const tok of toks) {
    if (tok.t === Tok.Punct && OPEN[tok.v]) {
      stack.push({ open: tok, inner: [], parent: cur });
      cur = stack[stack.length - 1]!.inner;
    } else if (tok.t === Tok.Punct && (tok.v === ')' || tok.v === ']' || tok.v === '}')) {
      const top = stack.pop();
      if (!top || OPEN[top.open.v] !== tok.v) return null;
      top.parent.push({ k: 1, open: top.open, close: tok, inner: top.inner });
      cur = top.parent;
    } else cur.push({ k: 0, tok });
  }
  return stack.length === 0 ? root : null;
}

/** Tokens of trees, in order. */
export function flatten(tts: TT[], out: OTok[] = []): OTok[] {
  for (const tt of tts) {
    if (tt.k === 0) out.push(tt.tok);
    else {
      out.push(tt.open);
      flatten(tt.inner, out);
      out.push(tt.close);
    }
  }
  return out;
}

/** Number of tokens of trees. */
export function treeSize(tts: TT[]): number {
  let n = 0;
  for (const tt of tts) n += tt.k === 0 ? 1 : 2 + treeSize(tt.inner);
  return n;
}

/** Source text of tokens (a space between tokens that did not touch), with each token's offset. */
export function writeTokens(toks: OTok[], prefix = '', suffix = ''): { text: string; starts: number[] } {
  const parts: string[] = [prefix];
  const starts: number[] = [];
  let at = prefix.length;
  let prev: OTok | null = null;
  for (const t of toks) {
    if (prev && t.glue !== prev.id) {
      parts.push(' ');
      at++;
    }
    starts.push(at);
    parts.push(t.text);
    at += t.text.length;
    prev = t;
  }
  parts.push(suffix);
  return { text: parts.join(''), starts };
}

/** A copy of a token placed at a position (a macro body token written at the invocation). */
export function placed(t: OTok, line: number, column: number): OTok {
  return { t: t.t, v: t.v, text: t.text, id: t.id, glue: t.glue, line, column, body: true };
}

export function isPunct(tt: TT | undefined, v: string): boolean {
  return tt !== undefined && tt.k === 0 && tt.tok.t === Tok.Punct && tt.tok.v === v;
}

export function isIdent(tt: TT | undefined, v?: string): boolean {
  return tt !== undefined && tt.k === 0 && tt.tok.t === Tok.Ident && (v === undefined || tt.tok.v === v);
}

export function isGroup(tt: TT | undefined, open?: string): tt is { k: 1; open: OTok; close: OTok; inner: TT[] } {
  return tt !== undefined && tt.k === 1 && (open === undefined || tt.open.v === open);
}
