// macro_rules! over token trees: a definition's rules compiled to matchers, an invocation matched against
// them in order (the first that matches wins, as in rustc), and the chosen rule's transcriber filled in
// (fragments, nested repetitions `$(…) sep op`, `$crate`). Every step counts against a budget the caller
// gives, so a hostile macro costs at most that.

import { FRAGMENT_KINDS, parseFragment } from './fragments.js';
import { isGroup, isPunct, lexPlaced, lexTokens, placed, treeSize, treesOf, Tok, type OTok, type TT } from './tt.js';

type Pat =
  | { k: 'tok'; t: Tok; v: string }
  | { k: 'group'; open: string; pats: Pat[] }
  | { k: 'frag'; name: string; kind: string }
  | { k: 'rep'; pats: Pat[]; sep: { t: Tok; v: string } | null; op: '*' | '+' | '?'; names: string[] };

export interface CompiledRule {
  pats: Pat[];
  body: TT[];
  /** Where the transcriber sits in the defining file (its braces), for the body's token-level findings. */
  from: { line: number; column: number };
  to: { line: number; column: number };
}

export type Compiled = { rules: CompiledRule[] } | { error: string };

/** Compiles a definition's rules group text (`{ (…) => {…}; … }`), positioned at (line, column) of its file. */
export function compileRules(text: string, line: number, column: number, origin: boolean): Compiled {
  const toks = lexTokens(text, origin ? originOf(text, line, column) : null);
  const trees = treesOf(toks);
  const group = trees?.[0];
  if (!trees || trees.length !== 1 || !isGroup(group)) return { error: 'malformed definition' };
  const rules: CompiledRule[] = [];
  const inner = group.inner;
  for (let i = 0; i < inner.length; ) {
    const m = inner[i];
    const body = inner[i + 2];
    if (!isGroup(m) || !isPunct(inner[i + 1], '=>') || !isGroup(body)) return { error: 'malformed definition' };
    const pats = compileMatcher(m.inner);
    if ('error' in pats) return pats;
    rules.push({ pats: pats.pats, body: body.inner, from: { line: body.open.line, column: body.open.column }, to: { line: body.close.line, column: body.close.column } });
    i += 3;
    if (isPunct(inner[i], ';')) i++;
  }
  // body tokens are written at the invocation (their origin was only for the rules' spans)
  for (const t of toks) {
    t.line = 0;
    t.column = 0;
  }
  return { rules };
}

function originOf(text: string, line: number, column: number) {
  const starts: number[] = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (o: number) => {
    let lo = 0;
    for (let hi = starts.length - 1; lo < hi; ) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return lo === 0 ? { line, column: column + o } : { line: line + lo, column: o - starts[lo]! + 1 };
  };
}

function compileMatcher(tts: TT[]): { pats: Pat[] } | { error: string } {
  const pats: Pat[] = [];
  for (let i = 0; i < tts.length; i++) {
    const tt = tts[i]!;
    if (tt.k === 1) {
      const sub = compileMatcher(tt.inner);
      if ('error' in sub) return sub;
      pats.push({ k: 'group', open: tt.open.v, pats: sub.pats });
      continue;
    }
    const t = tt.tok;
    if (t.t === Tok.Punct && t.v === '$' && isGroup(tts[i + 1], '(')) {
      const sub = compileMatcher((tts[i + 1] as { inner: TT[] }).inner);
      if ('error' in sub) return sub;
      let j = i + 2;
      let sep: { t: Tok; v: string } | null = null;
      const opOf = (x: TT | undefined) => (x && x.k === 0 && x.tok.t === Tok.Punct && ['*', '+', '?'].includes(x.tok.v) ? (x.tok.v as '*' | '+' | '?') : null);
      let op = opOf(tts[j]);
      if (!op) {
        const s = tts[j];
        if (!s || s.k !== 0) return { error: 'unsupported matcher (repetition without an operator)' };
        sep = { t: s.tok.t, v: s.tok.v };
        op = opOf(tts[j + 1]);
        if (!op) return { error: 'unsupported matcher (repetition without an operator)' };
        j++;
      }
      pats.push({ k: 'rep', pats: sub.pats, sep, op, names: namesOf(sub.pats) });
      i = j;
      continue;
    }
    if (t.t === Tok.Ident && t.v.startsWith('$') && t.v !== '$crate' && isPunct(tts[i + 1], ':')) {
      const kind = tts[i + 2];
      if (!kind || kind.k !== 0 || kind.tok.t !== Tok.Ident) return { error: 'malformed matcher' };
      if (!FRAGMENT_KINDS.has(kind.tok.v)) return { error: `unsupported matcher ($${t.v.slice(1)}:${kind.tok.v})` };
      pats.push({ k: 'frag', name: t.v.slice(1), kind: kind.tok.v });
      i += 2;
      continue;
    }
    pats.push({ k: 'tok', t: t.t, v: t.t === Tok.Str ? t.text : t.v });
  }
  return { pats };
}

