#!/usr/bin/env node
// Seeded mutation fuzzing of the CLI. Copies of real Rust files (the fixtures, and Debian's crate corpus at
// /usr/share/cargo/registry when installed) are mutated (byte flips, truncation, span duplication, inserted
// brackets/quotes/r#"/NUL/BOMs, deep nesting splices, huge repetition, UTF-16), packed as modules of a few
// vendored crates per workspace ("case"), and scanned by the built CLI. A case fails on an exit code other
// than 0/1, an internal error or stack trace on stderr, a run over its time budget, or output that is not
// JSON. Every case is a pure function of (seed, case index, pool), so a failure replays alone.
//
//   npm run fuzz -- [--count FILES] [--seed S] [--case N] [--pool ci|corpus] [--jobs J] [--keep]
//
// --count: mutated files in all (default 2000; FILES_PER_CASE per case); --pool ci is the fixed sample the
// CI test (test/fuzz.test.ts) uses, corpus (default) every corpus file. Prints crashes, runs over 10 s and the
// maximum peak RSS at the end; exits 1 if any case failed.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, crashSigns, isolatedEnv, runCli } from '../test/helpers/cli-run.mjs';

export const DEFAULT_SEED = 20240612;
export const CRATES_PER_CASE = 3;
export const FILES_PER_CRATE = 10;
export const FILES_PER_CASE = CRATES_PER_CASE * FILES_PER_CRATE;
/** Wall-time budget of one case (30 files, each ≤ MAX_MUTANT bytes) and the kill timeout. */
export const CASE_BUDGET_S = 20;
export const CASE_KILL_S = 30;
const MAX_MUTANT = 256 * 1024;
const MAX_SOURCE = 256 * 1024;
const REGISTRY = process.env.CAP_SCAN_CORPUS_REGISTRY || '/usr/share/cargo/registry';
const CI_CORPUS_SAMPLE = 120;
const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

/** mulberry32: a small deterministic PRNG; returns floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (xs) => xs[next.int(xs.length)];
  return next;
}

/** The seed of case `index`: independent of every other case, so one case replays alone. */
export const caseSeed = (seed, index) => (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;

function rsFiles(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) rsFiles(p, out);
    else if (e.isFile() && e.name.endsWith('.rs')) out.push(p);
  }
  return out;
}

/**
 * The source files mutants are made from, in a fixed order: every fixture .rs file, then corpus files
 * (≤ 256 KiB): all of them for 'corpus', an evenly spaced fixed sample of CI_CORPUS_SAMPLE for 'ci'.
 */
export function sourcePool(kind = 'ci') {
  const fixtures = rsFiles(path.join(REPO, 'fixtures'));
  let corpus = rsFiles(REGISTRY).filter((p) => {
    try {
      return statSync(p).size <= MAX_SOURCE;
    } catch {
      return false;
    }
  });
  if (kind === 'ci' && corpus.length > CI_CORPUS_SAMPLE) {
    const step = corpus.length / CI_CORPUS_SAMPLE;
    corpus = Array.from({ length: CI_CORPUS_SAMPLE }, (_, i) => corpus[Math.floor(i * step)]);
  }
  return [...fixtures, ...corpus];
}

const INSERTS = ['{', '}', '(', ')', '[', ']', '<', '>', '"', "'", 'r#"', '"#', 'r##"', 'b"', '\0', '/*', '*/', '//', '#[', '#![', '::', 'mod x;', '\\', '\u{feff}', '\r'];
const BOM16 = Buffer.from([0xff, 0xfe]);

