// Fragment parsers of macro_rules! matchers over token trees: each returns the index after the fragment
// starting at `i`, or -1 when no fragment of that kind starts there (the rule does not match, as rustc,
// which tries the next rule when a token cannot begin the fragment). `expr`, `ty`, `path` and `item`
// follow Rust's grammar closely enough to find where a fragment ends (what decides which rule matches);
// `pat` and `stmt` end at the tokens Rust allows to follow them.

import { isGroup, isIdent, isPunct, Tok, type TT } from './tt.js';

export const FRAGMENT_KINDS = new Set([
  'ident', 'path', 'ty', 'expr', 'expr_2021', 'tt', 'literal', 'lifetime', 'block', 'stmt', 'pat', 'pat_param', 'vis', 'item', 'meta',
]);

const EXPR_KEYWORDS = new Set(['if', 'while', 'loop', 'for', 'match', 'unsafe', 'async', 'move', 'return', 'break', 'continue', 'let', 'const', 'yield', 'static']);
/** Keywords that cannot start a path (self, Self, super, crate can). */
const NOT_PATH = new Set([
  'as', 'async', 'await', 'break', 'const', 'continue', 'dyn', 'else', 'enum', 'extern', 'false', 'fn', 'for', 'if', 'impl', 'in', 'let',
  'loop', 'match', 'mod', 'move', 'mut', 'pub', 'ref', 'return', 'static', 'struct', 'trait', 'true', 'type', 'union', 'unsafe', 'use',
  'where', 'while', 'yield', 'macro_rules',
]);

const tok = (tt: TT | undefined) => (tt && tt.k === 0 ? tt.tok : undefined);
/** tts[i] touches tts[i-1] (no whitespace between them in their source). */
const glued = (tts: TT[], i: number) => {
  const a = tok(tts[i - 1]);
  const b = tok(tts[i]);
  return !!a && !!b && b.glue === a.id;
};

export function parseFragment(kind: string, tts: TT[], i: number): number {
  if (i > tts.length) return -1;
  switch (kind) {
    case 'tt':
      return i < tts.length ? i + 1 : -1;
    case 'ident': {
      const t = tok(tts[i]);
      return t && t.t === Tok.Ident && t.v !== '_' && !t.v.startsWith('$') ? i + 1 : -1;
    }
    case 'lifetime':
      return tok(tts[i])?.t === Tok.Lifetime ? i + 1 : -1;
    case 'literal':
      return literal(tts, i);
    case 'block':
      return isGroup(tts[i], '{') ? i + 1 : -1;
    case 'vis':
      return vis(tts, i);
    case 'path':
      return path(tts, i, true);
    case 'ty':
      return type(tts, i);
    case 'expr':
    case 'expr_2021':
      return expr(tts, i, false);
    case 'stmt':
      return stmt(tts, i);
    case 'pat':
      return pattern(tts, i, true);
    case 'pat_param':
      return pattern(tts, i, false);
    case 'item':
      return item(tts, i);
    case 'meta':
      return meta(tts, i);
    default:
      return -1;
  }
}

function literal(tts: TT[], i: number): number {
  let j = i;
  if (isPunct(tts[j], '-')) j++;
  const t = tok(tts[j]);
  if (!t) return -1;
  if (t.t === Tok.Str || t.t === Tok.Number) return j + 1;
  if (j === i && t.t === Tok.Ident && (t.v === 'true' || t.v === 'false')) return j + 1;
  return -1;
}

function vis(tts: TT[], i: number): number {
  if (isIdent(tts[i], 'pub')) return isGroup(tts[i + 1], '(') ? i + 2 : i + 1;
  return i; // a visibility may be empty
}

/** A balanced `<…>` at tts[i] (which is `<`): the index after its `>`, or -1. */
function angles(tts: TT[], i: number): number {
  let depth = 0;
  for (let j = i; j < tts.length; j++) {
    const t = tok(tts[j]);
    if (!t || t.t !== Tok.Punct) continue;
    if (t.v === '<') depth++;
    else if (t.v === '>') {
      if (--depth === 0) return j + 1;
    } else if (t.v === ';') return -1;
  }
  return -1;
}

