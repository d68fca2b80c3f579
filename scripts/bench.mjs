#!/usr/bin/env node
// cap-scan benchmark (not a test): `npm run bench [-- options]`.
//
// Scans every crate directory under /usr/share/cargo/registry (Debian's packaged crate sources) with the
// compiled scanner (dist/), cold (fresh temporary cache) then warm (same cache), and parses exactly the
// files the scan analysed with a bare single-thread tree-sitter parser as the reference (and, for context,
// the same bare parse split over --jobs concurrent processes: the floor of any cold scan). Each measurement
// runs in its own child process so wall time and peak RSS (process.resourceUsage().maxRSS, which covers
// the worker threads) are clean. Then it times the ~117-package real workspace (scripts/setup-corpus.sh)
// cold and warm.
//
// Options:
//   --install          apt-get install the fixed package list below first (needs root or sudo)
//   --registry DIR     crate directories to scan (default /usr/share/cargo/registry)
//   --jobs N           worker threads for the scans (default: available cores)
//   --no-workspace     skip the real-workspace timing
//   --no-engine        skip the single-thread engine reference (analyzeFile on the same files)
//   --rounds N         cold, warm and raw measurements repeated N times (default 2); each is reported as
//                      the fastest round (this VM's speed drifts by up to 40% within minutes), all rounds
//                      are printed
//   --keep             keep the temporary caches (printed)
//   --starts N         whole-process start-up runs (bare node, --version, warm CLI scan), median (default 7)
//
// Whole-process rows (start-up included) time `node -e ''`, `cap-scan --version` and the warm CLI scan of
// the real workspace, median of --starts runs taken in turn. CAP_SCAN_BENCH_PEER=/path/to/cargo-capsec adds
// that peer's time on the real workspace (its cache cleared first), as a side-by-side row. The triage rows
// count the files (and characters) the parse triage (src/parse/triage.ts) gave only the structural captures.

import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** Fixed corpus: the ten crates of the real-world workspace (their dependencies come along). */
export const PACKAGES = [
  'librust-reqwest-dev',
  'librust-tokio-dev',
  'librust-clap-dev',
  'librust-git2-dev',
  'librust-tempfile-dev',
  'librust-walkdir-dev',
  'librust-which-dev',
  'librust-rayon-dev',
  'librust-regex-dev',
  'librust-serde-json-dev',
];

// ------------------------------------------------------------------ child modes

async function childScanDirs(listFile, cacheDir, jobs, filesOut) {
  const { scanCrateDirs } = await import(pathToFileURL(join(dist, 'scan/session.js')).href);
  const { defaultScanOptions } = await import(pathToFileURL(join(dist, 'options.js')).href);
  const dirs = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  const t0 = process.hrtime.bigint();
  const { result, files, stats } = await scanCrateDirs(dirs, defaultScanOptions({ jobs, cache: true, cacheDir }));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (filesOut) writeFileSync(filesOut, files.join('\n'));
  let bytes = 0;
  for (const f of files) bytes += statSync(f).size;
  const findings = result.crates.reduce((n, c) => n + c.findings.length, 0);
  return { wallMs, maxRssKb: process.resourceUsage().maxRSS, crates: result.crates.length, files: files.length, bytes, findings, stats };
}

async function childWorkspace(manifest, cacheDir, jobs) {
  const { scanWorkspace } = await import(pathToFileURL(join(dist, 'scan/session.js')).href);
  const { defaultScanOptions } = await import(pathToFileURL(join(dist, 'options.js')).href);
  const t0 = process.hrtime.bigint();
  const { result, stats, project } = await scanWorkspace(defaultScanOptions({ manifestPath: manifest, jobs, cache: true, cacheDir, offline: true }));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    wallMs,
    maxRssKb: process.resourceUsage().maxRSS,
    crates: result.crates.length,
    unscanned: result.unscanned.length,
    stats,
    dirs: project.packages.map((p) => p.dir).filter(Boolean),
  };
}

