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
  const capped = capFindings(findings);
  const indicators = uniqueBy(c.indicators, (i) => `${i.id}\0${i.file}\0${i.line}\0${i.detail}`).sort(
    (a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.id, b.id) || cmp(a.detail, b.detail),
  );
  const unanalyzed = uniqueBy([...c.unanalyzed, ...capped.unanalyzed], (u) => `${u.file}\0${u.line}\0${u.reason}`).sort(
    (a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.reason, b.reason),
  );
  const files = [...c.files].sort((a, b) => cmp(a.rel, b.rel));
  return { findings: capped.findings, indicators, urls: c.urls, hosts: c.hosts, unanalyzed, files };
}

/**
 * Findings kept per file, rule, phase and context. A real file has at most a few hundred of one rule
 * (818: libc's psp.rs extern blocks); a hostile one has 400k `unsafe {}` blocks, whose findings alone
 * filled the report and the cache entry. Past the cap the capability is still there (the first
 * MAX_FINDINGS_PER_RULE findings stay) and an unanalyzed entry says how many more were not listed.
 */
export const MAX_FINDINGS_PER_RULE = 10_000;

function capFindings(sorted: Finding[]): { findings: Finding[]; unanalyzed: Unanalyzed[] } {
  const counts = new Map<string, { n: number; first: Finding }>();
  const findings: Finding[] = [];
  for (const f of sorted) {
    const k = `${f.file}\0${f.rule}\0${f.phase}\0${f.context ?? ''}`;
    let e = counts.get(k);
    if (!e) counts.set(k, (e = { n: 0, first: f }));
    if (++e.n <= MAX_FINDINGS_PER_RULE) findings.push(f);
  }
  if (findings.length === sorted.length) return { findings: sorted, unanalyzed: [] };
  const unanalyzed: Unanalyzed[] = [];
  for (const { n, first } of counts.values()) {
    if (n <= MAX_FINDINGS_PER_RULE) continue;
    const where = `${first.phase}${first.context ? `, ${first.context}` : ''}`;
    unanalyzed.push({ file: first.file, line: first.line, reason: `findings-cap (${MAX_FINDINGS_PER_RULE} per rule and file): ${n - MAX_FINDINGS_PER_RULE} more ${first.rule} findings (${where}) not listed` });
  }
  return { findings, unanalyzed };
}
