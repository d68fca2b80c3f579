// Issue 14, items 1-2: export tables and resolution through dependencies. fixtures/crates/link-ws is a
// workspace whose vendored dependencies (a directory source) re-export std::process::Command and std::fs
// (util, and inner through util); plain-user and renamed-user (`u = { package = "util" }`) call them.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { scanCrate, type CrateScan } from '../src/scan/crate-scan.js';
import { localAnalyzer, ruleIndex, scanWorkspace } from '../src/scan/session.js';
import { lookupExport, type ExportTable } from '../src/link/exports.js';
import { linkOrder } from '../src/link/schedule.js';
import type { CrateReport, ScanResult } from '../src/types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WS = path.join(REPO, 'fixtures', 'crates', 'link-ws');
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-link-'));
  temps.push(d);
  return d;
}

type Row = [rule: string, file: string, line: number, column: number, evidence: string];
const rows = (c: CrateReport | CrateScan | undefined): Row[] => (c?.findings ?? []).map((f) => [f.rule, f.file, f.line, f.column, f.evidence]);
const crate = (r: ScanResult, name: string) => r.crates.find((c) => c.name === name);

const PLAIN: Row[] = [
  ['std-process-spawn', 'src/lib.rs', 5, 13, 'util::Task::new = std::process::Command::new'],
  ['std-process-spawn', 'src/lib.rs', 9, 13, 'util::Task::new = std::process::Command::new'],
  ['std-fs-delete', 'src/lib.rs', 13, 13, 'util::disk::remove_file = std::fs::remove_file'],
  ['std-fs-read', 'src/lib.rs', 17, 13, 'util::disk::read = std::fs::read'],
  ['std-process-spawn', 'src/lib.rs', 21, 13, 'util::sys::Run::new = inner::Cmd::new = std::process::Command::new'],
  ['std-env-read', 'src/lib.rs', 29, 13, 'util::env::get = inner::env::get = std::env::var'],
  // a foreign function declared in inner, called here through util's glob: ffi.call plus its name's capability
  ['unsafe-block', 'src/lib.rs', 34, 5, 'unsafe { … }'],
  ['foreign-call', 'src/lib.rs', 34, 14, 'util::ffi::system = inner::ffi::system = extern "C" fn system'],
  ['libc-process-spawn', 'src/lib.rs', 34, 14, 'util::ffi::system = inner::ffi::system = extern "C" fn system'],
];
const RENAMED: Row[] = [
  ['std-process-spawn', 'src/lib.rs', 2, 13, 'util::Task::new = std::process::Command::new'],
  ['std-fs-write', 'src/lib.rs', 6, 13, 'util::disk::write = std::fs::write'],
  // util's #[macro_export] launch! travels with util's export table and expands here ($crate = util)
  ['std-process-spawn', 'src/lib.rs', 10, 13, 'u::launch!("id") → util::Task::new = std::process::Command::new'],
];

