// Per-file analysis, in stages: the query captures of the syntax tree (captures.ts), the scopes and ranges
// they declare (scope-map.ts), the facts (tree-facts.ts); and the token fallback (token-fallback.ts) for
// a file a limit (tree-guard.ts) or a failure keeps off the tree. Reduces a file to a FileSummary.

import { isUtf8 } from 'node:buffer';
import { emptySummary, type FileSummary } from './summary.js';
import { getParser, getQueries, placeCaptures } from './captures.js';
import { parseWithin } from './parse-budget.js';
import { mapScopes } from './scope-map.js';
import { addTreeFacts } from './tree-facts.js';
import { analyzeTokens, tokenNames } from './token-fallback.js';
import { treeGuard } from './tree-guard.js';
import { LineIndex } from './text-index.js';
import { Triage, triageEnabled, type TriageNames } from './triage.js';

export { getParser } from './captures.js';
export { analyzeTokens, TOKEN_BATCH } from './token-fallback.js';
export { chainDepth, estimateTokens, maxNesting, treeGuard, MAX_CHAIN, MAX_NESTING, MAX_TREE_TOKENS } from './tree-guard.js';

export interface AnalyzerConfig {
  /** Attribute names rules care about. */
  attributeNames: string[];
  /** Method names of trait-method rules. */
  methodNames: string[];
  /** Method names whose calls get their receiver's origin recorded (typed-method rules, receivers.ts). */
  receiverMethods?: string[];
  /** Rule-supplied tree-sitter queries (capture `@match`). */
  queries: { rule: string; query: string }[];
  /** The names rules match, for the parse triage (triage.ts); absent: every file gets the full analysis. */
  triage?: TriageNames;
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

/** Decode file bytes; invalid UTF-8 is replaced and reported. */
export function decodeSource(buf: Buffer, summaryProblems: { line: number; reason: string }[]): string {
  if (!isUtf8(buf)) summaryProblems.push({ line: 1, reason: 'invalid-utf8' });
  return buf.toString('utf8');
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
 * Time a file's parse may take (microseconds of the parsing thread's CPU time, parse-budget.ts):
 * tree-sitter's error recovery is super-linear on some broken inputs (58 KB of `"#d` repeated: ~40 s), so
 * a parse over 2 s plus 0.5 µs per byte (8 MiB: ~6 s; the largest real files parse in well under a
 * second, encoding_rs's 2.5 MB data.rs in ~1.5 s) is stopped and the file gets the token pass.
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
  // in this thread's CPU time (parse-budget.ts): the same file gets the same analysis however loaded the machine
  const tree = parseWithin(p, source, budget);
  if (!tree) throw new Error(`parse over its ${(budget / 1e6).toFixed(1)} s budget`);
  const root = tree.rootNode;
  // the triage stage: a file the lexical pass clears gets the structural captures only
  const cleared = triaged(source, cfg, opts);
  if (cleared) summary.triaged = source.length;
  const qs = getQueries(cfg, source, cleared);
  const caps = placeCaptures(qs.base, root);
  const scopes = mapScopes(caps, source.length, summary);
  addTreeFacts({ source, root, opts, lines, scopes, ...tokenNames(cfg), receiverMethods: cfg.receiverMethods }, caps, qs.rules, summary, qs.recv);
  if (typeof (tree as unknown as { delete?: () => void }).delete === 'function') (tree as unknown as { delete: () => void }).delete();
  return summary;
}

const triages = new WeakMap<AnalyzerConfig, Triage>();
/** Files larger than this get the full analysis without a triage decision. */
export const TRIAGE_MAX_CHARS = 1 << 20;

/** Whether the triage clears the file (see triage.ts): never for build scripts or with rule queries. */
function triaged(source: string, cfg: AnalyzerConfig, opts: FileOptions): boolean {
  // over TRIAGE_MAX_CHARS the regexes' linear cost (0.4-0.8 s on the 8 MB hostile files) is not worth it
  if (!cfg.triage || opts.buildScript || cfg.queries.length > 0 || source.length > TRIAGE_MAX_CHARS || !triageEnabled()) return false;
  let t = triages.get(cfg);
  if (!t) triages.set(cfg, (t = new Triage(cfg.triage)));
  return t.reason(source) === null;
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
