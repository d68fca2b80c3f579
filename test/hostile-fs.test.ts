// Hostile file-system input, through the built CLI: special files (FIFOs, /dev symlinks) are refused with
// an `unanalyzed` entry or a one-line error, never read (a FIFO would block forever); lock file names that
// are paths are refused; workspace globs do not follow symlinks out; huge and deeply nested TOML files are
// refused with one line. Every input is generated here, in a temporary directory; every run has a kill
// timeout so a hang fails the test instead of stalling the suite.
import { describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'cap-scan.js');
const KILL_MS = 20_000;
const T = 40_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: KILL_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
        done({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr, killed: !!e?.killed });
      },
    );
  });
}

function tmp(prefix: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), `cap-scan-${prefix}-`)));
}

function isolated(): Record<string, string> {
  const home = tmp('home');
  return { HOME: home, CARGO_HOME: join(home, '.cargo'), XDG_CACHE_HOME: join(home, '.cache') };
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

function crate(dir: string, name: string, lib = 'pub fn f() {}\n'): string {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n`);
  if (lib !== '') writeFileSync(join(dir, 'src', 'lib.rs'), lib);
  return dir;
}

/** `cap-scan crate <dir> --format json`: the one crate's capabilities and unanalyzed entries. */
async function scanDir(dir: string, extra: string[] = []): Promise<{ run: Run; capabilities?: string[]; unanalyzed?: unknown[] }> {
  const r = await run(['crate', dir, '--format', 'json', ...extra], isolated());
  if (r.code !== 0) return { run: r };
  const c = (JSON.parse(r.stdout) as { crates: { capabilities: string[]; unanalyzed: unknown[] }[] }).crates[0]!;
  return { run: r, capabilities: c.capabilities, unanalyzed: c.unanalyzed };
}

const LOCK_HEAD = 'version = 3\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n';

describe('special files inside a crate are listed as not analysed, never read', () => {
  it('a FIFO src/lib.rs', async () => {
    const dir = crate(tmp('fifo-lib'), 'fifolib', '');
    mkfifo(join(dir, 'src', 'lib.rs'));
    const r = await scanDir(dir);
    expect(r.run.stderr).toBe('');
    expect(r.unanalyzed).toEqual([{ file: 'src/lib.rs', line: 1, reason: 'not-a-regular-file (fifo)' }]);
  }, T);

  it('a src/lib.rs symlinked to /dev/zero', async () => {
    const dir = crate(tmp('zero-lib'), 'zerolib', '');
    symlinkSync('/dev/zero', join(dir, 'src', 'lib.rs'));
    const r = await scanDir(dir);
    expect(r.run.stderr).toBe('');
    expect(r.unanalyzed).toEqual([{ file: 'src/lib.rs', line: 1, reason: 'not-a-regular-file (char-device)' }]);
  }, T);

  it('a module file that is a FIFO: the module tree reaches it, the entry names it', async () => {
    const dir = crate(tmp('fifo-mod'), 'fifomod', 'mod a;\npub fn f() { std::env::var("X"); }\n');
    mkfifo(join(dir, 'src', 'a.rs'));
    const r = await scanDir(dir);
    expect(r.capabilities).toEqual(['env']);
    expect(r.unanalyzed).toEqual([{ file: 'src/lib.rs', line: 1, reason: 'not-a-regular-file (fifo): a' }]);
  }, T);

  it('include_bytes! of a FIFO: the scan finishes, findings kept, the target listed', async () => {
    const dir = crate(tmp('fifo-incb'), 'incb', 'pub static X: &[u8] = include_bytes!("../blob");\npub fn f() { std::fs::read("x"); }\n');
    mkfifo(join(dir, 'blob'));
    const r = await scanDir(dir);
    expect(r.run.killed).toBe(false);
    expect(r.capabilities).toEqual(['fs']);
    expect(r.unanalyzed).toEqual([{ file: 'src/lib.rs', line: 1, reason: 'include_bytes not analysed: ../blob (not-a-regular-file (fifo))' }]);
  }, T);
});

describe("the user's own files: one line, exit 2", () => {
  it('a Cargo.toml that is a FIFO', async () => {
    const dir = crate(tmp('fifo-toml'), 'x');
    execFileSync('rm', [join(dir, 'Cargo.toml')]);
    mkfifo(join(dir, 'Cargo.toml'));
    const r = await run(['crate', dir, '--format', 'json'], isolated());
    expect(r.killed).toBe(false);
    expect([r.code, r.stderr]).toEqual([2, `cap-scan: error: ${dir}/Cargo.toml: refused: not a regular file (fifo)\n`]);
  }, T);

  it('a Cargo.lock that is a FIFO', async () => {
    const dir = crate(tmp('fifo-lock'), 'app');
    mkfifo(join(dir, 'Cargo.lock'));
    const r = await run(['--manifest-path', dir, '--offline', '--format', 'json'], isolated());
    expect(r.killed).toBe(false);
    expect([r.code, r.stderr]).toEqual([2, `cap-scan: error: ${dir}/Cargo.lock: refused: not a regular file (fifo)\n`]);
  }, T);

  it('a .cargo/config.toml that is a FIFO', async () => {
    const dir = crate(tmp('fifo-config'), 'app');
    writeFileSync(join(dir, 'Cargo.lock'), LOCK_HEAD);
    mkdirSync(join(dir, '.cargo'));
    mkfifo(join(dir, '.cargo', 'config.toml'));
    const r = await run(['--manifest-path', dir, '--offline', '--format', 'json'], isolated());
    expect(r.killed).toBe(false);
    expect([r.code, r.stderr]).toEqual([2, `cap-scan: error: ${dir}/.cargo/config.toml: refused: not a regular file (fifo)\n`]);
  }, T);

  it('a Cargo.lock over 32 MiB is refused before parsing (one long comment)', async () => {
    const dir = crate(tmp('big-lock'), 'app');
    const size = 32 * 1024 * 1024 + 1;
    const body = `${LOCK_HEAD}#`;
    writeFileSync(join(dir, 'Cargo.lock'), body + 'x'.repeat(size - body.length - 1) + '\n');
    const r = await run(['--manifest-path', dir, '--offline', '--format', 'json'], isolated());
    expect([r.code, r.stderr]).toEqual([2, `cap-scan: error: ${dir}/Cargo.lock: refused: ${size} bytes, over the 32 MiB limit\n`]);
  }, T);

  it('a Cargo.toml over 32 MiB is refused', async () => {
    const dir = crate(tmp('big-toml'), 'x');
    const head = '[package]\nname = "x"\nversion = "0.1.0"\n#';
    const size = 32 * 1024 * 1024 + 10;
    writeFileSync(join(dir, 'Cargo.toml'), head + 'x'.repeat(size - head.length - 1) + '\n');
    const r = await run(['crate', dir, '--format', 'json'], isolated());
    expect([r.code, r.stderr]).toEqual([2, `cap-scan: error: ${dir}/Cargo.toml: refused: ${size} bytes, over the 32 MiB limit\n`]);
  }, T);
});