function namesOf(pats: Pat[], out: string[] = []): string[] {
  for (const p of pats) {
    if (p.k === 'frag') out.push(p.name);
    else if (p.k === 'group' || p.k === 'rep') namesOf(p.pats, out);
  }
  return out;
}

/** A fragment's trees are tts[from, to) (the matched input, not copied). */
type Bind = { k: 'one'; tts: TT[]; from: number; to: number } | { k: 'seq'; items: Bind[] };
type Binds = Map<string, Bind>;

/** Work left (matcher steps and output tokens); exhausted: the expansion stops with `limit`. */
export interface Budget {
  steps: number;
  tokens: number;
}

class Limit extends Error {}

function sameTok(p: { t: Tok; v: string }, tt: TT | undefined): boolean {
  if (!tt || tt.k !== 0) return false;
  const t = tt.tok;
  if (p.t === Tok.Str) return t.t === Tok.Str && t.text === p.v;
  return t.t === p.t && t.v === p.v;
}

/** Matches pats against tts from i; the index after the match, or -1. */
function matchSeq(pats: Pat[], tts: TT[], i: number, binds: Binds, budget: Budget): number {
  let j = i;
  for (const p of pats) {
    if (--budget.steps < 0) throw new Limit('steps');
    switch (p.k) {
      case 'tok':
        if (!sameTok(p, tts[j])) return -1;
        j++;
        break;
      case 'group': {
        const g = tts[j];
        if (!isGroup(g, p.open)) return -1;
        if (matchSeq(p.pats, g.inner, 0, binds, budget) !== g.inner.length) return -1;
        j++;
        break;
      }
      case 'frag': {
        const e = parseFragment(p.kind, tts, j);
        if (e < 0) return -1;
        budget.steps -= e - j;
        binds.set(p.name, { k: 'one', tts, from: j, to: e });
        j = e;
        break;
      }
      case 'rep': {
        const iters: Binds[] = [];
        for (;;) {
          let k = j;
          if (iters.length > 0 && p.sep) {
            if (!sameTok(p.sep, tts[k])) break;
            k++;
          }
          const b: Binds = new Map();
          const e = matchSeq(p.pats, tts, k, b, budget);
          // no progress: an empty iteration would repeat forever
          if (e < 0 || e === j) break;
          iters.push(b);
          j = e;
          if (p.op === '?') break;
        }
        if (p.op === '+' && iters.length === 0) return -1;
        for (const name of p.names) binds.set(name, { k: 'seq', items: iters.map((b) => b.get(name) ?? { k: 'seq', items: [] }) });
        break;
      }
    }
  }
  return j;
}

/** The call site a transcription is placed at, and what `$crate` becomes. */
export interface Site {
  line: number;
  column: number;
  /** Tokens `$crate` is written as (`crate`, or `::dep` for a dependency's macro). */
  crate: string;
}

export type Expansion = { tokens: OTok[]; rule: number } | { error: string; limit?: 'tokens' | 'steps' };

/** Expands an invocation's token tree (delimiters included) with a compiled definition. */
export function expand(def: { rules: CompiledRule[] }, input: TT, site: Site, budget: Budget): Expansion {
  if (!isGroup(input)) return { error: 'malformed invocation' };
  try {
    for (let r = 0; r < def.rules.length; r++) {
      const rule = def.rules[r]!;
      const binds: Binds = new Map();
      if (matchSeq(rule.pats, input.inner, 0, binds, budget) !== input.inner.length) continue;
      const out: OTok[] = [];
      const crateToks = lexPlaced(site.crate, site.line, site.column);
      transcribe(rule.body, binds, [], out, site, crateToks, budget);
      return { tokens: out, rule: r };
    }
    return { error: 'no rule matched' };
  } catch (e) {
    if (e instanceof Limit) return { error: `limit: ${e.message}`, limit: e.message as 'tokens' | 'steps' };
    if (e instanceof TranscribeError) return { error: e.message };
    throw e;
  }
}

class TranscribeError extends Error {}

