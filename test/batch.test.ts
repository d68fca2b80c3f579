// `cap-scan batch`: registry-wide scans on a BullMQ queue. The queue tests start Debian's redis-server on
// 127.0.0.1 on a free port with a temporary directory (skipped with a message when it is absent); the
// option and store tests need nothing.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { jobId, jobsFromDir, jobsFromLockfile } from '../src/batch/jobs.js';
import { scanDirsLinked } from '../src/batch/link.js';
import { parseQueueUrl, redact } from '../src/batch/redis.js';
import { resultFileName, resultsKey } from '../src/batch/store.js';
import { defaultScanOptions } from '../src/options.js';
import { RegistryServer, buildCrate, sha256 } from './helpers/registry-server.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'cap-scan.js');
const CORPUS = '/usr/share/cargo/registry';
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? null;
/** The HMAC key workers sign results with and reports verify them with (every run gets it unless told). */
const KEY = 'batch-test-key-0123456789abcdef';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', CAP_SCAN_CACHE_KEY: KEY, ...env }, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      done({ code: typeof code === 'number' ? code : 1, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------ without redis

describe('batch options and stores', () => {
  it('parses redis URLs and never shows a password', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6380/2')).toMatchObject({ host: '127.0.0.1', port: 6380, db: 2, shown: 'redis://127.0.0.1:6380/2' });
    expect(parseQueueUrl('rediss://u:s3cret@h')).toMatchObject({ host: 'h', port: 6379, username: 'u', password: 's3cret', shown: 'rediss://u:***@h' });
    expect(redact('redis://:pw@host:1')).toBe('redis://:***@host:1');
    expect(() => parseQueueUrl('http://x')).toThrow("--queue must be a redis:// or rediss:// URL (redis://HOST:PORT[/DB]), got 'http://x'");
    expect(() => parseQueueUrl('redis://h:0')).toThrow("--queue URL has a bad port: 'redis://h:0'");
    expect(() => parseQueueUrl('redis://h/99')).toThrow("--queue URL database must be a number from 0 to 15, got '99'");
  });

  it('job ids are name@version, with #checksum when known', () => {
    expect(jobId({ name: 'a', version: '1.0.0', checksum: null })).toBe('a@1.0.0');
    expect(jobId({ name: 'a', version: '1.0.0', checksum: 'ab'.repeat(32) })).toBe(`a@1.0.0#${'ab'.repeat(32)}`);
    expect(resultFileName(`a@1.0.0#${'ab'.repeat(32)}`)).toBe(`a@1.0.0-${'ab'.repeat(32)}.json`);
    expect(() => resultFileName('../x')).toThrow('cannot name a result file');
  });

  it('a lockfile gives registry packages with checksums; path, git and unchecksummed packages are listed as skipped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cap-scan-batch-lock-'));
    const sum = 'cd'.repeat(32);
    writeFileSync(
      path.join(dir, 'Cargo.lock'),
      [
        'version = 3',
        '',
        '[[package]]',
        'name = "app"',
        'version = "0.1.0"',
        '',
        '[[package]]',
        'name = "gitdep"',
        'version = "0.2.0"',
        'source = "git+https://example.com/g.git#0123456789abcdef0123456789abcdef01234567"',
        '',
        '[[package]]',
        'name = "nosum"',
        'version = "1.0.0"',
        'source = "registry+https://github.com/rust-lang/crates.io-index"',
        '',
        '[[package]]',
        'name = "serde"',
        'version = "1.0.1"',
        'source = "registry+https://github.com/rust-lang/crates.io-index"',
        `checksum = "${sum}"`,
        '',
        '[[package]]',
        'name = "aa-json"',
        'version = "1.0.0"',
        'source = "registry+https://github.com/rust-lang/crates.io-index"',
        `checksum = "${'ef'.repeat(32)}"`,
        'dependencies = ["nosum", "serde"]',
        '',
      ].join('\n'),
    );
    const r = await jobsFromLockfile(path.join(dir, 'Cargo.lock'));
    const crates = 'registry+https://github.com/rust-lang/crates.io-index';
    // dependency order (serde before the crate that depends on it), the lockfile's own edges among the jobs
    expect(r.jobs).toEqual([
      { name: 'serde', version: '1.0.1', checksum: sum, source: crates, dir: null, deps: [] },
      { name: 'aa-json', version: '1.0.0', checksum: 'ef'.repeat(32), source: crates, dir: null, deps: [{ name: 'serde', id: `serde@1.0.1#${sum}` }] },
    ]);
    expect(r.skipped).toEqual([
      { what: 'app 0.1.0', reason: 'path package (workspace member): scan it with cap-scan --manifest-path' },
      { what: 'gitdep 0.2.0', reason: 'not a registry package (git+https://example.com/g.git)' },
      { what: 'nosum 1.0.0', reason: 'no sha256 checksum in Cargo.lock: nothing to verify a download against' },
    ]);
  });

  it('bad action, bad URL and misplaced flags are one-line errors with exit 2', async () => {
    for (const [args, msg] of [
      [['batch', 'frob'], "cap-scan: error: batch needs an action: enqueue, worker, status, report (got 'frob')\n"],
      [['batch', 'status', '--queue', 'http://127.0.0.1:1'], "cap-scan: error: --queue must be a redis:// or rediss:// URL (redis://HOST:PORT[/DB]), got 'http://127.0.0.1:1'\n"],
      [['batch', 'status', '--queue-name', 'a:b'], "cap-scan: error: --queue-name must be 1-100 letters, digits, '.', '_' or '-', got 'a:b'\n"],
      [['batch', 'report', '--lockfile', 'Cargo.lock'], 'cap-scan: error: --lockfile is not an option of batch report\n'],
      [['batch', 'worker', '--concurrency', '0'], "cap-scan: error: --concurrency must be a whole number from 1 to 64, got '0'\n"],
    ] as const) {
      const r = await run([...args]);
      expect(r.stderr).toBe(msg);
      expect(r.code).toBe(2);
    }
  });

  it('a worker without CAP_SCAN_CACHE_KEY (it could sign nothing) or with a short one stops before connecting, exit 2', async () => {
    const closed = await freePort();
    const w = await run(['batch', 'worker', '--queue', `redis://127.0.0.1:${closed}`], { CAP_SCAN_CACHE_KEY: '' });
    expect(w.stderr).toBe(
      'cap-scan: error: batch worker signs every result it stores with CAP_SCAN_CACHE_KEY (HMAC-SHA256), and it is not set (for example: export CAP_SCAN_CACHE_KEY=$(openssl rand -hex 32), the same on every worker and for the report)\n',
    );
    expect(w.code).toBe(2);
    const short = await run(['batch', 'report', '--queue', `redis://127.0.0.1:${closed}`], { CAP_SCAN_CACHE_KEY: 'short' });
    expect(short.stderr).toBe('cap-scan: error: CAP_SCAN_CACHE_KEY must be at least 16 characters (for example: openssl rand -hex 32)\n');
    expect(short.code).toBe(2);
  });

  it('an unreachable or silent redis is a one-line error within a bounded wait', async () => {
    const closed = await freePort();
    const r = await run(['batch', 'status', '--queue', `redis://127.0.0.1:${closed}`]);
    expect(r.stderr).toBe(`cap-scan: error: cannot reach redis at redis://127.0.0.1:${closed}: ECONNREFUSED (is redis-server running? --queue redis://HOST:PORT selects it)\n`);
    expect(r.code).toBe(2);
    // a server that accepts the connection and never answers
    const silent = net.createServer(() => {});
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as AddressInfo).port;
    try {
      const s = await run(['batch', 'status', '--queue', `redis://:pw@127.0.0.1:${port}`]);
      expect(s.stderr).toMatch(new RegExp(`^cap-scan: error: cannot reach redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: [^\\n]+\\n$`));
      expect(s.code).toBe(2);
      expect(s.ms).toBeLessThan(15_000);
    } finally {
      silent.close();
    }
  });
});

