// The CLI as a user runs it: the built bin, real fixtures, exact output, exit codes and error lines.
import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'cap-scan.js');
const CARGO_BIN = join(ROOT, 'bin', 'cargo-cap-scan.js');
const DEMO = join(ROOT, 'fixtures', 'demo', 'Cargo.toml');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { bin?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [opts.bin ?? BIN, ...args],
      { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...opts.env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        done({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

const isolated = () => {
  const home = mkdtempSync(join(tmpdir(), 'cap-scan-cli-'));
  return { HOME: home, CARGO_HOME: join(home, '.cargo'), XDG_CACHE_HOME: join(home, '.cache') };
};

describe('cap-scan on the demo workspace', () => {
  it('prints one row per crate with capabilities per phase, and a summary', async () => {
    const r = await run(['--manifest-path', DEMO, '--offline'], { env: isolated() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'Capabilities, most dangerous first:',
        'process (runtime, 1 crate)',
        '  shellout',
        'process (build, 1 crate)',
        '  envlogger',
        'net (runtime, 1 crate)',
        '  demo-fetch',
        'ffi (runtime, 2 crates)',
        '  ffi-shim, zlink-sys',
        'ffi (build, 1 crate)',
        '  zlink-sys',
        'link (runtime, 1 crate)',
        '  ffi-shim',
        'fs (runtime, 1 crate)',
        '  filekeep',
        'fs (build, 1 crate)',
        '  cfg-probe',
        'env (runtime, 2 crates)',
        '  demo-fetch, envlogger',
        'env (build, 3 crates)',
        '  cfg-probe, envlogger, zlink-sys',
        'build-script (build, 2 crates)',
        '  envlogger, zlink-sys',
        'proc-macro (build, 1 crate)',
        '  derive-hello',
        'unsafe (runtime, 2 crates)',
        '  ffi-shim, zlink-sys',
        '',
        'cfg-probe 0.1.0     runtime: -            build: env, fs',
        '  via zlink-sys → cfg-probe (build)',
        'demo-fetch 0.2.0    runtime: env, net     build: -',
        '  direct dependency of app',
        'derive-hello 0.1.0  runtime: -            build: proc-macro',
        '  direct dependency of app (build)',
        'envlogger 0.3.0     runtime: env          build: build-script, env, process',
        '  direct dependency of app',
        '  ! typosquat  Cargo.toml:3  name is close to the popular crate "env_logger" (separator), which is not in the lockfile',
        '  ! obfuscation  build.rs:10  3 joined base64 fragments decode to url: "http://203.0.113.7:9089/stage2?k="',
        '  ! secrets  build.rs:14  CI detection: env::var("GITHUB_ACTIONS")',
        '  ! secrets  build.rs:14  CI detection: env::var("GITLAB_CI")',
        '  ! secrets  build.rs:24  token-like env var: env::var("CARGO_REGISTRY_TOKEN")',
        'ffi-shim 0.5.0      runtime: ffi, link, unsafe',
        '                    build: -',
        '  direct dependency of app',
        'filekeep 1.0.2      runtime: fs           build: -',
        '  direct dependency of app-utils',
        'shellout 0.4.0      runtime: process      build: -',
        '  direct dependency of app',
        'tiny-json 0.2.4     runtime: -            build: -',
        '  via demo-fetch → tiny-json@0.2.4',
        'tiny-json 0.3.1     runtime: -            build: -',
        '  direct dependency of app-utils',
        'zlink-sys 0.1.3     runtime: ffi, unsafe  build: build-script, env, ffi',
        '  direct dependency of app-utils',
        '',
        '10 crates, 8 with capabilities, 0 unscanned, 1 with indicators',
        '',
      ].join('\n'),
    );
  });

  it('check without an allowlist: every crate with a capability is new; indicators are listed without failing', async () => {
    const r = await run(['check', '--manifest-path', DEMO, '--offline'], { env: isolated() });
    expect(r.code).toBe(1);
    const tail = r.stdout.slice(r.stdout.indexOf('Supply-chain indicators'));
    expect(tail).toBe(
      [
        'Supply-chain indicators (not failing the check; --deny-indicators makes them fail):',
        'envlogger 0.3.0',
        '  ! typosquat  Cargo.toml:3  name is close to the popular crate "env_logger" (separator), which is not in the lockfile',
        '  ! obfuscation  build.rs:10  3 joined base64 fragments decode to url: "http://203.0.113.7:9089/stage2?k="',
        '  ! secrets  build.rs:14  CI detection: env::var("GITHUB_ACTIONS")',
        '  ! secrets  build.rs:14  CI detection: env::var("GITLAB_CI")',
        '  ! secrets  build.rs:24  token-like env var: env::var("CARGO_REGISTRY_TOKEN")',
        '',
        "No allowlist yet: `cap-scan allow --write` records today's capabilities in Cargo.toml; review, commit, and check then lists only changes.",
        '',
        'FAILED: 10 crates checked, 8 not allowed (8 new), 0 unused entries, 1 crate with indicators',
        '',
      ].join('\n'),
    );
    // denied, they are violations of the crate and not listed again
    const denied = await run(['check', '--manifest-path', DEMO, '--offline', '--deny-indicators'], { env: isolated() });
    expect(denied.code).toBe(1);
    expect(denied.stdout).not.toContain('Supply-chain indicators (not failing');
    expect(denied.stdout).toContain('envlogger 0.3.0  new: no allow entry');
    expect(denied.stdout).toContain('  ! obfuscation  build.rs:10  3 joined base64 fragments decode to url: "http://203.0.113.7:9089/stage2?k="');
  });

  it('-v shows evidence: kind, file:line:column, resolved path and rule', async () => {
    const r = await run(['--manifest-path', DEMO, '-v', '--offline'], { env: isolated() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  net.connect  src/lib.rs:17:22  std::net::TcpStream::connect  [rule std-net-connect]');
    expect(r.stdout).toContain('  ffi.link  build.rs:13:18  cargo:rustc-link-lib  [rule build-link-lib]');
    expect(r.stdout).toContain('  link.no_mangle  src/lib.rs:10:1  #[no_mangle]  [rule no-mangle]');
  });

  it('JSON is byte-identical across runs and follows the contract', async () => {
    const env = isolated();
    const a = await run(['--manifest-path', DEMO, '--format', 'json', '--offline'], { env });
    const b = await run(['--manifest-path', DEMO, '--format', 'json', '--offline', '--no-cache'], { env });
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const doc = JSON.parse(a.stdout);
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'tool', 'crates', 'unscanned', 'members']);
    expect(doc.schemaVersion).toBe(1);
    // provenance: the shortest path from a member per phase, and what each member's tree brings
    const pathsOf = (name: string) => doc.crates.filter((c: { name: string }) => c.name === name).map((c: { dependencyPaths: unknown }) => c.dependencyPaths);
    expect(pathsOf('tiny-json')).toEqual([[{ phase: 'runtime', path: ['app', 'demo-fetch', 'tiny-json@0.2.4'] }], [{ phase: 'runtime', path: ['app-utils', 'tiny-json@0.3.1'] }]]);
    expect(pathsOf('cfg-probe')).toEqual([[{ phase: 'build', path: ['app-utils', 'zlink-sys', 'cfg-probe'] }]]);
    expect(doc.members.map((m: { name: string }) => m.name)).toEqual(['app', 'app-utils']);
    expect(doc.members[0].brings.runtime.find((b: { capability: string }) => b.capability === 'fs')).toEqual({ capability: 'fs', via: ['app-utils'], crates: ['filekeep'] });
    const fetch = doc.crates.find((c: { name: string }) => c.name === 'demo-fetch');
    expect(fetch.phases).toEqual({ runtime: ['env', 'net'], build: [] });
    expect(fetch.findings).toContainEqual({
      capability: 'net',
      kind: 'net.connect',
      phase: 'runtime',
      rule: 'std-net-connect',
      file: 'src/lib.rs',
      line: 17,
      column: 22,
      evidence: 'std::net::TcpStream::connect',
    });
    // dev-only packages are left out unless --include-dev
    expect(doc.crates.map((c: { name: string }) => c.name)).not.toContain('testkit-lite');
    const dev = await run(['--manifest-path', DEMO, '--format', 'json', '--offline', '--include-dev'], { env });
    expect(JSON.parse(dev.stdout).crates.map((c: { name: string }) => c.name)).toContain('testkit-lite');
  });

  it('--output writes the report to a file and nothing to stdout', async () => {
    const env = isolated();
    const out = join(env.HOME, 'report.json');
    const r = await run(['--manifest-path', DEMO, '-f', 'json', '-o', out, '--offline'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).crates).toHaveLength(10);
  });

  it('without --manifest-path, finds the nearest Cargo.toml upward like cargo (here a member, which leads to the workspace)', async () => {
    const r = await run(['--offline'], { env: isolated(), cwd: join(ROOT, 'fixtures', 'demo', 'crates', 'app', 'src') });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('10 crates, 8 with capabilities, 0 unscanned, 1 with indicators');
    const home = isolated();
    const none = await run(['--offline'], { env: home, cwd: home.HOME });
    expect([none.code, none.stdout, none.stderr]).toEqual([2, '', `cap-scan: error: manifest not found: ${join(home.HOME, 'Cargo.toml')} (run inside a Cargo project or pass --manifest-path)\n`]);
  });

  it('works as a cargo subcommand (cargo passes "cap-scan" first)', async () => {
    const r = await run(['cap-scan', '--manifest-path', DEMO, '--offline'], { bin: CARGO_BIN, env: isolated() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('10 crates, 8 with capabilities, 0 unscanned, 1 with indicators');
  });

  it('crate <dir> scans one unpacked crate', async () => {
    const r = await run(['crate', join(ROOT, 'fixtures/demo/vendor/shellout'), '--format', 'json'], { env: isolated() });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.crates).toHaveLength(1);
    expect(doc.crates[0].name).toBe('shellout');
    expect(doc.crates[0].capabilities).toEqual(['process']);
  });

  it('crate <dir> of a workspace member takes what it inherits (version.workspace = true) from the workspace root', async () => {
    const r = await run(['crate', join(ROOT, 'fixtures/demo/crates/app-utils')], { env: isolated() });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')[0]).toBe('app-utils 0.1.0  runtime: -  build: -');
  });
});

describe('rules and help', () => {
  it('rules lists every rule with its capability and kind', async () => {
    const r = await run(['rules']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^RULE\s+CAPABILITY\s+KIND\s+DESCRIPTION$/);
    expect(lines.find((l) => l.startsWith('std-net-connect '))).toMatch(/^std-net-connect\s+net\s+net\.connect/);
    const json = JSON.parse((await run(['rules', '--format', 'json'])).stdout);
    const caps = new Set(json.rules.map((x: { capability: string }) => x.capability));
    expect([...caps].sort()).toEqual(['build-script', 'env', 'ffi', 'fs', 'link', 'net', 'proc-macro', 'process', 'unsafe']);
  });

  it('--help explains commands and exit codes and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Exit codes: 0 ok; 1 check/diff found something not allowed; 2 error');
    for (const c of ['scan', 'crate', 'rules', 'check', 'allow', 'diff', 'why']) expect(r.stdout).toMatch(new RegExp(`\\n  ${c} `));
  });
});

describe('errors: one line on stderr, exit 2, no stack trace', () => {
  const oneLine = (r: Run) => {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };

  it('a reader that closes the pipe early (| head) ends the output quietly, no stack trace', async () => {
    for (const args of [['--help'], ['--manifest-path', DEMO, '--offline', '-v']]) {
      const stderr = await new Promise<string>((done) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...isolated() } });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.stdout.destroy(); // the reader is gone before the first write
        child.on('close', () => done(err));
      });
      expect(stderr).toBe('');
    }
  });

  it('missing manifest', async () => {
    const r = await run(['--manifest-path', '/nonexistent/Cargo.toml']);
    oneLine(r);
    expect(r.stderr).toBe('cap-scan: error: manifest not found: /nonexistent/Cargo.toml (run inside a Cargo project or pass --manifest-path)\n');
  });

  it('an unreachable registry and an unwritable --output are errors the user can act on, not internal errors', async () => {
    // a port nothing listens on: connection refused at once
    const server = (await import('node:net')).createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const port = (server.address() as { port: number }).port;
    await new Promise((ok) => server.close(ok));
    const r = await run(['crate', 'serde@1', '--registry-url', `sparse+http://127.0.0.1:${port}/index/`], { env: { ...isolated(), CARGO_NET_RETRY: '0' } });
    oneLine(r);
    expect(r.stderr).toMatch(new RegExp(`^cap-scan: error: cannot download http://127\\.0\\.0\\.1:${port}/index/.*ECONNREFUSED.* \\(--offline skips the network; --registry-url or CAP_SCAN_REGISTRY picks a mirror\\)\n$`));
    const o = await run(['--manifest-path', DEMO, '--offline', '-o', '/nonexistent-dir/report.txt'], { env: isolated() });
    oneLine(o);
    expect(o.stderr).toBe('cap-scan: error: cannot write --output /nonexistent-dir/report.txt: directory /nonexistent-dir does not exist\n');
  });

  it('invalid Cargo.toml names the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cap-scan-bad-'));
    writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "x"\nversion = "0.1.0"\n[dependencies\nfoo = "1"\n');
    const r = await run(['--manifest-path', join(dir, 'Cargo.toml')]);
    oneLine(r);
    expect(r.stderr).toMatch(new RegExp(`^cap-scan: error: ${join(dir, 'Cargo.toml').replace(/[.]/g, '\\.')}:4: invalid TOML`));
  });

  it('invalid Cargo.lock names the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cap-scan-badlock-'));
    cpSync(join(ROOT, 'fixtures/demo'), dir, { recursive: true });
    writeFileSync(join(dir, 'Cargo.lock'), '# comment\nversion = 3\n\n[[package]]\nname = "app"\nversion = \n');
    const r = await run(['--manifest-path', join(dir, 'Cargo.toml'), '--offline'], { env: isolated() });
    oneLine(r);
    expect(r.stderr).toMatch(/^cap-scan: error: .*Cargo\.lock:6: /);
  });

  it('unknown format and bad --jobs', async () => {
    const f = await run(['--format', 'xml']);
    oneLine(f);
    expect(f.stderr).toBe("cap-scan: error: unknown format 'xml' (expected one of: human, json, sarif, markdown, github, html)\n");
    const j = await run(['-j', 'lots']);
    oneLine(j);
    expect(j.stderr).toBe("cap-scan: error: --jobs must be a whole number from 1 to 256, got 'lots'\n");
  });

  it('an unknown command or option is a usage error (exit 2)', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("cap-scan: error: unknown command 'frobnicate' (commands: scan, crate, rules, check, allow, diff, why, batch)");
  });

  it('--debug adds the stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cap-scan-nolock-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "x"\nversion = "0.1.0"\n');
    writeFileSync(join(dir, 'src/lib.rs'), '');
    const plain = await run(['--manifest-path', dir]);
    oneLine(plain);
    expect(plain.stderr).toContain('Cargo.lock not found');
    const debug = await run(['--manifest-path', dir, '--debug']);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('check and crates that could not be scanned', () => {
  // the clean check workspace copied away from its vendor directory: its three crates cannot be located
  const setup = () => {
    const env = isolated();
    const ws = join(env.HOME, 'ws');
    cpSync(join(ROOT, 'fixtures', 'check', 'clean'), ws, { recursive: true });
    const reason = (nv: string) =>
      `directory source \`vendored-sources\` (${join(env.HOME, 'vendor')}) does not exist; ${nv} is not in ${join(env.CARGO_HOME, 'registry', 'src')}`;
    return { env, ws, reason };
  };

  it('lists them and passes by default; --deny-unscanned or deny-unscanned = true fails', async () => {
    const { env, ws, reason } = setup();
    const lines = (title: string, verdict: string) =>
      [
        'All dependencies are allowed by Cargo.toml.',
        '',
        `${title} (3):`,
        `  fetcher 1.0.0     ${reason('fetcher-1.0.0')}`,
        `  purecalc 0.1.0    ${reason('purecalc-0.1.0')}`,
        `  quickparse 1.0.0  ${reason('quickparse-1.0.0')}`,
        '',
        `${verdict}: 0 crates checked, 0 not allowed, 0 unused entries, 3 unscanned`,
        '',
      ].join('\n');
    const lax = await run(['check', '--manifest-path', ws, '--offline'], { env });
    expect([lax.code, lax.stdout, lax.stderr]).toEqual([0, lines('Not checked (unscanned)', 'ok'), '']);
    const strict = await run(['check', '--manifest-path', ws, '--offline', '--deny-unscanned'], { env });
    expect([strict.code, strict.stdout]).toEqual([1, lines('Not allowed: unscanned (deny-unscanned)', 'FAILED')]);

    const manifest = join(ws, 'Cargo.toml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('[workspace.metadata.cap-scan.allow]', '[workspace.metadata.cap-scan]\ndeny-unscanned = true\n\n[workspace.metadata.cap-scan.allow]'));
    const byPolicy = await run(['check', '--manifest-path', ws, '--offline', '-f', 'github'], { env });
    expect(byPolicy.code).toBe(1);
    expect(byPolicy.stdout.split('\n')).toEqual([
      `::error file=Cargo.lock,line=14,title=cap-scan%3A fetcher 1.0.0::not scanned: ${reason('fetcher-1.0.0')}`,
      `::error file=Cargo.lock,line=20,title=cap-scan%3A purecalc 0.1.0::not scanned: ${reason('purecalc-0.1.0')}`,
      `::error file=Cargo.lock,line=26,title=cap-scan%3A quickparse 1.0.0::not scanned: ${reason('quickparse-1.0.0')}`,
      '',
    ]);
    const json = JSON.parse((await run(['check', '--manifest-path', ws, '--offline', '-f', 'json'], { env })).stdout);
    expect([json.violations.denyUnscanned, json.violations.ok, json.unscanned.length]).toEqual([true, false, 3]);
    const sarif = JSON.parse((await run(['check', '--manifest-path', ws, '--offline', '-f', 'sarif'], { env })).stdout);
    const results = sarif.runs[0].results;
    expect(results.map((r: { ruleId: string; level: string }) => `${r.ruleId} ${r.level}`)).toEqual(['crate.unscanned error', 'crate.unscanned error', 'crate.unscanned error']);
    expect(results[0].message.text).toBe(`fetcher 1.0.0 was not scanned: ${reason('fetcher-1.0.0')}.`);
  });
});
