// Result cache: entries are verified on read (corrupt, edited, foreign entries are recomputed and
// rewritten), a hit does no parsing, --no-cache reads and writes nothing, and the key follows the
// content of path crates and every scan input.

import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../src/parse/analyze.js';
import { failedSummary } from '../src/parse/pool.js';
import { cacheKey, contentHash, decodeEntry, encodeEntry, ResultCache, stableJson } from '../src/scan/result-cache.js';
import type { CrateScan, FileAnalyzer } from '../src/scan/crate-scan.js';
import { defaultScanOptions } from '../src/options.js';
import { ruleIndex, scanCrateDir, scanCrateDirs, scanWorkspace } from '../src/scan/session.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = path.join(REPO, 'fixtures/demo');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-cache-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function fresh(name: string): string {
  const d = path.join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Every file under a directory (relative, sorted). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** An in-thread analyzer that counts calls. */
function counting(): { analyzer: FileAnalyzer; calls: string[] } {
  const cfg = ruleIndex().analyzerConfig();
  const calls: string[] = [];
  return {
    calls,
    analyzer: async (abs, opts) => {
      calls.push(abs);
      return analyzeFile(readFileSync(abs), cfg, opts);
    },
  };
}

const SCAN: CrateScan = {
  findings: [{ capability: 'net', kind: 'net.connect', phase: 'runtime', rule: 'r', file: 'src/lib.rs', line: 3, column: 5, evidence: 'std::net::TcpStream::connect' }],
  indicators: [],
  hosts: [],
  urls: [{ url: 'https://example.com/', file: 'src/lib.rs', line: 9 }],
  unanalyzed: [],
  files: [{ rel: 'src/lib.rs', role: 'lib' }],
};

describe('entry encoding', () => {
  const key = 'ab'.repeat(32);
  it('round-trips', () => {
    expect(decodeEntry(encodeEntry(key, SCAN), key)).toEqual(SCAN);
  });
  it('rejects truncated, edited, foreign and malformed entries', () => {
    const good = encodeEntry(key, SCAN);
    expect(decodeEntry(good.slice(0, -1), key)).toBeNull();
    expect(decodeEntry(good.replace('"line":3', '"line":4'), key)).toBeNull();
    expect(decodeEntry(good, 'cd'.repeat(32))).toBeNull();
    expect(decodeEntry('', key)).toBeNull();
    expect(decodeEntry('not json\n{}', key)).toBeNull();
    const nl = good.indexOf('\n');
    // a self-consistent entry whose payload is not a crate scan
    const payload = '{"findings":[]}';
    const header = JSON.parse(good.slice(0, nl)) as Record<string, unknown>;
    header.sha256 = createHash('sha256').update(payload).digest('hex');
    header.bytes = payload.length;
    expect(decodeEntry(`${JSON.stringify(header)}\n${payload}`, key)).toBeNull();
  });
  it('stableJson sorts keys and map entries', () => {
    expect(stableJson({ b: 1, a: new Map([['y', 2], ['x', 1]]), c: undefined })).toBe('{"a":[["x",1],["y",2]],"b":1}');
  });
});

describe('ResultCache', () => {
  it('writes atomically under <cacheDir>/results and reads back', async () => {
    const dir = fresh('rc');
    const c = new ResultCache(dir);
    const key = 'ef'.repeat(32);
    expect(await c.get(key)).toBeNull();
    await c.put(key, SCAN);
    expect(tree(dir)).toEqual([`results/ef/${key}.json`]); // no temporary file left
    expect(await c.get(key)).toEqual(SCAN);
    expect(c.stats).toEqual({ hits: 1, misses: 1, corrupt: 0, writes: 1, writeErrors: 0 });
  });
  it('an unwritable cache does not fail', async () => {
    const file = path.join(fresh('ro'), 'file');
    writeFileSync(file, 'x');
    const c = new ResultCache(file); // results/ cannot be created under a file
    await c.put('12'.repeat(32), SCAN);
    expect(c.stats.writeErrors).toBe(1);
  });
});

