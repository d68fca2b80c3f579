// The hostile-input suite (issue 12, part D): scripts/hostile-gen.mjs generates one workspace per case in a
// tmp dir (huge literals, 5,000+ modules, FIFOs, /dev/zero, ../ in Cargo.lock, a symlink to / under a member
// glob, parser-hostile shapes, 8 MiB files, a 100 MB Cargo.lock, a 100k-deep TOML array) and a manifest of
// expected outcomes; each case runs the built CLI as a child process (two at a time) with a hard kill
// timeout, and its exit code, stderr line, findings, unanalyzed entries, wall time and peak RSS are asserted.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper shared with scripts/fuzz.mjs (no types)
import { REPO, crashSigns, isolatedEnv, runCli } from './helpers/cli-run.mjs';

interface Expect {
  exit: number;
  findings?: { crate: string; rule: string; file: string; line: number }[];
  /** An entry for the file (or a file matching the pattern) whose reason matches `reason` (a regex source), when given. */
  unanalyzed?: { crate: string; file?: string; filePattern?: string; reason?: string }[];
  /** Packages that must be listed as unscanned, with a reason matching the regex source. */
  unscanned?: { name: string; reason: string }[];
  stderr?: string;
  stdoutEmpty?: boolean;
  maxSeconds: number;
  maxRssMiB: number;
}
interface Case {
  name: string;
  about: string;
  args: string[];
  cwd: string;
  runs: number;
  expect: Expect;
}
interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  seconds: number;
  rssMiB: number;
  timedOut: boolean;
}
interface CrateJson {
  name: string;
  findings: { rule: string; file: string; line: number }[];
  unanalyzed: { file: string; line: number; reason: string }[];
}

const CONCURRENCY = 2;
let tmp: string;
let cases: Case[] = [];
const results = new Map<string, Run[]>();

