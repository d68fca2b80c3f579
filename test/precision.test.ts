// Precision and recall on real crates (issue 3 acceptance), on Debian's packaged sources in
// /usr/share/cargo/registry. Each crate is scanned like `cap-scan crate <dir>`. Skips with a message when
// the corpus (or one crate of it) is absent: `scripts/setup-corpus.sh` installs them all.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { scanCrateDir } from '../src/scan/session.js';
import type { CrateReport } from '../src/types.js';

const REGISTRY = process.env.CAP_SCAN_CORPUS_REGISTRY || '/usr/share/cargo/registry';

/** Newest installed version directory of a crate, or null. */
function crateDir(name: string): string | null {
  if (!existsSync(REGISTRY)) return null;
  const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}-(\\d+)\\.(\\d+)\\.(\\d+)`);
  const dirs = readdirSync(REGISTRY)
    .map((d) => ({ d, m: re.exec(d) }))
    .filter((x): x is { d: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]) || Number(b.m[2]) - Number(a.m[2]) || Number(b.m[3]) - Number(a.m[3]));
  return dirs[0] ? path.join(REGISTRY, dirs[0].d) : null;
}

async function report(name: string): Promise<CrateReport> {
  const res = await scanCrateDir(crateDir(name)!, defaultScanOptions());
  return res.crates[0]!;
}

interface Expectation {
  name: string;
  /** Capabilities that must be present (union over phases unless phase-qualified as `build:x`/`runtime:x`). */
  has: string[];
  /** Capabilities that must be absent, same notation. */
  lacks: string[];
}

const EXPECT: Expectation[] = [
  { name: 'regex', has: [], lacks: ['fs', 'net', 'process'] },
  { name: 'aho-corasick', has: [], lacks: ['fs', 'net', 'process'] },
  { name: 'memchr', has: ['build:env'], lacks: ['fs', 'net', 'process', 'runtime:env'] },
  { name: 'itoa', has: [], lacks: ['fs', 'net', 'process'] },
  { name: 'base64', has: [], lacks: ['fs', 'net', 'process'] },
  { name: 'byteorder', has: [], lacks: ['fs', 'net', 'process'] },
  { name: 'humantime', has: [], lacks: ['fs', 'net', 'process'] },
  { name: 'serde_json', has: [], lacks: ['runtime:fs', 'runtime:net', 'runtime:process', 'runtime:env'] },
  { name: 'clap_derive', has: ['proc-macro'], lacks: ['process'] },
  { name: 'tempfile', has: ['fs', 'env'], lacks: ['process'] },
  { name: 'tokio', has: ['runtime:fs', 'runtime:net', 'runtime:process', 'runtime:unsafe'], lacks: [] },
  { name: 'cc', has: ['process', 'env', 'fs'], lacks: [] },
  { name: 'libc', has: ['runtime:ffi', 'runtime:unsafe', 'build:process', 'build:env'], lacks: [] },
  // the real-world false positives fixed in the engine (cfg(test) module subtrees, stray build files)
  { name: 'walkdir', has: ['runtime:fs'], lacks: ['env', 'process'] },
  { name: 'same-file', has: ['runtime:fs'], lacks: ['env', 'process'] },
  { name: 'libz-sys', has: ['build:process', 'build:env'], lacks: ['runtime:env', 'runtime:process'] },
];

function holds(r: CrateReport, cap: string): boolean {
  const [phase, c] = cap.includes(':') ? (cap.split(':') as ['runtime' | 'build', string]) : [null, cap];
  if (phase) return (r.phases[phase] as string[]).includes(c);
  return (r.capabilities as string[]).includes(c);
}

const missing = EXPECT.filter((e) => crateDir(e.name) === null).map((e) => e.name);
if (missing.length) console.warn(`precision: skipping ${missing.join(', ')}: not in ${REGISTRY} (apt-get install librust-<name>-dev)`);

describe('precision and recall on Debian-packaged crates', () => {
  for (const e of EXPECT) {
    it.skipIf(crateDir(e.name) === null)(`${e.name}: has ${e.has.join(', ') || '-'}; lacks ${e.lacks.join(', ') || '-'}`, async () => {
      const r = await report(e.name);
      const evidence = (cap: string) =>
        r.findings
          .filter((f) => f.capability === cap.split(':').pop())
          .slice(0, 5)
          .map((f) => `${f.phase} ${f.file}:${f.line} ${f.evidence}`);
      for (const c of e.has) expect(holds(r, c), `${e.name} should report ${c}`).toBe(true);
      for (const c of e.lacks) expect(holds(r, c) ? evidence(c) : [], `${e.name} should not report ${c}`).toEqual([]);
    });
  }
});
