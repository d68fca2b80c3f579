// Issue 16 frictions around the cache, the typosquat indicator and -q, each as the user meets it:
// - an unwritable cache dir made every run cold without a word: now one warning (not with -q);
// - the typosquat line said `Cargo.toml:1` and named Debian's spelling `env-logger`: now the line of the
//   crate's `name` key and crates.io's spelling `env_logger` (exact output in cli.test.ts, gate.test.ts);
// - -q silenced the scan's progress line but not the download bar.
// Also the remote cache through the CLI (flags, warnings, -q), against nginx when installed.

import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameLine } from '../src/indicators/typosquat.js';
import { nginxBinary, startNginx, type Nginx } from './helpers/nginx.js';
import { RegistryServer, buildCrate, sha256 } from './helpers/registry-server.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'cap-scan.js');
const DEMO = path.join(ROOT, 'fixtures', 'demo', 'Cargo.toml');
const KEY = 'cli-test-key-0123456789abcdef';

let work: string;
beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npx tsc -p tsconfig.json` first');
  work = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-cfr-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(path.join(work, 'home-'));
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), CARGO_HOME: path.join(home, '.cargo'), NO_COLOR: '1', ...extra };
}

function run(args: string[], e: Record<string, string> = env()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: e, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code ?? -1) : 0;
      done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

/** The CLI with stderr on a pseudo-terminal (util-linux `script`); the report goes to -o. */
function inPty(args: string[], e: Record<string, string>): Promise<string> {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((done, fail) => {
    execFile('script', ['-qec', cmd, '/dev/null'], { env: e }, (err, stdout) => (err ? fail(err) : done(stdout)));
  });
}

describe('an unwritable cache directory', () => {
  it('is said once on stderr, the scan goes on; -q silences it', async () => {
    const file = path.join(work, 'not-a-dir');
    writeFileSync(file, 'x');
    const plain = await run(['--manifest-path', DEMO, '--offline', '--no-cache']);
    const r = await run(['--manifest-path', DEMO, '--offline', '--cache-dir', file]);
    expect(r.code).toBe(plain.code);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr).toBe(
      `cap-scan: warning: cannot write the result cache in ${file}/results (ENOTDIR): results are not kept, so every run scans from scratch (--cache-dir picks another directory)\n`,
    );
    expect(await run(['--manifest-path', DEMO, '--offline', '--cache-dir', file, '-q'])).toEqual({ ...plain, stderr: '' });
  });
});

describe('typosquat indicator line', () => {
  it("is the line of the crate's name key; 1 when there is none or the manifest cannot be read", () => {
    const d = mkdtempSync(path.join(work, 'typo-'));
    expect(nameLine(path.join(ROOT, 'fixtures/demo/vendor/envlogger'))).toBe(3);
    writeFileSync(path.join(d, 'Cargo.toml'), '# comment\n\n[package]\nversion = "1.0.0"\n\n  name   =   "x"\n');
    expect(nameLine(d)).toBe(6);
    writeFileSync(path.join(d, 'Cargo.toml'), '[package]\nversion = "1.0.0"\n');
    expect(nameLine(d)).toBe(1);
    writeFileSync(path.join(d, 'Cargo.toml'), 'package = { name = "x" }\n');
    expect(nameLine(d)).toBe(1);
    expect(nameLine(path.join(d, 'missing'))).toBe(1);
    expect(nameLine(null)).toBe(1);
  });
});

describe('-q silences the download bar', () => {
  let server: RegistryServer;
  let ws: string;
  beforeAll(async () => {
    server = await RegistryServer.start();
    const crates = path.join(ROOT, 'fixtures/registry/crates');
    const sums = new Map<string, string>();
    for (const nv of readdirSync(crates).sort()) {
      const [, name, version] = /^(.+)-(\d+\.\d+\.\d+)$/.exec(nv)!;
      const tarball = await buildCrate(path.join(crates, nv), name!, version!);
      sums.set(nv, sha256(tarball));
      server.publish({ name: name!, version: version!, tarball, deps: name === 'alpha' ? [{ name: 'beta', req: '^1' }, { name: 'gamma', req: '^0.1' }] : [] });
    }
    ws = mkdtempSync(path.join(work, 'ws-'));
    cpSync(path.join(ROOT, 'fixtures/registry/workspace'), ws, { recursive: true });
    const template = readFileSync(path.join(ws, 'Cargo.lock.template'), 'utf8');
    rmSync(path.join(ws, 'Cargo.lock.template'));
    writeFileSync(path.join(ws, 'Cargo.lock'), template.replace(/^# Template:.*\n(#.*\n)*/m, '').replace(/\{\{sha256 ([^}]+)\}\}/g, (_, nv: string) => sums.get(nv)!));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('on a TTY the bar is drawn; with -q nothing at all is printed', async () => {
    const out = path.join(work, 'report.txt');
    const args = ['--manifest-path', path.join(ws, 'Cargo.toml'), '-o', out];
    const shown = await inPty(args, env({ CAP_SCAN_REGISTRY: server.indexUrl }));
    expect(shown).toMatch(/\rDownloading \[[#-]{24}\] \d\/\d crates/);
    expect(readFileSync(out, 'utf8')).toContain('gamma 0.1.0');
    rmSync(out);
    expect(await inPty([...args, '-q'], env({ CAP_SCAN_REGISTRY: server.indexUrl }))).toBe('');
    expect(readFileSync(out, 'utf8')).toContain('gamma 0.1.0');
  }, 60_000);
});

const NGINX = nginxBinary();
if (!NGINX) console.warn('cache-frictions.test: nginx not installed (apt-get install nginx-core): the CLI remote cache test is skipped');

describe('the remote cache through the CLI', () => {
  it('a bad URL or a short key is a one-line error, exit 2, before any scan', async () => {
    expect(await run(['--manifest-path', DEMO, '--offline', '--remote-cache', 'cache.example.com'], env({ CAP_SCAN_CACHE_KEY: KEY }))).toEqual({
      code: 2,
      stdout: '',
      stderr: 'cap-scan: error: --remote-cache: not a URL: "cache.example.com" (expected http://host/path or https://host/path)\n',
    });
    expect(await run(['--manifest-path', DEMO, '--offline'], env({ CAP_SCAN_REMOTE_CACHE: 'http://127.0.0.1:9/c', CAP_SCAN_CACHE_KEY: 'short' }))).toEqual({
      code: 2,
      stdout: '',
      stderr: 'cap-scan: error: CAP_SCAN_CACHE_KEY must be at least 16 characters (for example: openssl rand -hex 32)\n',
    });
  });

  describe.skipIf(!NGINX)('against nginx', () => {
    let ngx: Nginx;
    beforeAll(async () => {
      const prefix = path.join(work, 'nginx');
      mkdirSync(prefix);
      ngx = await startNginx(prefix);
    });
    afterAll(async () => {
      await ngx?.stop();
    });

    it('runner 1 uploads, runner 2 (empty cache) prints the same JSON; without a key it says so, -q silences it', async () => {
      const args = ['--manifest-path', DEMO, '--offline', '--format', 'json', '--remote-cache', ngx.url];
      const a = await run(args, env({ CAP_SCAN_CACHE_KEY: KEY }));
      expect(a.stderr).toBe('');
      const uploaded = readdirSync(ngx.root).length;
      expect(uploaded).toBeGreaterThan(5);
      const b = await run(args, env({ CAP_SCAN_CACHE_KEY: KEY }));
      expect(b).toEqual(a);
      expect(ngx.requests().filter((l) => l.startsWith('GET ') && l.endsWith(' 200'))).toHaveLength(uploaded);
      const nokey = await run(args, env());
      expect(nokey.stdout).toBe(a.stdout);
      expect(nokey.stderr).toBe(
        `cap-scan: warning: remote cache ${ngx.url} not used: CAP_SCAN_CACHE_KEY is not set, so its entries could not be verified (nothing is downloaded or uploaded)\n`,
      );
      expect(await run([...args, '-q'], env())).toEqual({ ...a, stderr: '' });
    }, 60_000);
  });
});
