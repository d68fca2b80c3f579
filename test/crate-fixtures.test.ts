// One fixture crate per behaviour (fixtures/crates/<name>/, real Cargo.toml + sources), each scanned like
// `cap-scan crate <dir>` with its exact findings (rule, file, line, column, phase, context) and unanalyzed
// list asserted. The evasion-* and trap-* crates (and most others) also compile: see the last test.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { scanCrateDir } from '../src/scan/session.js';
import { MAX_FILE_BYTES } from '../src/parse/analyze.js';
import type { CrateReport } from '../src/types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(REPO, 'fixtures', 'crates');
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

type Row = [rule: string, file: string, line: number, column: number, phase: 'runtime' | 'build', context?: string];

async function scan(dir: string, allTargets = false): Promise<CrateReport> {
  const res = await scanCrateDir(dir, defaultScanOptions({ allTargets }));
  return res.crates[0]!;
}

function rows(c: CrateReport): Row[] {
  return c.findings.map((f) => {
    const r: Row = [f.rule, f.file, f.line, f.column, f.phase];
    if (f.context) r.push(f.context);
    return r;
  });
}

function copyFixture(name: string): string {
  const base = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-fixture-'));
  temps.push(base);
  const dir = path.join(base, name);
  cpSync(path.join(FIX, name), dir, { recursive: true });
  return dir;
}

/** mods-in-macros without --all-targets; --all-targets adds its cfg(test) module. */
const MODS_IN_MACROS: Row[] = [
  ['std-fs-read', 'src/bsd/pipe.rs', 2, 5, 'runtime'],
  ['std-env-write', 'src/legacy_impl.rs', 2, 5, 'runtime'],
  ['std-process-spawn', 'src/lib.rs', 44, 5, 'runtime'],
  ['std-env-read', 'src/sys/unix.rs', 2, 5, 'runtime'],
  ['std-env-read', 'src/sys/windows.rs', 2, 5, 'runtime'],
];

