import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateAllowlist, runAllow } from '../src/commands/allow.js';
import { runCheck } from '../src/commands/check.js';
import { defaultScanOptions } from '../src/options.js';
import { UserError } from '../src/types.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

const original = readFileSync(new URL('../fixtures/check/roundtrip/Cargo.toml', import.meta.url), 'utf8');

let tmp: string;
let manifest: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cap-scan-allow-'));
  // the workspace's directory source is ../vendor: copy both
  cpSync(new URL('../fixtures/check/roundtrip', import.meta.url), join(tmp, 'roundtrip'), { recursive: true });
  cpSync(new URL('../fixtures/check/vendor', import.meta.url), join(tmp, 'vendor'), { recursive: true });
  manifest = join(tmp, 'roundtrip', 'Cargo.toml');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const common = () => ({
  ...defaultScanOptions({ manifestPath: manifest, cache: false, offline: true }),
  format: 'human',
  verbose: false,
  color: false,
});

const GENERATED = [
  'buildy = { runtime = ["env"], build = ["build-script", "env"] }',
  'fetcher = ["fs", "net"]',
  'quickparse = ["unsafe"]',
];

describe('cap-scan allow', () => {
  it('on the demo: allows everything it finds, and asks for a review of the crate with supply-chain indicators', async () => {
    cpSync(new URL('../fixtures/demo', import.meta.url), join(tmp, 'demo'), { recursive: true });
    const opts = { ...common(), manifestPath: join(tmp, 'demo', 'Cargo.toml') };
    const dry = await runAllow({ ...opts, write: true, dryRun: true });
    const review =
      'Review before committing: envlogger has supply-chain indicators; nothing of it is accepted (cap-scan check --deny-indicators lists them; accept each reviewed one with indicators = [...] in the entry)';
    expect(dry.text.split('\n').slice(0, 3)).toEqual(['[workspace.metadata.cap-scan]', 'deny-indicators = true', '']);
    expect(dry.text.split('\n').slice(-2)).toEqual([`# ${review}`, '']);
    const written = await runAllow({ ...opts, write: true, dryRun: false });
    expect(written).toEqual({
      text: `Updated [workspace.metadata.cap-scan.allow] in ${join(tmp, 'demo', 'Cargo.toml')}: 8 added (8 allow entries in the table)\n${review}\n`,
      exitCode: 0,
    });
    expect((await runAllow({ ...opts, write: true, dryRun: false, filter: { crates: [{ name: 'filekeep', version: null }], capabilities: [] } })).text).toBe(`Unchanged [workspace.metadata.cap-scan.allow] in ${join(tmp, 'demo', 'Cargo.toml')}: no entry changed (filekeep) (8 allow entries in the table)\n`);
    // the policy it created denies indicators: envlogger's fail the check until they are accepted
    expect((await runCheck({ ...opts, strict: true, denyIndicators: false, denyUnscanned: false })).exitCode).toBe(1);
  });

  it('prints the generated table without --write, and with --write --dry-run, leaving the file alone', async () => {
    const expected = `[workspace.metadata.cap-scan.allow]\n${GENERATED.join('\n')}\n`;
    expect(await runAllow({ ...common(), write: false, dryRun: false })).toEqual({ text: expected, exitCode: 0 });
    expect(await runAllow({ ...common(), write: true, dryRun: true })).toEqual({ text: expected, exitCode: 0 });
    expect(readFileSync(manifest, 'utf8')).toBe(original);
  });

  it('round trip: check fails, allow --write, check is clean; every other byte is kept', async () => {
    const before = await runCheck({ ...common(), strict: true, denyIndicators: false, denyUnscanned: false });
    expect(before.exitCode).toBe(1);

    const out = await runAllow({ ...common(), write: true, dryRun: false });
    expect(out.exitCode).toBe(0);
    expect(out.text).toMatch(/^Updated \[workspace\.metadata\.cap-scan\.allow\] in .*Cargo\.toml: 2 added, 1 changed, 1 removed \(3 allow entries in the table\)\n$/);
    const expected = original.replace(
      `quickparse = [ 'unsafe.block' ]    # keep this comment\nstale-crate = ["fs"]\n`,
      `quickparse = ["unsafe"]    # keep this comment\n${GENERATED[0]}\n${GENERATED[1]}\n`,
    );
    expect(expected).not.toBe(original);
    expect(readFileSync(manifest, 'utf8')).toBe(expected);

    const after = await runCheck({ ...common(), strict: true, denyIndicators: false, denyUnscanned: false });
    expect(after).toEqual({ exitCode: 0, text: 'All dependencies are allowed by Cargo.toml.\n\nok: 4 crates checked, 0 not allowed, 0 unused entries\n' });

    // a second write changes nothing
    const again = await runAllow({ ...common(), write: true, dryRun: false });
    expect(again.text).toMatch(/^Unchanged /);
    expect(readFileSync(manifest, 'utf8')).toBe(expected);
  });

  it('--crate limits the update to one crate', async () => {
    await runAllow({ ...common(), write: true, dryRun: false, filter: { crates: [{ name: 'fetcher', version: null }], capabilities: [] } });
    const expected = original.replace('stale-crate = ["fs"]\n', `stale-crate = ["fs"]\n${GENERATED[1]}\n`);
    expect(readFileSync(manifest, 'utf8')).toBe(expected);
    await expect(runAllow({ ...common(), write: true, dryRun: false, filter: { crates: [{ name: 'nope', version: null }], capabilities: [] } })).rejects.toThrow(
      new UserError("no crate named 'nope' in the lockfile"),
    );
  });
});

describe('generateAllowlist', () => {
  const net = finding('net', 'net.connect', 'runtime', 'src/lib.rs', 1, 'x');
  const envB = finding('env', 'env.read', 'build', 'build.rs', 1, 'x');
  const envR = finding('env', 'env.read', 'runtime', 'src/lib.rs', 2, 'x');
  it('uses plain lists for one phase or identical phases, tables otherwise, urls when present', () => {
    const res = result([
      crate('both', '1.0.0', [envB, envR]),
      crate('buildonly', '1.0.0', [envB]),
      crate('clean', '1.0.0', []),
      crate('mixed', '1.0.0', [net, envB]),
      crate('net2', '1.0.0', [net]),
      crate('net2', '2.0.0', [envR]),
      crate('rtonly-in-both-phases', '1.0.0', [net]),
      crate('web', '1.0.0', [net], { urls: ['https://a.example/x'], hosts: ['a.example'] }),
      crate('app', '0.1.0', [net]),
    ]);
    const proj = project('/w', [
      pkg('app', '0.1.0', { member: true }),
      pkg('buildonly', '1.0.0', { phases: ['build'] }),
      pkg('rtonly-in-both-phases', '1.0.0', { phases: ['build', 'runtime'] }),
    ]);
    expect(generateAllowlist(res, proj)).toEqual([
      { key: 'both', value: '["env"]' },
      { key: 'buildonly', value: '["env"]' },
      { key: 'mixed', value: '{ runtime = ["net"], build = ["env"] }' },
      { key: 'net2', value: '["env", "net"]' },
      { key: 'rtonly-in-both-phases', value: '{ runtime = ["net"] }' },
      { key: 'web', value: '{ runtime = ["net"], urls = ["a.example", "https://a.example/x"] }' },
    ]);
    expect(generateAllowlist(res, proj, 'mixed')).toEqual([{ key: 'mixed', value: '{ runtime = ["net"], build = ["env"] }' }]);
  });
});
