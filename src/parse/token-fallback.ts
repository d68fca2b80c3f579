// The token fallback: a whole file analysed as tokens, for a file a limit or a failure keeps off the
// syntax tree. Nothing is dropped; the reason is listed as unanalyzed.

import { lexInto, Tok, type Token } from './lexer.js';
import { externBlockAt, scanTokens, type TokenSink } from './tokens.js';
import { emptySummary, WASM_IMPORT_ABI, type FileSummary } from './summary.js';
import { bindForeignFn, bindUseAt } from './token-items.js';
import { LineIndex } from './text-index.js';
import type { AnalyzerConfig } from './analyze.js';

/** Tokens per batch of the token-level pass (memory bound: a batch's tokens are dropped before the next). */
export const TOKEN_BATCH = 200_000;

/** The attribute and method names the token pass records for a configuration. */
export function tokenNames(cfg: AnalyzerConfig): { attributeNames: Set<string>; methodNames: Set<string> } {
  return { attributeNames: new Set([...cfg.attributeNames, 'cfg', 'test', 'bench', 'path']), methodNames: new Set(cfg.methodNames) };
}

/** `use` declarations and extern-block functions (foreign functions) found in a token sequence bind names in `scope`. */
export function bindUses(toks: Token[], scope: number, summary: FileSummary, pos: (o: number) => { line: number }): void {
  let externEnd = -1;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const prev = toks[i - 1]?.v;
    if (t.t === Tok.Ident && t.v === 'use' && (i === 0 || prev === ';' || prev === '}' || prev === '{' || prev === 'pub' || prev === ')')) {
      bindUseAt(toks, i, scope, summary, pos(t.s).line);
    } else if (t.t === Tok.Ident && t.v === 'extern' && i > externEnd) {
      const block = externBlockAt(toks, i);
      if (block) {
        externEnd = block.end; // nested blocks are covered by the outer one's items: linear
        for (const it of block.items) if (it.construct !== 'extern-static') bindForeignFn(summary, scope, it.construct === 'wasm-import' ? WASM_IMPORT_ABI : block.abi, it.name, it.symbol, pos(toks[it.at]!.s).line);
      }
    }
  }
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
    ...tokenNames(cfg),
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
