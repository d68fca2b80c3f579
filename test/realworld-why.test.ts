// `cap-scan why` and provenance on the real 117-package workspace (/tmp/cap-scan-realworld, made by
// scripts/setup-corpus.sh); skipped when it is absent. Versions are whatever Debian installed, so they
// are read from the workspace's Cargo.lock.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WS = '/tmp/cap-scan-realworld';
const present = existsSync(path.join(WS, 'Cargo.toml')) && existsSync(path.join(WS, 'Cargo.lock')) && existsSync('/usr/share/cargo/registry');
if (!present) console.log(`realworld-why test skipped: ${WS} is absent (scripts/setup-corpus.sh ${WS} makes it)`);

const home = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-rw-why-'));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [path.join(REPO, 'bin/cap-scan.js'), ...args, '--manifest-path', WS, '--offline'],
      // one cache for the file: the first scan is cold, the next ones warm
      { env: { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: path.join(home, 'cache') }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function lockVersion(name: string): string {
  const m = new RegExp(`\\[\\[package\\]\\]\\nname = "${name}"\\nversion = "([^"]+)"`).exec(readFileSync(path.join(WS, 'Cargo.lock'), 'utf8'));
  if (!m) throw new Error(`${name} is not in ${WS}/Cargo.lock`);
  return m[1]!;
}

describe.skipIf(!present)('why and provenance on the real workspace', () => {
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('why mio net: cap-scan-realworld → tokio → mio, and the net evidence of mio', async () => {
    const r = await run(['why', 'mio', 'net']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const v = lockVersion('mio');
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([`mio ${v} (registry+https://github.com/rust-lang/crates.io-index)`, '', 'Reached from the members (shortest path per phase):', '  runtime: cap-scan-realworld → tokio → mio']);
    expect(lines).toContain(`  └── tokio ${lockVersion('tokio')}`);
    const why = lines.indexOf(`Why mio ${v} has net:`);
    expect(why).toBeGreaterThan(0);
    expect(lines[why + 1]).toBe('  net — runtime only');
    expect(lines[why + 2]).toMatch(/^ {4}runtime \(\d+ findings?\):$/);
    // every evidence line names a net kind, a file:line:column, its evidence (a macro expansion or a
    // foreign call's chain has spaces) and its rule
    const shown = lines.slice(why + 3).filter((l) => l.startsWith('      '));
    // past the first 10 findings of the phase (and the first of every kind), one line says how many more
    const more = shown.filter((l) => /^ {6}… and \d+ more \(-v shows all\)$/.test(l));
    expect(more.length).toBeLessThanOrEqual(1);
    const ev = shown.filter((l) => !more.includes(l));
    expect(ev.length).toBeGreaterThan(0);
    for (const l of ev) expect(l).toMatch(/^ {6}net\.(connect|listen|dns|http) {2}src\/\S+:\d+:\d+ {2}\S.* {2}\[rule [a-z0-9-]+\]$/);
  }, 240_000);

  it('why serde_json process: build-phase only, from its build.rs', async () => {
    const r = await run(['why', 'serde_json', 'process']);
    expect(r.code).toBe(0);
    const v = lockVersion('serde_json');
    const tail = r.stdout.slice(r.stdout.indexOf(`Why serde_json ${v} has process:`)).split('\n');
    expect(tail.slice(0, 3)).toEqual([`Why serde_json ${v} has process:`, '  process — build phase only: its build script build.rs', '    build (1 finding):']);
    expect(tail[3]).toMatch(/^ {6}process\.spawn {2}build\.rs:\d+:\d+ {2}std::process::Command::new {2}\[rule std-process-spawn\]$/);
  }, 240_000);

  it('JSON: every crate has a path from the member; the member roll-up names net via reqwest and tokio', async () => {
    const r = await run(['--format', 'json']);
    const doc = JSON.parse(r.stdout) as {
      crates: Array<{ name: string; dependencyPaths: Array<{ phase: string; path: string[] }> }>;
      members: Array<{ name: string; brings: { runtime: Array<{ capability: string; via: string[]; crates: string[] }> } }>;
    };
    const noPath = doc.crates.filter((c) => c.dependencyPaths.length === 0).map((c) => c.name);
    expect(noPath).toEqual([]);
    for (const c of doc.crates) for (const p of c.dependencyPaths) expect(p.path[0], c.name).toBe('cap-scan-realworld');
    const paths = (n: string) => doc.crates.find((c) => c.name === n)!.dependencyPaths;
    expect(paths('cc')).toEqual([{ phase: 'build', path: ['cap-scan-realworld', 'git2', 'libgit2-sys', 'cc'] }]);
    expect(paths('syn').map((p) => p.phase)).toEqual(['build']);
    expect(doc.members.map((m) => m.name)).toEqual(['cap-scan-realworld']);
    const net = doc.members[0]!.brings.runtime.find((b) => b.capability === 'net')!;
    expect(net.via).toEqual(expect.arrayContaining(['reqwest', 'tokio']));
    expect(net.crates).toEqual(expect.arrayContaining(['hyper', 'mio', 'socket2', 'tokio']));
  }, 240_000);
});
