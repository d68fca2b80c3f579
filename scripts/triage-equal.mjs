#!/usr/bin/env node
// Equality harness for the parse triage (issue 17): scans crate directories twice with the compiled scanner
// (dist/), once as shipped and once with the triage forced off (CAP_SCAN_TRIAGE=0), each cold (no result
// cache) in its own process, and compares every crate's whole report (findings, urls, hosts, indicators,
// unanalyzed, capabilities, phases and any key added later) crate by crate. Any difference is a failure
// (exit 1), never a tolerance. Also prints how many files and bytes the triage kept off the full tree analysis.
//
//   node scripts/triage-equal.mjs [--registry DIR] [--sample N] [--seed S] [--jobs N] [--json OUT] [--switch VAR | --baseline DIST] [DIR ...]
//
// --switch VAR compares another lossless shortcut the same way: VAR=1 against VAR=0 (default
// CAP_SCAN_TRIAGE; CAP_SCAN_MACRO_MEMO is the macro expansion memo, src/expand/stage.ts).
// --baseline DIST compares this build with another one (a dist/ directory built from an earlier commit,
// e.g. a git worktree's): a refactor meant to change nothing but speed must give zero differences.
//
// DIRs are crate directories; without them every crate directory under --registry (default
// /usr/share/cargo/registry) is used, or a fixed sample of N of them (--sample: every k-th by name, so the
// same crates each run). `bash scripts/wide-corpus.sh` builds the 1514-crate corpus (/tmp/wide-corpus).
// Caveat: a file whose parse runs over its time budget on a loaded machine becomes a token-pass entry in
// one run only; such a difference names the `analysis-failed (parse over …)` reason and is timing, not triage.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

async function child(listFile, outFile, jobs, distDir = dist) {
  const { scanCrateDirs } = await import(pathToFileURL(join(distDir, 'scan/session.js')).href);
  const { defaultScanOptions } = await import(pathToFileURL(join(distDir, 'options.js')).href);
  const dirs = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  const t0 = process.hrtime.bigint();
  const { result, stats, files } = await scanCrateDirs(dirs, defaultScanOptions({ jobs, cache: false }));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  let chars = 0;
  for (const f of files) chars += readFileSync(f, 'utf8').length;
  writeFileSync(outFile, JSON.stringify({ crates: result.crates, stats, wallMs, files: files.length, chars }));
}

export function crateDirs(registry) {
  return readdirSync(registry, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(registry, e.name, 'Cargo.toml')))
    .map((e) => join(registry, e.name))
    .sort();
}

/** A fixed sample: n directories evenly spread over the sorted list. */
export function sample(dirs, n) {
  if (n >= dirs.length) return dirs;
  const out = [];
  for (let i = 0; i < n; i++) out.push(dirs[Math.floor((i * dirs.length) / n)]);
  return out;
}

/** Differences between two scans' crate lists: one line per crate and key that differ. */
export function compareCrates(a, b) {
  const key = (c) => `${c.name}@${c.version}`;
  const mb = new Map(b.map((c) => [key(c), c]));
  const diffs = [];
  for (const ca of a) {
    const cb = mb.get(key(ca));
    mb.delete(key(ca));
    if (!cb) {
      diffs.push(`${key(ca)}: only with the triage`);
      continue;
    }
    for (const k of new Set([...Object.keys(ca), ...Object.keys(cb)])) {
      const ja = JSON.stringify(ca[k]);
      const jb = JSON.stringify(cb[k]);
      if (ja === jb) continue;
      const la = Array.isArray(ca[k]) ? ca[k].map((x) => JSON.stringify(x)) : [ja];
      const lb = new Set(Array.isArray(cb[k]) ? cb[k].map((x) => JSON.stringify(x)) : [jb]);
      const sa = new Set(la);
      const lost = [...lb].filter((x) => !sa.has(x)).slice(0, 3);
      const added = la.filter((x) => !lb.has(x)).slice(0, 3);
      diffs.push(`${key(ca)} ${k}: ${lost.length ? `without the triage only: ${lost.join(' ')}` : ''}${added.length ? ` with the triage only: ${added.join(' ')}` : ''}${!lost.length && !added.length ? 'order differs' : ''}`);
    }
  }
  for (const k of mb.keys()) diffs.push(`${k}: only without the triage`);
  return diffs;
}

