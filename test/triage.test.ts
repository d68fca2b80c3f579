// The parse triage (src/parse/triage.ts): which files the lexical decision clears, the exact reason for
// those it does not, that a cleared file's summary equals its full analysis, and the equality harness
// (scripts/triage-equal.mjs) on a fixed sample of the Debian corpus (skipped when it is not installed).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeSource, type AnalyzerConfig, type FileOptions } from '../src/parse/analyze.js';
import { Triage, triageEnabled } from '../src/parse/triage.js';
import { ruleIndex } from '../src/scan/session.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REGISTRY = '/usr/share/cargo/registry';
const cfg: AnalyzerConfig = ruleIndex().analyzerConfig();
const triage = new Triage(cfg.triage!);
const OPTS: FileOptions = { keepTests: false, procMacro: false, buildScript: false, test: false };

const TABLE = [
  '//! Generated tables (do not edit)',
  '#![allow(dead_code)]',
  '',
  'pub mod tables;',
  '#[cfg(test)]',
  'mod tests;',
  '',
  '/// Ranges of letters.',
  'pub const LETTERS: &[(u32, u32)] = &[(0x41, 0x5a), (0x61, 0x7a)];',
  'pub struct Table { pub lo: u32, pub hi: u32 }',
  'impl Table {',
  '    pub fn make(lo: u32, hi: u32) -> Self { Self::check(lo, hi); Table { lo, hi } }',
  '    fn check(lo: u32, hi: u32) { if !(lo <= hi) { panic_free(lo) } }',
  '    pub fn all(v: &[u32]) -> Vec<u32> { v.iter().copied().collect::<Vec<u32>>() }',
  '}',
  'fn panic_free(_x: u32) {}',
  'pub static HOME: &str = "https://example.org/data";',
  '',
].join('\n');

describe('triage decision', () => {
  it('clears a table-like file: items, mods, attributes, Self:: paths, turbofish, negation', () => {
    expect(triage.reason(TABLE)).toBeNull();
  });

  it('names the first reason a file needs the full analysis', () => {
    const cases: [string, string][] = [
      ['use foo::Bar;\nfn f() {}', 'name use'],
      ['fn f() { tables::lookup(1) }', 'path'],
      ['fn f() { ::tables::lookup(1) }', 'path'],
      ['fn f() { <T as Tr>::go() }', 'path'],
      ['fn f() { Self::new() }', 'name new'],
      ['fn f() { crate::a() }', 'name crate'],
      ['fn f() { helper!(1) }', 'macro helper!'],
      ['fn f() { helper ! (1) }', 'macro helper!'],
      ['fn f() { unsafe {} }', 'name unsafe'],
      ['extern "C" { fn g(); }', 'name extern'],
      ['#[no_mangle] fn f() {}', 'name no_mangle'],
      ['macro_rules! m { () => {} }', 'name macro_rules'],
      ['fn main() { let s = "cargo:rustc-link-lib=z"; }', 'cargo: string'],
      // a rule name inside a comment or string counts too (more files analysed, never fewer)
      ['// reads the Command output\nfn f() {}', 'name Command'],
      ['fn f() { let r#use = 1; }', 'name use'],
    ];
    for (const [src, why] of cases) expect([src, triage.reason(src)]).toEqual([src, why]);
  });

  it('is on unless CAP_SCAN_TRIAGE=0', () => {
    expect(triageEnabled({})).toBe(true);
    expect(triageEnabled({ CAP_SCAN_TRIAGE: '1' })).toBe(true);
    expect(triageEnabled({ CAP_SCAN_TRIAGE: '0' })).toBe(false);
  });

  it("a cleared file's summary equals its full analysis but for the references no rule can match", () => {
    const withTriage = analyzeSource(TABLE, cfg, OPTS);
    const { triage: _t, ...noTriageCfg } = cfg;
    const full = analyzeSource(TABLE, noTriageCfg, OPTS);
    expect(withTriage.triaged).toBe(TABLE.length);
    expect(full.triaged).toBeUndefined();
    const { triaged: _x, refs, ...rest } = withTriage;
    const { refs: fullRefs, ...fullRest } = full;
    expect(rest).toEqual(fullRest);
    // the references left out: Self:: paths and single names of local items (no binding can lead them out)
    expect(refs).toEqual([]);
    expect(fullRefs.map((r) => r.segs.join('::'))).toEqual(['Self::check', 'lo', 'hi', 'panic_free', 'lo']);
    expect(full.mods.map((m) => [m.name, m.line, m.test ?? false])).toEqual([['tables', 4, false], ['tests', 6, true]]);
    expect(full.urls).toEqual([{ url: 'https://example.org/data', line: 17 }]);
  });

  it('build scripts always get the full analysis', () => {
    const s = analyzeSource(TABLE, cfg, { ...OPTS, buildScript: true });
    expect(s.triaged).toBeUndefined();
  });
});

describe('equality harness', () => {
  it('compareCrates reports a lost finding crate by crate', async () => {
    const { compareCrates } = (await import(pathToFileURL(path.join(REPO, 'scripts/triage-equal.mjs')).href)) as {
      compareCrates: (a: unknown[], b: unknown[]) => string[];
    };
    const a = [{ name: 'x', version: '1.0.0', findings: [], urls: ['u'] }];
    const b = [{ name: 'x', version: '1.0.0', findings: [{ rule: 'fs-read', file: 'src/lib.rs', line: 3 }], urls: ['u'] }, { name: 'y', version: '2.0.0' }];
    expect(compareCrates(a, b)).toEqual(['x@1.0.0 findings: without the triage only: {"rule":"fs-read","file":"src/lib.rs","line":3}', 'y@2.0.0: only without the triage']);
    expect(compareCrates(b, b)).toEqual([]);
  });

  it.skipIf(!existsSync(REGISTRY) || !existsSync(path.join(REPO, 'dist/scan/session.js')))(
    'finds no difference on a fixed sample of the Debian corpus',
    { timeout: 300_000 },
    async () => {
      const h = (await import(pathToFileURL(path.join(REPO, 'scripts/triage-equal.mjs')).href)) as {
        crateDirs: (r: string) => string[];
        sample: (d: string[], n: number) => string[];
        runHarness: (d: string[], o: { jobs: number }) => { diffs: string[]; on: { crates: unknown[]; stats: { pool: { triaged: number } } } };
      };
      const dirs = h.sample(h.crateDirs(REGISTRY), 8);
      const { diffs, on } = h.runHarness(dirs, { jobs: 2 });
      expect(diffs).toEqual([]);
      expect(on.crates.length).toBe(8);
    },
  );
});
