// Output is byte-identical whatever the scheduling: cold (empty cache), warm (every crate from the cache),
// --jobs 1 (in-thread) and --jobs 2 (worker threads), on the demo workspace and — when Debian's crate
// corpus is installed — on the ~117-package real workspace. Runs the built CLI (bin/ → dist/).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin/cap-scan.js');
const DEMO = path.join(REPO, 'fixtures/demo/Cargo.toml');
const REGISTRY = '/usr/share/cargo/registry';
const TOP_CRATES = ['reqwest', 'tokio', 'clap', 'git2', 'tempfile', 'walkdir', 'which', 'rayon', 'regex', 'serde_json'];

let tmp: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  if (!existsSync(path.join(REPO, 'dist/cli.js'))) throw new Error('dist/ is missing: build first (npx tsc -p tsconfig.json, or npm test)');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-determinism-'));
  const cargoHome = path.join(tmp, 'cargo-home');
  mkdirSync(cargoHome);
  env = { ...process.env, CARGO_HOME: cargoHome, XDG_CACHE_HOME: path.join(tmp, 'xdg'), NO_COLOR: '1' };
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    // collect bytes: decoding chunk by chunk would split multi-byte characters at chunk boundaries
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Result entries under `dir`: one per crate, and the workspace entry (results/workspace/) when `workspace`. */
function countFiles(dir: string, workspace = false): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    // markers are not .json
    if (e.isFile() && e.name.endsWith('.json') && (workspace || path.basename(e.parentPath ?? e.path) !== 'workspace')) n++;
  }
  return n;
}

/** null when equal, else the first differing line with context (readable on a 100 kB report). */
function firstDifference(a: string, b: string): string | null {
  if (a === b) return null;
  const la = a.split('\n');
  const lb = b.split('\n');
  let i = 0;
  while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
  return `line ${i + 1}:\n  ${la.slice(Math.max(0, i - 12), i + 3).join('\n  ')}\n---\n  ${lb.slice(Math.max(0, i - 12), i + 3).join('\n  ')}`;
}

/** Newest modification time under dist/: another build during a run changes the code under test. */
function distStamp(): number {
  let max = 0;
  for (const e of readdirSync(path.join(REPO, 'dist'), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.js')) max = Math.max(max, statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return max;
}

/**
 * Runs the four modes and checks they print the same bytes. When dist/ was rebuilt meanwhile (someone ran
 * the build while the test ran), the runs used different code: run again, once.
 */
async function assertSameEverywhere(manifest: string, extra: string[] = []): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const before = distStamp();
    try {
      return await sameEverywhere(manifest, extra);
    } catch (e) {
      if (attempt >= 2 || distStamp() === before) throw e;
      console.log('dist/ was rebuilt during the determinism runs: running them again');
    }
  }
}

async function sameEverywhere(manifest: string, extra: string[]): Promise<string> {
  const cache = path.join(tmp, `cache-${Math.random().toString(36).slice(2)}`);
  const base = ['--manifest-path', manifest, '--format', 'json', ...extra];
  const cold = await cli([...base, '--jobs', '2', '--cache-dir', cache]);
  expect(cold.stderr).toBe('');
  expect(cold.code).toBe(0);
  const crates = (JSON.parse(cold.stdout) as { crates: unknown[] }).crates.length;
  expect(crates).toBeGreaterThan(0);
  expect(countFiles(path.join(cache, 'results'))).toBe(crates);
  expect(countFiles(path.join(cache, 'results', 'workspace'), true)).toBe(1);
  // warm: from the workspace entry; then, without it, every crate from its own entry
  const warm = await cli([...base, '--jobs', '2', '--cache-dir', cache]);
  rmSync(path.join(cache, 'results', 'workspace'), { recursive: true });
  const warm1 = await cli([...base, '--jobs', '1', '--cache-dir', cache]);
  expect(countFiles(path.join(cache, 'results', 'workspace'), true)).toBe(1);
  // no cache, analysis on the main thread (--jobs 1 otherwise uses one worker)
  const single = await cli([...base, '--jobs', '1', '--no-cache', '--cache-dir', path.join(tmp, 'unused')], { CAP_SCAN_IN_THREAD: '1' });
  expect(existsSync(path.join(tmp, 'unused'))).toBe(false);
  for (const r of [warm, warm1, single]) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
  expect(firstDifference(cold.stdout, warm.stdout), 'cold vs warm (--jobs 2)').toBeNull();
  expect(firstDifference(cold.stdout, warm1.stdout), 'cold (--jobs 2) vs warm (--jobs 1)').toBeNull();
  expect(firstDifference(cold.stdout, single.stdout), 'cold (--jobs 2) vs in-thread --no-cache').toBeNull();
  expect(single.stdout).toBe(cold.stdout);
  return cold.stdout;
}

