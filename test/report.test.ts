import { describe, expect, it } from 'vitest';
import { diffScans } from '../src/diff/scan-diff.js';
import { evaluatePolicy, parsePolicy } from '../src/policy/allowlist.js';
import { getReporter, render, renderWith, reporters, type Reporter, type ScanReport } from '../src/report/index.js';
import { escapeData, escapeProperty } from '../src/report/github.js';
import { UserError } from '../src/types.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

const net = finding('net', 'net.connect', 'runtime', 'src/lib.rs', 10, 'std::net::TcpStream::connect', 'std-net-connect');
const fsRead = finding('fs', 'fs.read', 'runtime', 'src/io.rs', 3, 'std::fs::read', 'std-fs-read');
const envB = finding('env', 'env.read', 'build', 'build.rs', 2, 'std::env::var', 'std-env-read');
const bs = finding('build-script', 'build-script', 'build', 'build.rs', 1, 'build script build.rs', 'build-script');

const scanRes = result(
  [
    crate('alpha', '1.0.0', [fsRead, net]),
    crate('beta-long-name', '0.10.2', [bs, envB], {
      buildScript: 'build.rs',
      indicators: [{ id: 'typosquat', file: 'Cargo.toml', line: 2, detail: 'one edit from "beta-lang-name"' }],
    }),
    crate('gamma', '2.0.0', []),
  ],
  [{ name: 'delta', version: '0.1.0', reason: 'source not found' }],
);
const proj = project('/ws', [
  pkg('alpha', '1.0.0', { lockLine: 5 }),
  pkg('beta-long-name', '0.10.2', { lockLine: 11 }),
  pkg('gamma', '2.0.0', { lockLine: 17 }),
]);
const base = (over: Partial<ScanReport> = {}): ScanReport => ({
  command: 'scan',
  result: scanRes,
  project: proj,
  verbose: false,
  color: false,
  workspaceRoot: '/ws',
  ...over,
});

describe('getReporter', () => {
  it('knows the five formats and rejects others with the list', () => {
    expect(Object.keys(reporters)).toEqual(['human', 'json', 'sarif', 'markdown', 'github', 'html']);
    expect(getReporter('json')).toBe(reporters['json']);
    expect(() => getReporter('toString')).toThrow(new UserError("unknown format 'toString' (expected one of: human, json, sarif, markdown, github, html)"));
  });
});

describe('render', () => {
  it('calls the method for the kind of report; a report the format does not support is a one-line UserError', () => {
    const partial: Reporter = { scan: (i) => `scan of ${i.result.crates.length}\n`, check: { unsupported: 'it has no place for violations' }, diff: () => 'diff\n' };
    expect(renderWith(partial, 'fake', base())).toBe('scan of 3\n');
    expect(() => renderWith(partial, 'fake', { ...base(), command: 'check', violations: evaluatePolicy(parsePolicy('', 'Cargo.toml'), base().result, proj) })).toThrow(
      new UserError('--format fake cannot report check: it has no place for violations'),
    );
    expect(render('json', base())).toBe(reporters['json']!.scan instanceof Function ? reporters['json']!.scan(base()) : '');
  });
});

describe('json reporter', () => {
  it('writes the foundation schema in contract key order, 2-space indent, trailing newline, byte-identical', () => {
    const a = render('json', base());
    expect(a).toBe(render('json', base()));
    expect(a.endsWith('}\n')).toBe(true);
    expect(a.startsWith('{\n  "schemaVersion": 1,\n  "tool": {\n    "name": "cap-scan",\n    "version": "0.1.0"\n  },\n')).toBe(true);
    const doc = JSON.parse(a) as { crates: Record<string, unknown>[] };
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'tool', 'crates', 'unscanned']);
    expect(Object.keys(doc.crates[0]!)).toEqual([
      'name', 'version', 'source', 'checksum', 'reachedAs', 'procMacro', 'buildScript', 'capabilities', 'phases', 'findings', 'urls', 'hosts', 'indicators', 'unanalyzed',
    ]);
    expect((doc.crates[0]!['findings'] as object[])[0]).toEqual({
      capability: 'fs', kind: 'fs.read', phase: 'runtime', rule: 'std-fs-read', file: 'src/io.rs', line: 3, column: 5, evidence: 'std::fs::read',
    });
    expect(Object.keys((doc.crates[0]!['findings'] as object[])[0]!)).toEqual(['capability', 'kind', 'phase', 'rule', 'file', 'line', 'column', 'evidence']);
  });
});

