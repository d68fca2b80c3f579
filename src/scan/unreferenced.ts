// Stage 3 of the crate scan: files no module tree reaches are still analysed, each as its own unit
// (marked unreferenced, or by the target directory that holds it), and what the listing left out is said.

import { join, dirname } from 'node:path';
import { ModuleNode, Resolver, placeUnit, type ResolverOptions, type Unit } from '../resolve/resolver.js';
import type { Unanalyzed } from '../types.js';
import { MAX_LISTED_ENTRIES, rustFilesOf, type PackageListing } from './package-listing.js';
import { locateInside, posix, type CrateFiles, type FileRole, type Target } from './module-walk.js';

/** Role of a file no target reaches, from the directory cargo's target discovery would give it. */
export function strayRole(rel: string): FileRole {
  if (rel.startsWith('tests/')) return 'test';
  if (rel.startsWith('benches/')) return 'bench';
  if (rel.startsWith('examples/')) return 'example';
  if (rel.startsWith('src/bin/')) return 'bin';
  return 'unreferenced';
}

/**
 * Whether an unreferenced file is build-side code: it belongs with the lib or build target whose directory
 * holds it most specifically (a stray build_helper.rs next to build.rs, outside src/, is build-side code;
 * src/unused.rs is library code; on a tie the library wins).
 */
export function nearestTargetIsBuild(targets: Target[], rel: string): boolean {
  const targetDirs = targets
    .filter((t) => t.role === 'lib' || t.role === 'build')
    .map((t) => ({ role: t.role, dir: posix(dirname(posix(t.root).replace(/^\.\//, ''))) }));
  let best: { role: FileRole; dir: string } | null = null;
  for (const t of targetDirs) {
    if (t.dir !== '.' && !rel.startsWith(t.dir + '/')) continue;
    const len = t.dir === '.' ? 0 : t.dir.length;
    const bestLen = best ? (best.dir === '.' ? 0 : best.dir.length) : -1;
    if (len > bestLen || (len === bestLen && t.role === 'lib')) best = t;
  }
  return best?.role === 'build';
}

/** An unreferenced file's unit: its own module tree and resolver. */
export interface StrayUnit {
  unit: Unit;
  role: FileRole;
  resolver: Resolver;
  buildSide: boolean;
}

/** The units of the package's Rust files that no module tree reached (in listing order). */
export async function unreferencedUnits(listing: PackageListing, targets: Target[], crate: CrateFiles, resolverOptions: ResolverOptions): Promise<StrayUnit[]> {
  const { dir, allTargets } = crate;
  const out: StrayUnit[] = [];
  for (const rel of rustFilesOf(listing.files, allTargets)) {
    const loc = await locateInside(dir, join(dir, rel));
    if (!loc || 'problem' in loc) continue;
    const abs = loc.abs;
    if (crate.visited.has(abs) || crate.testFiles.has(abs)) continue;
    if (crate.testDirs.some((d) => abs.startsWith(d))) continue;
    crate.visited.add(abs);
    const how = crate.budget.take(posix(rel), loc.size);
    if (how === null) continue;
    // (--all-targets) a stray file in a target directory that is not a declared target (autobenches = false)
    // is that kind of code, tests and benches included, not library code
    const role = strayRole(posix(rel));
    const summary = await crate.analyze(abs, role, false, how);
    if (summary.testOnly && !allTargets) continue;
    const root = new ModuleNode('crate', null);
    const resolver = new Resolver(root, resolverOptions);
    const unit = placeUnit(posix(rel), summary, root, false);
    crate.files.push({ rel: posix(rel), role });
    out.push({ unit, role, resolver, buildSide: role === 'unreferenced' && nearestTargetIsBuild(targets, posix(rel)) });
  }
  return out;
}

/** What the package listing left out, never silently: past its entry cap, and unreadable directories. */
export function listingGaps(listing: PackageListing): Unanalyzed[] {
  const out: Unanalyzed[] = [];
  if (listing.truncatedAt !== null) {
    out.push({
      file: listing.truncatedAt,
      line: 1,
      reason: `skipped: package listing stopped at the entry cap (${MAX_LISTED_ENTRIES}): from this path on, files no module reaches were not analysed and no file was checked for native code`,
    });
  }
  for (const u of listing.unreadable) {
    out.push({ file: u.dir, line: 1, reason: `skipped: directory not readable (${u.code}): files no module reaches in it were not analysed` });
  }
  return out;
}