describe('byte-identical output: cold, warm, --jobs 1, --jobs 2', () => {
  it('demo workspace (json and verbose human report)', async () => {
    await assertSameEverywhere(DEMO);
    await assertSameEverywhere(DEMO, ['--all-targets']);
    const cache = path.join(tmp, 'cache-human');
    const human = ['--manifest-path', DEMO, '-v', '--cache-dir', cache];
    const a = await cli([...human, '--jobs', '2']);
    const b = await cli([...human, '--jobs', '2']);
    const c = await cli([...human, '--jobs', '1', '--no-cache'], { CAP_SCAN_IN_THREAD: '1' });
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).toBe(a.stdout);
  });

  it('link-ws workspace: resolution through dependencies\' export tables, cold = warm', async () => {
    const out = await assertSameEverywhere(path.join(REPO, 'fixtures/crates/link-ws/Cargo.toml'), ['--offline']);
    expect(out).toContain('"evidence": "util::sys::Run::new = inner::Cmd::new = std::process::Command::new"');
  });

  it('crate <dir> (content-hashed cache key)', async () => {
    const dir = path.join(REPO, 'fixtures/demo/vendor/zlink-sys');
    const cache = path.join(tmp, 'cache-crate');
    const runs = [];
    for (const flags of [['--jobs', '2'], ['--jobs', '2'], ['--jobs', '1', '--no-cache']]) {
      runs.push(await cli(['crate', dir, '--format', 'json', '--cache-dir', cache, ...flags]));
    }
    runs.push(await cli(['crate', dir, '--format', 'json', '--no-cache'], { CAP_SCAN_IN_THREAD: '1' }));
    expect(runs[3]!.stdout).toBe(runs[0]!.stdout);
    expect(runs[0]!.code).toBe(0);
    expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
    expect(runs[2]!.stdout).toBe(runs[0]!.stdout);
    expect(countFiles(path.join(cache, 'results'))).toBe(1);
  });
});

describe('every fixture crate (hostile ones included)', () => {
  it('scanCrateDirs: in-thread = --jobs 1 = --jobs 2 = warm', async () => {
    // the compiled build on both sides (workers always run dist/)
    const scan = (await import(pathToFileURL(path.join(REPO, 'dist/scan/session.js')).href)) as typeof import('../src/scan/session.js');
    const { defaultScanOptions } = (await import(pathToFileURL(path.join(REPO, 'dist/options.js')).href)) as typeof import('../src/options.js');
    const root = path.join(REPO, 'fixtures/crates');
    const dirs = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(path.join(root, e.name, 'Cargo.toml')))
      .map((e) => path.join(root, e.name));
    expect(dirs.length).toBeGreaterThan(10);
    const cacheDir = path.join(tmp, 'cache-fixtures');
    process.env.CAP_SCAN_IN_THREAD = '1';
    let inThread: Awaited<ReturnType<typeof scan.scanCrateDirs>>;
    try {
      inThread = await scan.scanCrateDirs(dirs, defaultScanOptions({ jobs: 1, cache: false }));
    } finally {
      delete process.env.CAP_SCAN_IN_THREAD;
    }
    expect(inThread.stats.workers).toBe(0);
    const one = await scan.scanCrateDirs(dirs, defaultScanOptions({ jobs: 1, cache: false }));
    expect(one.stats.workers).toBe(1);
    expect(firstDifference(JSON.stringify(inThread.result, null, 2), JSON.stringify(one.result, null, 2)), 'in-thread vs jobs 1').toBeNull();
    const two = await scan.scanCrateDirs(dirs, defaultScanOptions({ jobs: 2, cacheDir }));
    expect(two.stats.workers).toBe(2);
    const warm = await scan.scanCrateDirs(dirs, defaultScanOptions({ jobs: 2, cacheDir }));
    expect(warm.stats.cached).toBe(dirs.length);
    const json = JSON.stringify(one.result, null, 2);
    expect(firstDifference(json, JSON.stringify(two.result, null, 2)), 'jobs 1 vs jobs 2').toBeNull();
    expect(firstDifference(json, JSON.stringify(warm.result, null, 2)), 'jobs 1 vs warm').toBeNull();
    expect(two.files).toEqual(one.files);
  });
});

function corpusMissing(): string | null {
  if (!existsSync(REGISTRY)) return `${REGISTRY} is absent`;
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0) return 'cargo is not on PATH';
  const dirs = readdirSync(REGISTRY);
  const absent = TOP_CRATES.filter((c) => !dirs.some((d) => d.startsWith(`${c}-`) && /^\d/.test(d.slice(c.length + 1))));
  return absent.length > 0 ? `${REGISTRY} lacks ${absent.join(', ')}` : null;
}

const missing = corpusMissing();
if (missing) console.log(`determinism on the real workspace skipped: ${missing} (run scripts/setup-corpus.sh)`);

describe.skipIf(missing !== null)('real workspace (Debian corpus)', () => {
  it('cold, warm, --jobs 1 and --jobs 2 print the same JSON', async () => {
    const ws = path.join(tmp, 'realworld');
    execFileSync('bash', [path.join(REPO, 'scripts/setup-corpus.sh'), ws], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = await assertSameEverywhere(path.join(ws, 'Cargo.toml'), ['--offline']);
    const r = JSON.parse(out) as { crates: unknown[]; unscanned: unknown[] };
    expect(r.unscanned).toEqual([]);
    expect(r.crates.length).toBeGreaterThan(100);
  }, 240_000);
});
