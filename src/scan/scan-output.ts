// Stage 5 of the crate scan: everything collected is deduplicated and sorted once, so the output is the
// same whatever the order files were analysed in.

import type { Finding, Indicator, Unanalyzed } from '../types.js';
import { cmp } from '../util/compare.js';
import type { CrateScan } from './crate-scan.js';

/** A crate's scan as collected, in scan order, with duplicates. */
export interface CollectedScan {
  /** Per-unit findings; of two with the same rule and position the first is kept. */
  findings: Finding[];
  /** Crate-level findings (kept as they are). */
  crateFindings: Finding[];
  indicators: Indicator[];
  hosts: CrateScan['hosts'];
  urls: CrateScan['urls'];
  unanalyzed: Unanalyzed[];
  files: CrateScan['files'];
}

/** The first item of each key, in order. */
function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Deduplicates and sorts findings, indicators, unanalyzed entries and files; hosts and URLs stay in scan order. */
export function finishScan(c: CollectedScan): CrateScan {
  const findings = uniqueBy(c.findings, (f) => `${f.rule}\0${f.file}\0${f.line}\0${f.column}`);
  for (const f of c.crateFindings) findings.push(f);
  findings.sort((a, b) => cmp(a.file, b.file) || a.line - b.line || a.column - b.column || cmp(a.rule, b.rule));
  const indicators = uniqueBy(c.indicators, (i) => `${i.id}\0${i.file}\0${i.line}\0${i.detail}`).sort(
    (a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.id, b.id) || cmp(a.detail, b.detail),
  );
  const unanalyzed = uniqueBy(c.unanalyzed, (u) => `${u.file}\0${u.line}\0${u.reason}`).sort(
    (a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.reason, b.reason),
  );
  const files = [...c.files].sort((a, b) => cmp(a.rel, b.rel));
  return { findings, indicators, urls: c.urls, hosts: c.hosts, unanalyzed, files };
}
