// Provenance end to end on a workspace generated at test time: app → ureq → curl, where curl connects
// (net) and is new in this lockfile, and app → jsonish, whose build script spawns a process. Path
// dependencies outside the workspace root (under it they would be members). The CLI is the built one.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeNames } from '../src/commands/why.js';
import { viaLine } from '../src/report/common.js';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'cap-scan.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'cap-scan-why-home-'));
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', HOME: home, CARGO_HOME: join(home, '.cargo'), XDG_CACHE_HOME: join(home, '.cache') }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        done({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

const lock = (pkgs: Array<[string, string, string[]]>): string =>
  'version = 3\n\n' +
  pkgs.map(([n, v, d]) => `[[package]]\nname = "${n}"\nversion = "${v}"\n${d.length ? `dependencies = [\n${d.map((x) => ` "${x}",\n`).join('')}]\n` : ''}`).join('\n');

/** The workspace; `old.Cargo.lock` is the lockfile before curl came in. */
function workspace(policy = ''): string {
  const top = mkdtempSync(join(tmpdir(), 'cap-scan-why-'));
  const root = join(top, 'ws');
  const crateDir = (name: string, version: string, deps: string, files: Record<string, string>) => {
    const dir = name === 'app' ? join(root, name) : join(top, name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "${version}"\nedition = "2021"\n${deps}`);
    for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t);
  };
  mkdirSync(root);
  writeFileSync(join(root, 'Cargo.toml'), `[workspace]\nmembers = ["app"]\n${policy}`);
  crateDir('app', '0.1.0', '[dependencies]\nureq = { path = "../../ureq" }\njsonish = { path = "../../jsonish" }\n', { 'src/lib.rs': 'pub fn run() {}\n' });
  crateDir('ureq', '2.9.1', '[dependencies]\ncurl = { path = "../curl" }\n', { 'src/lib.rs': 'pub fn get(a: &str) { curl::get(a) }\n' });
  crateDir('curl', '0.4.44', '', { 'src/lib.rs': 'pub fn get(a: &str) {\n    let _ = std::net::TcpStream::connect(a);\n}\n' });
  crateDir('jsonish', '1.0.0', '', {
    'src/lib.rs': 'pub fn parse() {}\n',
    'build.rs': 'fn main() {\n    let _ = std::process::Command::new("rustc").arg("-V").status();\n}\n',
  });
  writeFileSync(join(root, 'Cargo.lock'), lock([['app', '0.1.0', ['jsonish', 'ureq']], ['curl', '0.4.44', []], ['jsonish', '1.0.0', []], ['ureq', '2.9.1', ['curl']]]));
  writeFileSync(join(root, 'old.Cargo.lock'), lock([['app', '0.1.0', ['jsonish', 'ureq']], ['jsonish', '1.0.0', []], ['ureq', '2.9.1', []]]));
  return root;
}

describe('cap-scan why', () => {
  it('prints the path from the member, the dependents tree and the evidence per phase', async () => {
    const ws = workspace();
    const r = await run(['why', 'curl', 'net', '--manifest-path', ws, '--offline']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchInlineSnapshot(`
      "curl 0.4.44

      Reached from the members (shortest path per phase):
        runtime: app → ureq → curl

      Dependents (inverted tree, as cargo tree -i):
        curl 0.4.44
        └── ureq 2.9.1
            └── app 0.1.0 (member)

      Why curl 0.4.44 has net:
        net — runtime only
          runtime (1 finding):
            net.connect  src/lib.rs:2:13  std::net::TcpStream::connect  [rule std-net-connect]
      "
    `);
  });

  it('says when a capability is build-phase only, and why (the build script)', async () => {
    const r = await run(['why', 'jsonish@1.0.0', 'process.spawn', '--manifest-path', workspace(), '--offline']);
    expect(r.code).toBe(0);
    expect(r.stdout.slice(r.stdout.indexOf('Why '))).toBe(
      [
        'Why jsonish 1.0.0 has process.spawn:',
        '  process — build phase only: its build script build.rs',
        '    build (1 finding):',
        '      process.spawn  build.rs:2:13  std::process::Command::new  [rule std-process-spawn]',
        '',
      ].join('\n'),
    );
    // ureq's own code has no net (its capabilities: none), but its get() calls curl::get, which connects
    const reached = await run(['why', 'ureq', 'net', '--manifest-path', workspace(), '--offline']);
    expect(reached.stdout.slice(reached.stdout.indexOf('Why '))).toBe(
      [
        'Why ureq 2.9.1 has net:',
        '  reaches (through calls into dependencies):',
        '    net.connect (runtime)  src/lib.rs:1:23  curl::get → std::net::TcpStream::connect',
        '',
      ].join('\n'),
    );
    const none = await run(['why', 'jsonish', 'net', '--manifest-path', workspace(), '--offline']);
    expect(none.stdout.slice(none.stdout.indexOf('jsonish 1.0.0 has'))).toBe('jsonish 1.0.0 has no net findings (its capabilities: build-script, process).\n');
  });

  it('--format json', async () => {
    const r = await run(['why', 'curl', '--manifest-path', workspace(), '--offline', '--format', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.capability).toBe(null);
    expect(doc.crates).toEqual([
      {
        name: 'curl',
        version: '0.4.44',
        source: null,
        member: false,
        scanned: true,
        dependencyPaths: [{ phase: 'runtime', path: ['app', 'ureq', 'curl'] }],
        dependents: [{ name: 'ureq', version: '2.9.1', kinds: ['normal'] }],
        capabilities: ['net'],
        phases: { runtime: ['net'], build: [] },
        evidence: {
          runtime: [{ capability: 'net', kind: 'net.connect', phase: 'runtime', rule: 'std-net-connect', file: 'src/lib.rs', line: 2, column: 13, evidence: 'std::net::TcpStream::connect' }],
          build: [],
        },
        reaches: [],
      },
    ]);
  });

  it('a crate not in the lockfile is one line and exit 2, naming close names; so is a bad capability', async () => {
    const ws = workspace();
    expect(await run(['why', 'crul', '--manifest-path', ws, '--offline'])).toEqual({ code: 2, stdout: '', stderr: 'cap-scan: error: crul: no such crate in the lockfile; did you mean curl?\n' });
    expect(await run(['why', 'curl@0.5.0', '--manifest-path', ws, '--offline'])).toEqual({ code: 2, stdout: '', stderr: 'cap-scan: error: curl@0.5.0: not in the lockfile (it has curl 0.4.44)\n' });
    expect((await run(['why', 'curl', 'sockets', '--manifest-path', ws, '--offline'])).stderr).toBe(
      "cap-scan: error: unknown capability 'sockets' (expected an id: fs, net, process, env, ffi, unsafe, link, build-script, proc-macro; or a kind such as net.connect, see cap-scan rules)\n",
    );
    expect((await run(['why', 'curl', '--manifest-path', ws, '--offline', '--format', 'sarif'])).stderr).toBe('cap-scan: error: --format sarif cannot report why (use human or json)\n');
  });

  it('suggests names with - and _ mixed up, or a couple of edits away', () => {
    expect(closeNames('serde-json', ['serde_json', 'serde', 'serde_derive'])).toEqual(['serde_json']);
    expect(closeNames('toko', ['tokio', 'tokio-util', 'mio'])).toEqual(['tokio']);
  });
});

describe('check and diff name the dependency that brought a crate', () => {
  it('diff: grouped by the direct dependency, each package with its path below the member', async () => {
    const ws = workspace();
    const args = ['diff', '--base', join(ws, 'old.Cargo.lock'), '--manifest-path', ws, '--offline'];
    const human = await run(args);
    expect(human.stdout).toBe(
      [
        `Capability changes against ${join(ws, 'old.Cargo.lock')}:`,
        '',
        'Through ureq:',
        '',
        'curl 0.4.44 (added)',
        '  via ureq → curl',
        '  + net (runtime)',
        '      net.connect  src/lib.rs:2:13  std::net::TcpStream::connect  [rule std-net-connect]',
        '',
        '1 package changed, 1 gained capabilities, 0 lost capabilities',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await run([...args, '--format', 'json'])).stdout);
    expect(json.diff.packages.map((p: { name: string; via: string[] }) => [p.name, p.via])).toEqual([['curl', ['ureq', 'curl']]]);
    const md = (await run([...args, '--format', 'markdown'])).stdout;
    expect(md).toContain('| Crate | Version | Via | + Capabilities | − Capabilities | Evidence |');
    expect(md).toContain('| curl | added 0.4.44 | ureq → curl | net (runtime) |  | net.connect: src/lib.rs:2 `std::net::TcpStream::connect` |');
    const gh = (await run([...args, '--format', 'github'])).stdout;
    expect(gh).toBe('::warning file=Cargo.lock,line=11,title=cap-scan%3A curl new -> 0.4.44::gained net (runtime) (via ureq → curl)%0Anet.connect src/lib.rs:2:13 std::net::TcpStream::connect\n');
  });

  it('check: a new crate is named with the path that brings it', async () => {
    const ws = workspace('[workspace.metadata.cap-scan.allow]\njsonish = { build = ["build-script", "process"] }\n');
    const r = await run(['check', '--manifest-path', ws, '--offline']);
    expect(r.code).toBe(1);
    expect(r.stdout.slice(0, r.stdout.indexOf('\n\nFAILED'))).toBe(
      [
        '1 crate not allowed by Cargo.toml:',
        '',
        'curl 0.4.44  new: no allow entry',
        '  via ureq → curl',
        '  net.connect (runtime)',
        '    src/lib.rs:2:13  std::net::TcpStream::connect  [rule std-net-connect]',
      ].join('\n'),
    );
    const json = JSON.parse((await run(['check', '--manifest-path', ws, '--offline', '--format', 'json'])).stdout);
    expect(json.violations.crates.map((c: { name: string; via: string[] }) => [c.name, c.via])).toEqual([['curl', ['ureq', 'curl']]]);
    const md = (await run(['check', '--manifest-path', ws, '--offline', '--format', 'markdown'])).stdout;
    expect(md).toContain('| curl (new)<br>via ureq → curl | 0.4.44 | net.connect (runtime) | net.connect: src/lib.rs:2 `std::net::TcpStream::connect` |');
    const gh = (await run(['check', '--manifest-path', ws, '--offline', '--format', 'github'])).stdout;
    expect(gh.split('\n')[0]).toBe('::error file=Cargo.lock,line=11,title=cap-scan%3A curl 0.4.44 (new crate)::net.connect (runtime) is not allowed (via ureq → curl)%0Asrc/lib.rs:2:13 std::net::TcpStream::connect');
  });
});

describe('viaLine', () => {
  it('fits a long path into the width by eliding its middle, keeping the direct dependency and the crate', () => {
    const path = ['reqwest', 'hyper', 'h2', 'tokio-util', 'tokio', 'mio'];
    expect(viaLine(path, 80)).toBe('via reqwest → hyper → h2 → tokio-util → tokio → mio');
    expect(viaLine(path, 40)).toBe('via reqwest → hyper → … → tokio → mio');
    expect(viaLine(path, 30)).toBe('via reqwest → hyper → … → mio');
    expect(viaLine(path, 10)).toBe('via reqwest → … → mio');
  });
});
