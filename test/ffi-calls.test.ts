// Issue 14 item 4: foreign calls. The rule data (`foreign_calls`, `[foreign] paths`), the one entry
// point for "this call site reaches foreign function NAME", and the evidence of each kind of call.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRules, parseRuleFile } from '../src/rules/load.js';
import { RuleIndex } from '../src/rules/engine.js';
import { foreignCallFindings, type UnitPlace } from '../src/scan/unit-findings.js';
import { defaultScanOptions } from '../src/options.js';
import { scanCrateDir } from '../src/scan/session.js';
import type { Unit } from '../src/resolve/resolver.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { localAnalyzer, ruleIndex } from '../src/scan/session.js';
import { scanCrate } from '../src/scan/crate-scan.js';
import type { ExportTable } from '../src/link/exports.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'crates');

describe('foreign-call rule data', () => {
  const file = (extra: string) => `capability = "ffi"\n${extra}\n[[rule]]\nid = "c"\nkind = "ffi.call"\nforeign_calls = ["*"]\n`;

  it('[foreign] paths: crate-rooted, `*` one segment, a final `**` one or more; anything else is a one-line error', () => {
    for (const bad of ['libc', '*_sys::*', 'a::**::b', 'a::b*', 'a::b!']) {
      expect(() => parseRuleFile(file(`[foreign]\npaths = [${JSON.stringify(bad)}]`), 'x.toml'), bad).toThrow(`x.toml: [foreign]: bad path \`${bad}\``);
    }
    expect(() => parseRuleFile(file('[foreign]\ncrates = ["libc"]'), 'x.toml')).toThrow('x.toml: [foreign]: unknown key `crates`');
    const parsed = parseRuleFile(file('[foreign]\npaths = ["libc::*", "w::um::*::*", "ws::Win32::**"]'), 'x.toml');
    const index = new RuleIndex({ rules: parsed.rules, excludes: new Map(), foreignPaths: parsed.foreignPaths, hash: '', files: [] });
    const name = (p: string) => index.foreignName(p.split('::'));
    expect(
      ['libc::socket', 'libc::AF_INET', 'libc::c_int::max', 'libc', 'w::um::fileapi::DeleteFileW', 'w::um::DeleteFileW', 'ws::Win32::A::B::CloseHandle', 'ws::Win32', 'ws::core::GUID', 'nix::unistd::fork', 'libc::format!'].map(name),
    ).toEqual(['socket', null, null, null, 'DeleteFileW', null, 'CloseHandle', null, null, null, null]);
  });

  it('foreign_calls maps names (exact, or a `Stem*` that ALL_CAPS names never match); `*` is every foreign call; foreign_fns is its old name', () => {
    const parsed = parseRuleFile(
      'capability = "process"\n[[rule]]\nid = "a"\nkind = "process.spawn"\nforeign_calls = ["system", "CreateProcess*"]\n[[rule]]\nid = "b"\nkind = "process.exec"\nforeign_fns = ["execvp"]\n',
      'x.toml',
    );
    const any = parseRuleFile(file(''), 'y.toml');
    const index = new RuleIndex({ rules: [...parsed.rules, ...any.rules], excludes: new Map(), hash: '', files: [] });
    const ids = (n: string) => index.foreignCallRules(n).map((r) => r.id);
    expect(['system', 'CreateProcessW', 'CREATEPROCESS_X', 'execvp', 'cos'].map(ids)).toEqual([['a', 'c'], ['a', 'c'], ['c'], ['b', 'c'], ['c']]);
  });

  it('the built-in map: socket/connect net, fork/execvp/system process, open/unlink fs, getenv/setenv env, dlopen ffi.dynload', () => {
    const index = new RuleIndex(loadRules());
    const kinds = (n: string) => index.foreignCallRules(n).map((r) => r.kind);
    expect(
      Object.fromEntries(['socket', 'connect', 'fork', 'execvp', 'system', 'open', 'unlink', 'getenv', 'setenv', 'dlopen', 'isatty'].map((n) => [n, kinds(n)])),
    ).toEqual({
      socket: ['net.connect', 'ffi.call'],
      connect: ['net.connect', 'ffi.call'],
      fork: ['process.spawn', 'ffi.call'],
      execvp: ['process.exec', 'ffi.call'],
      system: ['process.spawn', 'ffi.call'],
      open: ['fs.read', 'ffi.call'],
      unlink: ['fs.delete', 'ffi.call'],
      getenv: ['env.read', 'ffi.call'],
      setenv: ['env.write', 'ffi.call'],
      dlopen: ['ffi.dynload', 'ffi.call'],
      isatty: ['ffi.call'],
    });
  });
});

