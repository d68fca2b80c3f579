// An ESLint-style rule tester: each case is a Rust snippet written into a temporary crate (Cargo.toml +
// src/lib.rs, optional extra files and dependency renames), scanned like `cap-scan crate <dir>`, and the
// findings of the rule (or capability, or kind) under test are compared exactly with the expected list.
//
//   ruleTester('std-process-spawn', {
//     valid: [{ code: 'fn f() { let _ = clap::Command::new("x"); }', deps: { clap: 'clap' } }],
//     invalid: [{ code: 'fn f() { std::process::Command::new("x"); }', errors: [{ rule: 'std-process-spawn', line: 1, column: 10 }] }],
//   });

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { scanCrateDir } from '../src/scan/session.js';
import type { Finding, Unanalyzed } from '../src/types.js';

export interface RuleCase {
  /** Contents of src/lib.rs (or of `file` when given). */
  code: string;
  /** Where `code` goes (default src/lib.rs). */
  file?: string;
  /** Extra files: relative path → contents. */
  files?: Record<string, string>;
  /** Dependencies: name used in code → package name (equal names: a plain dependency). */
  deps?: Record<string, string>;
  /** Build dependencies, same form. */
  buildDeps?: Record<string, string>;
  edition?: '2015' | '2018' | '2021' | '2024';
  /** Extra text appended to Cargo.toml (e.g. `[lib]\nproc-macro = true`, `build = "…"` goes in `packageExtra`). */
  cargoExtra?: string;
  /** Extra keys in [package]. */
  packageExtra?: string;
  allTargets?: boolean;
  /** Test title (defaults to the first line of code). */
  name?: string;
}

export interface ExpectedFinding {
  rule: string;
  line: number;
  column?: number;
  /** Default: the case's file (src/lib.rs). */
  file?: string;
  kind?: string;
  phase?: 'runtime' | 'build';
  evidence?: string;
  context?: Finding['context'] | null;
}

export interface InvalidCase extends RuleCase {
  errors: ExpectedFinding[];
  /** When given, the crate's unanalyzed list must equal this. */
  unanalyzed?: Unanalyzed[];
}

export interface RuleTests {
  valid: RuleCase[];
  invalid: InvalidCase[];
}

const roots: string[] = [];

function tomlDeps(table: string, deps: Record<string, string> | undefined): string {
  if (!deps || Object.keys(deps).length === 0) return '';
  const lines = Object.entries(deps).map(([k, pkg]) => (k === pkg ? `${k} = "*"` : `${k} = { package = "${pkg}", version = "*" }`));
  return `\n[${table}]\n${lines.join('\n')}\n`;
}

/** Writes the case into a fresh crate directory and returns it. */
export function writeCaseCrate(c: RuleCase): string {
  const base = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-rule-'));
  roots.push(base);
  const dir = path.join(base, 'snippet');
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  const manifest =
    `[package]\nname = "snippet"\nversion = "0.1.0"\nedition = "${c.edition ?? '2021'}"\n${c.packageExtra ? c.packageExtra + '\n' : ''}` +
    tomlDeps('dependencies', c.deps) +
    tomlDeps('build-dependencies', c.buildDeps) +
    (c.cargoExtra ? `\n${c.cargoExtra}\n` : '');
  writeFileSync(path.join(dir, 'Cargo.toml'), manifest);
  const files: Record<string, string> = { ...(c.files ?? {}) };
  files[c.file ?? 'src/lib.rs'] = c.code;
  if (!files['src/lib.rs'] && !(c.cargoExtra ?? '').includes('path')) files['src/lib.rs'] = '';
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  return dir;
}

/** Scans the case's crate and returns its report's findings and unanalyzed list. */
export async function scanCase(c: RuleCase): Promise<{ findings: Finding[]; unanalyzed: Unanalyzed[] }> {
  const dir = writeCaseCrate(c);
  const res = await scanCrateDir(dir, defaultScanOptions({ allTargets: c.allTargets ?? false }));
  const crate = res.crates[0]!;
  return { findings: crate.findings, unanalyzed: crate.unanalyzed };
}

