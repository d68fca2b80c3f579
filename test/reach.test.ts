// Issue 14 item 5: reach through calls (function level). In fixtures/crates/link-ws, util's fetch()
// connects, fetch_via() connects through a private helper (dial), Client::ping() calls inner::ping(),
// which binds a socket; plain-user and renamed-user (`u = { package = "util" }`) call them. The callers'
// own capabilities stay what their code does directly; what they get through the calls is `reaches`.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { scanCrate } from '../src/scan/crate-scan.js';
import { localAnalyzer, ruleIndex, scanWorkspace } from '../src/scan/session.js';
import type { ExportTable } from '../src/link/exports.js';
import { scanJson } from '../src/report/common.js';
import type { ScanResult } from '../src/types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WS = path.join(REPO, 'fixtures', 'crates', 'link-ws');
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-reach-'));
  temps.push(d);
  return d;
}
const crate = (r: ScanResult, name: string) => r.crates.find((c) => c.name === name)!;

describe('reaches (link-ws)', () => {
  it('a call into a dependency function lists what it reaches at the call, with one shortest chain', async () => {
    const { result } = await scanWorkspace(defaultScanOptions({ manifestPath: path.join(WS, 'Cargo.toml'), offline: true, cache: false }));
    expect(crate(result, 'plain-user').reaches).toEqual([
      { capability: 'net', kind: 'net.connect', phase: 'runtime', via: ['util::fetch', 'std::net::TcpStream::connect'], file: 'src/lib.rs', line: 38, column: 5 },
      // two hops: through util's private helper
      { capability: 'net', kind: 'net.connect', phase: 'runtime', via: ['util::fetch_via', 'util::dial', 'std::net::TcpStream::connect'], file: 'src/lib.rs', line: 39, column: 5 },
      // a method of an inherent impl, and util's own dependency (its summary folded into util's)
      { capability: 'net', kind: 'net.listen', phase: 'runtime', via: ['util::Client::ping', 'inner::ping', 'std::net::UdpSocket::bind'], file: 'src/lib.rs', line: 40, column: 5 },
      // inner's function through util's `pub use inner::*` (a name util's table learns from inner's summary)
      { capability: 'net', kind: 'net.listen', phase: 'runtime', via: ['util::ping', 'inner::ping', 'std::net::UdpSocket::bind'], file: 'src/lib.rs', line: 42, column: 5 },
    ]);
    // the renamed dependency: the chain names the real crate
    expect(crate(result, 'renamed-user').reaches).toEqual([
      { capability: 'net', kind: 'net.connect', phase: 'runtime', via: ['util::fetch', 'std::net::TcpStream::connect'], file: 'src/lib.rs', line: 14, column: 5 },
    ]);
    // util's own call into inner is a reach of util's; its direct findings stay in findings
    expect(crate(result, 'util').reaches).toEqual([
      { capability: 'net', kind: 'net.listen', phase: 'runtime', via: ['inner::ping', 'std::net::UdpSocket::bind'], file: 'src/lib.rs', line: 42, column: 9 },
    ]);
    expect(crate(result, 'inner').reaches).toBeUndefined();
    // capabilities stay what the crate's own code does: no net in plain-user or renamed-user
    expect(crate(result, 'plain-user').capabilities).toEqual(['env', 'ffi', 'fs', 'process', 'unsafe']);
    expect(crate(result, 'renamed-user').capabilities).toEqual(['fs', 'process']);
    // the JSON key, after findings
    const json = scanJson(result) as { crates: Record<string, unknown>[] };
    const keys = Object.keys(json.crates.find((c) => c['name'] === 'plain-user')!);
    expect(keys.slice(keys.indexOf('findings'), keys.indexOf('findings') + 2)).toEqual(['findings', 'reaches']);
  });

  it("a dependency whose function no longer reaches anything: its dependents' cache entries are not served", async () => {
    const ws = path.join(tmpDir(), 'link-ws');
    cpSync(WS, ws, { recursive: true });
    const opts = defaultScanOptions({ manifestPath: path.join(ws, 'Cargo.toml'), offline: true, cacheDir: tmpDir() });
    const cold = await scanWorkspace(opts);
    expect(crate(cold.result, 'renamed-user').reaches?.map((r) => r.via[0])).toEqual(['util::fetch']);
    // a new util (new checksum): fetch() is now empty; renamed-user's own code did not change
    const util = path.join(ws, 'vendor', 'util-0.1.0');
    const lib = path.join(util, 'src', 'lib.rs');
    writeFileSync(lib, readFileSync(lib, 'utf8').replace('pub fn fetch() {\n    let _ = std::net::TcpStream::connect("example.com:80");\n}', 'pub fn fetch() {}'));
    const sum = 'e'.repeat(64);
    const old = (JSON.parse(readFileSync(path.join(util, '.cargo-checksum.json'), 'utf8')) as { package: string }).package;
    writeFileSync(path.join(util, '.cargo-checksum.json'), JSON.stringify({ files: {}, package: sum }));
    const lock = path.join(ws, 'Cargo.lock');
    writeFileSync(lock, readFileSync(lock, 'utf8').replace(old, sum));
    const after = await scanWorkspace(opts);
    expect(crate(after.result, 'renamed-user').reaches).toBeUndefined();
    expect(crate(after.result, 'plain-user').reaches?.map((r) => r.via[0])).toEqual(['util::fetch_via', 'util::Client::ping', 'util::ping']);
    // inner alone is served from the cache
    expect(after.stats.cached).toBe(1);
  });

  it("the crate's reach summary travels in its export table: pub functions, names given by use, sorted", async () => {
    const dir = path.join(tmpDir(), 'summary');
    cpSync(path.join(WS, 'vendor', 'util-0.1.0'), dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'src', 'lib.rs'),
      [
        'mod imp {',
        '    pub fn spawn() {',
        '        let _ = std::process::Command::new("sh");',
        '    }',
        '    fn private() {',
        '        let _ = std::fs::remove_file("x");',
        '    }',
        '    pub fn chain() {',
        '        private();',
        '        super::quiet();',
        '    }',
        '}',
        'pub use imp::spawn as run;',
        'pub fn quiet() {}',
        '#[cfg(test)]',
        'mod tests {',
        '    pub fn t() {',
        '        let _ = std::fs::remove_file("y");',
        '    }',
        '}',
        'pub struct S;',
        'impl S {',
        '    fn inner() {',
        '        let _ = std::env::var("X");',
        '    }',
        '    pub fn outer() {',
        '        Self::inner();',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
    const scan = await scanCrate({ name: 'summary', dir, manifest: null, libPhase: 'runtime', externs: new Map(), allTargets: false }, ruleIndex(), localAnalyzer(ruleIndex()));
    expect(scan.exports!.reach).toEqual([
      // `Self::inner()` in a method: the impl's type's function
      ['S::outer', [{ capability: 'env', kind: 'env.read', via: ['summary::S::inner', 'std::env::var'] }]],
      ['imp::chain', [{ capability: 'fs', kind: 'fs.delete', via: ['summary::imp::private', 'std::fs::remove_file'] }]],
      ['imp::spawn', [{ capability: 'process', kind: 'process.spawn', via: ['std::process::Command::new'] }]],
      ['run', [{ capability: 'process', kind: 'process.spawn', via: ['std::process::Command::new'] }]],
    ]);
    // no dependency: nothing reached through calls
    expect(scan.reaches).toBeUndefined();
  });

  it('a dependency given by table: the call site gets the entry, a direct finding at the same site is not repeated', async () => {
    const table: ExportTable = {
      format: 1,
      crate: 'dep',
      modules: [],
      foreignFns: [],
      deps: [],
      reach: [
        ['go', [{ capability: 'net', kind: 'net.connect', via: ['std::net::TcpStream::connect'] }]],
        ['spawn', [{ capability: 'process', kind: 'process.spawn', via: ['std::process::Command::new'] }]],
      ],
    };
    const dir = path.join(tmpDir(), 'caller');
    cpSync(path.join(WS, 'vendor', 'util-0.1.0'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'src', 'lib.rs'), 'pub fn a() {\n    d::go();\n    let f = d::spawn;\n    f();\n}\n');
    const scan = await scanCrate(
      { name: 'caller', dir, manifest: null, libPhase: 'build', externs: new Map([['d', 'dep']]), allTargets: false, depExports: new Map([['d', table]]) },
      ruleIndex(),
      localAnalyzer(ruleIndex()),
    );
    expect(scan.reaches).toEqual([
      // the phase is the caller's (a build dependency's library: build)
      { capability: 'net', kind: 'net.connect', phase: 'build', via: ['dep::go', 'std::net::TcpStream::connect'], file: 'src/lib.rs', line: 2, column: 5 },
      // named without a call (a function value): still reached
      { capability: 'process', kind: 'process.spawn', phase: 'build', via: ['dep::spawn', 'std::process::Command::new'], file: 'src/lib.rs', line: 3, column: 13 },
    ]);
    // and caller's own summary folds dep's in: its dependents reach net through caller::a
    expect(scan.exports!.reach).toEqual([
      [
        'a',
        [
          { capability: 'net', kind: 'net.connect', via: ['dep::go', 'std::net::TcpStream::connect'] },
          { capability: 'process', kind: 'process.spawn', via: ['dep::spawn', 'std::process::Command::new'] },
        ],
      ],
    ]);
  });

  it('a chain of 20,000 functions: linear, the chain bounded to 8 names with its last step kept', async () => {
    const dir = path.join(tmpDir(), 'chain');
    cpSync(path.join(WS, 'vendor', 'util-0.1.0'), dir, { recursive: true });
    const n = 20_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`pub fn f${i}() { f${i + 1}(); }`);
    lines.push(`pub fn f${n}() { let _ = std::net::TcpStream::connect("a:1"); }`, '');
    writeFileSync(path.join(dir, 'src', 'lib.rs'), lines.join('\n'));
    const t0 = Date.now();
    const scan = await scanCrate({ name: 'chain', dir, manifest: null, libPhase: 'runtime', externs: new Map(), allTargets: false }, ruleIndex(), localAnalyzer(ruleIndex()));
    const ms = Date.now() - t0;
    const reach = new Map(scan.exports!.reach);
    expect(reach.size).toBe(n + 1);
    expect(reach.get('f0')).toEqual([{ capability: 'net', kind: 'net.connect', via: ['chain::f1', 'chain::f2', 'chain::f3', 'chain::f4', 'chain::f5', 'chain::f6', '…', 'std::net::TcpStream::connect'] }]);
    expect(reach.get(`f${n - 1}`)).toEqual([{ capability: 'net', kind: 'net.connect', via: [`chain::f${n}`, 'std::net::TcpStream::connect'] }]);
    // (the whole crate scan, parse included, on a shared 2-core machine)
    expect(ms).toBeLessThan(20_000);
  }, 60_000);

  it('two versions of one dependency: a path names the crate, so what either version reaches counts', async () => {
    const v = (kind: string, path: string): ExportTable => ({ format: 1, crate: 'dep', modules: [], foreignFns: [], deps: [], reach: [['go', [{ capability: 'fs', kind, via: [path] }]]] });
    const dir = path.join(tmpDir(), 'two');
    cpSync(path.join(WS, 'vendor', 'util-0.1.0'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'src', 'lib.rs'), 'pub fn a() {\n    d1::go();\n}\n');
    const scan = await scanCrate(
      {
        name: 'two',
        dir,
        manifest: null,
        libPhase: 'runtime',
        externs: new Map([['d1', 'dep'], ['d2', 'dep']]),
        allTargets: false,
        depExports: new Map([['d1', v('fs.read', 'std::fs::read')], ['d2', v('fs.delete', 'std::fs::remove_file')]]),
      },
      ruleIndex(),
      localAnalyzer(ruleIndex()),
    );
    expect(scan.reaches?.map((r) => [r.kind, r.via])).toEqual([
      ['fs.delete', ['dep::go', 'std::fs::remove_file']],
      ['fs.read', ['dep::go', 'std::fs::read']],
    ]);
  });
});
