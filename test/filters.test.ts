// --crate NAME[@VERSION] and --capability ID|KIND narrow every command's output (issue 16, item 2).
import { describe, expect, it } from 'vitest';
import { runAllow } from '../src/commands/allow.js';
import { runCheck } from '../src/commands/check.js';
import { runDiff } from '../src/commands/diff.js';
import { runRules } from '../src/commands/rules.js';
import { runScan } from '../src/commands/scan.js';
import { defaultScanOptions } from '../src/options.js';
import { parseFilter } from '../src/report/filter.js';
import { UserError } from '../src/types.js';

const DEMO = 'fixtures/demo/Cargo.toml';
const opts = (format: string, crates: string[], caps: string[], manifestPath = DEMO) => ({
  ...defaultScanOptions({ manifestPath, cache: false, offline: true }),
  format,
  verbose: false,
  color: false,
  filter: parseFilter(crates, caps),
});
const check = (crates: string[], caps: string[]) => runCheck({ ...opts('human', crates, caps), strict: false, denyIndicators: false, denyUnscanned: false });

describe('filters', () => {
  it('scan --capability net --capability process.spawn: only crates with them, narrowed to them', async () => {
    expect((await runScan(opts('human', [], ['net', 'process.spawn']))).text).toBe(
      [
        'Capabilities, most dangerous first:',
        'process (runtime, 1 crate)',
        '  shellout',
        'process (build, 1 crate)',
        '  envlogger',
        'net (runtime, 1 crate)',
        '  demo-fetch',
        '',
        'demo-fetch 0.2.0  runtime: net      build: -',
        '  direct dependency of app',
        'envlogger 0.3.0   runtime: -        build: process',
        '  direct dependency of app',
        '  ! typosquat  Cargo.toml:3  name is close to the popular crate "env_logger" (separator), which is not in the lockfile',
        '  ! obfuscation  build.rs:10  3 joined base64 fragments decode to url: "http://203.0.113.7:9089/stage2?k="',
        '  ! secrets  build.rs:14  CI detection: env::var("GITHUB_ACTIONS")',
        '  ! secrets  build.rs:14  CI detection: env::var("GITLAB_CI")',
        '  ! secrets  build.rs:24  token-like env var: env::var("CARGO_REGISTRY_TOKEN")',
        'shellout 0.4.0    runtime: process  build: -',
        '  direct dependency of app',
        '',
        '3 crates, 3 with capabilities, 0 unscanned, 1 with indicators',
        '',
      ].join('\n'),
    );
  });

  it('scan --format json --crate NAME@VERSION --crate NAME: those crates only, findings narrowed by --capability', async () => {
    const doc = JSON.parse((await runScan(opts('json', ['tiny-json@0.3.1', 'demo-fetch'], []))).text);
    expect(doc.crates.map((c: any) => `${c.name}@${c.version}`)).toEqual(['demo-fetch@0.2.0', 'tiny-json@0.3.1']);
    const net = JSON.parse((await runScan(opts('json', ['demo-fetch'], ['net.connect']))).text);
    expect(net.crates.map((c: any) => [c.name, c.capabilities, c.phases, c.findings.map((f: any) => `${f.kind} ${f.file}:${f.line}`)])).toEqual([
      ['demo-fetch', ['net'], { runtime: ['net'], build: [] }, ['net.connect src/lib.rs:17']],
    ]);
  });

  it('scan --format json --capability process.spawn: the members roll-ups keep only process', async () => {
    const doc = JSON.parse((await runScan(opts('json', [], ['process.spawn']))).text);
    expect(doc.members).toEqual([
      { name: 'app', version: '0.1.0', brings: { runtime: [{ capability: 'process', via: ['shellout'], crates: ['shellout'] }], build: [{ capability: 'process', via: ['envlogger'], crates: ['envlogger'] }] } },
      { name: 'app-utils', version: '0.1.0', brings: { runtime: [], build: [] } },
    ]);
  });

  it('without filters, scan JSON is byte-identical to the unfiltered report', async () => {
    const plain = { ...opts('json', [], []) };
    delete (plain as { filter?: unknown }).filter;
    expect((await runScan(opts('json', [], []))).text).toBe((await runScan(plain)).text);
  });

  it('check: narrowed violations, and the verdict is that of what is shown', async () => {
    const out = await check([], ['net']);
    expect(out).toEqual({
      exitCode: 1,
      text: [
        '1 crate not allowed by Cargo.toml:',
        '',
        'demo-fetch 0.2.0  new: no allow entry',
        '  net.connect (runtime)',
        '    src/lib.rs:17:22  std::net::TcpStream::connect  [rule std-net-connect]',
        '',
        "No allowlist yet: `cap-scan allow --write` records today's capabilities in Cargo.toml; review, commit, and check then lists only changes.",
        '',
        'FAILED: 1 crate checked, 1 not allowed (1 new), 0 unused entries',
        '',
      ].join('\n'),
    });
    expect((await check(['tiny-json'], [])).exitCode).toBe(0);
  });

  it('diff --crate: only that package', async () => {
    const out = await runDiff({ ...opts('human', ['fetcher'], [], 'fixtures/diff/ws/Cargo.toml'), base: 'fixtures/diff/ws/old.Cargo.lock', failOnGrowth: true });
    expect(out).toEqual({
      exitCode: 1,
      text: [
        'Capability changes against fixtures/diff/ws/old.Cargo.lock:',
        '',
        'fetcher 1.0.0 -> 1.1.0',
        '  + net (runtime)',
        '      net.connect  src/lib.rs:9:5  std::net::TcpStream::connect  [rule std-net-connect]',
        '',
        '1 package changed, 1 gained capabilities, 0 lost capabilities',
        '',
      ].join('\n'),
    });
    const none = await runDiff({ ...opts('human', [], ['process'], 'fixtures/diff/ws/Cargo.toml'), base: 'fixtures/diff/ws/old.Cargo.lock', failOnGrowth: true });
    expect(none.exitCode).toBe(0);
  });

  it('rules --capability: only those rules', async () => {
    const rows = (await runRules(opts('human', [], ['process.exec']))).text.split('\n').filter(Boolean);
    expect(rows[0]).toMatch(/^RULE +CAPABILITY +KIND +DESCRIPTION$/);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.slice(1).every((r) => / process +process\.exec /.test(r))).toBe(true);
  });

  it('allow --crate a --crate b: entries for both (it kept only the last)', async () => {
    expect(await runAllow({ ...opts('human', ['shellout', 'filekeep'], []), write: false, dryRun: false })).toEqual({
      exitCode: 0,
      // a policy allow creates denies indicators (they are reviewed, not blessed)
      text: '[workspace.metadata.cap-scan]\ndeny-indicators = true\n\n[workspace.metadata.cap-scan.allow]\nfilekeep = ["fs"]\nshellout = ["process"]\n',
    });
    await expect(runAllow({ ...opts('human', [], ['net']), write: true, dryRun: false })).rejects.toThrow('allow --write cannot take --capability');
  });

  it('bad values are one-line errors', async () => {
    expect(() => parseFilter([], ['netx'])).toThrow(UserError);
    expect(() => parseFilter(['a@'], [])).toThrow("--crate expects NAME or NAME@VERSION, got 'a@'");
    await expect(runScan(opts('human', ['nope'], []))).rejects.toThrow('--crate nope: no such crate in the lockfile');
  });
});
