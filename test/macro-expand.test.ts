// macro_rules! expansion (issue 14, item 3): invocations of the crate's own macros and of dependencies'
// exported ones are expanded, their findings land at the invocation with the macro in the evidence; bodies
// nothing expands keep their token-level findings (context macro-body); expansions that cannot be done are
// listed as unanalyzed and the fallback stays.

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { localAnalyzer, ruleIndex, scanCrateDir } from '../src/scan/session.js';
import { scanCrate, type CrateInput, type MacroDef } from '../src/scan/crate-scan.js';
import { readManifest } from '../src/project/manifest.js';
import { compileRules, expand } from '../src/expand/macro-rules.js';
import { lexTokens, originsFrom, treesOf, writeTokens } from '../src/expand/tt.js';
import { MAX_EXPANSION_DEPTH, MAX_EXPANSION_TOKENS } from '../src/expand/stage.js';
import type { CrateReport, Finding } from '../src/types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(REPO, 'fixtures', 'crates');
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

type Row = [rule: string, file: string, line: number, column: number, evidence: string, context?: string];
const rows = (fs: Finding[]): Row[] =>
  fs.map((f) => {
    const r: Row = [f.rule, f.file, f.line, f.column, f.evidence];
    if (f.context) r.push(f.context);
    return r;
  });

async function scan(dir: string): Promise<CrateReport> {
  return (await scanCrateDir(dir, defaultScanOptions({}))).crates[0]!;
}

describe('macro_rules! expansion: fixture crates', () => {
  it('a path assembled from fragments resolves like written code, at the invocation; an unused body is macro-body', async () => {
    const c = await scan(path.join(FIX, 'macro-fragments'));
    expect(rows(c.findings)).toEqual([
      ['std-fs-delete', 'src/lib.rs', 21, 5, 'sys!(fs, remove_file) → std::fs::remove_file'],
      ['std-env-write', 'src/lib.rs', 31, 9, 'std::env::set_var', 'macro-body'],
    ]);
    // security first: an unexpanded body still counts
    expect(c.capabilities).toEqual(['env', 'fs']);
    expect(c.unanalyzed).toEqual([]);
  });

  it('repetitions (nested, with separators and an optional trailing comma)', async () => {
    const c = await scan(path.join(FIX, 'macro-repetition'));
    const ev = 'calls!( fs::read_to_string("a"), env::var("HOME"), ) → ';
    expect(rows(c.findings)).toEqual([
      ['std-env-read', 'src/lib.rs', 9, 5, `${ev}std::env::var`],
      ['std-fs-read', 'src/lib.rs', 9, 5, `${ev}std::fs::read_to_string`],
    ]);
    expect(c.unanalyzed).toEqual([]);
  });

  it('recursion: a tt-muncher expanding to itself, every step at the first invocation', async () => {
    const c = await scan(path.join(FIX, 'macro-recursion'));
    const ev = 'steps!(env "HOME"; spawn "ls";) → ';
    expect(rows(c.findings)).toEqual([
      ['std-env-read', 'src/lib.rs', 15, 5, `${ev}std::env::var`],
      ['std-process-spawn', 'src/lib.rs', 15, 5, `${ev}std::process::Command::new`],
    ]);
    expect(c.unanalyzed).toEqual([]);
  });

  it('the depth limit: unanalyzed, and the body of the rule never reached keeps its finding', async () => {
    const c = await scan(path.join(FIX, 'macro-limit'));
    expect(rows(c.findings)).toEqual([['std-process-spawn', 'src/lib.rs', 9, 9, 'std::process::Command::new', 'macro-body']]);
    expect(c.capabilities).toEqual(['process']);
    expect(c.unanalyzed).toEqual([
      {
        file: 'src/lib.rs',
        line: 14,
        reason: `macro-expansion: deep!(${'x '.repeat(29)}… (in deep!): depth limit (${MAX_EXPANSION_DEPTH} nested expansions); token-level findings kept`,
      },
    ]);
  });

  it('the older fixture: the body spawning a process is now found at the invocation', async () => {
    const c = await scan(path.join(FIX, 'evasion-macro-body'));
    expect(rows(c.findings)).toEqual([['std-process-spawn', 'src/lib.rs', 8, 5, 'sneaky!("ls") → std::process::Command::new']]);
  });
});