// ------------------------------------------------------------------ with redis

if (!REDIS) console.warn('batch queue tests skipped: redis-server not found (apt-get install -y --no-install-recommends redis-server)');

describe.skipIf(!REDIS)('batch on a real redis-server', () => {
  let redis: ChildProcess;
  let url = '';
  let base = '';

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'cap-scan-batch-'));
    const port = await freePort();
    mkdirSync(path.join(base, 'redis'));
    redis = spawn(REDIS!, ['--port', String(port), '--bind', '127.0.0.1', '--dir', path.join(base, 'redis'), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('redis-server did not start');
  });
  afterAll(() => {
    redis?.kill('SIGTERM');
  });

  const SAMPLE = [
    'adler-1.0.2', 'atty-0.2.14', 'autocfg-1.1.0', 'bitflags-1.3.2', 'byteorder-1.4.3', 'cfg-if-1.0.0', 'erased-serde-0.3.23',
    'fastrand-1.8.0', 'futures-io-0.3.21', 'generic-array-0.14.4', 'hmac-0.12.1', 'num_threads-0.1.6', 'peeking_take_while-0.1.2',
    'pin-project-lite-0.2.9', 'print_bytes-0.5.0', 'rand_chacha-0.3.1', 'sct-0.7.0', 'serde_urlencoded-0.7.1', 'tempfile-3.3.0', 'version_check-0.9.4',
  ];
  /** Dependency edges among the sample (enqueue's plan): checked exactly, so linking that links nothing fails. */
  const SAMPLE_EDGES = 3;
  const corpusOk = existsSync(CORPUS) && SAMPLE.every((d) => existsSync(path.join(CORPUS, d)));
  if (!corpusOk) console.warn(`batch corpus test skipped: ${CORPUS} lacks the 20-crate sample`);

  it.skipIf(!corpusOk)(
    'two workers over 20 corpus crates: the report equals the single-machine linked scan crate by crate',
    async () => {
      const dir = path.join(base, 'crates');
      for (const d of SAMPLE) cpSync(path.join(CORPUS, d), path.join(dir, d), { recursive: true });
      const q = ['--queue', url, '--queue-name', 'sample'];
      const e = await run(['batch', 'enqueue', '--dir', dir, ...q]);
      expect(e.stderr).toBe('');
      expect(e.stdout).toBe(`queue sample at ${url}: 20 jobs added, 0 already queued, 0 skipped\n`);
      // idempotent: the same list again adds nothing
      const again = await run(['batch', 'enqueue', '--dir', dir, ...q, '--format', 'json']);
      expect(JSON.parse(again.stdout)).toMatchObject({ queue: 'sample', added: [], skipped: [] });
      expect(JSON.parse(again.stdout).existing).toHaveLength(20);

      const results = path.join(base, 'results');
      const workers = await Promise.all(
        [1, 2].map((i) => run(['batch', 'worker', ...q, '--results', results, '--until-empty', '--jobs', '1', '--cache-dir', path.join(base, `cache${i}`), '--format', 'json', '-q'])),
      );
      for (const w of workers) expect(w.code).toBe(0);
      const done = workers.map((w) => JSON.parse(w.stdout).completed as number);
      expect(done[0]! + done[1]!).toBe(20);
      expect(readdirSync(results).filter((f) => f.endsWith('.json'))).toHaveLength(20);

      const st = await run(['batch', 'status', ...q, '--format', 'json']);
      expect(JSON.parse(st.stdout).counts).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0, 'waiting-children': 0, completed: 20, failed: 0 });

      const rep = await run(['batch', 'report', ...q, '--results', results, '--format', 'json']);
      expect(rep.code).toBe(0);
      expect(rep.stderr).toBe('');
      const report = JSON.parse(rep.stdout);
      expect(report.unscanned).toEqual([]);
      expect(report.batch).toEqual({
        queue: 'sample',
        counts: { waiting: 0, active: 0, delayed: 0, prioritized: 0, 'waiting-children': 0, completed: 20, failed: 0 },
        failed: [],
        pending: [],
        rejected: [],
        link: { applied: true, note: `20 crates linked in dependency order through ${SAMPLE_EDGES} dependency edges (their stored export tables)`, crates: 20, edges: SAMPLE_EDGES, unlinked: [], stale: [] },
      });
      const names = report.crates.map((c: { name: string; version: string }) => `${c.name}-${c.version}`);
      expect(names).toEqual([...SAMPLE].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      // deterministic: a second report is byte-identical
      expect((await run(['batch', 'report', ...q, '--results', results, '--format', 'json'])).stdout).toBe(rep.stdout);

      // the single-machine reference: every crate in one session, linked the same way, without any cache
      const reference = await scanDirsLinked((await jobsFromDir(dir)).jobs, defaultScanOptions({ cache: false, offline: true, jobs: 1 }));
      expect(reference.crates.map((c) => `${c.name}-${c.version}`)).toEqual(names);
      for (const [i, c] of reference.crates.entries()) expect(report.crates[i], names[i]).toEqual(JSON.parse(JSON.stringify(c)));
    },
    600_000,
  );

  // link-ws's vendored crates (test/link.test.ts): plain-user and renamed-user reach std::process and std::fs
  // only through util's (and util's dependency inner's) export tables
  const LINKWS = path.join(ROOT, 'fixtures', 'crates', 'link-ws', 'vendor');
  type Row = [rule: string, line: number, evidence: string];
  const rows = (c: { findings: { rule: string; line: number; evidence: string }[] } | undefined): Row[] => (c?.findings ?? []).map((f) => [f.rule, f.line, f.evidence]);
  const PLAIN: Row[] = [
    ['std-process-spawn', 5, 'util::Task::new = std::process::Command::new'],
    ['std-process-spawn', 9, 'util::Task::new = std::process::Command::new'],
    ['std-fs-delete', 13, 'util::disk::remove_file = std::fs::remove_file'],
    ['std-fs-read', 17, 'util::disk::read = std::fs::read'],
    ['std-process-spawn', 21, 'util::sys::Run::new = inner::Cmd::new = std::process::Command::new'],
    ['std-env-read', 29, 'util::env::get = inner::env::get = std::env::var'],
    ['unsafe-block', 34, 'unsafe { … }'],
    ['foreign-call', 34, 'util::ffi::system = inner::ffi::system = extern "C" fn system'],
    ['libc-process-spawn', 34, 'util::ffi::system = inner::ffi::system = extern "C" fn system'],
  ];
  const RENAMED: Row[] = [
    ['std-process-spawn', 2, 'util::Task::new = std::process::Command::new'],
    ['std-fs-write', 6, 'util::disk::write = std::fs::write'],
    ['std-process-spawn', 10, 'u::launch!("id") → util::Task::new = std::process::Command::new'],
  ];
  const byName = (r: { crates: { name: string }[] }, n: string) => r.crates.find((c) => c.name === n) as never;

  it('link-ws: dependents resolve through their dependencies\' stored tables, in dependency order; a tampered entry is not trusted, then re-queued and recomputed', async () => {
    const q = ['--queue', url, '--queue-name', 'linkws'];
    const e = JSON.parse((await run(['batch', 'enqueue', '--dir', LINKWS, ...q, '--format', 'json'])).stdout);
    // dependencies first: inner, util, then the two users
    expect(e.added.map((id: string) => id.split('#')[0])).toEqual(['inner@0.1.0', 'util@0.1.0', 'plain-user@0.1.0', 'renamed-user@0.1.0']);
    const utilId: string = e.added[1];
    // two workers at once (results in Redis): util waits for inner, the users for util
    const workers = await Promise.all([1, 2].map((i) => run(['batch', 'worker', ...q, '--until-empty', '--jobs', '1', '--cache-dir', path.join(base, `cache-lw${i}`), '-q'])));
    for (const w of workers) expect([w.code, w.stderr]).toEqual([0, '']);
    const rep = await run(['batch', 'report', ...q, '--format', 'json']);
    const report = JSON.parse(rep.stdout);
    expect(rep.stderr).toBe('');
    expect(report.unscanned).toEqual([]);
    expect(report.batch.link).toEqual({ applied: true, note: '4 crates linked in dependency order through 3 dependency edges (their stored export tables)', crates: 4, edges: 3, unlinked: [], stale: [] });
    expect(rows(byName(report, 'plain-user'))).toEqual(PLAIN);
    expect(rows(byName(report, 'renamed-user'))).toEqual(RENAMED);
    expect((byName(report, 'plain-user') as { reaches: { via: string[] }[] }).reaches.map((r) => r.via.join(' → '))).toEqual([
      'util::fetch → std::net::TcpStream::connect',
      'util::fetch_via → util::dial → std::net::TcpStream::connect',
      'util::Client::ping → inner::ping → std::net::UdpSocket::bind',
      'util::ping → inner::ping → std::net::UdpSocket::bind',
    ]);
    // scanned alone (`crate DIR`), plain-user has none of it: only its own unsafe block
    const alone = JSON.parse((await run(['crate', path.join(LINKWS, 'plain-user-0.1.0'), '--format', 'json', '--no-cache'])).stdout);
    expect(rows(byName(alone, 'plain-user'))).toEqual([['unsafe-block', 34, 'unsafe { … }']]);
    // equal to the single-machine reference
    const reference = await scanDirsLinked((await jobsFromDir(LINKWS)).jobs, defaultScanOptions({ cache: false, offline: true, jobs: 1 }));
    expect(report.crates).toEqual(JSON.parse(JSON.stringify(reference.crates)));

    // someone who can write Redis edits util's result: the report does not trust it and says so once
    const client = new Redis(url);
    try {
      const sealed = (await client.hget(resultsKey('linkws'), utilId))!;
      await client.hset(resultsKey('linkws'), utilId, sealed.replace('"lib":"util"', '"lib":"util2"'));
    } finally {
      client.disconnect();
    }
    const bad = await run(['batch', 'report', ...q, '--format', 'json']);
    expect(bad.stderr).toBe(`cap-scan: batch: 1 stored result is not trusted and reported as unscanned (${utilId}: HMAC mismatch (tampered, or written with another key))\n`);
    const badReport = JSON.parse(bad.stdout);
    expect(badReport.crates.map((c: { name: string }) => c.name)).toEqual(['inner', 'plain-user', 'renamed-user']);
    expect(badReport.unscanned).toEqual([{ name: 'util', version: '0.1.0', reason: 'batch result not trusted: HMAC mismatch (tampered, or written with another key)' }]);
    expect(badReport.batch.rejected).toEqual([{ id: utilId, reason: 'HMAC mismatch (tampered, or written with another key)' }]);
    expect(badReport.batch.link.stale.map((s: { id: string; reason: string }) => [s.id.split('#')[0], s.reason])).toEqual([
      ['plain-user@0.1.0', `linked against ${utilId}, whose result is not trusted now`],
      ['renamed-user@0.1.0', `linked against ${utilId}, whose result is not trusted now`],
    ]);
    // a report without the key trusts nothing, and says so once
    const nokey = await run(['batch', 'report', ...q, '--format', 'json'], { CAP_SCAN_CACHE_KEY: '' });
    expect(nokey.stderr).toMatch(/^cap-scan: batch: 4 stored results are not trusted and reported as unscanned \(inner@0\.1\.0#[0-9a-f]{64}: CAP_SCAN_CACHE_KEY is not set, so its signature cannot be verified; …\)\n$/);
    expect(JSON.parse(nokey.stdout).crates).toEqual([]);

    // plain-user is scanned again: the worker finds util's result untrusted, re-queues util, waits for it
    const queue = new Queue('linkws', { connection: parseQueueUrl(url) });
    try {
      await (await Job.fromId(queue, e.added[2]))!.retry('completed');
    } finally {
      await queue.close();
    }
    const w = await run(['batch', 'worker', ...q, '--until-empty', '--jobs', '1', '--cache-dir', path.join(base, 'cache-lw1')]);
    expect(w.code).toBe(0);
    expect(w.stderr.split('\n').filter((l) => l.includes('re-queued'))).toEqual([
      `cap-scan: batch: ${utilId}: its stored result is not trusted: HMAC mismatch (tampered, or written with another key); its job is re-queued`,
    ]);
    expect(w.stdout).toBe('batch worker: 2 crates scanned, 0 failed attempts\n');
    const fixed = await run(['batch', 'report', ...q, '--format', 'json']);
    expect(fixed.stderr).toBe('');
    expect(fixed.stdout).toBe(rep.stdout);
  }, 300_000);

  it('a dependency whose job fails does not hold its dependents: they are scanned without it, and the report says so', async () => {
    const vendor = path.join(base, 'linkws-broken');
    cpSync(LINKWS, vendor, { recursive: true });
    const q = ['--queue', url, '--queue-name', 'linkws-broken'];
    const e = JSON.parse((await run(['batch', 'enqueue', '--dir', vendor, ...q, '--format', 'json'])).stdout);
    const utilId: string = e.added[1];
    // util stops being a crate between enqueue and work: its job fails at once
    writeFileSync(path.join(vendor, 'util-0.1.0', 'Cargo.toml'), '[workspace]\nmembers = []\n');
    const w = await run(['batch', 'worker', ...q, '--until-empty', '--jobs', '1', '-q', '--cache-dir', path.join(base, 'cache-broken')]);
    expect(w.stdout).toBe('batch worker: 3 crates scanned, 1 failed attempt\n');
    const report = JSON.parse((await run(['batch', 'report', ...q, '--format', 'json'])).stdout);
    expect(report.crates.map((c: { name: string }) => c.name)).toEqual(['inner', 'plain-user', 'renamed-user']);
    expect(report.unscanned).toEqual([{ name: 'util', version: '0.1.0', reason: `batch job failed after 1 attempt: ${path.join(vendor, 'util-0.1.0')}: no Cargo.toml with a [package] name on this worker` }]);
    expect(report.batch.link.unlinked.map((u: { id: string; dep: string; reason: string }) => [u.id.split('#')[0], u.dep, u.reason])).toEqual([
      ['plain-user@0.1.0', utilId, 'its batch job failed'],
      ['renamed-user@0.1.0', utilId, 'its batch job failed'],
    ]);
    expect(report.batch.link.stale).toEqual([]);
    // as `crate DIR` alone: only plain-user's own unsafe block
    expect(rows(byName(report, 'plain-user'))).toEqual([['unsafe-block', 34, 'unsafe { … }']]);
  }, 120_000);

  it('registry jobs: downloaded and verified; a checksum mismatch fails at once, a failing download is retried, and both are reported with their reasons', async () => {
    const server = await RegistryServer.start();
    try {
      const fixture = path.join(ROOT, 'fixtures', 'crates', 'cap-net');
      const good = await buildCrate(fixture, 'cap-net', '0.1.0');
      server.publish({ name: 'cap-net', version: '0.1.0', tarball: good });
      // an archive whose Cargo.toml says it is cap-net 0.1.0
      server.publish({ name: 'renamed', version: '0.1.0', tarball: await buildCrate(fixture, 'renamed', '0.1.0') });
      server.publish({ name: 'tampered', version: '1.0.0', tarball: await buildCrate(fixture, 'tampered', '1.0.0'), cksum: 'ee'.repeat(32) });
      server.publish({ name: 'flaky', version: '1.0.0', tarball: await buildCrate(fixture, 'flaky', '1.0.0') });
      server.inject(/\/dl\/flaky\//, { status: 503 });
      const q = ['--queue', url, '--queue-name', 'registry'];
      const e = await run(['batch', 'enqueue', '--index', server.indexUrl, 'cap-net', 'renamed', 'tampered', 'flaky', 'absent', '--attempts', '2', ...q]);
      expect(e.stdout).toBe(`queue registry at ${url}: 4 jobs added, 0 already queued, 1 skipped\n  skipped absent: not in the index ${server.indexUrl} (or every version is yanked)\n`);
      const w = await run(['batch', 'worker', ...q, '--until-empty', '--jobs', '1', '--cache-dir', path.join(base, 'cache-reg')], { CARGO_NET_RETRY: '0' });
      expect(w.code).toBe(0);
      expect(w.stdout).toBe('batch worker: 1 crate scanned, 4 failed attempts\n');
      expect(w.stderr).toContain('cap-scan: batch: flaky@1.0.0#');
      expect(w.stderr).toContain('failed (attempt 1/2, will retry): download failed:');
      // results in Redis (no --results)
      const rep = JSON.parse((await run(['batch', 'report', ...q, '--format', 'json'])).stdout);
      expect(rep.crates.map((c: { name: string; source: string; checksum: string; capabilities: string[] }) => [c.name, c.source, c.checksum, c.capabilities])).toEqual([
        ['cap-net', `sparse+${server.indexUrl}`, sha256(good), ['net']],
      ]);
      expect(rep.batch.failed.map((f: { id: string; attempts: number }) => [f.id.split('#')[0], f.attempts])).toEqual([
        ['flaky@1.0.0', 2],
        ['renamed@0.1.0', 1],
        ['tampered@1.0.0', 1],
      ]);
      expect(rep.unscanned.map((u: { name: string; reason: string }) => [u.name, u.reason.replace(/: .*$/s, ': …')])).toEqual([
        ['flaky', 'batch job failed after 2 attempts: …'],
        ['renamed', 'batch job failed after 1 attempt: …'],
        ['tampered', 'batch job failed after 1 attempt: …'],
      ]);
      expect(rep.unscanned[0].reason).toMatch(/^batch job failed after 2 attempts: download failed: .*503/);
      expect(rep.unscanned[1].reason).toBe("batch job failed after 1 attempt: the downloaded archive's Cargo.toml is cap-net 0.1.0, not renamed 0.1.0");
      expect(rep.unscanned[2].reason).toMatch(/^batch job failed after 1 attempt: .*checksum/i);
      const human = (await run(['batch', 'report', ...q])).stdout;
      expect(human).toContain('batch registry: 1 crates stored, 3 failed, 0 not finished, 0 not trusted; link step applied: 1 crate linked in dependency order through 0 dependency edges (their stored export tables)\n');
    } finally {
      await server.close();
    }
  }, 180_000);

  it('a worker whose redis goes away stops with one line and exit 2 within a bounded time', async () => {
    const port = await freePort();
    mkdirSync(path.join(base, 'redis-lost'));
    const lost = spawn(REDIS!, ['--port', String(port), '--bind', '127.0.0.1', '--dir', path.join(base, 'redis-lost'), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));
      const worker = run(['batch', 'worker', '--queue', `redis://127.0.0.1:${port}`, '-q']);
      // wait until the worker's own connections are open (startup is slow on a loaded machine)
      for (let i = 0; i < 300; i++) {
        const clients = spawnSync('redis-cli', ['-p', String(port), 'client', 'list'], { encoding: 'utf8' }).stdout ?? '';
        if (clients.split('\n').filter((l) => l.includes('addr=') && !l.includes('cmd=client')).length >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const t0 = Date.now();
      lost.kill('SIGKILL');
      const w = await worker;
      expect(w.stderr).toBe(`cap-scan: error: lost the redis connection to redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
      expect(w.code).toBe(2);
      expect(Date.now() - t0).toBeLessThan(40_000);
    } finally {
      lost.kill('SIGKILL');
    }
  }, 90_000);

  it('a directory that is not a crate fails at once with the reason', async () => {
    const dir = path.join(base, 'notcrates');
    mkdirSync(path.join(dir, 'ws'), { recursive: true });
    writeFileSync(path.join(dir, 'ws', 'Cargo.toml'), '[package]\nname = "ws"\nversion = "0.1.0"\n');
    const q = ['--queue', url, '--queue-name', 'notcrate'];
    expect((await run(['batch', 'enqueue', '--dir', dir, ...q])).code).toBe(0);
    // the directory changes between enqueue and work: now a workspace root, not a crate
    writeFileSync(path.join(dir, 'ws', 'Cargo.toml'), '[workspace]\nmembers = []\n');
    const w = await run(['batch', 'worker', ...q, '--until-empty', '--jobs', '1', '-q', '--cache-dir', path.join(base, 'cache-nc')]);
    expect(w.stdout).toBe('batch worker: 0 crates scanned, 1 failed attempt\n');
    const rep = JSON.parse((await run(['batch', 'report', ...q, '--format', 'json'])).stdout);
    expect(rep.crates).toEqual([]);
    expect(rep.unscanned).toEqual([{ name: 'ws', version: '0.1.0', reason: `batch job failed after 1 attempt: ${path.join(dir, 'ws')}: no Cargo.toml with a [package] name on this worker` }]);
  }, 120_000);
});