const cases: { name: string; allTargets?: boolean; findings: Row[]; unanalyzed?: CrateReport['unanalyzed']; phases?: CrateReport['phases']; indicators?: CrateReport['indicators'] }[] = [
  // ---- a capability per rule file
  {
    name: 'cap-fs',
    findings: [
      ['std-fs-write', 'src/lib.rs', 5, 17, 'runtime'],
      ['std-fs-read', 'src/lib.rs', 10, 5, 'runtime'],
      ['std-fs-delete', 'src/lib.rs', 14, 5, 'runtime'],
      ['std-fs-meta', 'src/lib.rs', 18, 8, 'runtime'],
    ],
  },
  {
    name: 'cap-net',
    findings: [
      ['std-net-connect', 'src/lib.rs', 5, 17, 'runtime'],
      ['std-net-listen', 'src/lib.rs', 10, 5, 'runtime'],
      ['std-net-dns', 'src/lib.rs', 14, 20, 'runtime'],
    ],
  },
  {
    name: 'cap-process',
    findings: [
      ['std-process-spawn', 'src/lib.rs', 4, 5, 'runtime'],
      ['std-process-spawn', 'src/lib.rs', 10, 5, 'runtime'],
      ['std-process-exec', 'src/lib.rs', 10, 24, 'runtime'],
    ],
  },
  {
    name: 'cap-env',
    findings: [
      ['std-env-read', 'src/lib.rs', 4, 5, 'runtime'],
      ['std-env-write', 'src/lib.rs', 8, 5, 'runtime'],
      ['compile-time-env', 'src/lib.rs', 11, 38, 'build'],
    ],
    phases: { runtime: ['env'], build: ['env'] },
  },
  {
    name: 'cap-ffi',
    findings: [
      ['link-attribute', 'src/lib.rs', 3, 1, 'runtime'],
      ['extern-block', 'src/lib.rs', 5, 8, 'runtime'],
      ['extern-block', 'src/lib.rs', 9, 8, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 13, 5, 'runtime'],
      ['foreign-call', 'src/lib.rs', 13, 14, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 17, 5, 'runtime'],
      // the declaration of system is ffi.extern only; its call is the foreign call, and process
      ['foreign-call', 'src/lib.rs', 17, 14, 'runtime'],
      ['libc-process-spawn', 'src/lib.rs', 17, 14, 'runtime'],
    ],
  },
  {
    name: 'cap-unsafe',
    findings: [
      ['unsafe-impl', 'src/lib.rs', 3, 1, 'runtime'],
      ['unsafe-impl', 'src/lib.rs', 5, 5, 'runtime'],
      ['unsafe-fn', 'src/lib.rs', 7, 5, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 8, 5, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 12, 5, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 17, 5, 'runtime'],
      ['inline-asm', 'src/lib.rs', 17, 14, 'runtime'],
    ],
  },
  {
    name: 'cap-link',
    findings: [
      ['no-mangle', 'src/lib.rs', 1, 1, 'runtime'],
      ['export-name', 'src/lib.rs', 6, 1, 'runtime'],
      ['link-section', 'src/lib.rs', 11, 1, 'runtime'],
      ['link-section', 'src/lib.rs', 12, 1, 'runtime'],
    ],
  },
  // ---- build scripts and proc-macros
  {
    name: 'cap-build-script',
    findings: [
      ['build-script', 'build.rs', 1, 1, 'build'],
      ['std-env-read', 'build.rs', 4, 18, 'build'],
      ['build-link-lib', 'build.rs', 5, 14, 'build'],
      ['build-link-arg', 'build.rs', 6, 14, 'build'],
      ['build-rustc-env', 'build.rs', 7, 14, 'build'],
      ['std-process-spawn', 'build.rs', 8, 5, 'build'],
    ],
    phases: { runtime: [], build: ['build-script', 'env', 'ffi', 'link', 'process'] },
  },
  {
    name: 'build-custom-path',
    findings: [
      ['build-script', 'build/main.rs', 1, 1, 'build'],
      ['std-process-spawn', 'build/probe.rs', 4, 13, 'build'],
    ],
    phases: { runtime: [], build: ['build-script', 'process'] },
  },
  {
    name: 'cap-proc-macro',
    findings: [
      ['proc-macro', 'Cargo.toml', 8, 1, 'build'],
      ['std-process-spawn', 'src/lib.rs', 8, 15, 'build'],
      ['std-fs-read', 'src/lib.rs', 15, 12, 'runtime', 'generated'],
    ],
    phases: { runtime: ['fs'], build: ['proc-macro', 'process'] },
  },
  // ---- which files count
  { name: 'cfg-test', findings: [] },
  {
    name: 'cfg-test',
    allTargets: true,
    findings: [
      ['std-env-read', 'src/fixtures.rs', 4, 5, 'runtime', 'test'],
      ['std-net-connect', 'src/fixtures/net.rs', 2, 5, 'runtime', 'test'],
      ['std-process-spawn', 'src/lib.rs', 13, 9, 'runtime', 'test'],
      ['std-fs-write', 'src/lib.rs', 22, 5, 'runtime', 'test'],
    ],
  },
  { name: 'targets-excluded', findings: [] },
  {
    name: 'targets-excluded',
    allTargets: true,
    findings: [
      ['std-net-connect', 'examples/demo.rs', 2, 14, 'runtime', 'example'],
      ['std-process-spawn', 'tests/it.rs', 3, 5, 'runtime', 'test'],
    ],
  },
  { name: 'unreferenced-files', findings: [['std-process-spawn', 'src/old.rs', 2, 5, 'runtime', 'unreferenced']] },
  // (--all-targets) a file in benches/ that is not a bench target is bench code, not unreferenced library code
  { name: 'autobenches-off', findings: [] },
  // and its high-entropy sample data is test data, not an obfuscation indicator
  { name: 'autobenches-off', allTargets: true, findings: [['std-fs-read', 'benches/decode.rs', 5, 5, 'runtime', 'bench']], indicators: [] },
  // mod/use inside cfg_if! and a crate's own cfg_* macro, an inline module in a macro, #[cfg_attr(.., path)]:
  // part of the module tree (not unreferenced), and `Shell` resolves through the glob re-export in cfg_if!
  { name: 'mods-in-macros', findings: MODS_IN_MACROS, unanalyzed: [] },
  {
    name: 'mods-in-macros',
    allTargets: true,
    findings: [
      ...MODS_IN_MACROS,
      ['std-fs-delete', 'src/tests.rs', 3, 13, 'runtime', 'test'],
    ],
    unanalyzed: [],
  },
  {
    name: 'missing-module',
    findings: [['std-fs-read', 'src/present.rs', 2, 5, 'runtime']],
    unanalyzed: [{ file: 'src/lib.rs', line: 2, reason: 'module file not found: src/gone.rs' }],
  },
  {
    name: 'missing-module',
    allTargets: true,
    findings: [['std-fs-read', 'src/present.rs', 2, 5, 'runtime']],
    unanalyzed: [
      { file: 'src/lib.rs', line: 2, reason: 'module file not found: src/gone.rs' },
      { file: 'src/lib.rs', line: 5, reason: 'module file not found: src/test_helpers.rs' },
    ],
  },
  {
    name: 'path-outside',
    findings: [['std-env-write', 'src/lib.rs', 8, 5, 'runtime']],
    unanalyzed: [
      { file: 'src/lib.rs', line: 2, reason: 'path outside the package: ../../cap-fs/src/lib.rs' },
      { file: 'src/lib.rs', line: 5, reason: 'path outside the package: /etc/hostname' },
    ],
  },
  // ---- parsing
  {
    name: 'error-recovery',
    findings: [
      // system is declared, never called: ffi.extern only
      ['extern-block', 'src/lib.rs', 4, 17, 'runtime'],
      ['std-process-spawn', 'src/lib.rs', 14, 23, 'runtime'],
    ],
    unanalyzed: [
      { file: 'src/lib.rs', line: 3, reason: 'parse-error' },
      { file: 'src/lib.rs', line: 4, reason: 'parse-error' },
      { file: 'src/lib.rs', line: 14, reason: 'parse-error' },
    ],
  },
  {
    name: 'unsafe-attributes',
    findings: [
      ['no-mangle', 'src/lib.rs', 1, 1, 'runtime'],
      ['export-name', 'src/lib.rs', 6, 1, 'runtime'],
      ['link-section', 'src/lib.rs', 9, 1, 'runtime'],
      ['link-section', 'src/lib.rs', 10, 1, 'runtime'],
    ],
  },
  {
    name: 'invalid-utf8',
    findings: [['std-process-spawn', 'src/lib.rs', 3, 5, 'runtime']],
    unanalyzed: [{ file: 'src/lib.rs', line: 1, reason: 'invalid-utf8' }],
  },
  // ---- evasions (issue 3): each one still found
  { name: 'evasion-alias-chain', findings: [['std-fs-write', 'src/lib.rs', 6, 5, 'runtime']] },
  { name: 'evasion-grouped-alias', findings: [['std-process-spawn', 'src/lib.rs', 10, 5, 'runtime']] },
  { name: 'evasion-glob', findings: [['std-net-connect', 'src/lib.rs', 4, 5, 'runtime']] },
  { name: 'evasion-macro-body', findings: [['std-process-spawn', 'src/lib.rs', 8, 5, 'runtime']] },
  { name: 'evasion-raw-ident', findings: [['std-process-spawn', 'src/lib.rs', 2, 5, 'runtime']] },
  { name: 'evasion-type-alias', findings: [['std-process-spawn', 'src/lib.rs', 4, 5, 'runtime']] },
  { name: 'evasion-include-nonrs', findings: [['std-process-spawn', 'src/payload.txt', 2, 5, 'runtime']] },
  { name: 'evasion-path-attr', findings: [['std-net-connect', 'assets/transport.rs', 6, 5, 'runtime']] },
  { name: 'evasion-renamed-dep', findings: [['walk-fs', 'src/lib.rs', 2, 5, 'runtime']] },
  {
    name: 'evasion-unsafe-extern',
    findings: [
      ['extern-block', 'src/lib.rs', 4, 17, 'runtime'],
      // a safe fn of an unsafe extern block (the 2024 grammar tree-sitter lacks) is called without unsafe
      ['foreign-call', 'src/lib.rs', 8, 5, 'runtime'],
      ['libc-process-spawn', 'src/lib.rs', 8, 5, 'runtime'],
    ],
    unanalyzed: [
      { file: 'src/lib.rs', line: 3, reason: 'parse-error' },
      { file: 'src/lib.rs', line: 4, reason: 'parse-error' },
    ],
  },
  {
    name: 'evasion-try',
    findings: [['std-fs-read', 'src/lib.rs', 6, 22, 'runtime']],
    unanalyzed: [
      { file: 'src/lib.rs', line: 6, reason: 'parse-error' },
      { file: 'src/lib.rs', line: 7, reason: 'parse-error' },
    ],
  },
  // ---- issue 14 item 4: FFI at the call site
  {
    // libc's source is not in a `crate <dir>` scan: the [foreign] paths of rules/ffi.toml say its
    // functions are foreign, and the name map gives each call its capability; constants are not calls
    name: 'ffi-libc-calls',
    findings: [
      ['unsafe-block', 'src/lib.rs', 6, 5, 'runtime'],
      ['foreign-call', 'src/lib.rs', 6, 14, 'runtime'],
      ['libc-net', 'src/lib.rs', 6, 14, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 10, 5, 'runtime'],
      ['foreign-call', 'src/lib.rs', 11, 19, 'runtime'],
      ['libc-process-spawn', 'src/lib.rs', 11, 19, 'runtime'],
      ['foreign-call', 'src/lib.rs', 13, 13, 'runtime'],
      ['libc-process-exec', 'src/lib.rs', 13, 13, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 21, 5, 'runtime'],
      ['foreign-call', 'src/lib.rs', 21, 14, 'runtime'],
    ],
  },
  {
    // declared: ffi.extern each; called: ffi.call plus the name's capability (unlink is never called,
    // so no fs; a #[link_name] rename is mapped by its symbol)
    name: 'ffi-local-extern',
    findings: [
      ['extern-block', 'src/lib.rs', 9, 16, 'runtime'],
      ['extern-block', 'src/lib.rs', 10, 16, 'runtime'],
      ['extern-block', 'src/lib.rs', 12, 16, 'runtime'],
      ['extern-block', 'src/lib.rs', 14, 16, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 21, 5, 'runtime'],
      ['foreign-call', 'src/lib.rs', 21, 14, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 25, 5, 'runtime'],
      ['foreign-call', 'src/lib.rs', 25, 14, 'runtime'],
      ['libc-process-spawn', 'src/lib.rs', 25, 14, 'runtime'],
      ['unsafe-block', 'src/lib.rs', 29, 5, 'runtime'],
      ['foreign-call', 'src/lib.rs', 29, 14, 'runtime'],
      ['libc-env-read', 'src/lib.rs', 29, 14, 'runtime'],
    ],
  },
  // a #[wasm_bindgen] extern block's `fn system` is a JS import: nothing
  { name: 'ffi-wasm-bindgen', findings: [] },
  // ---- traps (issue 3): grep flags them, cap-scan does not
  { name: 'trap-clap-command', findings: [] },
  { name: 'trap-local-shadow', findings: [] },
  { name: 'trap-comments-strings', findings: [] },
  { name: 'trap-type-only', findings: [] },
];

