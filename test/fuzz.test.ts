// Seeded mutation fuzzing in CI (scripts/fuzz.mjs has the generator and the long run). CASES workspaces of
// 3 vendored crates x 10 mutated modules each (copies of fixture files and a fixed sample of Debian's crate
// corpus when installed) are scanned by the built CLI, two at a time: exit 0/1 only, no internal error or
// stack trace, each run within its budget, JSON output; cases 0 and 1 run twice (cold cache --jobs 1, warm
// --jobs 2) and must print the same bytes. Seed: CAP_SCAN_FUZZ_SEED or the default, printed; a failure prints
// the command that replays its case alone.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM module shared with `npm run fuzz` (no types)
import { CASE_BUDGET_S, FILES_PER_CASE, envSeed, replayCommand, runCase, sourcePool } from '../scripts/fuzz.mjs';
// @ts-expect-error plain ESM helper (no types)
import { REPO } from './helpers/cli-run.mjs';

const CASES = 10;
const DETERMINISM_CASES = new Set([0, 1]);
const CONCURRENCY = 2;
const POOL = 'ci';

interface Result {
  index: number;
  problems: string[];
  run: { seconds: number; rssMiB: number };
  files: { crate: string; file: string; from: string; ops: string[]; bytes: number }[];
}

const seed = envSeed() as number;
let tmp: string;
let poolSize = 0;
const results = new Map<number, Result>();

beforeAll(async () => {
  if (!existsSync(path.join(REPO, 'dist/cli.js'))) throw new Error('dist/ is missing: build first (npm run build, or npm test)');
  console.log(`fuzz seed ${seed} (set CAP_SCAN_FUZZ_SEED to change it): ${CASES} cases x ${FILES_PER_CASE} mutated files`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-fuzz-test-'));
  const pool = sourcePool(POOL) as string[];
  poolSize = pool.length;
  const queue = Array.from({ length: CASES }, (_, i) => i);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const r = (await runCase(tmp, seed, i, pool, { twice: DETERMINISM_CASES.has(i) })) as Result & { dir: string };
        results.set(i, r);
        if (r.problems.length === 0) rmSync(r.dir, { recursive: true, force: true });
      }
    }),
  );
  const rs = [...results.values()];
  console.log(`fuzz: slowest run ${Math.max(...rs.map((r) => r.run.seconds)).toFixed(2)} s, max peak RSS ${Math.max(...rs.map((r) => r.run.rssMiB)).toFixed(0)} MiB`);
}, 900_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe(`fuzz (seed ${seed})`, () => {
  it('has mutants to make: the fixture files at least', () => {
    expect(poolSize).toBeGreaterThan(100);
  });

  for (let i = 0; i < CASES; i++) {
    it(`case ${i}${DETERMINISM_CASES.has(i) ? ' (and deterministic)' : ''}: exit 0/1, no crash, within ${CASE_BUDGET_S} s, JSON`, () => {
      const r = results.get(i)!;
      const detail = r.problems.length
        ? `seed ${seed} case ${i} failed; replay: ${replayCommand(seed, i, POOL)}\n${r.files.map((f) => `  ${f.crate}/${f.file} ${f.bytes} B from ${f.from}: ${f.ops.join(', ')}`).join('\n')}\n`
        : '';
      expect(r.problems, detail).toEqual([]);
    });
  }
});