function lookup(binds: Binds, name: string, idx: number[]): Bind | undefined {
  let b = binds.get(name);
  for (const k of idx) {
    if (!b || b.k !== 'seq') break;
    b = b.items[k];
  }
  return b;
}

function usedNames(tts: TT[], out: Set<string> = new Set()): Set<string> {
  for (const tt of tts) {
    if (tt.k === 1) usedNames(tt.inner, out);
    else if (tt.tok.t === Tok.Ident && tt.tok.v.startsWith('$')) out.add(tt.tok.v.slice(1));
  }
  return out;
}

/** usedNames of a transcriber's repetition, in order: computed once per compiled group. */
const usedNamesOf = new WeakMap<TT[], string[]>();

function emit(out: OTok[], t: OTok, budget: Budget): void {
  if (--budget.tokens < 0) throw new Limit('tokens');
  out.push(t);
}

/** Emits the tokens of tts[from, to), in order. */
function emitTrees(out: OTok[], tts: TT[], from: number, to: number, budget: Budget): void {
  for (let i = from; i < to; i++) {
    const tt = tts[i]!;
    if (tt.k === 0) emit(out, tt.tok, budget);
    else {
      emit(out, tt.open, budget);
      emitTrees(out, tt.inner, 0, tt.inner.length, budget);
      emit(out, tt.close, budget);
    }
  }
}

const isOp = (x: TT | undefined) => x !== undefined && x.k === 0 && x.tok.t === Tok.Punct && (x.tok.v === '*' || x.tok.v === '+' || x.tok.v === '?');

/** `idx`: the repetition indices at this depth (pushed and popped as repetitions are written). */
function transcribe(tts: TT[], binds: Binds, idx: number[], out: OTok[], site: Site, crateToks: OTok[], budget: Budget): void {
  if (--budget.steps < 0) throw new Limit('steps');
  for (let i = 0; i < tts.length; i++) {
    const tt = tts[i]!;
    if (tt.k === 1) {
      emit(out, tt.open.line === 0 ? placed(tt.open, site.line, site.column) : tt.open, budget);
      transcribe(tt.inner, binds, idx, out, site, crateToks, budget);
      emit(out, tt.close.line === 0 ? placed(tt.close, site.line, site.column) : tt.close, budget);
      continue;
    }
    const t = tt.tok;
    if (t.t === Tok.Punct && t.v === '$' && isGroup(tts[i + 1], '(')) {
      const group = tts[i + 1] as { inner: TT[] };
      let j = i + 2;
      let sep: OTok | null = null;
      if (!isOp(tts[j])) {
        const s = tts[j];
        if (s && s.k === 0 && isOp(tts[j + 1])) {
          sep = s.tok;
          j++;
        }
      }
      let names = usedNamesOf.get(group.inner);
      if (!names) usedNamesOf.set(group.inner, (names = [...usedNames(group.inner)]));
      let count = -1;
      for (const name of names) {
        const b = lookup(binds, name, idx);
        if (b && b.k === 'seq') {
          if (count >= 0 && count !== b.items.length) throw new TranscribeError(`meta-variable $${name} repeats ${b.items.length} times, another ${count} times`);
          count = b.items.length;
        }
      }
      if (count < 0) throw new TranscribeError('repetition without a repeating meta-variable');
      for (let k = 0; k < count; k++) {
        if (k > 0 && sep) emit(out, sep.line === 0 ? placed(sep, site.line, site.column) : sep, budget);
        idx.push(k);
        transcribe(group.inner, binds, idx, out, site, crateToks, budget);
        idx.pop();
      }
      i = j;
      continue;
    }
    if (t.t === Tok.Ident && t.v.startsWith('$')) {
      const name = t.v.slice(1);
      if (name === 'crate') {
        for (const c of crateToks) emit(out, c, budget);
        continue;
      }
      const b = lookup(binds, name, idx);
      if (b && b.k === 'one') {
        emitTrees(out, b.tts, b.from, b.to, budget);
        continue;
      }
      if (b && b.k === 'seq') throw new TranscribeError(`meta-variable $${name} is still repeating at this depth`);
      // not bound: written as is (a macro that defines a macro)
    }
    emit(out, t.line === 0 ? placed(t, site.line, site.column) : t, budget);
  }
}

/** The token tree of an invocation's text (delimiters included), with origins. */
export function invocationTree(toks: OTok[]): TT | null {
  const trees = treesOf(toks);
  return trees && trees.length === 1 && trees[0]!.k === 1 ? trees[0]! : null;
}

export { treeSize };