/**
 * Runs both scans on `dirs`; returns { diffs, on, off } (each: crates, stats, wallMs). With `baseline` (a
 * dist/ directory) the second scan is that build's, and no variable is switched.
 */
export function runHarness(dirs, { jobs = 0, switchVar = 'CAP_SCAN_TRIAGE', baseline = null } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'cap-scan-triage-equal-'));
  try {
    const list = join(tmp, 'dirs.txt');
    writeFileSync(list, dirs.join('\n'));
    const run = (name, env, distDir = dist) => {
      const out = join(tmp, `${name}.json`);
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', list, out, String(jobs), distDir], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'inherit', 'inherit'],
        maxBuffer: 1 << 30,
      });
      if (r.status !== 0) throw new Error(`${name} scan failed (exit ${r.status})`);
      return JSON.parse(readFileSync(out, 'utf8'));
    };
    const on = baseline ? run('build', {}) : run('triage', { [switchVar]: '1' });
    const off = baseline ? run('baseline', {}, baseline) : run('full', { [switchVar]: '0' });
    return { diffs: compareCrates(on.crates, off.crates), on, off };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(argv) {
  if (argv[0] === '--child') return child(argv[1], argv[2], Number(argv[3]), argv[4]);
  let registry = '/usr/share/cargo/registry';
  let n = 0;
  let jobs = 0;
  let jsonOut = null;
  let switchVar = 'CAP_SCAN_TRIAGE';
  let baseline = null;
  const dirs = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--registry') registry = argv[++i];
    else if (a === '--sample') n = Number(argv[++i]);
    else if (a === '--jobs') jobs = Number(argv[++i]);
    else if (a === '--json') jsonOut = argv[++i];
    else if (a === '--switch') switchVar = argv[++i];
    else if (a === '--baseline') baseline = resolve(argv[++i]);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else dirs.push(resolve(a));
  }
  if (!existsSync(join(dist, 'scan/session.js'))) throw new Error('dist/ is missing: npm run build first');
  let chosen = dirs.length ? dirs : crateDirs(registry);
  if (n > 0) chosen = sample(chosen, n);
  if (!/^CAP_SCAN_[A-Z_]+$/.test(switchVar)) throw new Error(`--switch takes a CAP_SCAN_… variable, not ${switchVar}`);
  if (baseline && !existsSync(join(baseline, 'scan/session.js'))) throw new Error(`--baseline ${baseline}: no scan/session.js there (a built dist/ directory)`);
  const { diffs, on, off } = runHarness(chosen, { jobs, switchVar, baseline });
  const p = on.stats.pool;
  const summary = {
    switch: baseline ? null : switchVar,
    baseline,
    crates: chosen.length,
    differences: diffs.length,
    // files analysed include prefetches a crate scan did not use (counted alike in both numbers)
    triaged: { files: p.triaged, ofFiles: p.analysed, chars: p.triagedChars, scannedFiles: on.files, scannedChars: on.chars },
    wallMs: { triage: Math.round(on.wallMs), full: Math.round(off.wallMs) },
  };
  for (const d of diffs.slice(0, 50)) console.log(`DIFF ${d}`);
  if (diffs.length > 50) console.log(`… ${diffs.length - 50} more`);
  console.log(JSON.stringify(summary));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ ...summary, diffs }, null, 2));
  process.exitCode = diffs.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`triage-equal: ${e.message}`);
    process.exitCode = 2;
  });
}
