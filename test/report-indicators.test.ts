// Indicators in every format of `scan` and `diff` (issue 16, item 4).
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { runScan } from '../src/commands/scan.js';
import { diffScans } from '../src/diff/scan-diff.js';
import { defaultScanOptions } from '../src/options.js';
import { render } from '../src/report/index.js';
import type { Indicator } from '../src/types.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(new URL('./schemas/sarif-schema-2.1.0.json', import.meta.url), 'utf8')) as object);
function valid(text: string): Record<string, any> {
  const doc = JSON.parse(text) as Record<string, any>;
  if (!validate(doc)) throw new Error(ajv.errorsText(validate.errors));
  return doc;
}

const typo: Indicator = { id: 'typosquat', file: 'Cargo.toml', line: 3, detail: "name 'serde_jsn' is 1 edit from the popular crate 'serde_json'" };
const secret: Indicator = { id: 'secrets', file: 'src/lib.rs', line: 7, detail: 'AWS access key id' };
const obf: Indicator = { id: 'obfuscation', file: 'build.rs', line: 4, detail: 'base64 decodes to url' };

function diffInput() {
  const oldRes = result([crate('serde_jsn', '1.0.0', [], { indicators: [typo, obf] }), crate('quiet', '1.0.0', [])]);
  // the typosquat stays (its line moved), obfuscation went away, a secret arrived; quiet gained one too
  const newRes = result([
    crate('serde_jsn', '1.0.1', [finding('fs', 'fs.read', 'runtime', 'src/lib.rs', 2, 'std::fs::read')], { indicators: [{ ...typo, line: 4 }, secret] }),
    crate('quiet', '1.0.0', []),
  ]);
  const diff = diffScans('old.lock', oldRes, newRes);
  const proj = project('/ws', [pkg('serde_jsn', '1.0.1', { lockLine: 12 }), pkg('quiet', '1.0.0', { lockLine: 5 })]);
  return { command: 'diff' as const, result: newRes, project: proj, diff, verbose: false, color: false, workspaceRoot: '/ws' };
}

describe('diff: indicators a change adds or removes', () => {
  it('the model: added and removed per package, matched by id, file and detail; a new indicator is growth', () => {
    const { diff } = diffInput();
    expect(diff.packages.map((p) => [p.name, p.indicators.added.map((i) => i.id), p.indicators.removed.map((i) => i.id)])).toEqual([['serde_jsn', ['secrets'], ['obfuscation']]]);
    const noCaps = diffScans('b', result([crate('a', '1.0.0', [])]), result([crate('a', '1.0.1', [], { indicators: [secret] })]));
    expect(noCaps.growth).toBe(true);
    const lost = diffScans('b', result([crate('a', '1.0.0', [], { indicators: [secret] })]), result([crate('a', '1.0.1', [])]));
    expect(lost.growth).toBe(false);
  });

  it('human', () => {
    expect(render('human', diffInput())).toBe(
      [
        'Capability changes against old.lock:',
        '',
        'serde_jsn 1.0.0 -> 1.0.1',
        '  + fs (runtime)',
        '      fs.read  src/lib.rs:2:5  std::fs::read  [rule r-fs.read]',
        '  + ! secrets  src/lib.rs:7  AWS access key id',
        '  - ! obfuscation  build.rs:4  base64 decodes to url',
        '',
        '1 package changed, 1 gained capabilities, 0 lost capabilities, 1 gained indicators, 1 lost indicators',
        '',
      ].join('\n'),
    );
  });

  it('markdown', () => {
    expect(render('markdown', diffInput())).toBe(
      [
        '### cap-scan: dependency capability changes since `old.lock`',
        '',
        '| Crate | Version | + Capabilities | − Capabilities | Indicators | Evidence |',
        '| --- | --- | --- | --- | --- | --- |',
        '| serde_jsn | 1.0.0 → 1.0.1 | fs (runtime) |  | + secrets (src/lib.rs:7): AWS access key id<br>− obfuscation (build.rs:4) | fs.read: [src/lib.rs:2](https://docs.rs/crate/serde_jsn/1.0.1/source/src/lib.rs#2) `std::fs::read` |',
        '',
        '1 changed, 1 gained capabilities, 1 gained supply-chain indicators.',
        '',
      ].join('\n'),
    );
  });

  it('github', () => {
    expect(render('github', diffInput())).toBe(
      [
        '::warning file=Cargo.lock,line=12,title=cap-scan%3A serde_jsn 1.0.0 -> 1.0.1::gained fs (runtime)%0Afs.read src/lib.rs:2:5 std::fs::read',
        '::warning file=Cargo.lock,line=12,title=cap-scan%3A serde_jsn 1.0.0 -> 1.0.1::new indicator secrets at src/lib.rs:7: AWS access key id',
        '::notice file=Cargo.lock,line=12,title=cap-scan%3A serde_jsn 1.0.0 -> 1.0.1::indicator obfuscation gone (was at build.rs:4: base64 decodes to url)',
        '',
      ].join('\n'),
    );
  });

  it('sarif: a warning per new indicator, a note per indicator gone; valid SARIF', () => {
    const doc = valid(render('sarif', diffInput()));
    expect(doc['runs'][0].results.map((r: any) => [r.ruleId, r.level, r.message.text])).toEqual([
      ['fs.read', 'warning', 'serde_jsn 1.0.0 -> 1.0.1 gained fs (runtime): it reads files or directories (fs.read). Evidence: src/lib.rs:2:5 std::fs::read.'],
      ['indicator.secrets', 'warning', 'serde_jsn 1.0.1: secrets indicator at src/lib.rs:7: AWS access key id'],
      ['indicator.obfuscation', 'note', 'serde_jsn 1.0.0 -> 1.0.1: the obfuscation indicator at build.rs:4 is gone: base64 decodes to url'],
    ]);
  });

  it('json: indicators.added / indicators.removed per package', () => {
    const doc = JSON.parse(render('json', diffInput()));
    expect(doc.diff.packages[0].indicators).toEqual({
      added: [{ id: 'secrets', file: 'src/lib.rs', line: 7, detail: 'AWS access key id' }],
      removed: [{ id: 'obfuscation', file: 'build.rs', line: 4, detail: 'base64 decodes to url' }],
    });
    expect(doc.diff.growth).toBe(true);
  });
});

describe('scan: every format carries indicators', () => {
  const opts = (format: string) => ({ ...defaultScanOptions({ manifestPath: 'fixtures/demo/Cargo.toml', cache: false, offline: true }), format, verbose: false, color: false });

  it('sarif scan of the demo: the 5 envlogger indicators are warning-level results at its Cargo.lock line (as --format github shows them)', async () => {
    const doc = valid((await runScan(opts('sarif'))).text);
    const ind = doc['runs'][0].results.filter((r: any) => r.ruleId.startsWith('indicator.'));
    expect(ind.map((r: any) => `${r.level} ${r.ruleId} ${r.properties.crate} ${r.locations[0].physicalLocation.artifactLocation.uri}:${r.locations[0].physicalLocation.region.startLine}`)).toEqual([
      'warning indicator.typosquat envlogger Cargo.lock:48',
      'warning indicator.obfuscation envlogger Cargo.lock:48',
      'warning indicator.secrets envlogger Cargo.lock:48',
      'warning indicator.secrets envlogger Cargo.lock:48',
      'warning indicator.secrets envlogger Cargo.lock:48',
    ]);
    const gh = (await runScan(opts('github'))).text.split('\n').filter((l) => l.includes('::indicator') || l.includes('indicator '));
    expect(gh.length).toBe(ind.length);
  });
});