describe('fixture crates: exact findings', () => {
  for (const c of cases) {
    it(`${c.name}${c.allTargets ? ' (--all-targets)' : ''}`, async () => {
      const report = await scan(path.join(FIX, c.name), c.allTargets);
      expect(rows(report)).toEqual(c.findings);
      expect(report.unanalyzed).toEqual(c.unanalyzed ?? []);
      if (c.phases) expect(report.phases).toEqual(c.phases);
      if (c.indicators) expect(report.indicators).toEqual(c.indicators);
    });
  }

  it('the traps are real traps: a plain text search of the sources matches them', () => {
    const src = (name: string) => readFileSync(path.join(FIX, name, 'src', 'lib.rs'), 'utf8');
    expect(src('trap-clap-command')).toMatch(/Command::new/);
    expect(src('trap-local-shadow')).toMatch(/fs::read\(/);
    expect(src('trap-local-shadow')).toMatch(/Command::new/);
    expect(src('trap-comments-strings')).toMatch(/std::process::Command::new/);
    expect(src('trap-comments-strings')).toMatch(/TcpStream::connect/);
    expect(src('trap-type-only')).toMatch(/std::process::Command/);
    expect(src('cfg-test')).toMatch(/Command::new/);
  });

  it('a file larger than 8 MiB is listed as unanalyzed, gets the token pass, the rest of the crate is scanned', async () => {
    const dir = copyFixture('huge-file');
    const line = 'pub fn filler() -> u32 { 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 }\n';
    const reps = Math.ceil((MAX_FILE_BYTES + 1) / line.length);
    const big = line.repeat(reps) + 'pub fn hidden() { std::process::Command::new("x"); }\n';
    writeFileSync(path.join(dir, 'src', 'big.rs'), big);
    const report = await scan(dir);
    expect(rows(report)).toEqual([
      ['std-process-spawn', 'src/big.rs', reps + 1, 19, 'runtime'],
      ['std-env-read', 'src/lib.rs', 4, 5, 'runtime'],
    ]);
    expect(report.unanalyzed).toEqual([{ file: 'src/big.rs', line: 1, reason: `file-too-large (${Buffer.byteLength(big)} bytes): analysed as tokens` }]);
  });

  it('deep nesting (50k parentheses, brackets in a macro, braces in a token tree, 2000 nested modules): no crash, findings kept', async () => {
    const dir = copyFixture('huge-file');
    const n = 50_000;
    const text = [
      `pub fn parens() -> i32 { ${'('.repeat(n)}1${')'.repeat(n)} }`,
      `macro_rules! m { () => { ${'['.repeat(n)}${']'.repeat(n)} }; }`,
      `pub fn braces() { let _ = stringify!(${'{'.repeat(n)}${'}'.repeat(n)}); }`,
      `${'mod a { '.repeat(2000)}pub fn z() { std::env::var("X").ok(); }${' }'.repeat(2000)}`,
      'pub fn after() { std::process::Command::new("x"); }',
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'src', 'big.rs'), text);
    const report = await scan(dir);
    expect(rows(report)).toEqual([
      ['std-env-read', 'src/big.rs', 4, 8 * 2000 + 14, 'runtime'],
      ['std-process-spawn', 'src/big.rs', 5, 18, 'runtime'],
      ['std-env-read', 'src/lib.rs', 4, 5, 'runtime'],
    ]);
  });
});

