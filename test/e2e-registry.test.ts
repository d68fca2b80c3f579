// End to end through the built CLI (`node bin/cap-scan.js`, built by `npx tsc -p tsconfig.json`): a
// workspace whose dependencies exist nowhere locally is scanned from a real sparse registry on 127.0.0.1
// (test/helpers/registry-server.ts) serving .crate tarballs built at test time from
// fixtures/registry/crates. Each run gets an empty HOME / CARGO_HOME / XDG_CACHE_HOME and no inherited
// proxy or cargo settings, so nothing local can be found and nothing outside the test is touched.
//
// Behaviour under test (issue 5):
//  - an unavailable crate (404, timeouts after retries, --offline, no usable checksum) is listed as
//    unscanned with the reason, exit 0: the rest of the report is still true;
//  - a crate that is not what Cargo.lock says (checksum mismatch) or whose tarball is hostile fails the
//    run: exit 2, one line naming the crate and the reason, no stack trace, nothing cached.

import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { loadProject } from '../src/project/load-project.js';
import type { ScanResult, SourceProvider } from '../src/types.js';
import { RegistryServer, buildCrate, gz, rawTar, sha256 } from './helpers/registry-server.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'cap-scan.js');
const CRATES = path.join(ROOT, 'fixtures/registry/crates');
const WORKSPACE = path.join(ROOT, 'fixtures/registry/workspace');
const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

