// ISSUE 14 HOOKS for registry-wide batch scans. The cross-crate work (export tables in src/link/,
// resolution through a dependency's table) is being built in parallel; until it lands, a batch result
// is exactly the per-crate `cap-scan crate DIR` result and the report says the link step was NOT applied.
//
// When it lands:
//  1. `exportTableOf` returns the scanned crate's ExportTable (the worker stores it in the result entry);
//  2. `linkStoredResults` orders the stored entries by their dependencies (from each crate's manifest or
//     the index entry's `deps`), re-runs each crate's resolution/rule stage with its dependencies' tables
//     (`CrateInput.depExports`), replaces the entries' crates, and returns `applied: true`.

import type { ScanResult } from '../types.js';
import type { StoredResult } from './store.js';

export interface LinkOutcome {
  applied: boolean;
  /** Why not (shown in the report's `batch.link`), or what was done. */
  note: string;
}

/** The export table of a scanned crate, to store with its result. Not built yet (issue 14): null. */
export function exportTableOf(_result: ScanResult): unknown {
  return null;
}

/** The cross-crate linking step over the stored export tables, in dependency order. Not applied yet. */
export function linkStoredResults(entries: StoredResult[]): { entries: StoredResult[]; outcome: LinkOutcome } {
  return {
    entries,
    outcome: {
      applied: false,
      note: 'cross-crate linking over stored export tables is not applied yet (issue 14): each crate is reported as `cap-scan crate DIR` scans it alone',
    },
  };
}