/** Whether finding f is in the tester's subject (a rule id, a capability or a kind). */
export function matchesSubject(f: Finding, subject: string | string[]): boolean {
  const list = Array.isArray(subject) ? subject : [subject];
  return list.some((s) => f.rule === s || f.capability === s || f.kind === s);
}

function project(f: Finding, e: ExpectedFinding, defaultFile: string): ExpectedFinding {
  const out: ExpectedFinding = { rule: f.rule, line: f.line, file: f.file };
  if (e.column !== undefined) out.column = f.column;
  if (e.kind !== undefined) out.kind = f.kind;
  if (e.phase !== undefined) out.phase = f.phase;
  if (e.evidence !== undefined) out.evidence = f.evidence;
  if (e.context !== undefined) out.context = f.context ?? null;
  void defaultFile;
  return out;
}

function title(c: RuleCase): string {
  return c.name ?? c.code.split('\n').find((l) => l.trim().length > 0)?.trim().slice(0, 90) ?? '(empty)';
}

/**
 * Registers vitest cases: valid snippets give no finding of `subject` (rule ids, capabilities or kinds),
 * invalid ones exactly `errors`, in report order (file, line, column, rule).
 */
export function ruleTester(subject: string | string[], tests: RuleTests): void {
  describe(Array.isArray(subject) ? subject.join(' + ') : subject, () => {
    afterAll(() => {
      for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
    });
    for (const [i, c] of tests.valid.entries()) {
      it(`valid #${i + 1}: ${title(c)}`, async () => {
        const { findings } = await scanCase(c);
        expect(findings.filter((f) => matchesSubject(f, subject))).toEqual([]);
      });
    }
    for (const [i, c] of tests.invalid.entries()) {
      it(`invalid #${i + 1}: ${title(c)}`, async () => {
        const { findings, unanalyzed } = await scanCase(c);
        const file = c.file ?? 'src/lib.rs';
        const expected = c.errors.map((e) => ({ ...e, file: e.file ?? file }));
        const got = findings.filter((f) => matchesSubject(f, subject));
        // project each finding on the fields the expectation names (same order: file, line, column, rule)
        const shape = expected[0] ?? { rule: '', line: 0 };
        const projected = got.map((f, k) => project(f, expected[k] ?? shape, file));
        expect(projected).toEqual(expected);
        if (c.unanalyzed) expect(unanalyzed).toEqual(c.unanalyzed);
      });
    }
  });
}

// ---------------------------------------------------------------- rule examples as data (rules/tests/*.toml)

/** The capabilities a data example is checked against unless it names its own `subject`. */
export const DEFAULT_EXAMPLE_SUBJECT = ['fs', 'net', 'process', 'env', 'ffi', 'unsafe', 'link'];

/** What the examples may name: rule ids, capabilities and kinds. */
export interface ExampleVocabulary {
  rules: ReadonlySet<string>;
  capabilities: ReadonlySet<string>;
  kinds: ReadonlySet<string>;
}

/** Cases of one subject, in file order. */
export interface ExampleGroup {
  subject: string[];
  tests: RuleTests;
}