const isSep = (tt: TT | undefined) => tok(tt)?.t === Tok.PathSep;

function pathSegment(tts: TT[], i: number): number {
  const t = tok(tts[i]);
  if (!t || t.t !== Tok.Ident || NOT_PATH.has(t.v)) return -1;
  return i + 1;
}

/** A path; `typeMode`: generic arguments without `::` (`Vec<u8>`) and `Fn(A) -> B` sugar. */
function path(tts: TT[], i: number, typeMode: boolean): number {
  let j = i;
  if (isPunct(tts[j], '<')) {
    j = angles(tts, j);
    if (j < 0 || !isSep(tts[j])) return -1;
  } else {
    if (isSep(tts[j])) j++;
    j = pathSegment(tts, j);
    if (j < 0) return -1;
    j = pathArgs(tts, j, typeMode);
  }
  while (isSep(tts[j])) {
    if (isPunct(tts[j + 1], '<')) {
      const k = angles(tts, j + 1);
      if (k < 0) return j;
      j = k;
      continue;
    }
    const k = pathSegment(tts, j + 1);
    if (k < 0) return j === i ? -1 : j; // a `::` not followed by a segment is not part of the path
    j = pathArgs(tts, k, typeMode);
  }
  return j;
}

function pathArgs(tts: TT[], j: number, typeMode: boolean): number {
  if (!typeMode) return j;
  if (isPunct(tts[j], '<')) {
    const k = angles(tts, j);
    if (k > 0) return k;
  }
  if (isGroup(tts[j], '(') && isPunct(tts[j + 1], '->')) {
    const k = type(tts, j + 2);
    return k > 0 ? k : j + 1;
  }
  return j;
}

function bounds(tts: TT[], i: number): number {
  let j = i;
  for (;;) {
    let k: number;
    if (tok(tts[j])?.t === Tok.Lifetime) k = j + 1;
    else if (isGroup(tts[j], '(')) k = j + 1;
    else {
      let s = j;
      if (isPunct(tts[s], '?') || isPunct(tts[s], '~')) s++;
      if (isIdent(tts[s], 'const')) s++;
      if (isIdent(tts[s], 'for') && isPunct(tts[s + 1], '<')) s = angles(tts, s + 1);
      k = s >= 0 ? path(tts, s, true) : -1;
    }
    if (k < 0) return j === i ? -1 : j;
    j = k;
    if (!isPunct(tts[j], '+')) return j;
    j++;
  }
}

export function type(tts: TT[], i: number): number {
  const t = tok(tts[i]);
  const g = tts[i];
  if (isGroup(g, '(') || isGroup(g, '[')) return i + 1;
  if (!t) return -1;
  if (t.t === Tok.Punct) {
    if (t.v === '&') {
      let j = i + 1;
      while (isPunct(tts[j], '&')) j++;
      if (tok(tts[j])?.t === Tok.Lifetime) j++;
      if (isIdent(tts[j], 'mut')) j++;
      return type(tts, j);
    }
    if (t.v === '*') {
      const j = isIdent(tts[i + 1], 'const') || isIdent(tts[i + 1], 'mut') ? i + 2 : i + 1;
      return type(tts, j);
    }
    if (t.v === '!') return i + 1;
    if (t.v === '<' || t.v === '::') return path(tts, i, true);
    return -1;
  }
  if (t.t === Tok.PathSep) return path(tts, i, true);
  if (t.t !== Tok.Ident) return -1;
  if (t.v === '_') return i + 1;
  if (t.v === 'impl' || t.v === 'dyn') return bounds(tts, i + 1);
  if (t.v === 'for' && isPunct(tts[i + 1], '<')) {
    const j = angles(tts, i + 1);
    return j < 0 ? -1 : type(tts, j);
  }
  if (t.v === 'unsafe' || t.v === 'extern' || t.v === 'fn') {
    let j = i;
    if (isIdent(tts[j], 'unsafe')) j++;
    if (isIdent(tts[j], 'extern')) j += tok(tts[j + 1])?.t === Tok.Str ? 2 : 1;
    if (!isIdent(tts[j], 'fn') || !isGroup(tts[j + 1], '(')) return -1;
    j += 2;
    if (isPunct(tts[j], '->')) {
      const k = type(tts, j + 1);
      return k < 0 ? -1 : k;
    }
    return j;
  }
  if (t.v.startsWith('$')) return i + 1;
  return path(tts, i, true);
}

