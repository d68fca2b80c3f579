// Stage 4 of the crate scan: findings and indicators of the package as a whole (a build script, a
// proc-macro crate; shipped binaries, compiled native sources, include_bytes! of binaries).

import { join, dirname, resolve as resolvePath } from 'node:path';
import type { RuleIndex } from '../rules/engine.js';
import { crateIndicators, type IncludeBytesRef } from '../indicators/package-indicators.js';
import { MAX_TOML_BYTES, readRegularText } from '../util/fs-safe.js';
import type { Finding, Indicator, Manifest, Unanalyzed } from '../types.js';
import { locateInside } from './module-walk.js';

/** The crate rules' findings: one per kind of crate fact (a later rule of the same kind replaces an earlier one). */
export async function crateFindings(index: RuleIndex, manifest: Manifest | null, procMacro: boolean, dir: string): Promise<Finding[]> {
  const findings = new Map<string, Finding>();
  for (const rule of index.crateRules) {
    if (rule.crate === 'build-script' && manifest?.package?.build) {
      const rel = manifest.package.build;
      findings.set(`crate-build`, {
        capability: rule.capability,
        kind: rule.kind,
        phase: 'build',
        rule: rule.id,
        file: rel,
        line: 1,
        column: 1,
        evidence: `build script ${rel}`,
      });
    }
    if (rule.crate === 'proc-macro' && procMacro) {
      const text = await readRegularText(join(dir, 'Cargo.toml'), { maxBytes: MAX_TOML_BYTES }).catch(() => '');
      const idx = text.split('\n').findIndex((l) => /^\s*proc[-_]macro\s*=\s*true/.test(l));
      findings.set(`crate-proc-macro`, {
        capability: rule.capability,
        kind: rule.kind,
        phase: 'build',
        rule: rule.id,
        file: 'Cargo.toml',
        line: idx >= 0 ? idx + 1 : 1,
        column: 1,
        evidence: 'proc-macro = true',
      });
    }
  }
  return [...findings.values()];
}

/** Package-level indicators; include_bytes! targets that are not regular files are listed as unanalyzed. */
export async function packageIndicators(dir: string, listing: string[], manifest: Manifest | null, includeBytes: IncludeBytesRef[], unanalyzed: Unanalyzed[]): Promise<Indicator[]> {
  const allFiles = listing.map((path) => ({ path }));
  const build = manifest?.package?.build ?? null;
  const buildLoc = build ? await locateInside(dir, join(dir, build)) : null;
  const buildSource = buildLoc && 'abs' in buildLoc ? await readRegularText(buildLoc.abs, { maxBytes: MAX_TOML_BYTES }).catch(() => null) : null;
  // an include_bytes! of a FIFO or device is not read (the indicator pass skips it): say so
  for (const ref of includeBytes) {
    const loc = await locateInside(dir, resolvePath(dir, dirname(ref.file), ref.path));
    if (loc && 'problem' in loc && loc.problem.startsWith('not-a-regular-file')) {
      unanalyzed.push({ file: ref.file, line: ref.line, reason: `include_bytes not analysed: ${ref.path} (${loc.problem})` });
    }
  }
  return crateIndicators(dir, allFiles, buildSource, includeBytes, build ?? 'build.rs', unanalyzed);
}