describe('human reporter', () => {
  it('scan: aligned table, indicators, unscanned and summary; no color codes when piped', () => {
    expect(render('human', base())).toBe(
      [
        'Capabilities, most dangerous first:',
        'net (runtime, 1 crate)',
        '  alpha',
        'fs (runtime, 1 crate)',
        '  alpha',
        'env (build, 1 crate)',
        '  beta-long-name',
        'build-script (build, 1 crate)',
        '  beta-long-name',
        '',
        'alpha 1.0.0            runtime: fs, net  build: -',
        'beta-long-name 0.10.2  runtime: -        build: build-script, env',
        '  ! typosquat  Cargo.toml:2  one edit from "beta-lang-name"',
        'gamma 2.0.0            runtime: -        build: -',
        '',
        'Unscanned (1):',
        '  delta 0.1.0  source not found',
        '',
        '3 crates, 2 with capabilities, 1 unscanned, 1 with indicators',
        '',
      ].join('\n'),
    );
  });

  it('scan -v: evidence lines under each crate', () => {
    const out = render('human', base({ verbose: true, result: result([crate('alpha', '1.0.0', [fsRead, net], { urls: ['https://x.example/a'], hosts: ['x.example'] })]) }));
    expect(out).toBe(
      [
        'Capabilities, most dangerous first:',
        'net (runtime, 1 crate)',
        '  alpha',
        'fs (runtime, 1 crate)',
        '  alpha',
        '',
        'alpha 1.0.0  runtime: fs, net  build: -',
        '  fs.read  src/io.rs:3:5  std::fs::read  [rule std-fs-read]',
        '  net.connect  src/lib.rs:10:5  std::net::TcpStream::connect  [rule std-net-connect]',
        '  url  https://x.example/a',
        '  host  x.example',
        '',
        '1 crate, 1 with capabilities, 0 unscanned',
        '',
      ].join('\n'),
    );
  });

  it('uses ANSI colors only when color is on', () => {
    expect(render('human', base({ color: true }))).toContain('\u001b[');
    expect(render('human', base({ color: false }))).not.toContain('\u001b[');
  });

  it('check: new crates, limited evidence without -v, urls and indicators', () => {
    const many = Array.from({ length: 5 }, (_, i) => finding('net', 'net.connect', 'runtime', 'src/lib.rs', i + 1, 'std::net::TcpStream::connect'));
    const res = result([crate('n', '1.0.0', many), crate('w', '1.0.0', [], { urls: ['https://evil.example/x'] })]);
    const policy = parsePolicy('[workspace]\n[workspace.metadata.cap-scan.allow]\nw = { runtime = ["net"], urls = ["https://ok.example/*"] }\n', '/ws/Cargo.toml');
    const v = evaluatePolicy(policy, res, null);
    expect(render('human', { ...base({ result: res }), command: 'check', violations: v })).toBe(
      [
        '2 crates not allowed by Cargo.toml:',
        '',
        'n 1.0.0  new: no allow entry',
        '  net.connect (runtime)',
        '    src/lib.rs:1:5  std::net::TcpStream::connect  [rule r-net.connect]',
        '    src/lib.rs:2:5  std::net::TcpStream::connect  [rule r-net.connect]',
        '    src/lib.rs:3:5  std::net::TcpStream::connect  [rule r-net.connect]',
        '    … and 2 more (-v shows all)',
        '',
        'w 1.0.0  allow entry "w"',
        '  url https://evil.example/x  not matched by urls',
        '',
        'Can be tightened:',
        '  Cargo.toml:3  w: runtime net not used',
        '',
        'FAILED: 2 crates checked, 2 not allowed (1 new), 1 unused entry',
        '',
      ].join('\n'),
    );
  });
});