beforeAll(async () => {
  if (!existsSync(path.join(REPO, 'dist/cli.js'))) throw new Error('dist/ is missing: build first (npm run build, or npm test)');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-hostile-'));
  execFileSync(process.execPath, [path.join(REPO, 'scripts/hostile-gen.mjs'), path.join(tmp, 'cases')], { stdio: ['ignore', 'ignore', 'inherit'] });
  cases = JSON.parse(readFileSync(path.join(tmp, 'cases', 'cases.json'), 'utf8')) as Case[];
  const queue = [...cases];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const env = isolatedEnv(path.join(tmp, 'home', c.name));
      const runs: Run[] = [];
      // runs > 1 share the environment: the second run sees the cache the first one left
      for (let i = 0; i < c.runs; i++) runs.push((await runCli(c.args, { cwd: c.cwd, env, killSeconds: c.expect.maxSeconds + 10 })) as Run);
      results.set(c.name, runs);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rows = cases.map((c) => {
    const r = results.get(c.name)!;
    return `  ${c.name.padEnd(34)} exit ${r.map((x) => (x.timedOut ? 'KILLED' : String(x.code))).join('/').padEnd(7)} ${r.map((x) => x.seconds.toFixed(2)).join('/')} s  ${r.map((x) => x.rssMiB.toFixed(0)).join('/')} MiB`;
  });
  console.log(`hostile suite (${cases.length} cases):\n${rows.join('\n')}`);
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Every way run `r` of case `c` differs from the expected outcome (empty: as expected). */
function problems(c: Case, r: Run): string[] {
  const e = c.expect;
  const out: string[] = [];
  if (r.timedOut) return [`killed after ${r.seconds.toFixed(1)} s (budget ${e.maxSeconds} s)`];
  if (r.code !== e.exit) out.push(`exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}, expected ${e.exit}; stderr: ${r.stderr.slice(0, 400)}`);
  if (r.seconds > e.maxSeconds) out.push(`took ${r.seconds.toFixed(2)} s, budget ${e.maxSeconds} s`);
  if (r.rssMiB > e.maxRssMiB) out.push(`peak RSS ${r.rssMiB.toFixed(0)} MiB, budget ${e.maxRssMiB} MiB`);
  out.push(...(crashSigns(r.stderr) as string[]));
  if (e.stderr !== undefined) {
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    if (lines.length !== 1) out.push(`stderr has ${lines.length} lines, expected one: ${r.stderr.slice(0, 400)}`);
    else if (!new RegExp(e.stderr).test(lines[0]!)) out.push(`stderr ${JSON.stringify(lines[0])} does not match /${e.stderr}/`);
  }
  if (e.stdoutEmpty && r.stdout !== '') out.push(`stdout not empty: ${r.stdout.slice(0, 300)}`);
  if (r.code !== 0 || e.exit !== 0) return out;
  let doc: { crates: CrateJson[]; unscanned?: { name: string; reason: string }[] };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch (err) {
    return [...out, `stdout is not JSON (${(err as Error).message}): ${r.stdout.slice(0, 200)}`];
  }
  const crate = (name: string): CrateJson | undefined => doc.crates.find((k) => k.name === name);
  for (const f of e.findings ?? []) {
    const k = crate(f.crate);
    if (!k) out.push(`crate ${f.crate} not in the report (crates: ${doc.crates.map((x) => x.name).join(', ')})`);
    else if (!k.findings.some((g) => g.rule === f.rule && g.file === f.file && g.line === f.line)) {
      out.push(`missing finding ${f.rule} ${f.file}:${f.line} in ${f.crate}; has: ${JSON.stringify(k.findings.slice(0, 5).map((g) => `${g.rule} ${g.file}:${g.line}`))}`);
    }
  }
  for (const u of e.unanalyzed ?? []) {
    const k = crate(u.crate);
    const match = (file: string): boolean => (u.file !== undefined ? file === u.file : new RegExp(u.filePattern!).test(file));
    const why = (reason: string): boolean => u.reason === undefined || new RegExp(u.reason).test(reason);
    if (!k) out.push(`crate ${u.crate} not in the report`);
    else if (!k.unanalyzed.some((x) => match(x.file) && why(x.reason))) {
      out.push(`missing unanalyzed entry for ${u.file ?? `/${u.filePattern}/`}${u.reason ? ` (reason /${u.reason}/)` : ''} in ${u.crate}; has: ${JSON.stringify(k.unanalyzed.slice(0, 5))}`);
    }
  }
  for (const u of e.unscanned ?? []) {
    if (!(doc.unscanned ?? []).some((x) => x.name === u.name && new RegExp(u.reason).test(x.reason))) {
      out.push(`missing unscanned ${u.name} (reason /${u.reason}/); has: ${JSON.stringify(doc.unscanned ?? [])}`);
    }
  }
  return out;
}

describe('hostile-input suite (generated at test time, real CLI)', () => {
  it('generator writes every case with a complete expected outcome', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    for (const c of cases) {
      expect(typeof c.expect.exit, c.name).toBe('number');
      expect(c.expect.maxSeconds, c.name).toBeGreaterThan(0);
      expect(c.expect.maxRssMiB, c.name).toBeGreaterThan(0);
      expect(c.expect.exit === 2 ? c.expect.stderr : 'n/a', c.name).toBeTruthy();
    }
  });

  // one test per case; the names are fixed here so a missing case fails instead of disappearing
  const NAMES = [
    'string-literal-7.9MB', 'hex-literal-3MB', 'modules-5010', 'lib-rs-fifo', 'lib-rs-dev-zero', 'include-bytes-fifo',
    'root-cargo-toml-fifo', 'lock-name-traversal', 'lock-version-traversal', 'members-glob-symlink-root', 'err-err-1500-lines',
    'method-chain-100k', 'path-100k-segments', 'flat-sequence-500k', 'utf16-bom', 'utf16-no-bom', 'plus-chain-8MiB',
    'use-lines-790k', 'unsafe-blocks-400k', 'lock-650k-packages', 'lock-100MB-string', 'dep-manifest-deep-array',
    'dep-manifest-deep-array-no-cache',
  ];
  for (const name of NAMES) {
    it(name, () => {
      const c = cases.find((x) => x.name === name);
      expect(c, `case ${name} not generated`).toBeDefined();
      const runs = results.get(name)!;
      const all = runs.flatMap((r, i) => problems(c!, r).map((p) => (runs.length > 1 ? `run ${i + 1}: ${p}` : p)));
      if (runs.length > 1 && runs.every((r) => !r.timedOut) && new Set(runs.map((r) => r.stdout + '\0' + r.stderr + '\0' + r.code)).size > 1) {
        all.push('runs with a cold and a warm cache differ');
      }
      expect(all, `${name}: ${c!.about}`).toEqual([]);
    });
  }
});
