#!/usr/bin/env node
// The acceptance check of `cap-scan batch` (issue 19): a batch report of `enqueue --dir DIR` against the
// single-machine reference of the same crates (src/batch/link.ts scanDirsLinked: one session, each crate
// resolved through its dependencies' export tables exactly as the batch resolves them), crate by crate.
//
//   node scripts/batch-compare.mjs --dir /usr/share/cargo/registry --report report.json [--reference ref.json] [--jobs N] [--alone]
//
// Prints, per compared part (findings by rule/file/line/column, capabilities, phases, reaches, unanalyzed,
// the whole crate entry), how many crates differ, and the first differences; exit 1 when any does.
// With --reference FILE the reference is read from FILE when it exists, else computed and written there.
// --alone also scans each crate alone (no dependency tables) and says how many crates linking changes.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = arg('--dir');
const reportFile = arg('--report');
const refFile = arg('--reference');
if (!dir || !reportFile) {
  console.error('usage: node scripts/batch-compare.mjs --dir DIR --report REPORT.json [--reference REF.json] [--jobs N]');
  process.exit(2);
}

let reference;
if (refFile && existsSync(refFile)) {
  reference = JSON.parse(readFileSync(refFile, 'utf8'));
} else {
  const { jobsFromDir } = await import('../dist/batch/jobs.js');
  const { scanDirsLinked } = await import('../dist/batch/link.js');
  const { defaultScanOptions } = await import('../dist/options.js');
  const { scanJson } = await import('../dist/report/common.js');
  const t0 = performance.now();
  const { jobs } = await jobsFromDir(dir);
  const result = await scanDirsLinked(jobs, defaultScanOptions({ cache: false, offline: true, jobs: Number(arg('--jobs') ?? 0) }));
  reference = JSON.parse(JSON.stringify(scanJson(result)));
  console.log(`reference: ${reference.crates.length} crates scanned in one session in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (refFile) writeFileSync(refFile, `${JSON.stringify(reference)}\n`);
}
const report = JSON.parse(readFileSync(reportFile, 'utf8'));

const key = (c) => `${c.name}@${c.version}`;
const refBy = new Map(reference.crates.map((c) => [key(c), c]));
const repBy = new Map(report.crates.map((c) => [key(c), c]));
const missing = [...refBy.keys()].filter((k) => !repBy.has(k));
const extra = [...repBy.keys()].filter((k) => !refBy.has(k));

const parts = {
  findings: (c) => (c.findings ?? []).map((f) => [f.rule, f.file, f.line, f.column, f.evidence, f.phase, f.context ?? null]),
  capabilities: (c) => c.capabilities,
  phases: (c) => c.phases,
  reaches: (c) => c.reaches ?? [],
  unanalyzed: (c) => c.unanalyzed,
  'whole entry': (c) => c,
};
let differing = 0;
for (const [part, get] of Object.entries(parts)) {
  const diffs = [];
  for (const [k, ref] of refBy) {
    const rep = repBy.get(k);
    if (rep && JSON.stringify(get(ref)) !== JSON.stringify(get(rep))) diffs.push(k);
  }
  differing += diffs.length;
  console.log(`${part}: ${diffs.length} of ${refBy.size} crates differ${diffs.length ? ` (${diffs.slice(0, 5).join(', ')}${diffs.length > 5 ? ', …' : ''})` : ''}`);
}
if (args.includes('--alone')) {
  // what linking changes: the same crates each scanned alone (`crate DIR`, one session, no dependency tables)
  const { scanCrateDirs } = await import('../dist/scan/session.js');
  const { defaultScanOptions } = await import('../dist/options.js');
  const { jobsFromDir } = await import('../dist/batch/jobs.js');
  const { jobs } = await jobsFromDir(dir);
  const { result } = await scanCrateDirs(jobs.map((j) => j.dir), defaultScanOptions({ cache: false, offline: true, jobs: Number(arg('--jobs') ?? 0) }));
  const alone = new Map(JSON.parse(JSON.stringify(result.crates)).map((c) => [key(c), c]));
  const changed = [...refBy].filter(([k, c]) => JSON.stringify(parts.findings(c)) !== JSON.stringify(parts.findings(alone.get(k) ?? {})));
  const more = changed.reduce((n, [k, c]) => n + c.findings.length - (alone.get(k)?.findings.length ?? 0), 0);
  const reach = [...refBy].filter(([k, c]) => JSON.stringify(parts.reaches(c)) !== JSON.stringify(parts.reaches(alone.get(k) ?? {}))).length;
  console.log(`linking vs each crate alone: findings differ in ${changed.length} crates (${more >= 0 ? '+' : ''}${more} findings), reaches in ${reach}`);
}
const linked = report.batch?.link;
if (linked) console.log(`report link step: ${linked.applied ? 'applied' : 'not applied'}: ${linked.note}`);
console.log(`crates: ${refBy.size} in the reference, ${repBy.size} in the report; missing from the report: ${missing.length}${missing.length ? ` (${missing.join(', ')})` : ''}; extra: ${extra.length}`);
console.log(`unscanned: reference ${reference.unscanned.length}, report ${report.unscanned.length}`);
process.exit(differing + missing.length + extra.length + report.unscanned.length === 0 ? 0 : 1);
