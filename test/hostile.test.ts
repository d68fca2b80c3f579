// Hostile source: pathological nesting must not tie the analysis up (tree-sitter's queries slow down
// super-linearly there); such a file is analysed as tokens, and says so.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanCrateDir } from '../src/scan/session.js';
import { defaultScanOptions } from '../src/options.js';
import { MAX_NESTING, maxNesting } from '../src/parse/analyze.js';

describe('pathological nesting', () => {
  it('100k nested blocks: analysed as tokens, finding kept, reason listed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cap-scan-deep-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "deep"\nversion = "0.1.0"\nedition = "2021"\n');
    const n = 100_000;
    writeFileSync(join(dir, 'src', 'lib.rs'), `pub fn f() ${'{'.repeat(n)} std::process::Command::new("x"); ${'}'.repeat(n)}\n`);
    const r = await scanCrateDir(dir, defaultScanOptions({ cache: false }));
    const c = r.crates[0]!;
    expect(c.findings.map((f) => [f.rule, f.file, f.line, f.column])).toEqual([['std-process-spawn', 'src/lib.rs', 1, n + 13]]);
    expect(c.unanalyzed).toEqual([{ file: 'src/lib.rs', line: 1, reason: `nesting-too-deep (${n + 1} levels): analysed as tokens` }]);
  }, 20_000);

  it('ordinary nesting stays on the syntax tree', async () => {
    expect(maxNesting('fn f() { if a { g([1, (2)]) } }')).toBe(5);
    expect(MAX_NESTING).toBeGreaterThanOrEqual(1000);
    const dir = mkdtempSync(join(tmpdir(), 'cap-scan-nest-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "nest"\nversion = "0.1.0"\nedition = "2021"\n');
    // 200 levels (blocks, calls, arrays): far more than real code, far under the guard
    const n = 200;
    const open = '{ f([('.repeat(n);
    const close = ')]) }'.repeat(n);
    writeFileSync(join(dir, 'src', 'lib.rs'), `pub fn f() ${open} std::process::Command::new("x") ${close}\n`);
    const r = await scanCrateDir(dir, defaultScanOptions({ cache: false }));
    const c = r.crates[0]!;
    expect(c.findings.map((f) => [f.rule, f.file, f.line, f.column])).toEqual([['std-process-spawn', 'src/lib.rs', 1, 13 + open.length]]);
    // the token path always lists its reason: no entry, so the tree analysed the file
    expect(c.unanalyzed).toEqual([]);
  });
});
