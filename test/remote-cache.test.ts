// Remote result cache (issue 19): against a real nginx with WebDAV on 127.0.0.1 (skipped with a message
// when nginx is not installed), and a TCP server that accepts and never answers (always run).
// Every remote entry is HMAC-authenticated: tampered entries, or any entry without a key, are never trusted.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../src/parse/analyze.js';
import { encodeEntry } from '../src/scan/result-cache.js';
import { openEntry, openRemoteCache, RemoteCache, REMOTE_DEFAULTS, sealEntry } from '../src/scan/remote-cache.js';
import type { CrateScan, FileAnalyzer } from '../src/scan/crate-scan.js';
import { defaultScanOptions, type ScanOptions } from '../src/options.js';
import { ruleIndex, scanWorkspace } from '../src/scan/session.js';
import { nginxBinary, startNginx, startStallingServer, type Nginx } from './helpers/nginx.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = path.join(REPO, 'fixtures/demo/Cargo.toml');
const KEY = 'test-key-0123456789abcdef';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-remote-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function fresh(name: string): string {
  const d = path.join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

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

/** Scans the demo workspace with a fresh local cache dir (a "runner"), collecting warnings. */
async function runner(name: string, over: Partial<ScanOptions>, env: NodeJS.ProcessEnv = { CAP_SCAN_CACHE_KEY: KEY }) {
  const warnings: string[] = [];
  const c = counting();
  const saved = process.env.CAP_SCAN_CACHE_KEY;
  if (env.CAP_SCAN_CACHE_KEY === undefined) delete process.env.CAP_SCAN_CACHE_KEY;
  else process.env.CAP_SCAN_CACHE_KEY = env.CAP_SCAN_CACHE_KEY;
  try {
    const t0 = Date.now();
    const { result, stats } = await scanWorkspace(
      defaultScanOptions({ manifestPath: DEMO, offline: true, cacheDir: fresh(name), warn: (m) => warnings.push(m), ...over }),
      { analyzer: c.analyzer },
    );
    return { json: JSON.stringify(result, null, 2), stats, warnings, parsed: c.calls.length, ms: Date.now() - t0 };
  } finally {
    if (saved === undefined) delete process.env.CAP_SCAN_CACHE_KEY;
    else process.env.CAP_SCAN_CACHE_KEY = saved;
  }
}

const SCAN: CrateScan = { findings: [], indicators: [], hosts: [], urls: [], unanalyzed: [], files: [{ rel: 'src/lib.rs', role: 'lib' }] };

describe('remote entry authentication', () => {
  const key = 'ab'.repeat(32);
  const entry = encodeEntry(key, SCAN);
  it('a sealed entry opens with the same key and cache key only', () => {
    const sealed = sealEntry(KEY, key, entry);
    expect(sealed.split('\n')[0]).toMatch(/^cap-scan-remote 1 [0-9a-f]{64}$/);
    expect(openEntry(KEY, key, sealed)).toEqual({ entry });
    expect(openEntry('another-key-0123456789', key, sealed)).toEqual({ rejected: 'HMAC mismatch (tampered, or written with another key)' });
    expect(openEntry(KEY, 'cd'.repeat(32), sealed)).toEqual({ rejected: 'HMAC mismatch (tampered, or written with another key)' });
    expect(openEntry(KEY, key, sealed.replace('"files"', '"filez"'))).toEqual({ rejected: 'HMAC mismatch (tampered, or written with another key)' });
    // an unauthenticated (local-format) entry is not trusted
    expect(openEntry(KEY, key, entry)).toEqual({ rejected: 'not a cap-scan remote entry' });
  });
  it('no key: the remote is not used, and that is said; a short key or a bad URL is an error', () => {
    const warnings: string[] = [];
    expect(openRemoteCache({ url: 'http://127.0.0.1:9/c', where: '--remote-cache' }, { readOnly: false, env: {}, warn: (m) => warnings.push(m) })).toBeNull();
    expect(warnings).toEqual([
      'remote cache http://127.0.0.1:9/c not used: CAP_SCAN_CACHE_KEY is not set, so its entries could not be verified (nothing is downloaded or uploaded)',
    ]);
    expect(() => openRemoteCache({ url: 'http://127.0.0.1:9/c', where: '--remote-cache' }, { readOnly: false, env: { CAP_SCAN_CACHE_KEY: 'short' } })).toThrow(
      'CAP_SCAN_CACHE_KEY must be at least 16 characters (for example: openssl rand -hex 32)',
    );
    expect(() => openRemoteCache({ url: 'ftp://x/c', where: '--remote-cache' }, { readOnly: false, env: { CAP_SCAN_CACHE_KEY: KEY } })).toThrow(
      '--remote-cache: only http:// and https:// remote caches are supported, got ftp://',
    );
  });
});

describe('what is uploaded', () => {
  it('not a scan whose parse was stopped by its wall-clock budget (it depends on the machine load)', async () => {
    const { ResultCache } = await import('../src/scan/result-cache.js');
    const stall = await startStallingServer();
    try {
      const c = new ResultCache(fresh('load-dependent'), { remoteCache: { url: stall.url, where: '--remote-cache' }, env: { CAP_SCAN_CACHE_KEY: KEY } });
      const degraded: CrateScan = { ...SCAN, unanalyzed: [{ file: 'src/data.rs', line: 1, reason: 'analysis-failed (parse over its 3.3 s budget): analysed as tokens' }] };
      await c.put('ab'.repeat(32), degraded);
      expect(c.stats.writes).toBe(1); // kept locally: cold and warm runs agree
      expect(stall.connections()).toBe(0);
    } finally {
      await stall.stop();
    }
  });
});

describe('a stalled or dead remote costs a bounded delay', () => {
  it('a server that accepts and never answers: timeouts, then the breaker; the scan is the same', async () => {
    const base = await runner('stall-base', {});
    const stall = await startStallingServer();
    try {
      const r = await runner('stall', { remoteCache: { url: stall.url, where: '--remote-cache' } });
      expect(r.json).toBe(base.json);
      // every crate was computed; a few requests timed out, then the breaker stopped asking
      expect(r.parsed).toBe(base.parsed);
      expect(r.stats.cache?.remote?.failures).toBeGreaterThanOrEqual(REMOTE_DEFAULTS.breakerThreshold);
      expect(r.stats.cache?.remote?.skipped).toBeGreaterThan(0);
      expect(r.stats.cache?.remote?.uploads).toBe(0);
      // timeouts are not retried: ceil(threshold / concurrent crates) timeouts on the critical path, no more
      const concurrent = 2 + 2 * r.stats.workers; // crates in flight (session.ts crateConcurrency)
      const waves = Math.ceil(REMOTE_DEFAULTS.breakerThreshold / concurrent);
      expect(waves).toBe(2); // in-thread analysis here: 2 crates at a time
      expect(r.ms - base.ms).toBeLessThan(waves * REMOTE_DEFAULTS.timeoutMs + 2000);
      expect(r.warnings).toEqual([
        `remote cache ${stall.url}: GET timed out after ${REMOTE_DEFAULTS.timeoutMs} ms; the scan goes on with the local cache`,
        `remote cache ${stall.url}: ${REMOTE_DEFAULTS.breakerThreshold} failures in a row, not used for the rest of this run`,
      ]);
    } finally {
      await stall.stop();
    }
  }, 60_000);

  it('a dead port (connection refused) fails fast', async () => {
    const stall = await startStallingServer();
    const url = stall.url;
    await stall.stop();
    const r = await runner('dead', { remoteCache: { url, where: '--remote-cache' } });
    expect(r.stats.cache?.remote?.hits).toBe(0);
    expect(r.warnings[0]).toBe(`remote cache ${url}: GET failed: ECONNREFUSED; the scan goes on with the local cache`);
    expect(r.ms).toBeLessThan(15_000);
  }, 30_000);

  it('an entry larger than the cap is not uploaded', async () => {
    const stall = await startStallingServer();
    try {
      const rc = new RemoteCache({ url: stall.url, key: KEY, readOnly: false, maxEntryBytes: 100 });
      await rc.put('ab'.repeat(32), encodeEntry('ab'.repeat(32), SCAN));
      expect(rc.stats.uploads).toBe(0);
      expect(stall.connections()).toBe(0);
    } finally {
      await stall.stop();
    }
  });

  it('an answer larger than the entry cap is not read on, and not trusted', async () => {
    const http = await import('node:http');
    let sent = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 64 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const warnings: string[] = [];
    const rc = new RemoteCache({ url: `http://127.0.0.1:${port}/c`, key: KEY, readOnly: false, maxEntryBytes: 1024 * 1024, warn: (m) => warnings.push(m) });
    try {
      expect(await rc.get('ab'.repeat(32))).toBeNull();
      expect(rc.stats).toEqual({ hits: 0, misses: 0, rejected: 1, uploads: 0, failures: 0, skipped: 0 });
      expect(warnings).toEqual([
        `remote cache entry http://127.0.0.1:${port}/c/${'ab'.repeat(32)} ignored: larger than 1048576 bytes; the crate is scanned locally (further rejected entries are not reported)`,
      ]);
      expect(sent).toBeLessThan(32 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

const NGINX = nginxBinary();
if (!NGINX) console.warn('remote-cache.test: nginx not installed (apt-get install nginx-core): the WebDAV tests are skipped');

describe.skipIf(!NGINX)('remote cache on a real nginx (WebDAV)', () => {
  let ngx: Nginx;
  beforeAll(async () => {
    ngx = await startNginx(fresh('nginx'));
  });
  afterAll(async () => {
    await ngx?.stop();
  });
  const stored = () => readdirSync(ngx.root).sort();

  it('cold uploads, a second runner downloads everything byte-identical, a tampered entry is recomputed', async () => {
    const remoteCache = { url: ngx.url, where: '--remote-cache' };
    const local = await runner('local-only', {});
    const cold = await runner('runner-1', { remoteCache });
    expect(cold.json).toBe(local.json);
    const crates = cold.stats.crates;
    expect(crates).toBeGreaterThan(5);
    expect(cold.stats.cache?.remote).toEqual({ hits: 0, misses: crates, rejected: 0, uploads: crates, failures: 0, skipped: 0 });
    expect(stored()).toHaveLength(crates);
    expect(cold.warnings).toEqual([]);

    // a second runner: empty local cache, nothing parsed, same bytes
    const second = await runner('runner-2', { remoteCache });
    expect(second.parsed).toBe(0);
    expect(second.stats.cached).toBe(crates);
    expect(second.stats.cache?.remote).toEqual({ hits: crates, misses: 0, rejected: 0, uploads: 0, failures: 0, skipped: 0 });
    expect(second.json).toBe(cold.json);
    // and its local cache is now warm: a third run on it asks nothing remote (the workspace entry, which
    // is machine-local, serves it whole; without it the crate entries do)
    const before = ngx.requests().length;
    const warm = await runner('runner-2', { remoteCache });
    expect(warm.stats.workspace.lookup).toBe('hit');
    expect(warm.json).toBe(cold.json);
    rmSync(path.join(tmp, 'runner-2', 'results', 'workspace'), { recursive: true });
    const crateWarm = await runner('runner-2', { remoteCache });
    expect(crateWarm.stats.cache?.remote?.hits).toBe(0);
    expect(crateWarm.stats.cache?.hits).toBe(crates);
    expect(ngx.requests().length).toBe(before);

    // tamper with the entry of the crate with the most findings: a "clean" result is planted
    const files = stored().map((f) => ({ f, text: readFileSync(path.join(ngx.root, f), 'utf8') }));
    const victim = files.sort((a, b) => b.text.length - a.text.length)[0]!;
    const planted = victim.text.replace(/"findings":\[.*?\],"indicators"/, '"findings":[],"indicators"');
    expect(planted).not.toBe(victim.text);
    writeFileSync(path.join(ngx.root, victim.f), planted);
    const third = await runner('runner-3', { remoteCache });
    expect(third.json).toBe(cold.json);
    expect(third.parsed).toBeGreaterThan(0);
    expect(third.stats.cache?.remote).toEqual({ hits: crates - 1, misses: 0, rejected: 1, uploads: 1, failures: 0, skipped: 0 });
    expect(third.warnings).toEqual([
      `remote cache entry ${ngx.url}/${victim.f} ignored: HMAC mismatch (tampered, or written with another key); the crate is scanned locally (further rejected entries are not reported)`,
    ]);
    // the recomputed entry replaced the planted one
    expect(readFileSync(path.join(ngx.root, victim.f), 'utf8')).toBe(victim.text);

    // an entry sealed with another key is not trusted either
    const other = await runner('runner-4', { remoteCache }, { CAP_SCAN_CACHE_KEY: 'another-key-0123456789' });
    expect(other.json).toBe(cold.json);
    expect(other.stats.cache?.remote?.rejected).toBe(crates);
    expect(other.stats.cache?.remote?.hits).toBe(0);
  }, 120_000);

  it('without a key nothing is read or uploaded (said once); read-only never uploads', async () => {
    const remoteCache = { url: `${ngx.url}/nokey`, where: 'CAP_SCAN_REMOTE_CACHE' };
    const before = ngx.requests().length;
    const nokey = await runner('nokey', { remoteCache }, {});
    expect(nokey.warnings).toEqual([
      `remote cache ${ngx.url}/nokey not used: CAP_SCAN_CACHE_KEY is not set, so its entries could not be verified (nothing is downloaded or uploaded)`,
    ]);
    expect(nokey.stats.cache?.remote).toBeUndefined();
    expect(ngx.requests().length).toBe(before);

    const ro = await runner('ro', { remoteCache: { url: `${ngx.url}/ro`, where: '--remote-cache' }, remoteCacheReadOnly: true });
    expect(ro.stats.cache?.remote?.uploads).toBe(0);
    expect(ngx.requests().slice(before).every((l) => l.startsWith('GET '))).toBe(true);
    expect(ngx.requests().length - before).toBe(ro.stats.crates);
  }, 60_000);

  it("the policy's remote-cache is used when neither the flag nor the environment names one", async () => {
    const ws = fresh('policy-ws');
    const demoDir = path.dirname(DEMO);
    const { cpSync } = await import('node:fs');
    cpSync(demoDir, ws, { recursive: true });
    const manifest = path.join(ws, 'Cargo.toml');
    writeFileSync(manifest, `${readFileSync(manifest, 'utf8')}\n[workspace.metadata.cap-scan]\nremote-cache = "${ngx.url}/policy"\n`);
    const a = await runner('policy-1', { manifestPath: manifest });
    expect(a.stats.cache?.remote?.uploads).toBe(a.stats.crates);
    const b = await runner('policy-2', { manifestPath: manifest });
    expect(b.stats.cache?.remote?.hits).toBe(b.stats.crates);
    expect(b.json).toBe(a.json);
  }, 60_000);
});