describe('markdown reporter', () => {
  it('diff: PR-comment table with version change, +/- capabilities and docs.rs evidence links', () => {
    const oldR = result([crate('alpha', '0.9.0', [fsRead, envB]), crate('gone', '1.0.0', [net])]);
    const newR = result([crate('alpha', '1.0.0', [fsRead, net]), crate('pipe|name', '0.1.0', [])]);
    const d = diffScans('main', oldR, newR);
    expect(render('markdown', { ...base({ result: newR }), command: 'diff', diff: d })).toBe(
      [
        '### cap-scan: dependency capability changes since `main`',
        '',
        '| Crate | Version | + Capabilities | − Capabilities | Evidence |',
        '| --- | --- | --- | --- | --- |',
        '| alpha | 0.9.0 → 1.0.0 | net (runtime) | env (build) | net.connect: [src/lib.rs:10](https://docs.rs/crate/alpha/1.0.0/source/src/lib.rs#10) `std::net::TcpStream::connect` |',
        '| gone | removed 1.0.0 |  | net (runtime) |  |',
        '| pipe\\|name | added 0.1.0 |  |  |  |',
        '',
        '3 changed, 1 gained capabilities.',
        '',
      ].join('\n'),
    );
  });

  it('scan: a table of crates and their capabilities', () => {
    expect(render('markdown', base())).toBe(
      [
        '### cap-scan: dependency capabilities',
        '',
        '| Crate | Version | Runtime | Build | Indicators |',
        '| --- | --- | --- | --- | --- |',
        '| alpha | 1.0.0 | fs, net | - |  |',
        '| beta-long-name | 0.10.2 | - | build-script, env | typosquat (Cargo.toml:2) |',
        '| gamma | 2.0.0 | - | - |  |',
        '',
        '**Unscanned:** delta 0.1.0 (source not found)',
        '',
      ].join('\n'),
    );
  });
});

describe('github reporter', () => {
  it('escapes data and properties as workflow commands require', () => {
    expect(escapeData('50% a\r\nb')).toBe('50%25 a%0D%0Ab');
    expect(escapeProperty('a:b,c%')).toBe('a%3Ab%2Cc%25');
  });

  it('check: one ::error per violation at the Cargo.lock line; indicators and unused entries as warnings', () => {
    const policy = parsePolicy('[workspace]\n[workspace.metadata.cap-scan.allow]\nalpha = ["fs", "env"]\n', '/ws/Cargo.toml');
    const v = evaluatePolicy(policy, result([crate('alpha', '1.0.0', [fsRead, net])]), proj);
    expect(render('github', { ...base(), command: 'check', violations: v })).toBe(
      [
        '::error file=Cargo.lock,line=5,title=cap-scan%3A alpha 1.0.0::net.connect (runtime) is not allowed%0Asrc/lib.rs:10:5 std::net::TcpStream::connect',
        // not denied: an indicator is a warning, not an error
        '::warning file=Cargo.lock,line=11,title=cap-scan%3A beta-long-name 0.10.2::indicator typosquat at Cargo.toml:2: one edit from "beta-lang-name"',
        '::warning file=Cargo.toml,line=3,title=cap-scan%3A allow entry alpha::can be tightened: env not used',
        '::warning file=Cargo.lock,title=cap-scan%3A delta 0.1.0::not scanned: source not found',
        '',
      ].join('\n'),
    );
  });

  it('check with deny-indicators: the indicator is an error and not also a warning', () => {
    const policy = parsePolicy('[workspace]\n[workspace.metadata.cap-scan]\ndeny-indicators = true\n[workspace.metadata.cap-scan.allow]\nalpha = ["fs", "net"]\n', '/ws/Cargo.toml');
    const v = evaluatePolicy(policy, base().result, proj);
    const out = render('github', { ...base(), command: 'check', violations: v });
    expect(out.split('\n').filter((l) => l.includes('indicator'))).toEqual([
      '::error file=Cargo.lock,line=11,title=cap-scan%3A beta-long-name 0.10.2 (new crate)::indicator typosquat at Cargo.toml:2: one edit from "beta-lang-name"',
    ]);
  });

  it('scan: a notice per crate with capabilities', () => {
    expect(render('github', base())).toBe(
      [
        '::notice file=Cargo.lock,line=5,title=cap-scan%3A alpha 1.0.0::runtime: fs, net; build: -',
        '::notice file=Cargo.lock,line=11,title=cap-scan%3A beta-long-name 0.10.2::runtime: -; build: build-script, env',
        '::warning file=Cargo.lock,line=11,title=cap-scan%3A beta-long-name 0.10.2::indicator typosquat at Cargo.toml:2: one edit from "beta-lang-name"',
        '',
      ].join('\n'),
    );
  });
});