/** Lets finalizers run: node-tree-sitter frees a tree's native memory only then (a loop that never yields grew to 1.4 GiB). */
const yieldToLoop = () => new Promise((r) => setImmediate(r));

/** Bare tree-sitter: parse each file once on this thread; only the parse calls are timed. */
async function childRaw(filesFile) {
  const require = createRequire(join(root, 'package.json'));
  const Parser = require('tree-sitter');
  const Rust = require('tree-sitter-rust');
  const parser = new Parser();
  parser.setLanguage(Rust);
  const files = readFileSync(filesFile, 'utf8').split('\n').filter(Boolean);
  let ns = 0n;
  let bytes = 0;
  for (const f of files) {
    const buf = readFileSync(f);
    bytes += buf.length;
    if (buf.length > 8 * 1024 * 1024) continue; // the scanner does not parse these either
    const src = buf.toString('utf8');
    const t0 = process.hrtime.bigint();
    const tree = parser.parse(src);
    ns += process.hrtime.bigint() - t0;
    if (typeof tree.delete === 'function') tree.delete();
    await yieldToLoop();
  }
  return { wallMs: Number(ns) / 1e6, maxRssKb: process.resourceUsage().maxRSS, files: files.length, bytes };
}

/** The scanner's per-file analysis (parse + queries + facts) on this thread: the engine's cost per parse. */
async function childEngine(filesFile) {
  const { analyzePathSync } = await import(pathToFileURL(join(dist, 'parse/pool.js')).href);
  const { ruleIndex } = await import(pathToFileURL(join(dist, 'scan/session.js')).href);
  const cfg = ruleIndex().analyzerConfig();
  const opts = { keepTests: false, procMacro: false, buildScript: false, test: false };
  const files = readFileSync(filesFile, 'utf8').split('\n').filter(Boolean);
  let ns = 0n;
  for (const f of files) {
    const t0 = process.hrtime.bigint();
    analyzePathSync(f, cfg, opts);
    ns += process.hrtime.bigint() - t0;
    await yieldToLoop();
  }
  return { wallMs: Number(ns) / 1e6, maxRssKb: process.resourceUsage().maxRSS, files: files.length };
}

function runChild(args) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`bench child ${args[0]} failed (exit ${r.status})`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** The same child run as `n` concurrent processes, one per argument list; wall time of the whole. */
async function runChildrenConcurrently(argLists) {
  const t0 = process.hrtime.bigint();
  await Promise.all(
    argLists.map(
      (args) =>
        new Promise((ok, fail) => {
          const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
          c.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`bench child ${args[0]} failed (exit ${code})`))));
        }),
    ),
  );
  return { wallMs: Number(process.hrtime.bigint() - t0) / 1e6 };
}

// ------------------------------------------------------------------ main

/** Files and characters the parse triage cleared (structural captures only). */
function triageRow(pool, files, bytes) {
  const share = files ? ` of ${files} files (${((100 * pool.triaged) / files).toFixed(1)}%)` : ` of ${pool.analysed} analysed`;
  const chars = bytes ? ` (${((100 * pool.triagedChars) / bytes).toFixed(1)}% of the bytes)` : '';
  return `${pool.triaged} files cleared${share}, ${mb(pool.triagedChars)} chars${chars}; CAP_SCAN_TRIAGE=0 turns it off`;
}

/**
 * Whole-process wall time of each command, `n` runs taken in turn (a b c a b c …), median; peak RSS from
 * /usr/bin/time -f %M when it is installed.
 */
function wholeProcess(cmds, env, n) {
  const gnuTime = existsSync('/usr/bin/time');
  const out = {};
  for (const k of Object.keys(cmds)) out[k] = { runs: [], peaks: [] };
  for (let i = 0; i < n; i++) {
    for (const [k, [cmd, args]] of Object.entries(cmds)) {
      const t0 = process.hrtime.bigint();
      const r = gnuTime
        ? spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 })
        : spawnSync(cmd, args, { env, stdio: 'ignore' });
      out[k].runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (gnuTime) {
        const kb = Number((r.stderr || '').trim().split('\n').pop());
        if (Number.isFinite(kb)) out[k].peaks.push(kb);
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { medianMs: median(v.runs), peakKb: v.peaks.length ? Math.max(...v.peaks) : null }]));
}

