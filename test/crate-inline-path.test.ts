// Inline modules carrying #[path]: their `mod x;` children are found under the path, not the module name.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { scanCrateDir } from '../src/scan/session.js';
import { defaultScanOptions } from '../src/options.js';

describe('inline #[path] modules', () => {
  it('follows child modules into the directory the attribute names', async () => {
    const r = await scanCrateDir(resolve(__dirname, '..', 'fixtures', 'crates', 'inline-path-mod'), defaultScanOptions({ cache: false }));
    const c = r.crates[0]!;
    expect(c.unanalyzed).toEqual([]);
    expect(c.findings.map((f) => [f.rule, f.file, f.line, f.context ?? null])).toEqual([
      ['std-net-connect', 'src/net/dial.rs', 2, null],
      ['std-fs-read', 'src/reader.rs', 2, null],
    ]);
  });
});