describe('contentHash', () => {
  it('follows content, names and symlinks; ignores top-level target/ and .git/', async () => {
    const d = fresh('hash');
    mkdirSync(path.join(d, 'src'));
    writeFileSync(path.join(d, 'src/lib.rs'), 'fn a() {}\n');
    writeFileSync(path.join(d, 'Cargo.toml'), '[package]\nname = "h"\nversion = "0.1.0"\n');
    const h0 = await contentHash(d);
    expect(await contentHash(d)).toBe(h0);
    mkdirSync(path.join(d, 'target'));
    writeFileSync(path.join(d, 'target/big.rlib'), 'x');
    mkdirSync(path.join(d, '.git'));
    writeFileSync(path.join(d, '.git/HEAD'), 'ref');
    expect(await contentHash(d)).toBe(h0);
    writeFileSync(path.join(d, 'src/lib.rs'), 'fn b() {}\n');
    const h1 = await contentHash(d);
    expect(h1).not.toBe(h0);
    writeFileSync(path.join(d, 'src/other.rs'), '');
    const h2 = await contentHash(d);
    expect(h2).not.toBe(h1);
    symlinkSync('other.rs', path.join(d, 'src/link.rs'));
    expect(await contentHash(d)).not.toBe(h2);
    // a nested target/ is content
    rmSync(path.join(d, 'src/link.rs'));
    mkdirSync(path.join(d, 'src/target'));
    writeFileSync(path.join(d, 'src/target/x.rs'), '');
    expect(await contentHash(d)).not.toBe(h2);
  });

  it('cacheKey changes with every input', () => {
    const base = { toolVersion: '1', rulesHash: 'r', identity: { kind: 'content' as const, hash: 'h' }, inputs: { allTargets: false } };
    const k = cacheKey(base);
    expect(cacheKey({ ...base })).toBe(k);
    expect(cacheKey({ ...base, toolVersion: '2' })).not.toBe(k);
    expect(cacheKey({ ...base, rulesHash: 's' })).not.toBe(k);
    expect(cacheKey({ ...base, identity: { kind: 'content', hash: 'i' } })).not.toBe(k);
    expect(cacheKey({ ...base, identity: { kind: 'checksum', checksum: 'h', dir: '/d' } })).not.toBe(k);
    expect(cacheKey({ ...base, inputs: { allTargets: true } })).not.toBe(k);
  });
});