let server: RegistryServer;
let work: string;
const tarballs = new Map<string, Buffer>();
const sum = (nv: string): string => sha256(tarballs.get(nv)!);

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npx tsc -p tsconfig.json` first');
  work = mkdtempSync(path.join(os.tmpdir(), 'cs-e2e-registry-'));
  for (const nv of readdirSync(CRATES).sort()) {
    const [, name, version] = /^(.+)-(\d+\.\d+\.\d+)$/.exec(nv)!;
    tarballs.set(nv, await buildCrate(path.join(CRATES, nv), name, version));
  }
  server = await RegistryServer.start();
  for (const [nv, tarball] of tarballs) {
    const [, name, version] = /^(.+)-(\d+\.\d+\.\d+)$/.exec(nv)!;
    const deps = name === 'alpha' ? [{ name: 'beta', req: '^1' }, { name: 'gamma', req: '^0.1' }] : [];
    server.publish({ name, version, tarball, deps, yanked: nv === 'beta-1.3.0' });
  }
});

afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

afterEach(() => server.clearFaults());

/**
 * Whether the project loader reports the reason of every provider that was responsible for a missing
 * crate (joined with "; ", as sources/index.ts `locateSource` does) rather than only the first one (the
 * local `~/.cargo/registry/src` lookup, which hides why the download failed). Probed, not assumed, so
 * these tests assert exactly what the CLI prints before and after that change to src/project/load-project.ts.
 */
/** The unscanned reason the CLI prints for a registry crate missing from `~/.cargo/registry/src` too. */
function missingReason(h: Home, nv: string, download: string): string {
  const local = `${nv} is not in ${path.join(h.env.CARGO_HOME!, 'registry', 'src')}`;
  return `${local}; ${download}`;
}

interface Home {
  env: Record<string, string>;
  /** The cap-scan cache ($XDG_CACHE_HOME/cap-scan). */
  cache: string;
}

/** An empty HOME, CARGO_HOME and XDG_CACHE_HOME; the registry override points at the test server. */
function home(extra: Record<string, string> = {}): Home {
  const h = mkdtempSync(path.join(work, 'home-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: h,
    CARGO_HOME: path.join(h, '.cargo'),
    XDG_CACHE_HOME: path.join(h, '.cache'),
    CAP_SCAN_REGISTRY: server.indexUrl,
    NO_COLOR: '1',
    ...extra,
  };
  return { env, cache: path.join(h, '.cache', 'cap-scan') };
}

/** A copy of the fixture workspace with Cargo.lock written from the template (real checksums). */
function workspace(checksums: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(work, 'ws-'));
  cpSync(WORKSPACE, dir, { recursive: true });
  const template = readFileSync(path.join(dir, 'Cargo.lock.template'), 'utf8');
  rmSync(path.join(dir, 'Cargo.lock.template'));
  const lock = template
    .replace(/^# Template:.*\n(#.*\n)*/m, '')
    .replace(/\{\{sha256 ([^}]+)\}\}/g, (_, nv: string) => checksums[nv] ?? sum(nv));
  writeFileSync(path.join(dir, 'Cargo.lock'), lock);
  return dir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(args: string[], env: Record<string, string>, cwd = work): Promise<Run> {
  const t0 = performance.now();
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
      // A crash by signal (or a spawn failure) must not pass for an exit code: keep what happened in stderr.
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      const why = e && code === -1 ? `[${e.signal ?? String(e.code ?? e.message)}] ` : '';
      done({ code, stdout, stderr: why + stderr, ms: Math.round(performance.now() - t0) });
    });
  });
}

function tree(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
  } catch {
    return [];
  }
}

/** What the cache holds: `<sha256>/<name>-<version>` for every unpacked crate. */
function cached(cache: string): string[] {
  return tree(path.join(cache, 'src')).filter((p) => p.split(path.sep).length === 2);
}

const downloads = (): number => server.count(/^\/dl\//);

const SCANNED = [
  'Capabilities, most dangerous first:',
  'net (runtime, 1 crate)',
  '  gamma',
  'fs (runtime, 1 crate)',
  '  alpha',
  'env (runtime, 1 crate)',
  '  beta',
  '',
  'alpha 1.0.0  runtime: fs   build: -',
  '  direct dependency of app',
  'beta 1.2.0   runtime: env  build: -',
  '  via alpha → beta',
  'gamma 0.1.0  runtime: net  build: -',
  '  via alpha → gamma',
];
/** `crate alpha@1 --deps`: paths start at alpha (the probe project that resolves it is not shown). */
const SCANNED_DEPS = [
  ...SCANNED.slice(0, 8),
  'alpha 1.0.0  runtime: fs   build: -',
  'beta 1.2.0   runtime: env  build: -',
  '  direct dependency of alpha',
  'gamma 0.1.0  runtime: net  build: -',
  '  direct dependency of alpha',
];
/** alpha and beta only (gamma unscanned). */
const SCANNED_AB = [
  'Capabilities, most dangerous first:',
  'fs (runtime, 1 crate)',
  '  alpha',
  'env (runtime, 1 crate)',
  '  beta',
  '',
  'alpha 1.0.0  runtime: fs   build: -',
  '  direct dependency of app',
  'beta 1.2.0   runtime: env  build: -',
  '  via alpha → beta',
];

describe('workspace scan with nothing local', () => {
  test('every crate downloaded, verified, cached and scanned (exit 0)', async () => {
    const h = home();
    const ws = workspace();
    const before = server.requests.length;
    const r = await cli(['--manifest-path', ws], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([...SCANNED, '', '3 crates, 3 with capabilities, 0 unscanned', ''].join('\n'));
    expect(server.requests.slice(before).map((q) => `${q.path} ${q.status}`).sort()).toEqual([
      '/dl/alpha/1.0.0/download 200',
      '/dl/beta/1.2.0/download 200',
      '/dl/gamma/0.1.0/download 200',
      '/index/config.json 200',
    ]);
    expect(cached(h.cache)).toEqual(
      ['alpha-1.0.0', 'beta-1.2.0', 'gamma-0.1.0'].map((nv) => path.join(sum(nv), nv)).sort(),
    );
    expect(tree(path.join(h.cache, 'tmp'))).toEqual([]);

    // The JSON report of a second run (from the cache: no request) carries the lock's sources and checksums.
    const count = server.requests.length;
    const j = await cli(['--manifest-path', ws, '--format', 'json'], h.env);
    expect(j.code).toBe(0);
    expect(server.requests.length).toBe(count);
    const result = JSON.parse(j.stdout) as ScanResult;
    expect(result.unscanned).toEqual([]);
    expect(result.crates.map((c) => [c.name, c.version, c.source, c.checksum, c.capabilities])).toEqual([
      ['alpha', '1.0.0', CRATES_IO, sum('alpha-1.0.0'), ['fs']],
      ['beta', '1.2.0', CRATES_IO, sum('beta-1.2.0'), ['env']],
      ['gamma', '0.1.0', CRATES_IO, sum('gamma-0.1.0'), ['net']],
    ]);
    expect(result.crates.find((c) => c.name === 'gamma')!.hosts).toEqual(['example.org']);
  });

  test('5xx answers are retried (each retry is a request), then the run succeeds', async () => {
    const h = home();
    server.inject(/^\/dl\/gamma\//, { status: 503, times: 2 });
    const before = server.count(/^\/dl\/gamma\//);
    const r = await cli(['--manifest-path', workspace()], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([...SCANNED, '', '3 crates, 3 with capabilities, 0 unscanned', ''].join('\n'));
    expect(server.requests.filter((q) => q.path.startsWith('/dl/gamma/')).slice(-3).map((q) => q.status)).toEqual([503, 503, 200]);
    expect(server.count(/^\/dl\/gamma\//) - before).toBe(3);
  });
});

describe('a crate that is not what Cargo.lock says: exit 2, nothing cached', () => {
  test('checksum mismatch', async () => {
    const h = home();
    const wrong = tarballs.get('beta-1.0.0')!; // a well-formed .crate, but not gamma 0.1.0's
    server.inject(/^\/dl\/gamma\//, { body: wrong });
    const r = await cli(['--manifest-path', workspace()], h.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `cap-scan: error: checksum mismatch for gamma 0.1.0: Cargo.lock has ${sum('gamma-0.1.0')}, the downloaded .crate is ${sha256(wrong)}\n`,
    );
    const entries = cached(h.cache);
    expect(entries.filter((e) => e.includes('gamma') || e.startsWith(sha256(wrong)))).toEqual([]);
    expect(tree(path.join(h.cache, 'tmp'))).toEqual([]);
  });

  const hostile: [string, Buffer, string][] = [
    [
      '../ entry',
      gz(rawTar([{ path: 'gamma-0.1.0/', type: 'dir' }, { path: 'gamma-0.1.0/../../../escaped', data: 'x' }])),
      'refusing to unpack gamma 0.1.0: path traversal (..) in "gamma-0.1.0/../../../escaped"',
    ],
    [
      'absolute path',
      gz(rawTar([{ path: 'gamma-0.1.0/', type: 'dir' }, { path: '/tmp/cs-e2e-escaped', data: 'x' }])),
      'refusing to unpack gamma 0.1.0: absolute path "/tmp/cs-e2e-escaped"',
    ],
    [
      'hardlink out',
      gz(rawTar([{ path: 'gamma-0.1.0/', type: 'dir' }, { path: 'gamma-0.1.0/passwd', type: 'hardlink', linkpath: '/etc/passwd' }])),
      'refusing to unpack gamma 0.1.0: hardlink "gamma-0.1.0/passwd" points outside the package (/etc/passwd)',
    ],
    [
      'symlink to /etc',
      gz(rawTar([{ path: 'gamma-0.1.0/', type: 'dir' }, { path: 'gamma-0.1.0/etc', type: 'symlink', linkpath: '/etc' }])),
      'refusing to unpack gamma 0.1.0: symlink "gamma-0.1.0/etc" points outside the package (/etc)',
    ],
    [
      'wrong top-level directory',
      gz(rawTar([{ path: 'other-9.9.9/', type: 'dir' }, { path: 'other-9.9.9/src/lib.rs', data: '' }])),
      'refusing to unpack gamma 0.1.0: entry "other-9.9.9/" is outside gamma-0.1.0/',
    ],
  ];

  test.each(hostile)('hostile tarball from the registry (%s): one line naming the crate and the reason', async (_what, evil, message) => {
    const h = home();
    server.inject(/^\/dl\/gamma\//, { body: evil });
    const r = await cli(['--manifest-path', workspace({ 'gamma-0.1.0': sha256(evil) })], h.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`cap-scan: error: ${message}\n`);
    expect(cached(h.cache).filter((e) => e.includes('gamma'))).toEqual([]);
    expect(tree(path.join(h.cache, 'tmp'))).toEqual([]);
    expect(existsSync(path.join(work, 'escaped'))).toBe(false);
    expect(existsSync('/tmp/cs-e2e-escaped')).toBe(false);
  });

  test('truncated gzip from the registry', async () => {
    const h = home();
    const whole = tarballs.get('gamma-0.1.0')!;
    const evil = whole.subarray(0, Math.floor(whole.length / 2));
    server.inject(/^\/dl\/gamma\//, { body: evil });
    const r = await cli(['--manifest-path', workspace({ 'gamma-0.1.0': sha256(evil) })], h.env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^cap-scan: error: refusing to unpack gamma 0\.1\.0: [^\n]+\n$/);
    expect(cached(h.cache).filter((e) => e.includes('gamma'))).toEqual([]);
  });

  test('a hostile .crate file given to `cap-scan crate`', async () => {
    const h = home();
    const file = path.join(mkdtempSync(path.join(work, 'file-')), 'gamma-0.1.0.crate');
    const [, evil, message] = hostile.find(([what]) => what === 'symlink to /etc')!;
    writeFileSync(file, evil);
    const r = await cli(['crate', file], h.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`cap-scan: error: ${message}\n`);
    expect(tree(path.join(h.cache, 'src'))).toEqual([]);
  });
});

describe('unavailable crates are unscanned, with the reason (exit 0)', () => {
  test('404', async () => {
    const h = home();
    server.inject(/^\/dl\/gamma\//, { status: 404 });
    const before = server.count(/^\/dl\/gamma\//);
    const r = await cli(['--manifest-path', workspace()], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const url = `${server.base}dl/gamma/0.1.0/download`;
    expect(r.stdout).toBe(
      [
        ...SCANNED_AB,
        '',
        'Unscanned (1):',
        `  gamma 0.1.0  ${missingReason(h, 'gamma-0.1.0', `not found in registry ${server.indexUrl} (${url})`)}`,
        '',
        '2 crates, 2 with capabilities, 1 unscanned',
        '',
      ].join('\n'),
    );
    expect(server.count(/^\/dl\/gamma\//) - before).toBe(1); // a 404 is not retried
    expect(cached(h.cache).filter((e) => e.includes('gamma'))).toEqual([]);
  });

  test('a slow server: each attempt times out (CARGO_HTTP_TIMEOUT), retried CARGO_NET_RETRY times', async () => {
    const h = home({ CARGO_HTTP_TIMEOUT: '1', CARGO_NET_RETRY: '1' });
    server.inject(/^\/dl\/gamma\//, { delayMs: 4000 });
    const before = server.count(/^\/dl\/gamma\//);
    const r = await cli(['--manifest-path', workspace(), '--format', 'json'], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as ScanResult;
    expect(result.crates.map((c) => c.name)).toEqual(['alpha', 'beta']);
    expect(result.unscanned).toEqual([
      {
        name: 'gamma',
        version: '0.1.0',
        reason: missingReason(h, 'gamma-0.1.0', `download failed: ${server.base}dl/gamma/0.1.0/download: no response for 1000 ms (after 2 attempts)`),
      },
    ]);
    expect(server.count(/^\/dl\/gamma\//) - before).toBe(2);
  });

  test('a lock checksum that is not a sha256: unscanned unless --allow-unverified', async () => {
    const h = home();
    const ws = workspace({ 'gamma-0.1.0': 'Could not get crate checksum' });
    const before = downloads();
    const r = await cli(['--manifest-path', ws, '--format', 'json'], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as ScanResult).unscanned).toEqual([
      {
        name: 'gamma',
        version: '0.1.0',
        reason: missingReason(
          h,
          'gamma-0.1.0',
          'Cargo.lock checksum "Could not get crate checksum" is not a sha256: nothing to verify a download against (--allow-unverified unpacks it anyway)',
        ),
      },
    ]);
    expect(downloads() - before).toBe(2); // alpha and beta only
    const u = await cli(['--manifest-path', ws, '--allow-unverified'], h.env);
    expect(u.stderr).toBe('');
    expect(u.code).toBe(0);
    expect(u.stdout).toBe([...SCANNED, '', '3 crates, 3 with capabilities, 0 unscanned', ''].join('\n'));
  });

  test('--offline (and --frozen): no request; missing crates unscanned; cached ones scanned', async () => {
    const h = home();
    const ws = workspace();
    const before = server.requests.length;
    const reason = (nv: string): string => missingReason(h, nv, `offline: not in the cap-scan cache (${h.cache})`);
    for (const flag of ['--offline', '--frozen']) {
      const r = await cli(['--manifest-path', ws, flag], h.env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          '',
          'Unscanned (3):',
          `  alpha 1.0.0  ${reason('alpha-1.0.0')}`,
          `  beta 1.2.0   ${reason('beta-1.2.0')}`,
          `  gamma 0.1.0  ${reason('gamma-0.1.0')}`,
          '',
          '0 crates, 0 with capabilities, 3 unscanned',
          '',
        ].join('\n'),
      );
    }
    expect(server.requests.length).toBe(before);
    // Once cached, --offline scans everything, still without a request.
    expect((await cli(['--manifest-path', ws], h.env)).code).toBe(0);
    const count = server.requests.length;
    const r = await cli(['--manifest-path', ws, '--offline'], h.env);
    expect(r.stdout).toBe([...SCANNED, '', '3 crates, 3 with capabilities, 0 unscanned', ''].join('\n'));
    expect(server.requests.length).toBe(count);
  });
});

test('two concurrent scans sharing one cache: both succeed with identical output', async () => {
  const h = home();
  const ws = workspace();
  const [a, b] = await Promise.all([cli(['--manifest-path', ws, '--format', 'json'], h.env), cli(['--manifest-path', ws, '--format', 'json'], h.env)]);
  expect([a.code, a.stderr, b.code, b.stderr]).toEqual([0, '', 0, '']);
  expect(b.stdout).toBe(a.stdout);
  const result = JSON.parse(a.stdout) as ScanResult;
  expect(result.unscanned).toEqual([]);
  expect(result.crates.map((c) => `${c.name} ${c.version}`)).toEqual(['alpha 1.0.0', 'beta 1.2.0', 'gamma 0.1.0']);
  expect(cached(h.cache)).toEqual(['alpha-1.0.0', 'beta-1.2.0', 'gamma-0.1.0'].map((nv) => path.join(sum(nv), nv)).sort());
  expect(tree(path.join(h.cache, 'tmp'))).toEqual([]);
});

describe('cap-scan crate', () => {
  test('name@^1 picks the newest non-yanked version (beta 1.3.0 is yanked, 2.0.0 is out of range)', async () => {
    const h = home();
    const r = await cli(['crate', 'beta@^1'], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      ['Capabilities, most dangerous first:', 'env (runtime, 1 crate)', '  beta', '', 'beta 1.2.0  runtime: env  build: -', '', '1 crate, 1 with capabilities, 0 unscanned', ''].join('\n'),
    );
    const j = await cli(['crate', 'beta@^1', '--format', 'json'], h.env);
    expect(j.code).toBe(0);
    const result = JSON.parse(j.stdout) as ScanResult;
    expect(result.crates.map((c) => [c.name, c.version, c.source, c.checksum, c.capabilities])).toEqual([
      ['beta', '1.2.0', CRATES_IO, sum('beta-1.2.0'), ['env']],
    ]);
    expect(result.unscanned).toEqual([]);
    const none = await cli(['crate', 'beta@^3'], h.env);
    expect([none.code, none.stdout, none.stderr]).toEqual([2, '', 'cap-scan: error: no version of beta matches ^3 (available: 1.0.0, 1.2.0, 2.0.0)\n']);
  });

  test('a crate the registry lists but cannot serve, or does not know: exit 2 with the reason (nothing else to report)', async () => {
    const h = home();
    server.inject(/^\/dl\/gamma\//, { status: 404 });
    const r = await cli(['crate', 'gamma@0.1'], h.env);
    expect([r.code, r.stdout, r.stderr]).toEqual([
      2,
      '',
      `cap-scan: error: cannot download gamma 0.1.0: not found in registry ${server.indexUrl} (${server.base}dl/gamma/0.1.0/download)\n`,
    ]);
    const unknown = await cli(['crate', 'nosuchcrate@1'], h.env);
    expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([2, '', 'cap-scan: error: crate nosuchcrate not found in the registry\n']);
    const offline = await cli(['crate', 'beta@^1', '--offline'], h.env);
    expect([offline.code, offline.stderr]).toEqual([2, 'cap-scan: error: offline: cannot resolve beta without the registry index (give a .crate file or a directory)\n']);
  });

  test('a .crate file', async () => {
    const h = home();
    const file = path.join(mkdtempSync(path.join(work, 'file-')), 'gamma-0.1.0.crate');
    writeFileSync(file, tarballs.get('gamma-0.1.0')!);
    const before = server.requests.length;
    const r = await cli(['crate', file, '--format', 'json'], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as ScanResult;
    expect(result.crates.map((c) => [c.name, c.version, c.checksum, c.capabilities, c.hosts])).toEqual([
      ['gamma', '0.1.0', sum('gamma-0.1.0'), ['net'], ['example.org']],
    ]);
    expect(server.requests.length).toBe(before);
  });

  const cargo = (() => {
    try {
      execFileSync('cargo', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!cargo) console.warn('e2e-registry: `crate --deps` skipped (cargo is not on PATH)');

  test.skipIf(!cargo)('--deps: the crate and what it pulls in, resolved by cargo against the registry', async () => {
    // rustup's cargo proxy finds its toolchains through RUSTUP_HOME (default ~/.rustup, but HOME is fresh).
    const rustup = process.env.RUSTUP_HOME ?? path.join(os.homedir(), '.rustup');
    const h = home(existsSync(rustup) ? { RUSTUP_HOME: rustup } : {});
    const r = await cli(['crate', 'alpha@1', '--deps'], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([...SCANNED_DEPS, '', '3 crates, 3 with capabilities, 0 unscanned', ''].join('\n'));
    // the temporary project's crates are cached, but no workspace entry: no later run scans that project
    expect(existsSync(path.join(h.cache, 'results'))).toBe(true);
    expect(existsSync(path.join(h.cache, 'results', 'workspace'))).toBe(false);
  }, 60_000);
});