describe('foreignCallFindings: the one entry point for a call site reaching a foreign function', () => {
  const index = new RuleIndex(loadRules());
  const unit = { rel: 'src/lib.rs', test: false } as unknown as Unit;
  const place: UnitPlace = { role: 'lib', buildSide: false, libPhase: 'runtime', allTargets: false };

  it('gives ffi.call and the mapped capability at the site, with the caller\'s evidence; a capability a path rule already gave is not repeated', () => {
    const site = { line: 3, column: 7 };
    const row = (f: { rule: string; kind: string; phase: string; file: string; line: number; column: number; evidence: string }) => [f.rule, f.kind, f.phase, f.file, f.line, f.column, f.evidence];
    expect(foreignCallFindings('system', site, index, unit, place, 'dep::run = extern "C" fn system').map(row)).toEqual([
      ['libc-process-spawn', 'process.spawn', 'runtime', 'src/lib.rs', 3, 7, 'dep::run = extern "C" fn system'],
      ['foreign-call', 'ffi.call', 'runtime', 'src/lib.rs', 3, 7, 'dep::run = extern "C" fn system'],
    ]);
    expect(foreignCallFindings('system', site, index, unit, place, 'x', new Set(['process'])).map((f) => f.rule)).toEqual(['foreign-call']);
    expect(foreignCallFindings('system', { ...site, ctx: 'test' }, index, unit, { ...place, buildSide: true }, 'x').map((f) => [f.rule, f.phase, f.context])).toEqual([
      ['libc-process-spawn', 'build', 'test'],
      ['foreign-call', 'build', 'test'],
    ]);
  });
});

describe('crate capabilities', () => {
  const caps = async (name: string) => (await scanCrateDir(path.join(FIX, name), defaultScanOptions({}))).crates[0]!.capabilities;
  it('a declared-only foreign function gives ffi alone; calls give their capabilities; a wasm_bindgen import gives nothing', async () => {
    expect(await caps('ffi-local-extern')).toEqual(['env', 'ffi', 'process', 'unsafe']);
    expect(await caps('ffi-libc-calls')).toEqual(['ffi', 'net', 'process', 'unsafe']);
    expect(await caps('ffi-wasm-bindgen')).toEqual([]);
    expect(await caps('error-recovery')).toEqual(['ffi', 'process']);
  });

  it('an attribute merely named wasm_bindgen (the crate has no wasm-bindgen dependency) hides nothing: C declaration, foreign call, process', async () => {
    const crate = (await scanCrateDir(path.join(FIX, 'ffi-wasm-spoof'), defaultScanOptions({}))).crates[0]!;
    expect(crate.findings.map((f) => [f.rule, f.kind, f.file, f.line, f.column, f.evidence])).toEqual([
      ['extern-block', 'ffi.extern', 'src/lib.rs', 6, 12, '#[wasm_bindgen] extern fn system'],
      ['unsafe-block', 'unsafe.block', 'src/lib.rs', 10, 5, 'unsafe { … }'],
      ['foreign-call', 'ffi.call', 'src/lib.rs', 10, 14, 'system = extern "C" fn system'],
      ['libc-process-spawn', 'process.spawn', 'src/lib.rs', 10, 14, 'system = extern "C" fn system'],
    ]);
  });
});

describe('a dependency declaring the function under another symbol', () => {
  it("libc's `#[link_name = \"_unlink\"] fn unlink` kept in its table: the call is still fs.delete, by its Rust name", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-linkname-'));
    try {
      mkdirSync(path.join(dir, 'src'));
      writeFileSync(path.join(dir, 'src', 'lib.rs'), 'pub fn rm(p: *const i8) {\n    unsafe { libc::unlink(p); }\n}\n');
      const table: ExportTable = { format: 1, crate: 'libc', modules: [['', { names: [['unlink', { ext: ['$ffi', 'C', '_unlink'] }]], globs: [] }]], foreignFns: [], deps: [] };
      const input = { name: 'user', dir, manifest: null, libPhase: 'runtime' as const, externs: new Map([['libc', 'libc']]), allTargets: false };
      const scan = await scanCrate({ ...input, depExports: async () => new Map([['libc', table]]) }, ruleIndex(), localAnalyzer(ruleIndex()));
      expect(scan.findings.map((f) => [f.rule, f.kind, f.line, f.column, f.evidence])).toEqual([
        ['unsafe-block', 'unsafe.block', 2, 5, 'unsafe { … }'],
        ['foreign-call', 'ffi.call', 2, 14, 'libc::unlink = extern "C" fn _unlink'],
        ['libc-fs-delete', 'fs.delete', 2, 14, 'libc::unlink = extern "C" fn _unlink'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hostile extern blocks (generated)', () => {
  it('`extern "C" {` nested or unclosed n times, and n blocks after unbalanced `]`: linear, the functions still found', async () => {
    const { scanCase } = await import('./rule-tester.js');
    const n = 20_000;
    const nested = `macro_rules! m { ($($t:tt)*) => {}; }\nm! { ${'extern "C" { fn system(c: *const u8) -> i32; '.repeat(n)} }\npub fn f() { unsafe { system(p); } }\n`;
    const brackets = `macro_rules! m { ($($t:tt)*) => {}; }\nm! { ${'] extern "C" { fn fork() -> i32; } '.repeat(n)} }\npub fn g() { unsafe { fork(); } }\n`;
    for (const [code, sym] of [[nested, 'system'], [brackets, 'fork']] as const) {
      const t0 = Date.now();
      const { findings } = await scanCase({ code });
      const ms = Date.now() - t0;
      const rules = new Set(findings.filter((f) => f.evidence.includes(sym)).map((f) => f.rule));
      expect([...rules].sort()).toEqual(['extern-block', 'foreign-call', 'libc-process-spawn']);
      expect(ms).toBeLessThan(20_000);
    }
  }, 120_000);
});
