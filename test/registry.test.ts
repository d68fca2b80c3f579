// The download provider against a real HTTP registry on 127.0.0.1 (test/helpers/registry-server.ts):
// sparse index + .crate downloads built from fixtures/registry/crates at test time.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ChecksumMismatchError } from '../src/sources/download-cache.js';
import { HttpClient } from '../src/sources/download.js';
import { downloadProvider, expandDlTemplate, indexPathOf, routeFor } from '../src/sources/registry.js';
import type { SourceContext, SourceRequest } from '../src/types.js';
import { RegistryServer, buildCrate, sha256 } from './helpers/registry-server.js';

const FIXTURES = path.resolve(__dirname, '../fixtures/registry/crates');
const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';
const CRATES_IO_SPARSE = 'sparse+https://index.crates.io/';

let server: RegistryServer;
let work: string;
const tarballs = new Map<string, Buffer>();
const sum = (nv: string): string => sha256(tarballs.get(nv)!);

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'cs-registry-'));
  for (const dir of readdirSync(FIXTURES).sort()) {
    const m = /^(.+)-(\d+\.\d+\.\d+)$/.exec(dir)!;
    tarballs.set(dir, await buildCrate(path.join(FIXTURES, dir), m[1], m[2]));
  }
  server = await RegistryServer.start();
  for (const [nv, tarball] of tarballs) {
    const [, name, version] = /^(.+)-(\d+\.\d+\.\d+)$/.exec(nv)!;
    server.publish({ name, version, tarball, yanked: nv === 'beta-1.3.0' });
  }
});

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

afterEach(() => server.clearFaults());

function freshCtx(over: Partial<SourceContext> = {}): SourceContext {
  const root = mkdtempSync(path.join(work, 'run-'));
  mkdirSync(path.join(root, 'ws'));
  mkdirSync(path.join(root, 'cargo-home'));
  return {
    workspaceRoot: path.join(root, 'ws'),
    cargoHome: path.join(root, 'cargo-home'),
    offline: false,
    cacheDir: path.join(root, 'cache'),
    allowUnverified: false,
    registryUrl: server.indexUrl,
    ...over,
  };
}

const req = (nv: string, source = CRATES_IO, checksum: string | null = sum(nv)): SourceRequest => {
  const [, name, version] = /^(.+)-(\d+\.\d+\.\d+)$/.exec(nv)!;
  return { name, version, source, checksum };
};

const quiet = { progress: false, http: { backoffMs: 5, timeoutMs: 2000 } } as const;

function tree(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
  } catch {
    return [];
  }
}

describe('index and template helpers', () => {
  test('index paths', () => {
    expect(['a', 'ab', 'abc', 'serde', 'Cargo'].map(indexPathOf)).toEqual(['1/a', '2/ab', '3/a/abc', 'se/rd/serde', 'ca/rg/cargo']);
  });

  test('dl template markers and the default suffix', () => {
    const c = { name: 'Serde', version: '1.0.0', checksum: 'ab'.repeat(32) };
    expect(expandDlTemplate('https://dl.example/api/v1/crates', c)).toBe('https://dl.example/api/v1/crates/Serde/1.0.0/download');
    expect(expandDlTemplate('https://dl.example/{prefix}/{lowerprefix}/{crate}-{version}.crate?s={sha256-checksum}', c)).toBe(
      `https://dl.example/Se/rd/se/rd/Serde-1.0.0.crate?s=${'ab'.repeat(32)}`,
    );
    // Build metadata is substituted verbatim, as cargo does (crates.io serves `…/0.14.1+1.5.0/download`).
    expect(expandDlTemplate('https://dl.example/api/v1/crates', { name: 'libgit2-sys', version: '0.14.1+1.5.0', checksum: null })).toBe(
      'https://dl.example/api/v1/crates/libgit2-sys/0.14.1+1.5.0/download',
    );
  });
});

