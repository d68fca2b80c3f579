import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/commands/check.js';
import { runDiff } from '../src/commands/diff.js';
import { diffScans } from '../src/diff/scan-diff.js';
import { defaultScanOptions } from '../src/options.js';
import { evaluatePolicy, parsePolicy } from '../src/policy/allowlist.js';
import { render } from '../src/report/index.js';
import { CAPABILITY_KINDS } from '../src/types.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

// ajv-formats is CommonJS; its default export arrives wrapped or not depending on the loader
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

const schema = JSON.parse(readFileSync(new URL('./schemas/sarif-schema-2.1.0.json', import.meta.url), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

function expectValid(text: string): Record<string, any> {
  const doc = JSON.parse(text) as Record<string, any>;
  const ok = validate(doc);
  if (!ok) throw new Error(ajv.errorsText(validate.errors, { separator: '\n' }));
  return doc;
}

const common = (manifestPath: string) => ({
  ...defaultScanOptions({ manifestPath, cache: false, offline: true }),
  format: 'sarif',
  verbose: false,
  color: false,
});

describe('sarif reporter', () => {
  it('the validator rejects an invalid log (the test can fail)', () => {
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'm' }, level: 'fatal' }] }] })).toBe(false);
  });

  it('check on the demo: indicators that do not fail the check are warning-level results at the Cargo.lock line', async () => {
    const out = await runCheck({ ...common('fixtures/demo/Cargo.toml'), strict: false, denyIndicators: false, denyUnscanned: false });
    expect(out.exitCode).toBe(1); // new crates, not the indicators
    const run = expectValid(out.text)['runs'][0];
    const ind = run.results.filter((r: { ruleId: string }) => r.ruleId.startsWith('indicator.'));
    expect(ind.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.artifactLocation.uri, r.locations[0].physicalLocation.region.startLine])).toEqual([
      ['indicator.typosquat', 'warning', 'Cargo.lock', 48],
      ['indicator.obfuscation', 'warning', 'Cargo.lock', 48],
      ['indicator.secrets', 'warning', 'Cargo.lock', 48],
      ['indicator.secrets', 'warning', 'Cargo.lock', 48],
      ['indicator.secrets', 'warning', 'Cargo.lock', 48],
    ]);
    expect(ind[1].message.text).toBe('envlogger 0.3.0: obfuscation indicator at build.rs:10: 3 joined base64 fragments decode to url: "http://203.0.113.7:9089/stage2?k="');
    const denied = await runCheck({ ...common('fixtures/demo/Cargo.toml'), strict: false, denyIndicators: true, denyUnscanned: false });
    const levels = expectValid(denied.text)['runs'][0].results.filter((r: { ruleId: string }) => r.ruleId.startsWith('indicator.')).map((r: { level: string }) => r.level);
    expect(levels).toEqual(['error', 'error', 'error', 'error', 'error']);
  });

  it('check on a fixture: valid SARIF 2.1.0, one rule per kind, one result per violation at the Cargo.lock line', async () => {
    const out = await runCheck({ ...common('fixtures/check/grows/Cargo.toml'), strict: false, denyIndicators: false, denyUnscanned: false });
    expect(out.exitCode).toBe(1);
    const doc = expectValid(out.text);
    const run = doc['runs'][0];
    const ruleIds = run.tool.driver.rules.map((r: { id: string }) => r.id);
    expect(ruleIds).toEqual(Object.values(CAPABILITY_KINDS).flat());
    const root = resolve('fixtures/check/grows');
    expect(run.originalUriBaseIds).toEqual({ WORKSPACE: { uri: `${pathToFileURL(root).href}/` } });
    expect(run.results).toEqual([
      {
        ruleId: 'net.connect',
        ruleIndex: ruleIds.indexOf('net.connect'),
        level: 'error',
        message: {
          text: 'fetcher 1.1.0 opens outgoing network connections (net.connect, runtime) but allowlist entry "fetcher" does not allow it. Evidence: src/lib.rs:9:5 std::net::TcpStream::connect.',
        },
        locations: [{ physicalLocation: { artifactLocation: { uri: 'Cargo.lock', uriBaseId: 'WORKSPACE' }, region: { startLine: 14 } } }],
        partialFingerprints: { 'capScan/v1': expect.stringMatching(/^[0-9a-f]{32}$/) },
        relatedLocations: [
          {
            id: 1,
            physicalLocation: {
              artifactLocation: { uri: pathToFileURL(resolve('fixtures/check/vendor/fetcher-1.1.0/src/lib.rs')).href },
              region: { startLine: 9, startColumn: 5 },
            },
            message: { text: 'net.connect: std::net::TcpStream::connect' },
          },
        ],
        properties: { crate: 'fetcher', version: '1.1.0' },
      },
    ]);
    // the Cargo.lock line really is the package's [[package]] header
    const lock = readFileSync('fixtures/check/grows/Cargo.lock', 'utf8').split('\n');
    expect(lock[13]).toBe('[[package]]');
    expect(lock[14]).toBe('name = "fetcher"');
  });

  it('clean check: valid, no results; unused entries are notes (errors with --strict) at the Cargo.toml line', async () => {
    const clean = expectValid((await runCheck({ ...common('fixtures/check/clean/Cargo.toml'), strict: false, denyIndicators: false, denyUnscanned: false })).text);
    expect(clean['runs'][0].results).toEqual([]);
    const strict = expectValid((await runCheck({ ...common('fixtures/check/unused/Cargo.toml'), strict: true, denyIndicators: false, denyUnscanned: false })).text);
    expect(
      strict['runs'][0].results.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.artifactLocation.uri, r.locations[0].physicalLocation.region.startLine, r.message.text]),
    ).toEqual([
      ['policy.unused-entry', 'error', 'Cargo.toml', 7, 'Allowlist entry "gone" matches no crate of the workspace; it can be tightened.'],
      ['policy.unused-entry', 'error', 'Cargo.toml', 6, 'Allowlist entry "quickparse" allows what no matching crate uses: fs; it can be tightened.'],
    ]);
  });

  it('diff on a fixture: valid, one warning per added capability kind', async () => {
    const out = await runDiff({ ...common('fixtures/diff/ws/Cargo.toml'), base: 'fixtures/diff/ws/old.Cargo.lock', failOnGrowth: false });
    const doc = expectValid(out.text);
    expect(doc['runs'][0].results.map((r: any) => `${r.level} ${r.ruleId} ${r.properties.crate}@${r.properties.version} line ${r.locations[0].physicalLocation.region.startLine}`)).toEqual([
      'warning env.read buildy@0.1.0 line 14',
      'warning build-script buildy@0.1.0 line 14',
      'warning env.read buildy@0.1.0 line 14',
      'warning env.write buildy@0.1.0 line 14',
      'warning net.connect fetcher@1.1.0 line 20',
    ]);
  });

  it('hand-built scan, check with urls/indicators/new crates: valid; special characters are URI-encoded', () => {
    const weird = finding('unsafe', 'unsafe.block', 'runtime', 'src/a b#c.rs', 1, 'unsafe block');
    const res = result([
      crate('w', '1.0.0', [weird], {
        urls: ['https://evil.example/x'],
        indicators: [{ id: 'secret', file: 'src/k.rs', line: 4, detail: 'AWS key' }],
      }),
    ]);
    const proj = project('/tmp/ws space', [pkg('w', '1.0.0', { lockLine: 7, dir: '/tmp/vendor/w-1.0.0' })]);
    const policy = parsePolicy('[workspace]\n[workspace.metadata.cap-scan.allow]\nw = { runtime = ["fs"], urls = ["https://ok.example/*"] }\n', '/tmp/ws space/Cargo.toml');
    const v = evaluatePolicy(policy, res, proj, { denyIndicators: true, denyUnscanned: false });
    const input = { command: 'check' as const, result: res, project: proj, violations: v, verbose: false, color: false, workspaceRoot: '/tmp/ws space' };
    const doc = expectValid(render('sarif', input));
    const results = doc['runs'][0].results;
    expect(results.map((r: any) => r.ruleId)).toEqual(['unsafe.block', 'url', 'indicator.secret', 'policy.unused-entry']);
    expect(results[0].relatedLocations[0].physicalLocation.artifactLocation.uri).toBe('file:///tmp/vendor/w-1.0.0/src/a%20b%23c.rs');
    expect(doc['runs'][0].originalUriBaseIds.WORKSPACE.uri).toBe('file:///tmp/ws%20space/');
    expectValid(render('sarif', { ...input, command: 'scan' }));
    expectValid(render('sarif', { ...input, command: 'diff', diff: diffScans('x', result([]), res) }));
    expectValid(render('sarif', { ...input, project: null, workspaceRoot: null }));
  });

  it('unscanned crates: a warning each, an error with deny-unscanned; valid either way', () => {
    const res = result([], [{ name: 'gone', version: '2.0.0', reason: 'not in the vendor directory' }]);
    const proj = project('/tmp/ws', [pkg('gone', '2.0.0', { lockLine: 9 })]);
    for (const [text, level, ok] of [
      ['', 'warning', true],
      ['deny-unscanned = true\n', 'error', false],
    ] as const) {
      const policy = parsePolicy(`[workspace]\n[workspace.metadata.cap-scan]\n${text}`, '/tmp/ws/Cargo.toml');
      const v = evaluatePolicy(policy, res, proj);
      expect(v.ok).toBe(ok);
      const doc = expectValid(render('sarif', { command: 'check', result: res, project: proj, violations: v, verbose: false, color: false, workspaceRoot: '/tmp/ws' }));
      const run = doc['runs'][0];
      expect(run.results.map((r: any) => [r.ruleId, r.level, run.tool.driver.rules[r.ruleIndex].id, r.locations[0].physicalLocation.region.startLine, r.message.text])).toEqual([
        ['crate.unscanned', level, 'crate.unscanned', 9, 'gone 2.0.0 was not scanned: not in the vendor directory.'],
      ]);
    }
  });
});
