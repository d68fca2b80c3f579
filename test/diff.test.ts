import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDiff } from '../src/commands/diff.js';
import { diffScans } from '../src/diff/scan-diff.js';
import { defaultScanOptions } from '../src/options.js';
import { UserError } from '../src/types.js';
import { crate, finding, result } from './policy-helpers.js';

const WS = 'fixtures/diff/ws';
const opts = (over: Partial<Parameters<typeof runDiff>[0]> = {}) => ({
  ...defaultScanOptions({ manifestPath: `${WS}/Cargo.toml`, cache: false, offline: true }),
  format: 'human',
  verbose: false,
  color: false,
  base: `${WS}/old.Cargo.lock`,
  failOnGrowth: false,
  ...over,
});

const EXPECTED_HUMAN = (base: string) =>
  [
    `Capability changes against ${base}:`,
    '',
    'buildy 0.1.0 (added)',
    '  + env (runtime)',
    '      env.read  src/lib.rs:2:5  std::env::var  [rule std-env-read]',
    '  + build-script (build)',
    '      build-script  build.rs:1:1  build script build.rs  [rule build-script]',
    '  + env (build)',
    '      env.read  build.rs:2:16  std::env::var  [rule std-env-read]',
    '      env.write  build.rs:3:14  cargo:rustc-env  [rule build-rustc-env]',
    '',
    'fetcher 1.0.0 -> 1.1.0',
    '  + net (runtime)',
    '      net.connect  src/lib.rs:9:5  std::net::TcpStream::connect  [rule std-net-connect]',
    '',
    'No capability change (1):',
    '  purecalc 0.1.0 (removed)',
    '',
    '3 packages changed, 2 gained capabilities, 0 lost capabilities',
    '',
  ].join('\n');