describe('macro_rules! expansion: the memo of empty expansions', () => {
  const index = ruleIndex();
  const analyzer = localAnalyzer(index);
  const dir = path.join(FIX, 'macro-memo');
  const run = async (memo: boolean) => {
    const saved = process.env.CAP_SCAN_MACRO_MEMO;
    if (memo) delete process.env.CAP_SCAN_MACRO_MEMO;
    else process.env.CAP_SCAN_MACRO_MEMO = '0';
    try {
      const input: CrateInput = { name: 'macro-memo', dir, manifest: await readManifest(path.join(dir, 'Cargo.toml')), libPhase: 'runtime', externs: new Map(), allTargets: false };
      return await scanCrate(input, index, analyzer);
    } finally {
      if (saved === undefined) delete process.env.CAP_SCAN_MACRO_MEMO;
      else process.env.CAP_SCAN_MACRO_MEMO = saved;
    }
  };

  it('answers a repeated nested invocation that gave nothing, and changes nothing else', async () => {
    const on = await run(true);
    const off = await run(false);
    // level!(TRACE) is written by log_at!'s body, the same tokens at each of the three calls: the 2nd
    // and 3rd are answered; sys! gives a finding each time, so it is expanded at both invocations
    expect(on.macroStats).toEqual({ expanded: 8, failed: 0, memoHits: 2 });
    expect(off.macroStats).toEqual({ expanded: 8, failed: 0, memoHits: 0 });
    expect(rows(on.findings)).toEqual([
      ['std-fs-delete', 'src/lib.rs', 30, 5, 'sys!(fs, remove_file) → std::fs::remove_file'],
      ['std-fs-delete', 'src/lib.rs', 31, 5, 'sys!(fs, remove_file) → std::fs::remove_file'],
    ]);
    const { macroStats: _a, ...a } = on;
    const { macroStats: _b, ...b } = off;
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  // the harness of scripts/triage-equal.mjs, switching the memo: crates whose macros repeat most
  const REGISTRY = '/usr/share/cargo/registry';
  const heavy = existsSync(REGISTRY) ? readdirSync(REGISTRY).filter((d) => /^(libc|syn|tracing)-\d/.test(d)).sort().map((d) => path.join(REGISTRY, d)) : [];
  it.skipIf(heavy.length === 0 || !existsSync(path.join(REPO, 'dist/scan/session.js')))('the corpus crates with the most repeated invocations (libc, syn, tracing) scan the same with and without it', { timeout: 300_000 }, async () => {
    const h = (await import(pathToFileURL(path.join(REPO, 'scripts/triage-equal.mjs')).href)) as {
      runHarness: (d: string[], o: { jobs: number; switchVar: string }) => { diffs: string[]; on: { crates: unknown[] } };
    };
    const { diffs, on } = h.runHarness(heavy, { jobs: 2, switchVar: 'CAP_SCAN_MACRO_MEMO' });
    expect(diffs).toEqual([]);
    expect(on.crates.length).toBe(heavy.length);
  });
});

describe('macro_rules! expansion: dependencies (CrateInput.depMacros)', () => {
  const index = ruleIndex();
  const analyzer = localAnalyzer(index);
  const input = async (dir: string, externs: [string, string][], depMacros?: Map<string, MacroDef[]>): Promise<CrateInput> => {
    const i: CrateInput = { name: path.basename(dir), dir, manifest: await readManifest(path.join(dir, 'Cargo.toml')), libPhase: 'runtime', externs: new Map(externs), allTargets: false };
    if (depMacros) i.depMacros = depMacros;
    return i;
  };

  it('a #[macro_export] macro is listed with its rules; expanded in a dependent (renamed, and imported by `use … as`) it is the dependent\'s finding', async () => {
    const helper = await scanCrate(await input(path.join(FIX, 'macro-dep', 'helper'), []), index, analyzer);
    expect(helper.macroExports!.map((m) => [m.name, m.file, m.line])).toEqual([
      ['run', 'src/lib.rs', 3],
      ['spawn_with', 'src/lib.rs', 10],
    ]);
    expect(helper.macroExports![0]!.rules).toMatch(/^\{\s*\(\$prog:expr\) => \{[\s\S]*\$crate::spawn_with!/);
    expect(rows(helper.findings)).toEqual([['std-process-spawn', 'src/lib.rs', 5, 29, 'std::process::Command::new', 'macro-body']]);

    const userDir = path.join(FIX, 'macro-dep', 'user');
    const externs: [string, string][] = [['helper', 'macro_helper']];
    const without = await scanCrate(await input(userDir, externs), index, analyzer);
    expect(without.findings).toEqual([]);
    const user = await scanCrate(await input(userDir, externs, new Map([['helper', helper.macroExports!]])), index, analyzer);
    expect(rows(user.findings)).toEqual([
      ['std-process-spawn', 'src/lib.rs', 4, 5, 'helper::run!("ls") → std::process::Command::new'],
      ['std-process-spawn', 'src/lib.rs', 8, 5, 'go!("true") → std::process::Command::new'],
    ]);
    expect(user.unanalyzed).toEqual([]);
    expect(user.macroStats).toEqual({ expanded: 4, failed: 0, memoHits: 0 });
  });

  it('#[macro_use] extern crate: unqualified invocations expand; a dependency macro that cannot be expanded falls back to its body at the invocation', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-macro-'));
    temps.push(base);
    mkdirSync(path.join(base, 'src'));
    writeFileSync(path.join(base, 'Cargo.toml'), '[package]\nname = "old"\nversion = "0.1.0"\nedition = "2015"\n');
    writeFileSync(path.join(base, 'src', 'lib.rs'), '#[macro_use]\nextern crate dep;\n\npub fn a() {\n    fetch!("x");\n    weird!(1);\n}\n');
    const defs: MacroDef[] = [
      { name: 'fetch', rules: '{ ($u:expr) => { ::std::net::TcpStream::connect($u) } }', file: 'src/lib.rs', line: 1 },
      { name: 'weird', rules: '{ ($x:unknown_kind) => { $crate::run(); ::std::fs::remove_dir_all("/") } }', file: 'src/lib.rs', line: 5 },
    ];
    const s = await scanCrate(await input(base, [['dep', 'dep']], new Map([['dep', defs]])), index, analyzer);
    expect(rows(s.findings)).toEqual([
      ['std-net-connect', 'src/lib.rs', 5, 5, 'fetch!("x") → std::net::TcpStream::connect'],
      ['std-fs-delete', 'src/lib.rs', 6, 5, 'weird!(1) (not expanded) → std::fs::remove_dir_all'],
    ]);
    expect(s.unanalyzed).toEqual([
      { file: 'src/lib.rs', line: 6, reason: 'macro-expansion: weird!(1): unsupported matcher ($x:unknown_kind); token-level findings kept' },
    ]);
  });
});

describe('macro_rules! expansion: scopes', () => {
  it('names resolve in the invocation\'s block: a `use` there gives the expansion its meaning (a scan crashed on it)', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-macro-'));
    temps.push(base);
    mkdirSync(path.join(base, 'src'));
    writeFileSync(path.join(base, 'Cargo.toml'), '[package]\nname = "blocks"\nversion = "0.1.0"\nedition = "2021"\n');
    writeFileSync(
      path.join(base, 'src', 'lib.rs'),
      [
        'macro_rules! rm {',
        '    ($p:expr) => { fs::remove_file($p) };',
        '}',
        // blocks that bind names before: the invocation's block has a scope id past the expansion's own
        ...['a', 'b', 'c', 'd', 'e', 'g'].map((n) => `pub fn ${n}() { struct S; }`),
        'pub fn f() {',
        '    use std::fs;',
        '    {',
        '        let _ = rm!("x");',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
    const c = await scan(base);
    expect(rows(c.findings)).toEqual([['std-fs-delete', 'src/lib.rs', 13, 17, 'rm!("x") → std::fs::remove_file']]);
    expect(c.unanalyzed).toEqual([]);
  });
});

describe('macro_rules! expansion: limits and the engine', () => {
  it('an expansion that doubles at each step hits the size limit: unanalyzed, what was expanded so far is kept', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-macro-'));
    temps.push(base);
    mkdirSync(path.join(base, 'src'));
    writeFileSync(path.join(base, 'Cargo.toml'), '[package]\nname = "boom"\nversion = "0.1.0"\nedition = "2021"\n');
    writeFileSync(
      path.join(base, 'src', 'lib.rs'),
      ['macro_rules! boom {', '    ($($t:tt)*) => { std::env::var("A"); boom!($($t)* $($t)*); };', '}', 'pub fn f() {', '    boom!(a b);', '    boom!(c);', '    boom!(d);', '}', ''].join('\n'),
    );
    const t0 = Date.now();
    const c = await scan(base);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(rows(c.findings)).toEqual([['std-env-read', 'src/lib.rs', 5, 5, 'boom!(a b) → std::env::var']]);
    expect(c.capabilities).toEqual(['env']);
    expect(c.unanalyzed).toEqual([
      // later invocations past the budget: one entry, not one each (winapi had 9,000)
      { file: 'src/lib.rs', line: 5, reason: `macro-expansion: 2 more invocations not expanded after this one: limit: the crate's expansion budget (${MAX_EXPANSION_TOKENS} tokens) is spent; token-level findings kept` },
      { file: 'src/lib.rs', line: 5, reason: `macro-expansion: boom!(a b) (in boom!): limit: the crate's expansion budget (${MAX_EXPANSION_TOKENS} tokens) is spent; token-level findings kept` },
    ]);
  });

  const run = (rules: string, call: string) => {
    const def = compileRules(rules, 1, 1, false);
    if ('error' in def) return def.error;
    const input = treesOf(lexTokens(call, originsFrom(call, 1, 1)))![0]!;
    const x = expand(def, input, { line: 1, column: 1, crate: 'crate' }, { steps: 1e6, tokens: 1e6 });
    return 'error' in x ? x.error : `${x.rule}: ${writeTokens(x.tokens).text}`;
  };

  it('fragments end where Rust ends them, so the rule rustc picks is picked', () => {
    const r = '{ ($e:expr) => { A($e) }; ($a:ident $b:ident) => { B($a, $b) }; ($($t:tt)*) => { C } }';
    // (a space where a fragment meets the body: the written text is only re-lexed)
    expect(run(r, '(x.y(1) + 2 * z)')).toBe('0: A( x.y(1) + 2 * z )');
    expect(run(r, '(x y)')).toBe('1: B( x , y )');
    expect(run(r, '(|a, b| a == b)')).toBe('0: A( |a, b| a == b )');
    expect(run(r, '(if a { b } else { c })')).toBe('0: A( if a { b } else { c } )');
    expect(run(r, '(S { a: 1 }.f() as u8)')).toBe('0: A( S { a: 1 }.f() as u8 )');
    expect(run(r, '(a b c)')).toBe('2: C');
    expect(run('{ ($t:ty, $p:path) => { <$t as $p>::f() } }', "(&'a mut Vec<Option<u8>>, std::fmt::Debug)")).toBe("0: < &'a mut Vec<Option<u8>> as std::fmt::Debug >::f()");
    expect(run('{ ($a:expr, $b:expr) => { ($a, $b) } }', '(f(1, 2), [3, 4])')).toBe('0: ( f(1, 2) , [3, 4] )');
    expect(run('{ ($p:pat => $e:expr) => { match v { $p => $e } } }', '(Some(x) | None => x == 1)')).toBe('0: match v { Some(x) | None => x == 1 }');
    expect(run('{ ($($k:ident = $v:literal),+ $(,)?) => { $( set($k, $v); )+ } }', '(a = 1, b = "x",)')).toBe('0: set( a , 1 ); set( b , "x" );');
    expect(run('{ ($($k:ident),+) => { $( set($k); )+ } }', '()')).toBe('no rule matched');
    expect(run('{ ($($a:ident)*; $($b:ident)*) => { $( f($a, $b); )* } }', '(x y; z)')).toBe('meta-variable $b repeats 1 times, another 2 times');
    // an unbound `$y` is written as is: a macro that defines a macro
    expect(run('{ ($x:ident) => { macro_rules! inner { ($y:expr) => { $x($y) } } } }', '(go)')).toBe('0: macro_rules! inner { ($y:expr) => { go ($y) } }');
    expect(run('{ ($v:vis fn $n:ident) => { $v fn $n() {} } }', '(pub(crate) fn g)')).toBe('0: pub(crate) fn g () {}');
    expect(run('{ ($i:item) => { $i } }', '(#[inline] pub fn f() -> u8 { 1 })')).toBe('0: #[inline] pub fn f() -> u8 { 1 }');
    expect(run('{ (x) => {} ', '(x)')).toBe('malformed definition');
  });
});
