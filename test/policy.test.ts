import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { entryFor, evaluatePolicy, parsePolicy, urlAllowed } from '../src/policy/allowlist.js';
import { UserError } from '../src/types.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

const ws = (allow: string, extra = '') => `[workspace]\nmembers = ["app"]\n\n[workspace.metadata.cap-scan]\n${extra}\n[workspace.metadata.cap-scan.allow]\n${allow}\n`;

describe('parsePolicy', () => {
  it('reads plain lists, phase tables, urls and semver-scoped keys', () => {
    const p = parsePolicy(
      ws(
        [
          'tokio = ["net", "fs", "net"]',
          'openssl-sys = { runtime = ["ffi"], build = ["env", "build-script"] }',
          'reqwest = { runtime = ["net"], urls = ["https://api.example.com/*"] }',
          '"memchr@2" = ["unsafe.block"]',
        ].join('\n'),
        'deny-indicators = true\ntyposquat-exceptions = ["serde_jsonn"]\n',
      ),
      'Cargo.toml',
    );
    expect(p.section).toBe('workspace');
    expect(p.present).toBe(true);
    expect(p.denyIndicators).toBe(true);
    expect(p.typosquatExceptions).toEqual(['serde_jsonn']);
    expect(p.entries).toEqual([
      { key: 'memchr@2', name: 'memchr', req: '2', runtime: ['unsafe.block'], build: ['unsafe.block'], plain: true, urls: null, indicators: [], line: 12 },
      { key: 'openssl-sys', name: 'openssl-sys', req: null, runtime: ['ffi'], build: ['build-script', 'env'], plain: false, urls: null, indicators: [], line: 10 },
      { key: 'reqwest', name: 'reqwest', req: null, runtime: ['net'], build: [], plain: false, urls: ['https://api.example.com/*'], indicators: [], line: 11 },
      { key: 'tokio', name: 'tokio', req: null, runtime: ['fs', 'net'], build: ['fs', 'net'], plain: true, urls: null, indicators: [], line: 9 },
    ]);
  });

  it('uses [package.metadata.cap-scan] for a single package and defaults to an empty policy', () => {
    const p = parsePolicy('[package]\nname = "x"\nversion = "0.1.0"\n[package.metadata.cap-scan.allow]\nlibc = ["ffi"]\n', 'Cargo.toml');
    expect(p.section).toBe('package');
    expect(p.entries.map((e) => e.key)).toEqual(['libc']);
    const none = parsePolicy('[workspace]\nmembers = []\n', 'Cargo.toml');
    expect(none).toEqual({ path: 'Cargo.toml', section: 'workspace', present: false, entries: [], denyIndicators: false, denyUnscanned: false, typosquatExceptions: [] });
  });

  it.each([
    [ws('tokio = ["fs"]', 'colour = "red"'), "Cargo.toml:5: unknown key 'colour' in [workspace.metadata.cap-scan] (expected one of: allow, deny-indicators, deny-unscanned, remote-cache, targets, typosquat-exceptions)"],
    [ws('x = []', 'remote-cache = 1'), "Cargo.toml:5: 'remote-cache' must be a URL string"],
    [ws('x = []', 'remote-cache = "ftp://cache.example/c"'), 'Cargo.toml:5: remote-cache: only http:// and https:// remote caches are supported, got ftp://'],
    [ws('tokio = ["fs", "network"]'), "Cargo.toml:7: unknown capability 'network' in 'tokio' (capabilities: fs, net, process, env, ffi, unsafe, link, build-script, proc-macro; or a kind such as fs.read)"],
    [ws('tokio = { runtime = ["fs.readd"] }'), "Cargo.toml:7: unknown capability 'fs.readd' in 'tokio.runtime' (capabilities: fs, net, process, env, ffi, unsafe, link, build-script, proc-macro; or a kind such as fs.read)"],
    [ws('tokio = { runtime = ["fs"], test = ["fs"] }'), "Cargo.toml:7: unknown key 'test' in allow entry 'tokio' (expected runtime, build, urls, indicators)"],
    [ws('tokio = "fs"'), "Cargo.toml:7: allow entry 'tokio' must be a list of capabilities or a table { runtime = [...], build = [...], urls = [...], indicators = [...] }"],
    [ws('openssl-sys = { runtime = ["ffi"], indicators = ["Native Code"] }'), "Cargo.toml:7: invalid indicator id 'Native Code' in 'openssl-sys.indicators' (ids such as native-code, obfuscation, secrets, typosquat, bidi)"],
    [ws('openssl-sys = { indicators = "native-code" }'), "Cargo.toml:7: 'openssl-sys.indicators' must be a list of strings"],
    [ws('x = []', 'deny-indicators = "yes"'), "Cargo.toml:5: 'deny-indicators' must be true or false"],
    [ws('x = []', 'deny-unscanned = 1'), "Cargo.toml:5: 'deny-unscanned' must be true or false"],
    [ws('[workspace.metadata.cap-scan.allow.tokio]\nruntime = ["fs"]\nbuild = "env"'), "Cargo.toml:9: 'tokio.build' must be a list of strings"],
    [ws('x = ["fs"]\n"bad name!" = ["fs"]'), "Cargo.toml:8: invalid crate name in allow key 'bad name!'"],
    [ws('x = [\n"fs"'), 'Cargo.toml:9: invalid TOML: Invalid character, expected whitespace, comma (,) or close bracket (])'],
  ])('rejects malformed policy %#', (text, message) => {
    expect(() => parsePolicy(text, 'Cargo.toml')).toThrow(new UserError(message));
  });

  it('rejects bad semver with the line of the entry (fixture)', () => {
    const path = 'fixtures/policy/malformed/Cargo.toml';
    const text = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
    expect(() => parsePolicy(text, path)).toThrow(
      new UserError("fixtures/policy/malformed/Cargo.toml:6: invalid semver requirement 'not-a-version' in allow key 'memchr@not-a-version'"),
    );
  });

  it('rejects a policy in both sections', () => {
    const text = '[workspace]\n[workspace.metadata.cap-scan]\n[package]\nname="a"\nversion="0.1.0"\n[package.metadata.cap-scan]\n';
    expect(() => parsePolicy(text, 'Cargo.toml')).toThrow(
      'Cargo.toml:6: cap-scan policy is defined in both [workspace.metadata.cap-scan] and [package.metadata.cap-scan]; keep one',
    );
  });
});