/** Whether an expression can start at tts[i]. */
function exprStart(tts: TT[], i: number): boolean {
  const tt = tts[i];
  if (!tt) return false;
  if (tt.k === 1) return true;
  const t = tt.tok;
  if (t.t === Tok.Str || t.t === Tok.Number || t.t === Tok.Lifetime || t.t === Tok.PathSep) return true;
  if (t.t === Tok.Ident) return !NOT_PATH.has(t.v) || EXPR_KEYWORDS.has(t.v) || t.v === 'true' || t.v === 'false';
  return ['-', '!', '*', '&', '|', '<', '.', '#'].includes(t.v);
}

/** A binary operator at tts[i]: the index after it, or -1. Compound operators are touching punctuation. */
function binaryOp(tts: TT[], i: number): { end: number; range: boolean } | null {
  const t = tok(tts[i]);
  if (!t || t.t !== Tok.Punct || !'+-*/%^&|<>=!.'.includes(t.v) || t.v.length !== 1) return null;
  let j = i + 1;
  let op = t.v;
  while (j < tts.length && op.length < 3 && glued(tts, j)) {
    const n = tok(tts[j])!;
    if (n.t !== Tok.Punct || n.v.length !== 1 || !'+-*/%^&|<>=.'.includes(n.v)) break;
    op += n.v;
    j++;
  }
  if (op === '!' || op === '.') return null;
  // `a - -b`: `-` touching the next operand is its prefix, not part of the operator
  while (op.length > 1 && !COMPOUND.has(op)) {
    op = op.slice(0, -1);
    j--;
  }
  return { end: j, range: op === '..' || op === '..=' };
}

const COMPOUND = new Set(['&&', '||', '==', '!=', '<=', '>=', '<<', '>>', '+=', '-=', '*=', '/=', '%=', '^=', '&=', '|=', '<<=', '>>=', '..', '..=', '...']);

export function expr(tts: TT[], i: number, noStruct: boolean): number {
  let j = operand(tts, i, noStruct);
  if (j < 0) return -1;
  for (let n = 0; n < 100_000; n++) {
    const op = binaryOp(tts, j);
    if (!op) break;
    if (op.range && !exprStart(tts, op.end)) return op.end;
    const k = operand(tts, op.end, noStruct);
    if (k < 0) return op.range ? op.end : j;
    j = k;
  }
  return j;
}

function block(tts: TT[], i: number): number {
  return isGroup(tts[i], '{') ? i + 1 : -1;
}

/** Where a pattern ends: the first of `stops` at this level (groups are atomic). */
function scanTo(tts: TT[], i: number, stop: (tt: TT) => boolean): number {
  let j = i;
  while (j < tts.length && !stop(tts[j]!)) j++;
  return j;
}

function operand(tts: TT[], i: number, noStruct: boolean): number {
  let j = i;
  // prefix operators, outer attributes
  for (;;) {
    if (isPunct(tts[j], '-') || isPunct(tts[j], '!') || isPunct(tts[j], '*')) j++;
    else if (isPunct(tts[j], '&')) {
      j++;
      if (isIdent(tts[j], 'mut')) j++;
      else if (isIdent(tts[j], 'raw') && (isIdent(tts[j + 1], 'const') || isIdent(tts[j + 1], 'mut'))) j += 2;
    } else if (isPunct(tts[j], '#') && isGroup(tts[j + 1], '[')) j += 2;
    else break;
  }
  if (isPunct(tts[j], '.') && isPunct(tts[j + 1], '.') && glued(tts, j + 1)) {
    // prefix range `..x` / `..=x` / `..`
    j += 2;
    if (isPunct(tts[j], '=') && glued(tts, j)) j++;
    return exprStart(tts, j) ? expr(tts, j, noStruct) : j;
  }
  j = primary(tts, j, noStruct);
  if (j < 0) return -1;
  return postfix(tts, j);
}

