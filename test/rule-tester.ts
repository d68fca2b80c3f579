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
import { scanCrateDir } from '../src/scan.js';
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