describe('entryFor', () => {
  const p = parsePolicy(ws('memchr = ["unsafe"]\n"memchr@2" = ["unsafe.block"]\n"memchr@2.7" = ["unsafe.fn"]\n"memchr@>=2.0.0" = ["ffi"]'), 'Cargo.toml');
  it('prefers scoped entries, then the highest minimum version, then the first written', () => {
    expect(entryFor(p, 'memchr', '1.0.0')?.key).toBe('memchr');
    expect(entryFor(p, 'memchr', '2.7.1')?.key).toBe('memchr@2.7');
    expect(entryFor(p, 'memchr', '2.6.0')?.key).toBe('memchr@2');
    expect(entryFor(p, 'memchr', '3.0.0')?.key).toBe('memchr@>=2.0.0');
    expect(entryFor(p, 'other', '1.0.0')).toBeNull();
  });
});

describe('urlAllowed', () => {
  it('matches URL globs, host patterns and hosts of URL patterns', () => {
    const pats = ['https://api.example.com/*', '*.cdn.example.org'];
    expect(urlAllowed('https://api.example.com/v1/x', 'url', pats)).toBe(true);
    expect(urlAllowed('http://api.example.com/v1/x', 'url', pats)).toBe(false);
    expect(urlAllowed('https://a.cdn.example.org/f', 'url', pats)).toBe(true);
    expect(urlAllowed('api.example.com', 'host', pats)).toBe(true);
    expect(urlAllowed('b.cdn.example.org', 'host', pats)).toBe(true);
    expect(urlAllowed('evil.com', 'host', pats)).toBe(false);
  });

  it('an IPv6 host matches with or without brackets, as the scan reports it (no brackets)', () => {
    // the scan's hosts and the host of a crate's URL are bracket-free (hostOfUrl); patterns may be written either way
    expect(urlAllowed('http://[::1]:8080/x', 'url', ['::1'])).toBe(true);
    expect(urlAllowed('http://[::1]:8080/x', 'url', ['[::1]'])).toBe(true);
    expect(urlAllowed('::1', 'host', ['[::1]'])).toBe(true);
    expect(urlAllowed('::1', 'host', ['http://[::1]:8080/*'])).toBe(true);
    expect(urlAllowed('http://[::2]:8080/x', 'url', ['::1'])).toBe(false);
    expect(urlAllowed('::2', 'host', ['http://[::1]/*'])).toBe(false);
  });

  it('an allow entry with urls = ["::1"] allows the crate that contains http://[::1]:8080/x and its host', () => {
    const p = parsePolicy(ws('a = { runtime = ["net"], urls = ["::1"] }'), 'Cargo.toml');
    const net = finding('net', 'net.connect', 'runtime', 'src/lib.rs', 10, 'std::net::TcpStream::connect');
    const v = evaluatePolicy(p, result([crate('a', '1.0.0', [net], { urls: ['http://[::1]:8080/x'], hosts: ['::1'] })]), null);
    expect(v.crates).toEqual([]);
    expect(v.ok).toBe(true);
  });
});