describe('cap-scan diff (fixture workspace, two lockfiles)', () => {
  it('lists exactly the added and removed capabilities against an old Cargo.lock', async () => {
    const out = await runDiff(opts());
    expect(out).toEqual({ exitCode: 0, text: EXPECTED_HUMAN(`${WS}/old.Cargo.lock`) });
  });

  it('--fail-on-growth exits 1 when a capability was added; the reverse diff only removes', async () => {
    expect((await runDiff(opts({ failOnGrowth: true }))).exitCode).toBe(1);
    const reverse = await runDiff(opts({ lockfilePath: `${WS}/old.Cargo.lock`, base: `${WS}/Cargo.lock`, failOnGrowth: true }));
    expect(reverse).toEqual({
      exitCode: 0,
      text: [
        `Capability changes against ${WS}/Cargo.lock:`,
        '',
        'buildy 0.1.0 (removed)',
        '  - env (runtime)',
        '  - build-script (build)',
        '  - env (build)',
        '',
        'fetcher 1.1.0 -> 1.0.0',
        '  - net (runtime)',
        '',
        'No capability change (1):',
        '  purecalc 0.1.0 (added)',
        '',
        '3 packages changed, 0 gained capabilities, 2 lost capabilities',
        '',
      ].join('\n'),
    });
  });

  it('json: diff object with added/removed per phase and evidence', async () => {
    const out = await runDiff(opts({ format: 'json' }));
    const doc = JSON.parse(out.text) as { diff: { base: string; growth: boolean; packages: Array<Record<string, unknown>> } };
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'tool', 'crates', 'unscanned', 'members', 'diff']);
    expect(doc.diff.growth).toBe(true);
    expect(
      doc.diff.packages.map((p) => ({ name: p['name'], change: p['change'], from: p['from'], to: p['to'], added: p['added'], removed: p['removed'] })),
    ).toEqual([
      { name: 'buildy', change: 'added', from: null, to: '0.1.0', added: { runtime: ['env'], build: ['build-script', 'env'] }, removed: { runtime: [], build: [] } },
      { name: 'fetcher', change: 'updated', from: '1.0.0', to: '1.1.0', added: { runtime: ['net'], build: [] }, removed: { runtime: [], build: [] } },
      { name: 'purecalc', change: 'removed', from: '0.1.0', to: null, added: { runtime: [], build: [] }, removed: { runtime: [], build: [] } },
    ]);
  });

  it('an old version that is not available locally is reported as unscanned, not guessed', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'cap-scan-diff-old-'));
    try {
      const old = readFileSync(`${WS}/old.Cargo.lock`, 'utf8').replace('name = "fetcher"\nversion = "1.0.0"', 'name = "fetcher"\nversion = "0.9.0"');
      expect(old).toContain('version = "0.9.0"');
      writeFileSync(join(tmp, 'Cargo.lock'), old);
      const out = await runDiff(opts({ base: join(tmp, 'Cargo.lock'), format: 'json', failOnGrowth: true }));
      const doc = JSON.parse(out.text) as { diff: { growth: boolean; packages: Array<Record<string, unknown>> } };
      const fetcher = doc.diff.packages.find((p) => p['name'] === 'fetcher')!;
      expect(fetcher['added']).toEqual({ runtime: [], build: [] });
      expect(fetcher['removed']).toEqual({ runtime: [], build: [] });
      expect(fetcher['unscanned']).toEqual([{ side: 'old', version: '0.9.0', reason: expect.stringContaining('fetcher 0.9.0') }]);
      // buildy (added) still grows
      expect(out.exitCode).toBe(1);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('reads the base lockfile from a git revision', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'cap-scan-diff-git-'));
    try {
      const repo = join(tmp, 'repo');
      cpSync(WS, join(repo, 'ws'), { recursive: true });
      cpSync('fixtures/check/vendor', join(tmp, 'check', 'vendor'), { recursive: true });
      // ../../check/vendor from repo/ws resolves to tmp/check/vendor
      const g = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, stdio: 'pipe' });
      const lock = join(repo, 'ws', 'Cargo.lock');
      const newLock = readFileSync(lock, 'utf8');
      writeFileSync(lock, readFileSync(join(repo, 'ws', 'old.Cargo.lock')));
      g('init', '-q');
      g('add', '.');
      g('commit', '-q', '-m', 'old');
      writeFileSync(lock, newLock);
      const out = await runDiff(opts({ manifestPath: join(repo, 'ws', 'Cargo.toml'), base: 'HEAD' }));
      expect(out.text).toBe(EXPECTED_HUMAN('HEAD'));
      await expect(runDiff(opts({ manifestPath: join(repo, 'ws', 'Cargo.toml'), base: 'no-such-rev' }))).rejects.toThrow(
        /^cannot read ws\/Cargo\.lock at git revision 'no-such-rev': /,
      );
      await expect(runDiff(opts({ manifestPath: join(repo, 'ws', 'Cargo.toml'), base: '--output=x' }))).rejects.toThrow(
        new UserError("invalid git revision '--output=x'"),
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('diffScans', () => {
  const fsR = finding('fs', 'fs.read', 'runtime', 'src/a.rs', 1, 'std::fs::read');
  const net = finding('net', 'net.connect', 'runtime', 'src/b.rs', 2, 'std::net::TcpStream::connect');
  const envB = finding('env', 'env.read', 'build', 'build.rs', 3, 'std::env::var');

  it('pairs multiple versions, skips members and unchanged versions, reports unscanned sides without guessing', () => {
    const oldR = result(
      [crate('a', '1.0.0', [fsR]), crate('a', '2.0.0', [fsR, envB]), crate('same', '1.0.0', [net]), crate('app', '0.1.0', [])],
      [{ name: 'lost', version: '0.1.0', reason: 'not in directory source' }],
    );
    const newR = result([crate('a', '1.0.0', [fsR]), crate('a', '2.1.0', [net]), crate('same', '1.0.0', [net]), crate('lost', '0.2.0', [net]), crate('app', '0.2.0', [net])]);
    const d = diffScans('old.lock', oldR, newR, new Set(['app']));
    expect(d).toEqual({
      base: 'old.lock',
      growth: true,
      packages: [
        {
          name: 'a', change: 'updated', from: '2.0.0', to: '2.1.0', source: newR.crates[1]!.source,
          added: { runtime: ['net'], build: [] }, removed: { runtime: ['fs'], build: ['env'] }, evidence: [net], unscanned: [], indicators: { added: [], removed: [] }, via: [],
        },
        {
          name: 'lost', change: 'updated', from: '0.1.0', to: '0.2.0', source: newR.crates[3]!.source,
          added: { runtime: [], build: [] }, removed: { runtime: [], build: [] }, evidence: [],
          unscanned: [{ side: 'old', version: '0.1.0', reason: 'not in directory source' }], indicators: { added: [], removed: [] }, via: [],
        },
      ],
    });
    expect(diffScans('x', newR, newR).packages).toEqual([]);
    expect(diffScans('x', newR, newR).growth).toBe(false);
  });
});