const CASE_KEYS = new Set(['code', 'file', 'deps', 'name', 'subject', 'expect']);
const EXPECT_RE = /^(\S+) (\d+):(\d+) (runtime|build)(?: (\S+))?$/;

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function stringList(v: unknown, where: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${where}: expected an array of strings`);
  return v as string[];
}

/**
 * Parses one examples file (already TOML-decoded): `[[valid]]` and `[[invalid]]` cases with `code`, optional
 * `file` ("build.rs" makes it the build script), `deps`, `name`, `subject`, and for invalid cases `expect`:
 * "rule line:column phase [kind]". Rejects, naming the file and case: unknown keys, an invalid case without
 * an expected finding (or a valid one with some), a rule/subject that does not exist, and duplicate cases.
 */
export function parseRuleExamples(doc: Record<string, unknown>, file: string, vocab: ExampleVocabulary, seen = new Set<string>()): ExampleGroup[] {
  const groups = new Map<string, ExampleGroup>();
  for (const k of Object.keys(doc)) if (k !== 'valid' && k !== 'invalid') throw new Error(`${file}: unknown key '${k}' (expected [[valid]] or [[invalid]])`);
  for (const kind of ['valid', 'invalid'] as const) {
    const list = doc[kind] ?? [];
    if (!Array.isArray(list)) throw new Error(`${file}: '${kind}' must be an array of tables ([[${kind}]])`);
    for (const [i, raw] of list.entries()) {
      const where = `${file}: ${kind} #${i + 1}`;
      if (!isTable(raw)) throw new Error(`${where}: must be a table`);
      for (const k of Object.keys(raw)) if (!CASE_KEYS.has(k)) throw new Error(`${where}: unknown key '${k}'`);
      if (typeof raw.code !== 'string') throw new Error(`${where}: 'code' must be a string`);
      const subject = stringList(raw.subject, `${where}: subject`) ?? DEFAULT_EXAMPLE_SUBJECT;
      for (const s of subject) {
        if (!vocab.rules.has(s) && !vocab.capabilities.has(s) && !vocab.kinds.has(s)) throw new Error(`${where}: unknown subject '${s}' (not a rule id, capability or kind)`);
      }
      const expect = stringList(raw.expect, `${where}: expect`);
      if (kind === 'valid' && expect !== undefined) throw new Error(`${where}: a valid case expects no finding; move it to [[invalid]]`);
      if (kind === 'invalid' && (expect === undefined || expect.length === 0)) throw new Error(`${where}: an invalid case needs at least one expected finding in 'expect'`);
      const file_ = raw.file === undefined ? undefined : String(raw.file);
      const deps = Object.fromEntries((stringList(raw.deps, `${where}: deps`) ?? []).map((d) => [d, d]));
      const build = file_ === 'build.rs';
      const c: RuleCase = {
        code: raw.code,
        ...(typeof raw.name === 'string' ? { name: raw.name } : { name: raw.code.split('\n').find((l) => l.trim())?.trim() ?? '' }),
        ...(build ? { file: 'build.rs', buildDeps: deps, packageExtra: 'build = "build.rs"' } : file_ !== undefined ? { file: file_, deps } : { deps }),
      };
      const key = JSON.stringify([subject, c.code, c.file ?? 'src/lib.rs', Object.keys(deps).sort()]);
      if (seen.has(key)) throw new Error(`${where}: duplicate case (same code, file, deps and subject as an earlier one)`);
      seen.add(key);
      const groupKey = subject.join(' + ');
      let g = groups.get(groupKey);
      if (!g) groups.set(groupKey, (g = { subject, tests: { valid: [], invalid: [] } }));
      if (kind === 'valid') {
        g.tests.valid.push(c);
        continue;
      }
      const errors = expect!.map((e): ExpectedFinding => {
        const m = EXPECT_RE.exec(e);
        if (!m) throw new Error(`${where}: expected finding '${e}' is not "rule line:column phase [kind]"`);
        if (!vocab.rules.has(m[1]!)) throw new Error(`${where}: unknown rule '${m[1]}'`);
        if (m[5] !== undefined && !vocab.kinds.has(m[5])) throw new Error(`${where}: unknown kind '${m[5]}'`);
        return { rule: m[1]!, line: Number(m[2]), column: Number(m[3]), phase: m[4] as 'runtime' | 'build', ...(m[5] !== undefined ? { kind: m[5] } : {}) };
      });
      g.tests.invalid.push({ ...c, errors });
    }
  }
  return [...groups.values()];
}