describe('resolution through dependencies (link-ws)', () => {
  it('re-exports of Command and std::fs fire in the dependent, at its line, with the chain as evidence', async () => {
    const { result } = await scanWorkspace(defaultScanOptions({ manifestPath: path.join(WS, 'Cargo.toml'), offline: true, cache: false }));
    expect(result.unscanned).toEqual([]);
    expect(result.crates.map((c) => c.name)).toEqual(['inner', 'plain-user', 'renamed-user', 'util']);
    // plain dependency: util::Task::new, `use util::Task`, util::disk::…, `use util::*` + disk::…,
    // a chain through util's own dependency (pub mod sys { pub use inner::Cmd as Run }), a glob of inner
    expect(rows(crate(result, 'plain-user'))).toEqual(PLAIN);
    expect(crate(result, 'plain-user')!.phases).toEqual({ runtime: ['env', 'ffi', 'fs', 'process', 'unsafe'], build: [] });
    // renamed dependency (u = { package = "util" }): the evidence names the real crate
    expect(rows(crate(result, 'renamed-user'))).toEqual(RENAMED);
    // the re-exports themselves do nothing; util's exported macro body, which no expansion inside util
    // used, is still counted (a dependent may expand it), marked macro-body; fetch and dial connect
    // (the reach fixture, test/reach.test.ts)
    expect(crate(result, 'util')!.findings.map((f) => [f.rule, f.line, f.context])).toEqual([
      ['std-process-spawn', 19, 'macro-body'],
      ['std-net-connect', 25, undefined],
      ['std-net-connect', 34, undefined],
    ]);
    // inner only declares system: ffi.extern, and its name's capability (process) counts where it is
    // called; its ping binds a socket (reached by util's Client::ping)
    expect(crate(result, 'inner')!.findings.map((f) => [f.rule, f.kind, f.line])).toEqual([
      ['extern-block', 'ffi.extern', 11],
      ['std-net-listen', 'net.listen', 17],
    ]);
  });

  it('a changed dependency export table changes the dependent cache key: the warm run is fresh', async () => {
    const ws = path.join(tmpDir(), 'link-ws');
    cpSync(WS, ws, { recursive: true });
    const cacheDir = tmpDir();
    const opts = defaultScanOptions({ manifestPath: path.join(ws, 'Cargo.toml'), offline: true, cacheDir });
    const cold = await scanWorkspace(opts);
    expect(rows(crate(cold.result, 'plain-user'))).toEqual(PLAIN);
    const warm = await scanWorkspace(opts);
    expect(warm.stats.cached).toBe(4);
    expect(JSON.stringify(warm.result)).toBe(JSON.stringify(cold.result));
    // a new inner (new checksum: a new registry version of its content): Cmd is now its own type. Neither
    // util nor plain-user changed, but plain-user's e() no longer spawns anything.
    const inner = path.join(ws, 'vendor', 'inner-0.1.0');
    writeFileSync(
      path.join(inner, 'src', 'lib.rs'),
      'pub struct Cmd;\nimpl Cmd {\n    pub fn new(_: &str) -> Cmd {\n        Cmd\n    }\n}\n\npub mod env {\n    pub use std::env::var as get;\n}\n',
    );
    const sum = 'f'.repeat(64);
    const old = (JSON.parse(readFileSync(path.join(inner, '.cargo-checksum.json'), 'utf8')) as { package: string }).package;
    writeFileSync(path.join(inner, '.cargo-checksum.json'), JSON.stringify({ files: {}, package: sum }));
    const lock = path.join(ws, 'Cargo.lock');
    writeFileSync(lock, readFileSync(lock, 'utf8').replace(old, sum));
    const after = await scanWorkspace(opts);
    // (the new inner has no ffi module either: h() keeps only its unsafe block)
    expect(rows(crate(after.result, 'plain-user'))).toEqual(PLAIN.filter((r) => r[2] !== 21 && !(r[2] === 34 && r[3] === 14)));
    // renamed-user's own findings are the same, but util's table changed: recomputed, not served
    expect(rows(crate(after.result, 'renamed-user'))).toEqual(RENAMED);
    expect(after.stats.cached).toBe(0);
  });
});