/** One mutation of `b` (a Buffer); returns [new buffer, description]. */
function mutateOnce(b, rng) {
  const at = () => rng.int(b.length + 1);
  switch (rng.int(8)) {
    case 0: {
      const c = Buffer.from(b);
      const n = 1 + rng.int(8);
      for (let i = 0; i < n && c.length; i++) c[rng.int(c.length)] ^= 1 << rng.int(8);
      return [c, `flip ${n}`];
    }
    case 1: {
      const p = at();
      return [b.subarray(0, p), `truncate ${p}`];
    }
    case 2: {
      const s = at();
      const e = Math.min(b.length, s + rng.int(4096));
      const p = at();
      return [Buffer.concat([b.subarray(0, p), b.subarray(s, e), b.subarray(p)]), `dup ${s}..${e}@${p}`];
    }
    case 3: {
      const ins = rng.pick(INSERTS);
      const p = at();
      return [Buffer.concat([b.subarray(0, p), Buffer.from(ins), b.subarray(p)]), `insert ${JSON.stringify(ins)}@${p}`];
    }
    case 4: {
      const [open, close] = rng.pick([['(', ')'], ['{', '}'], ['[', ']'], ['<', '>'], ['mod m { ', '}'], ['{ unsafe ', '}'], ['f(', ')']]);
      const d = 1 + rng.int(rng() < 0.6 ? 200 : 20_000);
      const p = at();
      const q = p + rng.int(b.length - p + 1);
      const closed = rng() < 0.7;
      const parts = [b.subarray(0, p), Buffer.from(open.repeat(d)), b.subarray(p, q), Buffer.from(closed ? close.repeat(d) : ''), b.subarray(q)];
      return [Buffer.concat(parts), `nest ${JSON.stringify(open)}x${d}${closed ? '' : ' unclosed'}@${p}`];
    }
    case 5: {
      const s = at();
      const span = b.subarray(s, Math.min(b.length, s + 1 + rng.int(64)));
      const k = Math.max(1, Math.floor(rng.int(MAX_MUTANT / 2) / Math.max(1, span.length)));
      const p = at();
      return [Buffer.concat([b.subarray(0, p), Buffer.from(span.toString('latin1').repeat(k), 'latin1'), b.subarray(p)]), `repeat ${span.length}Bx${k}@${p}`];
    }
    case 6: {
      const bom = rng() < 0.5;
      const u = Buffer.from(b.toString('utf8'), 'utf16le');
      return [bom ? Buffer.concat([BOM16, u]) : u, `utf16${bom ? ' bom' : ''}`];
    }
    default: {
      const p = at();
      const e = Math.min(b.length, p + rng.int(256));
      return [Buffer.concat([b.subarray(0, p), b.subarray(e)]), `delete ${p}..${e}`];
    }
  }
}

/** 1-3 mutations of `src`, capped at MAX_MUTANT bytes. */
export function mutate(src, rng) {
  let b = src;
  const ops = [];
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const [c, what] = mutateOnce(b, rng);
    b = c.length > MAX_MUTANT ? c.subarray(0, MAX_MUTANT) : c;
    ops.push(what);
  }
  return { bytes: b, ops };
}

/**
 * Writes case `index` under `dir`: a workspace whose root package depends on CRATES_PER_CASE vendored
 * crates, each a lib.rs declaring FILES_PER_CRATE mutated modules. Returns { manifest, files: [{crate, file,
 * from, ops}] }.
 */
export function buildCase(dir, seed, index, pool) {
  const rng = prng(caseSeed(seed, index));
  const ws = path.join(dir, 'ws');
  const names = Array.from({ length: CRATES_PER_CASE }, (_, k) => `fz${index}-${k}`);
  const files = [];
  const write = (rel, data) => {
    mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
    writeFileSync(path.join(ws, rel), data);
  };
  write('Cargo.toml', `[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n${names.map((n) => `${n} = "0.1.0"`).join('\n')}\n`);
  write('src/lib.rs', 'pub fn app() {}\n');
  write('.cargo/config.toml', '[source.crates-io]\nreplace-with = "vendored-sources"\n\n[source.vendored-sources]\ndirectory = "vendor"\n');
  const lock = ['version = 3', '', '[[package]]', 'name = "app"', 'version = "0.1.0"', 'dependencies = [', ...names.map((n) => ` "${n}",`), ']'];
  for (const n of names) {
    lock.push('', '[[package]]', `name = "${n}"`, 'version = "0.1.0"', `source = "${CRATES_IO}"`);
    write(`vendor/${n}/Cargo.toml`, `[package]\nname = "${n}"\nversion = "0.1.0"\nedition = "2021"\n`);
    write(`vendor/${n}/src/lib.rs`, Array.from({ length: FILES_PER_CRATE }, (_, i) => `pub mod f${i};\n`).join(''));
    for (let i = 0; i < FILES_PER_CRATE; i++) {
      const from = pool[rng.int(pool.length)];
      const m = mutate(readFileSync(from), rng);
      write(`vendor/${n}/src/f${i}.rs`, m.bytes);
      files.push({ crate: n, file: `src/f${i}.rs`, from: path.relative(REPO, from), ops: m.ops, bytes: m.bytes.length });
    }
  }
  write('Cargo.lock', `${lock.join('\n')}\n`);
  return { manifest: path.join(ws, 'Cargo.toml'), files };
}

/** Why run `r` failed (empty: it did not). */
export function runProblems(r, budgetS = CASE_BUDGET_S) {
  const out = [];
  if (r.timedOut) return [`killed after ${r.seconds.toFixed(1)} s`];
  if (r.code !== 0 && r.code !== 1) out.push(`exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}: ${r.stderr.trim().slice(0, 300)}`);
  out.push(...crashSigns(r.stderr));
  if (r.seconds > budgetS) out.push(`took ${r.seconds.toFixed(2)} s (budget ${budgetS} s)`);
  if (r.code === 0 || r.code === 1) {
    try {
      JSON.parse(r.stdout);
    } catch (e) {
      out.push(`stdout is not JSON: ${e.message}`);
    }
  }
  return out;
}