describe('human scan: per-capability summary (issue 16, item 1)', () => {
  const sh = finding('process', 'process.spawn', 'runtime', 'src/run.rs', 4, 'std::process::Command::new', 'std-process-spawn');
  const uns = finding('unsafe', 'unsafe.block', 'runtime', 'src/lib.rs', 1, 'unsafe block', 'unsafe-block');
  const many = Array.from({ length: 9 }, (_, i) => crate(`unsafe-crate-number-${i}`, '1.0.0', [uns]));
  const res = result([crate('dup', '1.0.0', [net]), crate('dup', '2.0.0', [net, uns]), crate('runner', '0.1.0', [sh]), ...many]);
  const input = (color: boolean) => base({ result: res, project: null, workspaceRoot: null, color });

  it('most dangerous first, per phase; wrapped at 80 columns; versions only where a name repeats', () => {
    const out = render('human', input(false)).split('\n');
    expect(out.slice(0, 14)).toEqual([
      'Capabilities, most dangerous first:',
      'process (runtime, 1 crate)',
      '  runner',
      'net (runtime, 2 crates)',
      '  dup@1.0.0, dup@2.0.0',
      'unsafe (runtime, 10 crates)',
      '  dup@2.0.0, unsafe-crate-number-0, unsafe-crate-number-1,',
      '  unsafe-crate-number-2, unsafe-crate-number-3, unsafe-crate-number-4,',
      '  unsafe-crate-number-5, unsafe-crate-number-6, unsafe-crate-number-7,',
      '  unsafe-crate-number-8',
      '',
      'dup 1.0.0                    runtime: net          build: -',
      'dup 2.0.0                    runtime: net, unsafe  build: -',
      'runner 0.1.0                 runtime: process      build: -',
    ]);
    expect(Math.max(...out.map((l) => l.length))).toBeLessThanOrEqual(80);
  });

  it('colour by capability family; a crate whose only capability is unsafe is dim', () => {
    const out = render('human', input(true)).split('\n');
    expect(out[1]).toBe('\u001b[31m\u001b[1mprocess\u001b[22m\u001b[39m \u001b[2m(runtime, 1 crate)\u001b[22m');
    expect(out[3]).toBe('\u001b[35m\u001b[1mnet\u001b[22m\u001b[39m \u001b[2m(runtime, 2 crates)\u001b[22m');
    const row = out.find((l) => l.includes('unsafe-crate-number-0 1.0.0'))!;
    expect(row).toBe('\u001b[2munsafe-crate-number-0 1.0.0\u001b[22m  \u001b[2mruntime: unsafe\u001b[22m       \u001b[2mbuild: -\u001b[22m');
    const runner = out.find((l) => l.includes('runner') && l.includes('runtime:'))!;
    expect(runner).toContain('runtime: \u001b[31m\u001b[1mprocess\u001b[22m\u001b[39m');
  });
});