describe('deeply nested TOML: file:line, exit 2, cache or no cache', () => {
  const deep = (n: number) => `[package]\nname = "deep"\nversion = "0.1.0"\n[package.metadata]\na = ${'['.repeat(n)}${']'.repeat(n)}\n`;

  it.each([[[] as string[]], [['--no-cache']]])('a 100k-deep array in the crate Cargo.toml (%j)', async (extra) => {
    const dir = crate(tmp('deep-toml'), 'deep');
    writeFileSync(join(dir, 'Cargo.toml'), deep(100_000));
    const r = await run(['crate', dir, '--format', 'json', ...extra], isolated());
    expect([r.code, r.stderr]).toEqual([2, `cap-scan: error: ${dir}/Cargo.toml:5: invalid TOML: nested deeper than 100 levels\n`]);
  }, T);

  it("a path dependency's deep Cargo.toml makes that package unscanned, with the line", async () => {
    const ws = tmp('deep-dep');
    crate(ws, 'app');
    writeFileSync(join(ws, 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\ndeep = { path = "deep" }\n');
    crate(join(ws, 'deep'), 'deep');
    writeFileSync(join(ws, 'deep', 'Cargo.toml'), deep(100_000));
    writeFileSync(join(ws, 'Cargo.lock'), `${LOCK_HEAD}dependencies = ["deep"]\n\n[[package]]\nname = "deep"\nversion = "0.1.0"\n`);
    const r = await run(['--manifest-path', ws, '--offline', '--format', 'json'], isolated());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { unscanned: { name: string; reason: string }[] };
    expect(out.unscanned.map((u) => [u.name, u.reason])).toEqual([['deep', `${ws}/deep/Cargo.toml:5: invalid TOML: nested deeper than 100 levels`]]);
  }, T);
});

describe('names are names', () => {
  it('a Cargo.lock package name with ../ is refused at its line; the crate outside the vendor dir is never read', async () => {
    const ws = tmp('dotdot');
    crate(ws, 'app');
    writeFileSync(join(ws, 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nwhich = "1"\n');
    mkdirSync(join(ws, 'vendor'));
    mkdirSync(join(ws, '.cargo'));
    writeFileSync(
      join(ws, '.cargo', 'config.toml'),
      '[source.crates-io]\nreplace-with = "vendored"\n\n[source.vendored]\ndirectory = "vendor"\n',
    );
    // the crate the name points at, outside the vendor directory, declaring that very name
    const evilName = `../../../../${ws.slice(1)}/outside/which`;
    const outside = join(ws, 'outside', 'which-1.0.0');
    mkdirSync(join(outside, 'src'), { recursive: true });
    writeFileSync(join(outside, 'Cargo.toml'), `[package]\nname = ${JSON.stringify(evilName)}\nversion = "1.0.0"\n`);
    writeFileSync(join(outside, 'src', 'lib.rs'), 'pub fn f() { std::process::Command::new("x"); }\n');
    writeFileSync(
      join(ws, 'Cargo.lock'),
      `${LOCK_HEAD}dependencies = [${JSON.stringify(evilName)}]\n\n[[package]]\nname = ${JSON.stringify(evilName)}\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n`,
    );
    const r = await run(['--manifest-path', ws, '--offline', '--format', 'json'], isolated());
    expect([r.code, r.stderr]).toEqual([2, `cap-scan: error: ${ws}/Cargo.lock:9: invalid package name ${JSON.stringify(evilName)}\n`]);
  }, T);

  it('a workspace glob does not follow a symlink to /', async () => {
    const ws = tmp('glob-root');
    writeFileSync(join(ws, 'Cargo.toml'), '[workspace]\nmembers = ["crates/**"]\n');
    crate(join(ws, 'crates', 'a'), 'a');
    // a path dependency outside the workspace root (so not a member) is what the report lists
    const lib = crate(tmp('glob-lib'), 'b', 'pub fn f() { std::env::var("X"); }\n');
    writeFileSync(join(ws, 'crates', 'a', 'Cargo.toml'), `[package]\nname = "a"\nversion = "0.1.0"\n\n[dependencies]\nb = { path = ${JSON.stringify(lib)} }\n`);
    symlinkSync('/', join(ws, 'crates', 'root'));
    writeFileSync(join(ws, 'Cargo.lock'), 'version = 3\n\n[[package]]\nname = "a"\nversion = "0.1.0"\ndependencies = ["b"]\n\n[[package]]\nname = "b"\nversion = "0.1.0"\n');
    const r = await run(['--manifest-path', ws, '--offline', '--format', 'json'], isolated());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // the member's path dependency is the one crate reported: nothing found under / joined the workspace
    const out = JSON.parse(r.stdout) as { crates: { name: string; capabilities: string[] }[]; unscanned: unknown[] };
    expect(out.crates.map((c) => [c.name, c.capabilities])).toEqual([['b', ['env']]]);
    expect(out.unscanned).toEqual([]);
  }, T);
});