describe('export tables', () => {
  it('a crate scan returns its table: re-exports flattened, modules, locals; foreign functions with ABI and wasm_bindgen', async () => {
    const dir = path.join(tmpDir(), 'ffi-table');
    cpSync(path.join(WS, 'vendor', 'util-0.1.0'), dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'src', 'lib.rs'),
      [
        'pub use std::process::Command as Task;',
        'pub mod sys {',
        '    extern "C" {',
        '        pub fn c_call(x: i32) -> i32;',
        '    }',
        '    #[wasm_bindgen]',
        '    extern "C" {',
        '        pub fn system();',
        '    }',
        '}',
        'pub use sys::c_call as call;',
        'pub fn helper() {}',
        '',
      ].join('\n'),
    );
    const scan = await scanCrate(
      // (a #[wasm_bindgen] block is a JS import only with a wasm-bindgen dependency)
      { name: 'ffi-table', dir, manifest: null, libPhase: 'runtime', externs: new Map([['wasm_bindgen', 'wasm_bindgen']]), allTargets: false },
      ruleIndex(),
      localAnalyzer(ruleIndex()),
    );
    const t = scan.exports!;
    expect(t.crate).toBe('ffi_table');
    expect(t.foreignFns).toEqual([
      { path: 'sys::c_call', abi: 'C', file: 'src/lib.rs', line: 4 },
      { path: 'sys::system', abi: 'C', file: 'src/lib.rs', line: 8, wasmBindgen: true },
    ]);
    expect(t.modules).toEqual([
      // a C function is bound as an alias of its symbol ($ffi::ABI::SYMBOL, parse/token-items.ts): dependents
      // resolve to that and make it a foreign call; a wasm_bindgen import keeps its marker ABI (a JS import)
      ['', { names: [['Task', { ext: ['std', 'process', 'Command'] }], ['call', { ext: ['$ffi', 'C', 'c_call'] }], ['sys', { mod: 'sys' }]], globs: [] }],
      ['sys', { names: [['c_call', { ext: ['$ffi', 'C', 'c_call'] }], ['system', { ext: ['$ffi', '#[wasm_bindgen]', 'system'] }]], globs: [] }],
    ]);
    const known = (p: string) => ruleIndex().isKnownPrefix(p);
    expect(lookupExport(t, ['Task', 'new'], known)).toEqual({ ext: ['std', 'process', 'Command', 'new'] });
    expect(lookupExport(t, ['call'], known)).toEqual({ ext: ['$ffi', 'C', 'c_call'] });
    // the crate's own items are not listed where no glob could shadow them: a lookup misses, the path stays
    expect(lookupExport(t, ['helper'], known)).toBeNull();
    expect(lookupExport(t, ['nope'], known)).toBeNull();
  });

  it('own items are listed where a glob could otherwise bring the name: they shadow it', async () => {
    const dir = path.join(tmpDir(), 'shadow');
    cpSync(path.join(WS, 'vendor', 'util-0.1.0'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'src', 'lib.rs'), 'pub use std::fs::*;\npub fn read() {}\n');
    const scan = await scanCrate({ name: 'shadow', dir, manifest: null, libPhase: 'runtime', externs: new Map(), allTargets: false }, ruleIndex(), localAnalyzer(ruleIndex()));
    const t = scan.exports!;
    expect(t.modules).toEqual([['', { names: [], globs: [{ ext: ['std', 'fs'] }], locals: ['read'] }]]);
    const known = (p: string) => ruleIndex().isKnownPrefix(p);
    expect(lookupExport(t, ['read'], known)).toEqual({ local: true });
    expect(lookupExport(t, ['remove_file'], known)).toEqual({ ext: ['std', 'fs', 'remove_file'] });
  });

  it('lookups stop on cycles (glob and module-alias loops) and are bounded', () => {
    const t: ExportTable = {
      format: 1,
      crate: 'loopy',
      modules: [
        ['', { names: [['a', { mod: 'a' }]], globs: [{ mod: 'a' }] }],
        ['a', { names: [['back', { mod: '' }]], globs: [{ mod: '' }] }],
      ],
      foreignFns: [],
      deps: [],
    };
    expect(lookupExport(t, ['missing'], () => true)).toBeNull();
    expect(lookupExport(t, ['a', 'back', 'a', 'back'], () => true)).toEqual({ local: true });
    // the root's glob leads back to the root: the cycle stops the lookup
    expect(lookupExport(t, Array.from({ length: 5000 }, () => 'back'), () => true)).toBeNull();
  });

  it('a dependent resolves through a given table (scanCrate with depExports, renamed code name)', async () => {
    const dir = path.join(tmpDir(), 'dependent');
    cpSync(path.join(WS, 'vendor', 'renamed-user-0.1.0'), dir, { recursive: true });
    const table: ExportTable = {
      format: 1,
      crate: 'util',
      modules: [['', { names: [['disk', { ext: ['std', 'fs'] }], ['Task', { ext: ['std', 'process', 'Command'] }]], globs: [] }]],
      foreignFns: [],
      deps: [],
    };
    const input = { name: 'renamed-user', dir, manifest: null, libPhase: 'runtime' as const, externs: new Map([['u', 'util']]), allTargets: false };
    const without = await scanCrate(input, ruleIndex(), localAnalyzer(ruleIndex()));
    expect(rows(without)).toEqual([]);
    const withTable = await scanCrate({ ...input, depExports: async () => new Map([['u', table]]) }, ruleIndex(), localAnalyzer(ruleIndex()));
    // (this table carries no macros: launch! is not expanded)
    expect(rows(withTable)).toEqual(RENAMED.slice(0, 2));
    const withMacro = await scanCrate(
      { ...input, depExports: async () => new Map([['u', { ...table, macros: [{ name: 'launch', rules: '{ ($prog:expr) => { $crate::Task::new($prog).status() }; }', file: 'src/lib.rs', line: 16 }] }]]) },
      ruleIndex(),
      localAnalyzer(ruleIndex()),
    );
    expect(rows(withMacro)).toEqual(RENAMED);
  });
});

