// Issue 18 (detection depth): one fixture crate per item under fixtures/crates/detect-*, each scanned like
// `cap-scan crate <dir>` with its exact findings (rule, file, line, column, phase, context), indicators and
// unanalyzed entries asserted. Positives and negatives live in the same crate.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { scanCrateDir } from '../src/scan/session.js';
import type { CrateReport } from '../src/types.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'crates');

async function scan(name: string): Promise<CrateReport> {
  const res = await scanCrateDir(path.join(FIX, name), defaultScanOptions({ cache: false }));
  return res.crates[0]!;
}

const rows = (c: CrateReport) => c.findings.map((f) => [f.rule, f.file, f.line, f.column, f.phase, ...(f.context ? [f.context] : [])]);

describe('issue 18: detection depth', () => {
  it('item 2: CommandExt hooks and setters are process, clap Command setters are not', async () => {
    const c = await scan('detect-process-hooks');
    expect(rows(c)).toEqual([
      ['unsafe-block', 'src/lib.rs', 7, 5, 'runtime'],
      ['command-ext-hook', 'src/lib.rs', 8, 13, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 9, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 16, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 23, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 40, 'runtime'],
    ]);
    expect(c.capabilities).toEqual(['process', 'unsafe']);
    expect(c.unanalyzed).toEqual([]);
  });
});