describe('downloading', () => {
  test('a full set of crates with nothing local; a second run does no network I/O at all', async () => {
    const ctx = freshCtx();
    const before = server.count();
    const p = downloadProvider({ ...quiet, concurrency: 2 });
    const set = ['alpha-1.0.0', 'beta-1.2.0', 'gamma-0.1.0', 'beta-2.0.0'];
    const results = await Promise.all(set.map((nv) => p.locate(req(nv), ctx)));
    expect(results).toEqual(set.map((nv) => ({ dir: path.join(ctx.cacheDir, 'src', sum(nv), nv) })));
    for (const nv of set) {
      expect(readFileSync(path.join(ctx.cacheDir, 'src', sum(nv), nv, 'src/lib.rs'), 'utf8')).toBe(
        readFileSync(path.join(FIXTURES, nv, 'src/lib.rs'), 'utf8'),
      );
    }
    // config.json once, one download per crate, at most 2 at a time.
    const paths = server.requests.slice(before).map((r) => r.path).sort();
    expect(paths).toEqual(['/dl/alpha/1.0.0/download', '/dl/beta/1.2.0/download', '/dl/beta/2.0.0/download', '/dl/gamma/0.1.0/download', '/index/config.json']);
    expect(p.semaphore.peak).toBe(2);
    expect(p.stats).toEqual({ cacheHits: 0, downloaded: 4, localRegistry: 0 });
    expect(p.http.stats.requests).toBe(5);
    expect(tree(path.join(ctx.cacheDir, 'tmp'))).toEqual([]);

    // Second run: same cache, registry unreachable (a closed port): everything comes from the cache.
    const again = downloadProvider(quiet);
    const ctx2 = { ...ctx, registryUrl: 'http://127.0.0.1:9/index/' };
    const count = server.count();
    expect(await Promise.all(set.map((nv) => again.locate(req(nv), ctx2)))).toEqual(results);
    expect(server.count()).toBe(count);
    expect(again.http.stats.requests).toBe(0);
    expect(again.stats.cacheHits).toBe(4);
  });

  test('checksum mismatch: a UserError naming the crate, nothing cached', async () => {
    const ctx = freshCtx();
    const p = downloadProvider(quiet);
    server.inject(/^\/dl\/gamma\//, { body: tarballs.get('beta-1.0.0')! });
    const err = await p.locate(req('gamma-0.1.0'), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect((err as Error).message).toBe(
      `checksum mismatch for gamma 0.1.0: Cargo.lock has ${sum('gamma-0.1.0')}, the downloaded .crate is ${sum('beta-1.0.0')}`,
    );
    expect(tree(ctx.cacheDir).filter((f) => !['src', 'tmp'].includes(f))).toEqual([]);
  });

  test('404: unavailable "not found in registry", no retries', async () => {
    const ctx = freshCtx();
    const p = downloadProvider(quiet);
    const r = await p.locate({ name: 'missing', version: '1.0.0', source: CRATES_IO, checksum: 'a'.repeat(64) }, ctx);
    expect(r).toEqual({
      unavailable: `not found in registry ${server.indexUrl} (${server.base}dl/missing/1.0.0/download)`,
    });
    expect(server.requests.filter((x) => x.path === '/dl/missing/1.0.0/download')).toHaveLength(1);
    expect(p.http.stats.retries).toBe(0);
  });

  test('5xx twice, then success: retried with backoff and counted', async () => {
    const ctx = freshCtx();
    const p = downloadProvider(quiet);
    server.inject(/^\/dl\/beta\/1\.0\.0\//, { status: 503, times: 2 });
    const before = server.count(/^\/dl\/beta\/1\.0\.0\//);
    expect(await p.locate(req('beta-1.0.0'), ctx)).toEqual({ dir: path.join(ctx.cacheDir, 'src', sum('beta-1.0.0'), 'beta-1.0.0') });
    expect(server.count(/^\/dl\/beta\/1\.0\.0\//) - before).toBe(3);
    expect(p.http.stats.retries).toBe(2);
  });

  test('a slow server: timeouts retried, then a clear error', async () => {
    const ctx = freshCtx();
    const p = downloadProvider({ progress: false, http: { timeoutMs: 150, retries: 2, backoffMs: 5 } });
    await p.registry(server.indexUrl).config(); // fetched before the fault, so only the download is slow
    server.inject(/^\/dl\/gamma\//, { delayMs: 1000 });
    const before = server.count(/^\/dl\/gamma\//);
    const t0 = Date.now();
    const r = await p.locate(req('gamma-0.1.0'), ctx);
    expect(r).toEqual({ unavailable: `download failed: ${server.base}dl/gamma/0.1.0/download: no response for 150 ms (after 3 attempts)` });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(server.count(/^\/dl\/gamma\//) - before).toBe(3);
    expect(p.http.stats.retries).toBe(2);
  });

  test('a dropped connection is retried', async () => {
    const ctx = freshCtx();
    const p = downloadProvider(quiet);
    server.inject(/^\/dl\/gamma\//, { drop: true, times: 1 });
    expect(await p.locate(req('gamma-0.1.0'), ctx)).toEqual({ dir: path.join(ctx.cacheDir, 'src', sum('gamma-0.1.0'), 'gamma-0.1.0') });
    expect(p.http.stats.retries).toBe(1);
  });

  test('offline: no network at all; cached crates are still used', async () => {
    const ctx = freshCtx();
    await downloadProvider(quiet).locate(req('beta-1.2.0'), ctx);
    const count = server.count();
    const p = downloadProvider(quiet);
    const off = { ...ctx, offline: true };
    expect(await p.locate(req('beta-1.2.0'), off)).toEqual({ dir: path.join(ctx.cacheDir, 'src', sum('beta-1.2.0'), 'beta-1.2.0') });
    expect(await p.locate(req('gamma-0.1.0'), off)).toEqual({ unavailable: `offline: not in the cap-scan cache (${ctx.cacheDir})` });
    expect(server.count()).toBe(count);
    expect(p.http.stats.requests).toBe(0);
  });

  test('two concurrent runs sharing one cache both succeed', async () => {
    const ctx = freshCtx();
    const set = ['alpha-1.0.0', 'beta-1.2.0', 'gamma-0.1.0'];
    const [a, b] = await Promise.all([0, 1].map(() => {
      const p = downloadProvider(quiet);
      return Promise.all(set.map((nv) => p.locate(req(nv), ctx)));
    }));
    const expected = set.map((nv) => ({ dir: path.join(ctx.cacheDir, 'src', sum(nv), nv) }));
    expect(a).toEqual(expected);
    expect(b).toEqual(expected);
    expect(tree(path.join(ctx.cacheDir, 'src'))).toEqual(
      set
        .flatMap((nv) => [sum(nv), `${sum(nv)}/${nv}`, `${sum(nv)}/${nv}/Cargo.toml`, `${sum(nv)}/${nv}/src`, `${sum(nv)}/${nv}/src/lib.rs`])
        .map((f) => f.split('/').join(path.sep))
        .sort(),
    );
    expect(tree(path.join(ctx.cacheDir, 'tmp'))).toEqual([]);
  });

  test('no checksum: unavailable unless unverified crates are allowed', async () => {
    const ctx = freshCtx();
    const p = downloadProvider(quiet);
    expect(await p.locate(req('gamma-0.1.0', CRATES_IO, null), ctx)).toEqual({
      unavailable: 'no checksum in Cargo.lock: nothing to verify a download against (--allow-unverified unpacks it anyway)',
    });
    expect(await p.locate(req('gamma-0.1.0', CRATES_IO, null), { ...ctx, allowUnverified: true })).toEqual({
      dir: path.join(ctx.cacheDir, 'src', sum('gamma-0.1.0'), 'gamma-0.1.0'),
    });
  });

  test('a lock checksum that is not a sha256 (Debian: "Could not get crate checksum") counts as none', async () => {
    const ctx = freshCtx();
    const p = downloadProvider(quiet);
    const before = server.count();
    expect(await p.locate(req('gamma-0.1.0', CRATES_IO, 'Could not get crate checksum'), ctx)).toEqual({
      unavailable:
        'Cargo.lock checksum "Could not get crate checksum" is not a sha256: nothing to verify a download against (--allow-unverified unpacks it anyway)',
    });
    expect(server.count()).toBe(before);
    expect(await p.locate(req('gamma-0.1.0', CRATES_IO, 'Could not get crate checksum'), { ...ctx, allowUnverified: true })).toEqual({
      dir: path.join(ctx.cacheDir, 'src', sum('gamma-0.1.0'), 'gamma-0.1.0'),
    });
    // Upper-case hex is still a sha256 (and verified as one).
    expect(await p.locate(req('beta-1.2.0', CRATES_IO, sum('beta-1.2.0').toUpperCase()), ctx)).toEqual({
      dir: path.join(ctx.cacheDir, 'src', sum('beta-1.2.0'), 'beta-1.2.0'),
    });
  });

  test('sources that are not registries are not this provider\'s', async () => {
    const p = downloadProvider(quiet);
    const ctx = freshCtx();
    expect(await p.locate({ name: 'x', version: '1.0.0', source: null, checksum: null }, ctx)).toBeNull();
    expect(await p.locate({ name: 'x', version: '1.0.0', source: 'git+https://example.org/x#abc', checksum: null }, ctx)).toBeNull();
  });
});

describe('where crates come from', () => {
  test('an alternative sparse registry named by the lock source, with a dl template using markers', async () => {
    const alt = await RegistryServer.start();
    alt.dlTemplate = '{base}files/{lowerprefix}/{crate}/{crate}-{version}-{sha256-checksum}.crate';
    alt.publish({ name: 'gamma', version: '0.1.0', tarball: tarballs.get('gamma-0.1.0')! });
    try {
      const ctx = freshCtx({ registryUrl: server.indexUrl }); // the override is for crates.io only
      const p = downloadProvider(quiet);
      const r = await p.locate(req('gamma-0.1.0', `sparse+${alt.indexUrl}`), ctx);
      expect(r).toEqual({ dir: path.join(ctx.cacheDir, 'src', sum('gamma-0.1.0'), 'gamma-0.1.0') });
      expect(alt.requests.map((x) => x.path)).toEqual(['/index/config.json', `/files/ga/mm/gamma/gamma-0.1.0-${sum('gamma-0.1.0')}.crate`]);
    } finally {
      await alt.close();
    }
  });

  test('.cargo/config.toml: crates-io replaced with a sparse mirror (no override)', async () => {
    const ctx = freshCtx({ registryUrl: null });
    mkdirSync(path.join(ctx.workspaceRoot, '.cargo'));
    writeFileSync(
      path.join(ctx.workspaceRoot, '.cargo', 'config.toml'),
      `[source.crates-io]\nreplace-with = "mirror"\n\n[source.mirror]\nregistry = "sparse+${server.indexUrl}"\n`,
    );
    const p = downloadProvider(quiet);
    expect(await p.locate(req('beta-2.0.0', CRATES_IO_SPARSE), ctx)).toEqual({
      dir: path.join(ctx.cacheDir, 'src', sum('beta-2.0.0'), 'beta-2.0.0'),
    });
    expect(p.stats.downloaded).toBe(1);
  });

  test('CARGO_HOME config: crates-io replaced with a local registry (no network), directory sources left alone', async () => {
    const ctx = freshCtx({ registryUrl: null });
    const local = path.join(ctx.cargoHome, '..', 'local-reg');
    mkdirSync(local);
    writeFileSync(path.join(local, 'beta-1.2.0.crate'), tarballs.get('beta-1.2.0')!);
    writeFileSync(path.join(ctx.cargoHome, 'config.toml'), `[source.crates-io]\nreplace-with = "lr"\n\n[source.lr]\nlocal-registry = "${local}"\n`);
    const p = downloadProvider(quiet);
    const count = server.count();
    expect(await p.locate(req('beta-1.2.0'), { ...ctx, offline: true })).toEqual({
      dir: path.join(ctx.cacheDir, 'src', sum('beta-1.2.0'), 'beta-1.2.0'),
    });
    expect(await p.locate(req('gamma-0.1.0'), ctx)).toEqual({
      unavailable: `gamma-0.1.0.crate is not in local registry \`lr\` (${local})`,
    });
    expect(p.stats.localRegistry).toBe(1);
    expect(server.count()).toBe(count);

    writeFileSync(path.join(ctx.cargoHome, 'config.toml'), `[source.crates-io]\nreplace-with = "v"\n\n[source.v]\ndirectory = "${local}"\n`);
    expect(await downloadProvider(quiet).locate(req('gamma-0.1.0'), ctx)).toBeNull();
  });

  test('git-index registries: crates.io goes through its sparse index, others are refused with a reason', () => {
    const empty = { sources: {}, registries: {} };
    expect(routeFor(CRATES_IO, empty, null)).toEqual({ kind: 'sparse', indexUrl: 'https://index.crates.io/' });
    expect(routeFor(CRATES_IO, empty, 'sparse+http://127.0.0.1:1/idx')).toEqual({ kind: 'sparse', indexUrl: 'http://127.0.0.1:1/idx/' });
    expect(routeFor('registry+https://git.example/index.git', empty, 'http://127.0.0.1:1/idx/')).toEqual({
      kind: 'unsupported',
      reason: 'registry https://git.example/index.git is a git index; cap-scan downloads only through sparse indexes (use its sparse+ URL, or --registry-url)',
    });
  });

  test('the HTTP client follows redirects (crates.io redirects downloads to its CDN)', async () => {
    const http = new HttpClient({ backoffMs: 5 });
    server.inject(/^\/cdn-redirect$/, { status: 302, location: '/dl/beta/1.2.0/download' });
    expect(sha256(await http.get(`${server.base}cdn-redirect`))).toBe(sum('beta-1.2.0'));
    expect(http.stats.requests).toBe(2);
    server.inject(/^\/moved$/, { status: 302 });
    // a 302 without Location is an error status, not a redirect
    await expect(http.get(`${server.base}moved`)).rejects.toThrow(`${server.base}moved: HTTP 302`);
  });
});
