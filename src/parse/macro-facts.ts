// The macro facts of a file (macro_rules! definitions, invocations with their token text), recorded by the
// tree path and the token pass for the crate stage's expansion (src/expand/). Recording is bounded per file:
// nested invocations each keep their own text, so a file's recorded text is capped (linear in its size);
// an invocation past the cap is recorded without text and the expansion stage says so.

import { Tok, type Token } from './lexer.js';
import type { FactContext, FileSummary, MacroCallFact, MacroDefFact } from './summary.js';

/** Recorded token text per file: at most this many characters plus twice the file's length. */
export const MACRO_TEXT_SLACK = 1 << 16;

const used = new WeakMap<FileSummary, number>();

/** `text` if it fits in the file's recording budget, else null. */
function take(summary: FileSummary, sourceLength: number, text: string): string | null {
  const u = used.get(summary) ?? 0;
  if (u + text.length > 2 * sourceLength + MACRO_TEXT_SLACK) return null;
  used.set(summary, u + text.length);
  return text;
}

export function recordMacroCall(
  summary: FileSummary,
  source: string,
  call: { scope: number; segs: string[]; global: boolean; line: number; column: number; ctx?: FactContext | undefined },
  tt: { start: number; end: number; line: number; column: number },
): void {
  const fact: MacroCallFact = {
    scope: call.scope,
    segs: call.segs,
    global: call.global,
    line: call.line,
    column: call.column,
    tt: take(summary, source.length, source.slice(tt.start, tt.end)),
    ttLine: tt.line,
    ttColumn: tt.column,
  };
  if (call.ctx) fact.ctx = call.ctx;
  (summary.macroCalls ??= []).push(fact);
}

export function recordMacroDef(
  summary: FileSummary,
  source: string,
  def: { name: string; scope: number; exported: boolean; line: number; column: number; ctx?: FactContext | undefined },
  rules: { start: number; end: number; line: number; column: number },
): void {
  const text = take(summary, source.length, source.slice(rules.start, rules.end));
  if (text === null) return; // the body's token-level findings stay; nothing can expand it
  const fact: MacroDefFact = { name: def.name, scope: def.scope, exported: def.exported, line: def.line, column: def.column, rules: text, rulesLine: rules.line, rulesColumn: rules.column };
  if (def.ctx) fact.ctx = def.ctx;
  (summary.macroDefs ??= []).push(fact);
}

/** Whether the attributes right before toks[i] include `#[macro_export]`. */
export function macroExportBefore(toks: Token[], i: number): boolean {
  const punct = (t: Token | undefined, v: string) => t !== undefined && t.t === Tok.Punct && t.v === v;
  let j = i - 1;
  for (let n = 0; n < 64 && punct(toks[j], ']'); n++) {
    let k = j;
    let depth = 0;
    for (; k >= 0 && j - k < 4096; k--) {
      if (punct(toks[k], ']')) depth++;
      else if (punct(toks[k], '[') && --depth === 0) break;
    }
    if (k < 1 || !punct(toks[k], '[')) return false;
    let h = k - 1;
    if (punct(toks[h], '!')) h--;
    if (!punct(toks[h], '#')) return false;
    if (toks[k + 1]?.t === Tok.Ident && toks[k + 1]!.v === 'macro_export') return true;
    j = h - 1;
  }
  return false;
}

/** Index of the closing token of every group of toks (by opening index), -1 for unclosed ones: one linear pass. */
export function groupCloses(toks: Token[]): Int32Array {
  const close = new Int32Array(toks.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.t !== Tok.Punct) continue;
    if (t.v === '(' || t.v === '[' || t.v === '{') stack.push(i);
    else if (t.v === ')' || t.v === ']' || t.v === '}') {
      // a mismatched closer ends the innermost group (as matchClose counts only its own kind, roughly)
      const o = stack.pop();
      if (o !== undefined) close[o] = i;
    }
  }
  return close;
}