describe('scans through the cache', () => {
  it('a crate dir: cold parses, warm parses nothing, a change re-parses; output identical', async () => {
    const crate = path.join(tmp, 'shellout');
    cpSync(path.join(DEMO, 'vendor/shellout'), crate, { recursive: true });
    const cacheDir = fresh('c-dir');
    const opts = defaultScanOptions({ cacheDir });
    const cold = counting();
    const a = await scanCrateDir(crate, opts, { analyzer: cold.analyzer });
    expect(cold.calls.length).toBeGreaterThan(0);
    const entries = () => tree(path.join(cacheDir, 'results')).filter((f) => !f.startsWith('markers/'));
    expect(entries()).toHaveLength(1);
    const warm = counting();
    const { result: b, stats: warmStats } = await scanCrateDirs([crate], opts, { analyzer: warm.analyzer });
    expect(warm.calls).toEqual([]);
    expect(warmStats.cached).toBe(1);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    // --all-targets is another input
    const all = counting();
    await scanCrateDir(crate, { ...opts, allTargets: true }, { analyzer: all.analyzer });
    expect(all.calls.length).toBeGreaterThan(0);
    // editing a file changes the key
    writeFileSync(path.join(crate, 'src/lib.rs'), `${readFileSync(path.join(crate, 'src/lib.rs'), 'utf8')}\npub fn added() { std::process::exit(1) }\n`);
    const edited = counting();
    await scanCrateDir(crate, opts, { analyzer: edited.analyzer });
    expect(edited.calls.length).toBeGreaterThan(0);
  });

  it('a corrupt entry is detected, recomputed and rewritten', async () => {
    const cacheDir = fresh('c-corrupt');
    const opts = defaultScanOptions({ cacheDir });
    const crate = path.join(DEMO, 'vendor/demo-fetch');
    const first = await scanCrateDir(crate, opts, { analyzer: counting().analyzer });
    const [entry] = tree(path.join(cacheDir, 'results')).filter((f) => !f.startsWith('markers/'));
    const file = path.join(cacheDir, 'results', entry!);
    const good = readFileSync(file, 'utf8');
    for (const bad of [good.replace(/"line":(\d+)/, (_m, n: string) => `"line":${Number(n) + 1}`), good.slice(0, good.length / 2), 'garbage']) {
      writeFileSync(file, bad);
      const c = counting();
      const { result: again, stats } = await scanCrateDirs([crate], opts, { analyzer: c.analyzer });
      expect(c.calls.length).toBeGreaterThan(0);
      expect(stats.cache?.corrupt).toBe(1);
      expect(JSON.stringify(again)).toBe(JSON.stringify(first));
      expect(readFileSync(file, 'utf8')).toBe(good);
    }
  });

  it('a scan with a crashed, timed-out or unreadable file is not cached', async () => {
    const cacheDir = fresh('c-transient');
    const opts = defaultScanOptions({ cacheDir });
    const crate = path.join(DEMO, 'vendor/demo-fetch');
    for (const reason of ['analysis-crashed (worker exit code 3)', 'analysis-timeout (over 120 s)', 'read-failed (EIO)']) {
      const c = counting();
      const flaky: FileAnalyzer = async (abs, o) => (abs.endsWith('lib.rs') ? failedSummary(reason) : c.analyzer(abs, o));
      const r = await scanCrateDir(crate, opts, { analyzer: flaky });
      expect(r.crates[0]!.unanalyzed).toContainEqual({ file: 'src/lib.rs', line: 1, reason });
      expect(tree(path.join(cacheDir, 'results'))).toEqual([]);
    }
    // the same crate without the failure is cached
    await scanCrateDir(crate, opts, { analyzer: counting().analyzer });
    expect(tree(path.join(cacheDir, 'results')).filter((f) => !f.startsWith('markers/'))).toHaveLength(1);
  });

  it('--no-cache reads and writes nothing', async () => {
    const cacheDir = fresh('c-off');
    const opts = defaultScanOptions({ manifestPath: path.join(DEMO, 'Cargo.toml'), cacheDir, cache: false });
    for (let i = 0; i < 2; i++) {
      const c = counting();
      const { stats } = await scanWorkspace(opts, { analyzer: c.analyzer });
      expect(c.calls.length).toBeGreaterThan(0);
      expect(stats.cache).toBeNull();
    }
    expect(tree(cacheDir)).toEqual([]);
  });

  it('a workspace: a warm run parses nothing; registry crates are keyed by checksum, path crates by content', async () => {
    const ws = path.join(tmp, 'demo');
    cpSync(DEMO, ws, { recursive: true });
    const lockPath = path.join(ws, 'Cargo.lock');
    const lock = readFileSync(lockPath, 'utf8');
    const unverified = lock.replace(/(name = "filekeep"\n[^\[]*?)checksum = "[0-9a-f]+"\n/, '$1');
    expect(unverified).not.toBe(lock);
    writeFileSync(lockPath, unverified);
    const cacheDir = fresh('c-ws');
    const opts = defaultScanOptions({ manifestPath: path.join(ws, 'Cargo.toml'), cacheDir });
    const cold = counting();
    const a = await scanWorkspace(opts, { analyzer: cold.analyzer });
    const crates = a.result.crates.length;
    expect(crates).toBeGreaterThan(3);
    // one entry per crate (besides the markers, and the workspace entry: test/workspace-cache.test.ts)
    expect(tree(path.join(cacheDir, 'results')).filter((f) => !f.startsWith('markers/') && !f.startsWith('workspace/'))).toHaveLength(crates);
    const warm = counting();
    const b = await scanWorkspace(opts, { analyzer: warm.analyzer });
    expect(warm.calls).toEqual([]);
    expect(b.stats).toMatchObject({ crates, cached: crates, filesAnalysed: 0 });
    expect(JSON.stringify(b.result)).toBe(JSON.stringify(a.result));
    // A vendored registry crate is identified by its Cargo.lock checksum: its files are not even read, so
    // an edit that keeps the checksum is not seen. A path crate's files are hashed: an edit is seen.
    writeFileSync(path.join(ws, 'vendor/shellout/src/lib.rs'), 'pub fn f() { std::process::Command::new("x"); }\n');
    const c1 = counting();
    await scanWorkspace(opts, { analyzer: c1.analyzer });
    expect(c1.calls).toEqual([]);
    // filekeep without a checksum in Cargo.lock: unverified, so keyed by the content of its files
    const c2 = counting();
    await scanWorkspace(opts, { analyzer: c2.analyzer });
    expect(c2.calls).toEqual([]);
    const lib = path.join(ws, 'vendor/filekeep/src/lib.rs');
    writeFileSync(lib, `${readFileSync(lib, 'utf8')}\n// edited\n`);
    const c3 = counting();
    const d = await scanWorkspace(opts, { analyzer: c3.analyzer });
    expect(c3.calls.length).toBeGreaterThan(0);
    expect(c3.calls.every((f) => f.startsWith(path.join(ws, 'vendor/filekeep/')))).toBe(true);
    expect(JSON.stringify(d.result)).toBe(JSON.stringify(a.result));
  });
});