describe('limits', () => {
  it('a dependency table whose globs chain past the lookup bound: the path is matched as written, and the crate says so', async () => {
    const dir = path.join(tmpDir(), 'deep-user');
    cpSync(path.join(WS, 'vendor', 'renamed-user-0.1.0'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'src', 'lib.rs'), 'pub fn a() {\n    u::deep_name();\n}\n');
    // generated: 3,000 modules, each a glob of the next; the last re-exports std::process::Command
    const n = 3000;
    const modules: ExportTable['modules'] = Array.from({ length: n }, (_, i): ExportTable['modules'][number] => [
      i === 0 ? '' : `m${i}`,
      i === n - 1 ? { names: [['deep_name', { ext: ['std', 'process', 'Command', 'new'] }]], globs: [] } : { names: [], globs: [{ mod: `m${i + 1}` }] },
    ]);
    const table: ExportTable = { format: 1, crate: 'util', modules, foreignFns: [], deps: [] };
    const scan = await scanCrate(
      { name: 'deep-user', dir, manifest: null, libPhase: 'runtime', externs: new Map([['u', 'util']]), allTargets: false, depExports: new Map([['u', table]]) },
      ruleIndex(),
      localAnalyzer(ruleIndex()),
    );
    expect(rows(scan)).toEqual([]);
    expect(scan.unanalyzed).toEqual([
      {
        file: 'Cargo.toml',
        line: 1,
        reason: 'link-limit: 1 path(s) through dependency `u` stopped at the export-table lookup bound (1024 steps): matched as written, re-exports past the bound not followed',
      },
    ]);
    // within the bound the same chain resolves
    const short = modules.slice(n - 200).map(([p, m], i): ExportTable['modules'][number] => [i === 0 ? '' : p, m]);
    const ok = await scanCrate(
      { name: 'deep-user', dir, manifest: null, libPhase: 'runtime', externs: new Map([['u', 'util']]), allTargets: false, depExports: new Map([['u', { ...table, modules: short }]]) },
      ruleIndex(),
      localAnalyzer(ruleIndex()),
    );
    expect(rows(ok)).toEqual([['std-process-spawn', 'src/lib.rs', 2, 5, 'util::deep_name = std::process::Command::new']]);
    expect(ok.unanalyzed).toEqual([]);
  });
});

describe('dependency order', () => {
  it('dependencies first; cycles broken by the graph alone, whatever the ranks', () => {
    const nodes = (ranks: number[]) => [
      { id: 'a', rank: ranks[0]!, deps: [{ codeName: 'b', id: 'b' }] },
      { id: 'b', rank: ranks[1]!, deps: [{ codeName: 'c', id: 'c' }] },
      { id: 'c', rank: ranks[2]!, deps: [{ codeName: 'a', id: 'a' }, { codeName: 'x', id: 'missing' }] },
      { id: 'd', rank: ranks[3]!, deps: [{ codeName: 'a', id: 'a' }, { codeName: 'a', id: 'c' }] },
    ];
    const p1 = linkOrder(nodes([0, 1, 2, 3]));
    const p2 = linkOrder(nodes([3, 2, 1, 0]));
    expect(p1.dropped).toEqual([['c', 'a']]);
    expect(p2.dropped).toEqual(p1.dropped);
    expect([...p2.deps]).toEqual([...p1.deps]);
    expect(p1.deps.get('d')).toEqual([{ codeName: 'a', id: 'a' }]);
    expect(p1.order).toEqual(['c', 'b', 'a', 'd']);
    expect(p2.order).toEqual(['c', 'b', 'a', 'd']);
    // a long chain: no recursion limit
    const chain = Array.from({ length: 20_000 }, (_, i) => ({ id: `n${i}`, rank: 0, deps: i > 0 ? [{ codeName: 'p', id: `n${i - 1}` }] : [] }));
    expect(linkOrder(chain).order[0]).toBe('n0');
  });
});
