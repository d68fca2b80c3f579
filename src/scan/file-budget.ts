// Per-crate budgets on analysed files (hostile input: a crate with 5,000+ files).

import type { Unanalyzed } from '../types.js';

/** Upper bound on files given the full (syntax-tree) analysis per crate (hostile input). */
export const MAX_FILES_PER_CRATE = 5000;
/** Past MAX_FILES_PER_CRATE, files get the linear token-level pass within these budgets; the rest is skipped. */
export const MAX_TOKEN_FILES_PER_CRATE = 50_000;
export const MAX_TOKEN_BYTES_PER_CRATE = 64 * 1024 * 1024;

const TOKENS_REASON = `files-per-crate-cap (${MAX_FILES_PER_CRATE}): analysed as tokens`;

/**
 * The first MAX_FILES_PER_CRATE files get the full analysis; the next ones the linear token-level pass
 * (findings still reported, each file listed as unanalyzed), within a file and byte budget; past it files
 * are skipped (nothing analysed), counted in one unanalyzed entry per crate. Order is the scan order:
 * module trees target by target, then the sorted unreferenced files, so the same files are cut on every run.
 */
export class FileBudget {
  private fullFiles = 0;
  private tokenFiles = 0;
  private tokenBytes = 0;
  private readonly skipped = { files: 0, bytes: 0, first: null as string | null };

  /** How a newly reached file is analysed: '' in full, a tokensOnly reason, or null (skipped). */
  take(rel: string, size: number): string | null {
    if (this.fullFiles < MAX_FILES_PER_CRATE) {
      this.fullFiles++;
      return '';
    }
    if (this.tokenFiles < MAX_TOKEN_FILES_PER_CRATE && this.tokenBytes + size <= MAX_TOKEN_BYTES_PER_CRATE) {
      this.tokenFiles++;
      this.tokenBytes += size;
      return TOKENS_REASON;
    }
    this.skipped.files++;
    this.skipped.bytes += size;
    this.skipped.first ??= rel;
    return null;
  }

  /** What the budget left out, never silently: one entry for all skipped files, or null. */
  skippedEntry(): Unanalyzed | null {
    const { skipped } = this;
    if (skipped.first === null) return null;
    return {
      file: skipped.first,
      line: 1,
      reason:
        `skipped: ${skipped.files} file${skipped.files === 1 ? '' : 's'} (${skipped.bytes} bytes) not analysed, past the files-per-crate cap ` +
        `(${MAX_FILES_PER_CRATE}) and the token-pass budget (${MAX_TOKEN_FILES_PER_CRATE} files, ${MAX_TOKEN_BYTES_PER_CRATE} bytes)`,
    };
  }
}