/** Builds and scans case `index`; { index, problems, run, files }. `twice`: scan again warm with --jobs 2 and compare. */
export async function runCase(root, seed, index, pool, { twice = false, jobs = 1 } = {}) {
  const dir = path.join(root, `case-${index}`);
  const { manifest, files } = buildCase(dir, seed, index, pool);
  const env = isolatedEnv(path.join(dir, 'home'));
  const args = ['--manifest-path', manifest, '--offline', '--format', 'json', '--jobs', String(jobs)];
  const run = await runCli(args, { cwd: dir, env, killSeconds: CASE_KILL_S });
  const problems = runProblems(run);
  let second = null;
  if (twice && problems.length === 0) {
    second = await runCli(['--manifest-path', manifest, '--offline', '--format', 'json', '--jobs', '2'], { cwd: dir, env, killSeconds: CASE_KILL_S });
    problems.push(...runProblems(second).map((p) => `second run: ${p}`));
    if (!second.timedOut && second.stdout !== run.stdout) problems.push('not deterministic: a second run (warm cache, --jobs 2) printed different JSON');
  }
  return { index, problems, run, second, files, dir };
}

export const replayCommand = (seed, index, pool) => `npm run fuzz -- --seed ${seed} --case ${index} --pool ${pool}`;

/** Seed from CAP_SCAN_FUZZ_SEED or the default. */
export function envSeed() {
  const s = process.env.CAP_SCAN_FUZZ_SEED;
  if (s === undefined || s === '') return DEFAULT_SEED;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`CAP_SCAN_FUZZ_SEED must be an integer 0..4294967295, got ${JSON.stringify(s)}`);
  return n;
}

async function main(argv) {
  const opt = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const seed = Number(opt('seed', String(envSeed())));
  const count = Number(opt('count', '2000'));
  const pool = opt('pool', 'corpus');
  const jobs = Math.max(1, Number(opt('jobs', '2')));
  const only = opt('case', null);
  if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1 || !['ci', 'corpus'].includes(pool)) {
    console.error('usage: npm run fuzz -- [--count FILES] [--seed S] [--case N] [--pool ci|corpus] [--jobs J] [--keep]');
    return 2;
  }
  const files = sourcePool(pool);
  const indices = only !== null ? [Number(only)] : Array.from({ length: Math.ceil(count / FILES_PER_CASE) }, (_, i) => i);
  const root = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-fuzz-'));
  console.log(`fuzz: seed ${seed}, pool ${pool} (${files.length} source files), ${indices.length} cases x ${FILES_PER_CASE} files, ${jobs} at a time, in ${root}`);
  const queue = [...indices];
  const failed = [];
  let slow = 0;
  let maxRss = 0;
  let maxSeconds = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const r = await runCase(root, seed, i, files, { twice: only !== null || i % 25 === 0 });
        maxRss = Math.max(maxRss, r.run.rssMiB);
        maxSeconds = Math.max(maxSeconds, r.run.seconds);
        if (r.run.seconds > 10) {
          slow++;
          console.log(`SLOW case ${i} (${r.run.seconds.toFixed(2)} s, ${r.run.rssMiB.toFixed(0)} MiB): replay: ${replayCommand(seed, i, pool)}`);
          for (const f of r.files) console.log(`    ${f.crate}/${f.file} ${f.bytes} B from ${f.from}: ${f.ops.join(', ')}`);
        }
        if (r.problems.length) {
          failed.push(r);
          console.log(`FAIL case ${i} (${r.run.seconds.toFixed(2)} s, ${r.run.rssMiB.toFixed(0)} MiB): ${r.problems.join('; ')}\n  replay: ${replayCommand(seed, i, pool)}`);
          for (const f of r.files) console.log(`    ${f.crate}/${f.file} ${f.bytes} B from ${f.from}: ${f.ops.join(', ')}`);
        } else if (!argv.includes('--keep')) rmSync(r.dir, { recursive: true, force: true });
        if (++done % 10 === 0) console.log(`  ${done}/${indices.length} cases`);
      }
    }),
  );
  const crashes = failed.filter((r) => r.problems.some((p) => !p.startsWith('took '))).length;
  console.log(`\n${indices.length} cases (${indices.length * FILES_PER_CASE} mutated files): ${crashes} crashed or hung, ${failed.length - crashes} only over budget, ${slow} runs over 10 s; slowest ${maxSeconds.toFixed(2)} s, max peak RSS ${maxRss.toFixed(0)} MiB`);
  if (!argv.includes('--keep') && failed.length === 0) rmSync(root, { recursive: true, force: true });
  else console.log(`cases kept in ${root}`);
  return failed.length || slow ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(`fuzz: ${e.message}`);
    process.exit(2);
  });
}