describe('evaluatePolicy', () => {
  const net = finding('net', 'net.connect', 'runtime', 'src/lib.rs', 10, 'std::net::TcpStream::connect');
  const fsRead = finding('fs', 'fs.read', 'runtime', 'src/io.rs', 3, 'std::fs::read');
  const envBuild = finding('env', 'env.read', 'build', 'build.rs', 2, 'std::env::var');
  const envRun = finding('env', 'env.read', 'runtime', 'src/cfg.rs', 7, 'std::env::var');

  it('is clean when everything is allowed', () => {
    const p = parsePolicy(ws('a = ["net", "fs.read"]\nb = { build = ["env"] }'), 'Cargo.toml');
    const v = evaluatePolicy(p, result([crate('a', '1.0.0', [net, fsRead]), crate('b', '0.1.0', [envBuild]), crate('c', '1.0.0', [])]), null);
    expect(v).toEqual({ policy: 'Cargo.toml', strict: false, denyIndicators: false, denyUnscanned: false, ok: true, crates: [], unused: [], skipped: [] });
  });

  it('reports capabilities, phases, new crates, URLs, and ignores workspace members', () => {
    const p = parsePolicy(ws('a = ["fs.write"]\nb = { build = ["env"], urls = ["https://ok.example/*"] }'), 'Cargo.toml');
    const res = result([
      crate('a', '1.0.0', [net, fsRead]),
      crate('app', '0.1.0', [net], { source: null }),
      crate('b', '0.1.0', [envBuild, envRun], { urls: ['https://ok.example/x', 'https://evil.example/y'], hosts: ['evil.example'] }),
      crate('n', '2.0.0', [net]),
    ]);
    const v = evaluatePolicy(p, res, project('/w', [pkg('app', '0.1.0', { member: true })]));
    expect(v.ok).toBe(false);
    expect(v.crates).toEqual([
      {
        name: 'a', version: '1.0.0', source: res.crates[0]!.source, entry: 'a', new: false,
        disallowed: [
          { capability: 'fs', kind: 'fs.read', phase: 'runtime', findings: [fsRead], allowedInOtherPhase: false },
          { capability: 'net', kind: 'net.connect', phase: 'runtime', findings: [net], allowedInOtherPhase: false },
        ],
        urls: [], indicators: [],
      },
      {
        name: 'b', version: '0.1.0', source: res.crates[0]!.source, entry: 'b', new: false,
        disallowed: [{ capability: 'env', kind: 'env.read', phase: 'runtime', findings: [envRun], allowedInOtherPhase: true }],
        urls: [{ type: 'url', value: 'https://evil.example/y' }, { type: 'host', value: 'evil.example' }],
        indicators: [],
      },
      {
        name: 'n', version: '2.0.0', source: res.crates[0]!.source, entry: null, new: true,
        disallowed: [{ capability: 'net', kind: 'net.connect', phase: 'runtime', findings: [net], allowedInOtherPhase: false }],
        urls: [], indicators: [],
      },
    ]);
    expect(v.unused).toEqual([{ entry: 'a', line: 7, reason: 'unused-capabilities', runtime: [], build: [], all: ['fs.write'] }]);
  });

  it('lists capabilities reported without findings (crate-level)', () => {
    const c = crate('cc', '1.0.0', []);
    c.phases.build = ['build-script'];
    c.capabilities = ['build-script'];
    const v = evaluatePolicy(parsePolicy(ws(''), 'Cargo.toml'), result([c]), null);
    expect(v.crates[0]!.disallowed).toEqual([{ capability: 'build-script', kind: 'build-script', phase: 'build', findings: [], allowedInOtherPhase: false }]);
    expect(v.crates[0]!.new).toBe(true);
  });

  it('strict: unused entries fail; entries for unscanned crates are not unused', () => {
    const p = parsePolicy(ws('a = { runtime = ["net", "env"], build = ["fs"] }\ngone = ["fs"]\nlost = ["net"]'), 'Cargo.toml');
    const res = result([crate('a', '1.0.0', [net])], [{ name: 'lost', version: '1.0.0', reason: 'source not found' }]);
    const loose = evaluatePolicy(p, res, null);
    expect(loose.ok).toBe(true);
    const v = evaluatePolicy(p, res, null, { strict: true });
    expect(v.ok).toBe(false);
    expect(v.unused).toEqual([
      { entry: 'a', line: 7, reason: 'unused-capabilities', runtime: ['env'], build: ['fs'], all: [] },
      { entry: 'gone', line: 8, reason: 'matches-no-crate', runtime: [], build: [], all: [] },
    ]);
  });

  it('deny-indicators lists indicators, minus typosquat exceptions', () => {
    const ind = [
      { id: 'typosquat', file: 'Cargo.toml', line: 1, detail: 'one edit from serde' },
      { id: 'secret', file: 'src/lib.rs', line: 4, detail: 'AWS key' },
    ];
    const res = result([crate('serdee', '1.0.0', [], { indicators: ind })]);
    const p = parsePolicy(ws('', 'typosquat-exceptions = ["serdee"]'), 'Cargo.toml');
    expect(evaluatePolicy(p, res, null).ok).toBe(true);
    const v = evaluatePolicy(p, res, null, { denyIndicators: true });
    expect(v.crates.map((c) => c.indicators)).toEqual([[ind[1]]]);
  });
});