function crateDirs(registry) {
  return readdirSync(registry, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(registry, e.name, 'Cargo.toml')))
    .map((e) => join(registry, e.name))
    .sort();
}

const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const rss = (kb) => `${(kb / 1024).toFixed(0)} MiB`;

async function main(argv) {
  if (argv[0] === '--child') {
    const [mode, ...rest] = argv.slice(1);
    let out;
    if (mode === 'scan-dirs') out = await childScanDirs(rest[0], rest[1], Number(rest[2]), rest[3] || null);
    else if (mode === 'workspace') out = await childWorkspace(rest[0], rest[1], Number(rest[2]));
    else if (mode === 'raw') out = await childRaw(rest[0]);
    else if (mode === 'engine') out = await childEngine(rest[0]);
    else throw new Error(`unknown child mode ${mode}`);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const opt = { install: false, registry: '/usr/share/cargo/registry', jobs: 0, workspace: true, keep: false, engine: true, rounds: 2, starts: 7 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--install') opt.install = true;
    else if (a === '--registry') opt.registry = argv[++i];
    else if (a === '--jobs') opt.jobs = Number(argv[++i]);
    else if (a === '--no-workspace') opt.workspace = false;
    else if (a === '--keep') opt.keep = true;
    else if (a === '--rounds') opt.rounds = Math.max(1, Number(argv[++i]) || 1);
    else if (a === '--no-engine') opt.engine = false;
    else if (a === '--starts') opt.starts = Math.max(1, Number(argv[++i]) || 1);
    else throw new Error(`unknown option ${a}`);
  }
  if (!existsSync(join(dist, 'scan/session.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
  if (opt.install) {
    const sudo = process.getuid && process.getuid() !== 0 ? ['sudo'] : [];
    const cmd = [...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', ...PACKAGES];
    console.log(`$ ${cmd.join(' ')}`);
    execFileSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (!existsSync(opt.registry)) throw new Error(`${opt.registry} does not exist (run with --install, or pass --registry DIR)`);
  const dirs = crateDirs(opt.registry);
  const jobs = opt.jobs > 0 ? opt.jobs : availableParallelism();
  const work = mkdtempSync(join(tmpdir(), 'cap-scan-bench-'));
  const listFile = join(work, 'dirs.txt');
  const filesFile = join(work, 'files.txt');
  writeFileSync(listFile, dirs.join('\n'));
  const cache = join(work, 'cache');
  console.log(`cap-scan bench: ${dirs.length} crate directories in ${opt.registry}; ${jobs} jobs; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); node ${process.version}`);

  // rounds of cold (fresh cache), warm (same cache), raw parse; each measurement keeps its fastest round
  const colds = [];
  const warms = [];
  const raws = [];
  const rawsParallel = [];
  for (let r = 0; r < opt.rounds; r++) {
    const c = join(work, `cache-${r}`);
    colds.push(runChild(['scan-dirs', listFile, c, String(jobs), r === 0 ? filesFile : '']));
    warms.push(runChild(['scan-dirs', listFile, c, String(jobs), '']));
    raws.push(runChild(['raw', filesFile]));
    if (jobs > 1) {
      // the same files split round-robin over `jobs` processes parsing at once: what 2 cores can parse
      const all = readFileSync(filesFile, 'utf8').split('\n').filter(Boolean);
      const parts = Array.from({ length: jobs }, (_, k) => {
        const f = join(work, `files-${k}.txt`);
        writeFileSync(f, all.filter((_, i) => i % jobs === k).join('\n'));
        return ['raw', f];
      });
      rawsParallel.push(await runChildrenConcurrently(parts));
    }
  }
  const fastest = (xs) => xs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const rounds = (xs) => (xs.length > 1 ? `; rounds ${xs.map((x) => s(x.wallMs)).join(', ')}` : '');
  const cold = { ...fastest(colds), files: colds[0].files, bytes: colds[0].bytes, maxRssKb: Math.max(...colds.map((x) => x.maxRssKb)) };
  const warm = { ...fastest(warms), maxRssKb: Math.max(...warms.map((x) => x.maxRssKb)) };
  const raw = fastest(raws);
  const rawParallel = rawsParallel.length ? fastest(rawsParallel) : null;
  const engine = opt.engine ? runChild(['engine', filesFile]) : null;
  const rows = [
    ['files analysed', `${cold.files}`],
    ['size', mb(cold.bytes)],
    ['crates', `${cold.crates} (${cold.findings} findings)`],
    ['raw parse, 1 thread', `${s(raw.wallMs)}${rounds(raws)}`],
    ...(rawParallel
      ? [[`raw parse, ${jobs} processes`, `${s(rawParallel.wallMs)}  (${(rawParallel.wallMs / raw.wallMs).toFixed(3)} x raw: the parser alone on ${jobs} cores, the floor of any cold scan${rounds(rawsParallel)})`]]
      : []),
    ...(engine
      ? [['engine, 1 thread', `${s(engine.wallMs)}  (${(engine.wallMs / raw.wallMs).toFixed(2)} x raw parse: read + parse + queries + facts per file; ideal cold on ${jobs} cores = ${s(engine.wallMs / jobs)})`]]
      : []),
    ['cold scan', `${s(cold.wallMs)}  (peak RSS ${rss(cold.maxRssKb)}; ${cold.stats.pool.analysed} parses, ${cold.stats.pool.prefetchWasted} speculative unused${rounds(colds)})`],
    ['warm scan', `${s(warm.wallMs)}  (peak RSS ${rss(warm.maxRssKb)}; ${warm.stats.cached}/${warm.stats.crates} crates from cache, ${warm.stats.pool.analysed} parses${rounds(warms)})`],
    ['triage', `${triageRow(cold.stats.pool, cold.files, cold.bytes)}`],
    ['cold / raw', `${(cold.wallMs / raw.wallMs).toFixed(3)}  (target <= 0.5)`],
    ['warm / cold', `${(warm.wallMs / cold.wallMs).toFixed(3)}  (target <= 0.05)`],
    ['peak RSS', `${rss(Math.max(cold.maxRssKb, warm.maxRssKb))}  (target <= 1024 MiB)`],
  ];
  console.log('\nregistry corpus');
  for (const [k, v] of rows) console.log(`  ${k.padEnd(22)} ${v}`);

  if (opt.workspace) {
    const ws = join(work, 'workspace');
    const setup = spawnSync('bash', [join(root, 'scripts/setup-corpus.sh'), ws], { encoding: 'utf8', env: { ...process.env, CAP_SCAN_CORPUS_REGISTRY: opt.registry } });
    if (setup.status !== 0) {
      console.log(`\nreal workspace: skipped (setup-corpus.sh failed: ${(setup.stderr || '').trim().split('\n').pop()})`);
    } else {
      const wsCache = join(work, 'ws-cache');
      const manifest = join(ws, 'Cargo.toml');
      const c = runChild(['workspace', manifest, wsCache, String(jobs)]);
      const w = runChild(['workspace', manifest, wsCache, String(jobs)]);
      // the raw parse of the workspace's files: the corpus scan's files under the workspace's crate directories
      const wsFiles = join(work, 'ws-files.txt');
      const under = c.dirs.map((d) => (d.endsWith('/') ? d : `${d}/`));
      const files = readFileSync(filesFile, 'utf8').split('\n').filter((f) => f && under.some((d) => f.startsWith(d)));
      writeFileSync(wsFiles, files.join('\n'));
      const wsRaw = runChild(['raw', wsFiles]);
      // whole processes, start-up included: bare node, --version, the warm CLI scan (taken in turn, medians)
      const bin = join(root, 'bin/cap-scan.js');
      const env = { ...process.env, XDG_CACHE_HOME: join(work, 'cli-xdg') };
      const cliScan = [bin, '--manifest-path', manifest, '--offline', '--format', 'json', '-q', '-o', join(work, 'cli.json')];
      spawnSync(process.execPath, cliScan, { env, stdio: 'ignore' }); // fills the CLI's cache (cold)
      const starts = wholeProcess(
        {
          bare: [process.execPath, ['-e', '']],
          version: [process.execPath, [bin, '--version']],
          warmCli: [process.execPath, cliScan],
        },
        env,
        opt.starts,
      );
      const peer = process.env.CAP_SCAN_BENCH_PEER;
      let peerRun = null;
      if (peer) {
        rmSync(join(ws, '.capsec-cache'), { recursive: true, force: true });
        peerRun = wholeProcess({ peer: [peer, ['capsec', 'audit', '--path', ws, '--deps-only', '--dep-depth', '0', '--format', 'json']] }, process.env, 1).peer;
      }
      const cliCold = s(c.wallMs);
      console.log(`\nreal workspace (${setup.stdout.trim()})`);
      console.log(`  ${'crates'.padEnd(22)} ${c.crates} scanned, ${c.unscanned} unscanned`);
      console.log(`  ${'raw parse, 1 thread'.padEnd(22)} ${s(wsRaw.wallMs)}  (${wsRaw.files} files, ${mb(wsRaw.bytes)})`);
      console.log(`  ${'cold scan'.padEnd(22)} ${cliCold}  (peak RSS ${rss(c.maxRssKb)}; ${c.stats.pool.analysed} parses)`);
      console.log(`  ${'triage'.padEnd(22)} ${triageRow(c.stats.pool, null, null)}`);
      const served = w.stats.workspace?.lookup === 'hit' ? 'the workspace entry' : `${w.stats.cached}/${w.stats.crates} crates from cache (workspace entry: ${w.stats.workspace?.reason ?? 'none'})`;
      console.log(`  ${'warm scan'.padEnd(22)} ${s(w.wallMs)}  (peak RSS ${rss(w.maxRssKb)}; ${served}, in-process)`);
      console.log(`  ${'bare node -e ""'.padEnd(22)} ${s(starts.bare.medianMs)}  (whole process, median of ${opt.starts}${starts.bare.peakKb ? `; peak RSS ${rss(starts.bare.peakKb)}` : ''})`);
      console.log(`  ${'cap-scan --version'.padEnd(22)} ${s(starts.version.medianMs)}  (${(starts.version.medianMs / starts.bare.medianMs).toFixed(2)} x bare node; target <= 1.5)`);
      console.log(`  ${'warm CLI scan'.padEnd(22)} ${s(starts.warmCli.medianMs)}  (${(starts.warmCli.medianMs / starts.bare.medianMs).toFixed(2)} x bare node, whole process; target <= 3${starts.warmCli.peakKb ? `; peak RSS ${rss(starts.warmCli.peakKb)}` : ''})`);
      console.log(`  ${'cold / raw'.padEnd(22)} ${(c.wallMs / wsRaw.wallMs).toFixed(3)}  (target <= 0.5)`);
      console.log(`  ${'warm / cold'.padEnd(22)} ${(w.wallMs / c.wallMs).toFixed(3)}`);
      if (peerRun) console.log(`  ${'peer'.padEnd(22)} ${s(peerRun.medianMs)}  (${peer}; cold / peer ${(c.wallMs / peerRun.medianMs).toFixed(3)}, target <= 0.5${peerRun.peakKb ? `; peak RSS ${rss(peerRun.peakKb)}` : ''})`);
    }
  }
  if (opt.keep) console.log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