// ---- the fixtures compile (issue 3 acceptance): cargo check --offline against the Debian registry
const REGISTRY = process.env.CAP_SCAN_CORPUS_REGISTRY || '/usr/share/cargo/registry';
const noCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0;
const compileSkip = noCargo ? 'cargo is not on PATH' : !existsSync(REGISTRY) ? `${REGISTRY} is absent` : null;
if (compileSkip) console.warn(`skipping fixture compile check: ${compileSkip} (run scripts/setup-corpus.sh)`);

describe.skipIf(compileSkip !== null)('fixture crates compile', () => {
  it('cargo check --offline --all-targets succeeds for every evasion, trap and behaviour crate (scripts/check-fixtures.mjs)', () => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'check-fixtures.mjs')], { encoding: 'utf8' });
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('ok ') && !l.startsWith('skip '))).toEqual([]);
    expect(r.status).toBe(0);
    // every evasion-* and trap-* crate was actually compiled, none skipped
    const compiled = lines.filter((l) => l.startsWith('ok ')).map((l) => l.split(/\s+/)[1]);
    for (const name of cases.map((c) => c.name).filter((n) => /^(evasion|trap)-/.test(n))) expect(compiled).toContain(name);
    expect(compiled).toContain('cfg-test');
    expect(compiled).toContain('targets-excluded');
  }, 600_000);
});