function postfix(tts: TT[], i: number): number {
  let j = i;
  for (;;) {
    if (isPunct(tts[j], '?')) j++;
    else if (isPunct(tts[j], '.') && !isPunct(tts[j + 1], '.')) {
      const t = tok(tts[j + 1]);
      if (!t || (t.t !== Tok.Ident && t.t !== Tok.Number)) return j;
      j += 2;
      if (isSep(tts[j]) && isPunct(tts[j + 1], '<')) {
        const k = angles(tts, j + 1);
        if (k > 0) j = k;
      }
    } else if (isGroup(tts[j], '(') || isGroup(tts[j], '[')) j++;
    else if (isIdent(tts[j], 'as')) {
      const k = type(tts, j + 1);
      if (k < 0) return j;
      j = k;
    } else return j;
  }
}

function primary(tts: TT[], i: number, noStruct: boolean): number {
  const tt = tts[i];
  if (!tt) return -1;
  if (tt.k === 1) return i + 1;
  const t = tt.tok;
  if (t.t === Tok.Str || t.t === Tok.Number) return i + 1;
  if (t.t === Tok.Lifetime) {
    // a label: `'a: loop { … }`
    if (isPunct(tts[i + 1], ':')) return primary(tts, i + 2, noStruct);
    return -1;
  }
  if (t.t === Tok.Punct && t.v === '|') return closure(tts, i);
  if (t.t === Tok.Ident) {
    switch (t.v) {
      case 'true':
      case 'false':
        return i + 1;
      case 'if':
      case 'while': {
        let j = expr(tts, i + 1, true);
        if (j < 0 || block(tts, j) < 0) return -1;
        j++;
        while (t.v === 'if' && isIdent(tts[j], 'else')) {
          if (isIdent(tts[j + 1], 'if')) {
            const k = expr(tts, j + 2, true);
            if (k < 0 || block(tts, k) < 0) return -1;
            j = k + 1;
          } else return block(tts, j + 1);
        }
        return j;
      }
      case 'loop':
      case 'unsafe':
        return block(tts, i + 1);
      case 'const':
        return block(tts, i + 1) > 0 ? i + 2 : -1;
      case 'async':
      case 'move': {
        let j = i + 1;
        if (isIdent(tts[j], 'move')) j++;
        if (isGroup(tts[j], '{')) return j + 1;
        return closure(tts, j);
      }
      case 'static':
        return isIdent(tts[i + 1], 'move') || isPunct(tts[i + 1], '|') ? closure(tts, isPunct(tts[i + 1], '|') ? i + 1 : i + 2) : -1;
      case 'for': {
        const inAt = scanTo(tts, i + 1, (x) => isIdent(x, 'in'));
        if (inAt >= tts.length) return -1;
        const j = expr(tts, inAt + 1, true);
        return j < 0 ? -1 : block(tts, j);
      }
      case 'match': {
        const j = expr(tts, i + 1, true);
        return j >= 0 && isGroup(tts[j], '{') ? j + 1 : -1;
      }
      case 'let': {
        const eq = scanTo(tts, i + 1, (x) => isPunct(x, '='));
        if (eq >= tts.length) return -1;
        return expr(tts, eq + 1, noStruct);
      }
      case 'return':
      case 'break':
      case 'yield':
      case 'continue': {
        let j = i + 1;
        if (t.v !== 'return' && t.v !== 'yield' && tok(tts[j])?.t === Tok.Lifetime) j++;
        if (t.v === 'continue') return j;
        return exprStart(tts, j) && !(noStruct && isGroup(tts[j], '{')) ? expr(tts, j, noStruct) : j;
      }
    }
  }
  // a path: a value, a macro call, a struct literal
  if (t.t === Tok.Ident && t.v.startsWith('$')) return i + 1;
  const j = exprPath(tts, i);
  if (j < 0) return -1;
  if (isPunct(tts[j], '!') && isGroup(tts[j + 1])) return j + 2;
  if (!noStruct && isGroup(tts[j], '{')) return j + 1;
  return j;
}

