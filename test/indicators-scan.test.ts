// Indicators through the crate scanner: cfg(test) code is not compiled into dependents, so its
// indicators count only with --all-targets, like its capabilities.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { scanCrateDir } from '../src/scan/session.js';
import { defaultScanOptions } from '../src/options.js';

const FIXTURE = resolve(__dirname, '..', 'fixtures', 'indicators', 'bidi-in-test');

describe('indicators in cfg(test) code', () => {
  it('reports library code only by default', async () => {
    const r = await scanCrateDir(FIXTURE, defaultScanOptions({ cache: false }));
    expect(r.crates[0]!.indicators).toEqual([
      { id: 'bidi', file: 'src/lib.rs', line: 2, detail: 'bidirectional control characters U+202E U+2066 U+2069' },
    ]);
  });

  it('adds the test module with --all-targets', async () => {
    const r = await scanCrateDir(FIXTURE, defaultScanOptions({ cache: false, allTargets: true }));
    expect(r.crates[0]!.indicators.map((i) => [i.line, i.detail])).toEqual([
      [2, 'bidirectional control characters U+202E U+2066 U+2069'],
      [9, 'bidirectional control characters U+2067'],
    ]);
  });
});
