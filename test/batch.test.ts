// `cap-scan batch`: registry-wide scans on a BullMQ queue. The queue tests start Debian's redis-server on
// 127.0.0.1 on a free port with a temporary directory (skipped with a message when it is absent); the
// option and store tests need nothing.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId, jobsFromLockfile } from '../src/batch/jobs.js';
import { parseQueueUrl, redact } from '../src/batch/redis.js';
import { dirStore, resultFileName, type StoredResult } from '../src/batch/store.js';
import { RegistryServer, buildCrate, sha256 } from './helpers/registry-server.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'cap-scan.js');
const CORPUS = '/usr/share/cargo/registry';
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? null;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
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
      ].join('\n'),
    );
    const r = await jobsFromLockfile(path.join(dir, 'Cargo.lock'));
    expect(r.jobs).toEqual([{ name: 'serde', version: '1.0.1', checksum: sum, source: 'registry+https://github.com/rust-lang/crates.io-index', dir: null }]);
    expect(r.skipped).toEqual([
      { what: 'app 0.1.0', reason: 'path package (workspace member): scan it with cap-scan --manifest-path' },
      { what: 'gitdep 0.2.0', reason: 'not a registry package (git+https://example.com/g.git)' },
      { what: 'nosum 1.0.0', reason: 'no sha256 checksum in Cargo.lock: nothing to verify a download against' },
    ]);
  });

  it('the directory store writes whole files and reads them back sorted', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cap-scan-batch-store-')), 'results');
    const store = dirStore(dir);
    const entry = (id: string): StoredResult => ({ entry: 1, id, job: { name: id.split('@')[0]!, version: '1.0.0', checksum: null, source: null, dir: '/x' }, crates: [], unscanned: [], exportTable: null });
    await store.put(entry('b@1.0.0'));
    await store.put(entry('a@1.0.0'));
    await store.put(entry('a@1.0.0'));
    expect(readdirSync(dir).sort()).toEqual(['a@1.0.0.json', 'b@1.0.0.json']);
    expect((await store.all()).map((e) => e.id)).toEqual(['a@1.0.0', 'b@1.0.0']);
    writeFileSync(path.join(dir, 'c@1.0.0.json'), '{"entry":1}');
    await expect(store.all()).rejects.toThrow(`${path.join(dir, 'c@1.0.0.json')}: not a cap-scan batch result entry`);
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
  const corpusOk = existsSync(CORPUS) && SAMPLE.every((d) => existsSync(path.join(CORPUS, d)));
  if (!corpusOk) console.warn(`batch corpus test skipped: ${CORPUS} lacks the 20-crate sample`);

  it.skipIf(!corpusOk)(
    'two workers over 20 corpus crates: the report equals `crate DIR --format json` crate by crate',
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
      const report = JSON.parse(rep.stdout);
      expect(report.unscanned).toEqual([]);
      expect(report.batch).toEqual({
        queue: 'sample',
        counts: { waiting: 0, active: 0, delayed: 0, prioritized: 0, 'waiting-children': 0, completed: 20, failed: 0 },
        failed: [],
        pending: [],
        link: { applied: false, note: 'cross-crate linking over stored export tables is not applied yet (issue 14): each crate is reported as `cap-scan crate DIR` scans it alone' },
      });
      const names = report.crates.map((c: { name: string; version: string }) => `${c.name}-${c.version}`);
      expect(names).toEqual([...SAMPLE].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      // deterministic: a second report is byte-identical
      expect((await run(['batch', 'report', ...q, '--results', results, '--format', 'json'])).stdout).toBe(rep.stdout);

      // the single-machine scan of each crate, without any cache
      for (let i = 0; i < SAMPLE.length; i += 2) {
        const single = await Promise.all(SAMPLE.slice(i, i + 2).map((d) => run(['crate', path.join(dir, d), '--format', 'json', '--no-cache', '--jobs', '1'])));
        for (const [k, s] of single.entries()) {
          const d = SAMPLE[i + k]!;
          expect(s.code, d).toBe(0);
          const alone = JSON.parse(s.stdout);
          expect(alone.crates).toHaveLength(1);
          const batched = report.crates.find((c: { name: string; version: string }) => `${c.name}-${c.version}` === d);
          expect(batched, d).toEqual(alone.crates[0]);
        }
      }
    },
    600_000,
  );

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
      expect(human).toContain('batch registry: 1 crates stored, 3 failed, 0 not finished; link step not applied:');
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