/** A path in expression position (generic arguments only after `::`). */
function exprPath(tts: TT[], i: number): number {
  const t = tok(tts[i]);
  if (t && t.t === Tok.Ident && NOT_PATH.has(t.v)) return -1;
  return path(tts, i, false);
}

function closure(tts: TT[], i: number): number {
  let j = i;
  if (isPunct(tts[j], '|')) {
    if (isPunct(tts[j + 1], '|') && glued(tts, j + 1)) j += 2; // `||`
    else {
      j = scanTo(tts, j + 1, (x) => isPunct(x, '|'));
      if (j >= tts.length) return -1;
      j++;
    }
  } else return -1;
  if (isPunct(tts[j], '->')) {
    const k = type(tts, j + 1);
    return k < 0 ? -1 : block(tts, k);
  }
  return expr(tts, j, false);
}

const ITEM_TO_SEMI = new Set(['const', 'static', 'type', 'use']);

function item(tts: TT[], i: number): number {
  let j = i;
  while (isPunct(tts[j], '#') && isGroup(tts[j + 1], '[')) j += 2;
  j = vis(tts, j);
  const head = tok(tts[j]);
  if (!head || head.t !== Tok.Ident) return -1;
  if (head.v === 'macro_rules' && isPunct(tts[j + 1], '!')) {
    const g = tts[j + 3];
    if (!isGroup(g)) return -1;
    return g.open.v === '{' ? j + 4 : isPunct(tts[j + 4], ';') ? j + 5 : j + 4;
  }
  const toSemi = ITEM_TO_SEMI.has(head.v) || (head.v === 'extern' && isIdent(tts[j + 1], 'crate'));
  if (!toSemi && !['fn', 'struct', 'enum', 'union', 'trait', 'impl', 'mod', 'extern', 'unsafe', 'async', 'auto', 'default', 'pub'].includes(head.v)) {
    // an item macro invocation: `path! { … }` / `path!(…);`
    const k = path(tts, j, false);
    if (k < 0 || !isPunct(tts[k], '!')) return -1;
    let m = k + 1;
    if (isIdent(tts[m])) m++;
    if (!isGroup(tts[m])) return -1;
    return tts[m]!.k === 1 && (tts[m] as { open: { v: string } }).open.v === '{' ? m + 1 : isPunct(tts[m + 1], ';') ? m + 2 : m + 1;
  }
  for (let k = j; k < tts.length; k++) {
    if (isPunct(tts[k], ';')) return k + 1;
    if (!toSemi && isGroup(tts[k], '{')) return k + 1;
  }
  return -1;
}

function stmt(tts: TT[], i: number): number {
  if (isIdent(tts[i], 'let')) {
    const j = scanTo(tts, i, (x) => isPunct(x, ';'));
    return j > i ? j : -1;
  }
  const it = item(tts, i);
  if (it > 0) return isPunct(tts[it - 1], ';') ? it - 1 : it;
  return expr(tts, i, false);
}

function pattern(tts: TT[], i: number, orPatterns: boolean): number {
  if (i >= tts.length) return -1;
  const j = scanTo(tts, i, (x) => isPunct(x, '=>') || isPunct(x, ',') || isPunct(x, '=') || isIdent(x, 'if') || isIdent(x, 'in') || (!orPatterns && isPunct(x, '|')));
  return j > i ? j : -1;
}

function meta(tts: TT[], i: number): number {
  let j = i;
  if (isIdent(tts[j], 'unsafe') && isGroup(tts[j + 1], '(')) return j + 2;
  j = path(tts, j, false);
  if (j < 0) return -1;
  if (isGroup(tts[j])) return j + 1;
  if (isPunct(tts[j], '=')) {
    const k = expr(tts, j + 1, false);
    return k < 0 ? -1 : k;
  }
  return j;
}

