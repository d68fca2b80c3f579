// The small frictions of issue 16 (item 7), each as the user meets it.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffScans } from '../src/diff/scan-diff.js';
import { render } from '../src/report/index.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'cap-scan.js');
const DEMO = join(ROOT, 'fixtures', 'demo', 'Cargo.toml');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'cap-scan-fr-'));
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', HOME: home, XDG_CACHE_HOME: join(home, '.cache'), CARGO_HOME: join(home, '.cargo') } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      done({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

describe('frictions', () => {
  it('cap-scan chek: unknown command, did you mean check (not "too many arguments for scan")', async () => {
    expect(await run(['chek'])).toEqual({ code: 2, stdout: '', stderr: "cap-scan: error: unknown command 'chek'; did you mean check?\n(run with --help for usage)\n" });
    expect((await run(['frobnicate'])).stderr).toBe("cap-scan: error: unknown command 'frobnicate' (commands: scan, crate, rules, check, allow, diff, why, batch)\n(run with --help for usage)\n");
  });

  it('why --help lists the formats why writes (human, json), scan --help every reporter', async () => {
    const why = await run(['why', '--help']);
    expect(why.code).toBe(0);
    expect(why.stdout).toMatch(/-f, --format <format>\s+output format: human, json \(default: "human"\)\n/);
    const scan = await run(['scan', '--help']);
    expect(scan.stdout.replace(/\s+/g, ' ')).toContain('output format: human, json, sarif, markdown, github, html (default: "human")');
  });

  it('-o into a missing directory fails before scanning', async () => {
    const missing = join(tmpdir(), 'cap-scan-no-such-dir', 'out.sarif');
    const t0 = Date.now();
    expect(await run(['--manifest-path', join(ROOT, 'fixtures', 'no-such-workspace', 'Cargo.toml'), '-o', missing])).toEqual({
      code: 2,
      stdout: '',
      // the manifest does not exist either: the output check comes first, so no scan was started
      stderr: `cap-scan: error: cannot write --output ${missing}: directory ${join(tmpdir(), 'cap-scan-no-such-dir')} does not exist\n`,
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('allow -f sarif is an error (it printed TOML)', async () => {
    expect(await run(['allow', '-f', 'sarif', '--manifest-path', DEMO, '--offline'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'cap-scan: error: allow writes TOML for Cargo.toml and has no --format sarif (run it without --format)\n',
    });
  });

  it('check without an allowlist ends with the hint to run allow --write', async () => {
    const r = await run(['check', '--manifest-path', DEMO, '--offline']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').slice(-5)).toEqual([
      '',
      "No allowlist yet: `cap-scan allow --write` records today's capabilities in Cargo.toml; review, commit, and check then lists only changes.",
      '',
      'FAILED: 10 crates checked, 8 not allowed (8 new), 0 unused entries, 1 crate with indicators',
      '',
    ]);
  });

  it('diff folds packages without change into one list', () => {
    const quiet = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => crate(n, '1.0.0', []));
    const net = finding('net', 'net.connect', 'runtime', 'src/lib.rs', 1, 'std::net::TcpStream::connect');
    const newR = result([...quiet, crate('z', '1.0.0', [net])]);
    const d = diffScans('main', result([]), newR);
    expect(render('human', { command: 'diff', result: newR, project: null, diff: d, verbose: false, color: false, workspaceRoot: null })).toBe(
      [
        'Capability changes against main:',
        '',
        'z 1.0.0 (added)',
        '  + net (runtime)',
        '      net.connect  src/lib.rs:1:5  std::net::TcpStream::connect  [rule r-net.connect]',
        '',
        'No capability change (7):',
        '  a 1.0.0 (added), b 1.0.0 (added), c 1.0.0 (added), d 1.0.0 (added),',
        '  e 1.0.0 (added), f 1.0.0 (added), g 1.0.0 (added)',
        '',
        '8 packages changed, 1 gained capabilities, 0 lost capabilities',
        '',
      ].join('\n'),
    );
  });

  it('github annotations: file= is relative to the git root when the workspace is in a subdirectory', () => {
    const repo = mkdtempSync(join(tmpdir(), 'cap-scan-repo-'));
    mkdirSync(join(repo, '.git'));
    const ws = join(repo, 'rust', 'ws');
    mkdirSync(ws, { recursive: true });
    const net = finding('net', 'net.connect', 'runtime', 'src/lib.rs', 1, 'x');
    const proj = { ...project(ws, [pkg('z', '1.0.0', { lockLine: 7 })]) };
    proj.lockfile = { ...proj.lockfile, path: join(ws, 'Cargo.lock') };
    const out = render('github', { command: 'scan', result: result([crate('z', '1.0.0', [net])]), project: proj, verbose: false, color: false, workspaceRoot: ws });
    expect(out).toBe('::notice file=rust/ws/Cargo.lock,line=7,title=cap-scan%3A z 1.0.0::runtime: net; build: -\n');
  });
});
