// Scan one crate, in stages: walk each target's module tree into units (module-walk.ts), compute each
// unit's findings (unit-findings.ts), analyse the files no module reaches (unreferenced.ts), add the
// crate-level findings and indicators (crate-findings.ts), then sort and dedupe once (scan-output.ts).
// Produces findings as data.

import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { FileOptions } from '../parse/analyze.js';
import type { FileSummary } from '../parse/summary.js';
import type { ResolverOptions } from '../resolve/resolver.js';
import type { RuleIndex } from '../rules/engine.js';
import type { Finding, Indicator, Manifest, Phase, Unanalyzed } from '../types.js';
import { listPackage, type PackageListing } from './package-listing.js';
import { CrateFiles, targetsOf, walkTarget, type FileRole, type UnitAnalyzer } from './module-walk.js';
import { unitFindings, type UnitFindings, type UnitPlace } from './unit-findings.js';
import { listingGaps, unreferencedUnits } from './unreferenced.js';
import { crateFindings, packageIndicators } from './crate-findings.js';
import { finishScan, type CollectedScan } from './scan-output.js';
import { expandCrateMacros, type ExpansionStats, type ExpansionUnit, type MacroDef } from '../expand/stage.js';

export type { MacroDef } from '../expand/stage.js';

export { listPackage, rustFilesOf, MAX_LISTED_ENTRIES, type PackageListing } from './package-listing.js';
export { MAX_FILES_PER_CRATE, MAX_TOKEN_FILES_PER_CRATE, MAX_TOKEN_BYTES_PER_CRATE } from './file-budget.js';
export { targetsOf, type FileRole } from './module-walk.js';

export interface CrateInput {
  name: string;
  dir: string;
  manifest: Manifest | null;
  /** Phase of the library code (runtime when linked into the user's program). */
  libPhase: Phase;
  /** Extern prelude of the crate: name used in code → canonical crate name. */
  externs: Map<string, string>;
  allTargets: boolean;
  /** Also the bin targets, as runtime code (`crate` mode of a bin-only crate: what `cargo install` runs). */
  bins?: boolean;
  /** The package's files (listPackage), when the caller already lists them. */
  listing?: Promise<PackageListing>;
  /**
   * Dependencies' `#[macro_export]` macros (their CrateScan.macroExports) by the code name this crate uses
   * for each (renames applied, `-` → `_`): `dep::name!(…)`, `use dep::name` and `#[macro_use] extern
   * crate dep` invocations expand with `$crate` = the dependency; the findings are this crate's.
   */
  depMacros?: Map<string, MacroDef[]>;
}

/** Analyse one file (in-thread, in a worker, or from the cache). */
export type FileAnalyzer = (absPath: string, opts: FileOptions) => Promise<FileSummary>;

export interface CrateScan {
  findings: Finding[];
  indicators: Indicator[];
  /** Hosts named by host:port literals passed to network APIs. */
  hosts: { host: string; file: string; line: number }[];
  /** URLs in string literals, with where they are. */
  urls: { url: string; file: string; line: number }[];
  unanalyzed: Unanalyzed[];
  /** Every analysed file (relative path) with its role. */
  files: { rel: string; role: FileRole }[];
  /** The crate's `#[macro_export]` macro_rules! (library code), for its dependents' expansion. */
  macroExports?: MacroDef[];
  /** Macro invocations expanded and expansions that could not be done (not serialised in reports). */
  macroStats?: ExpansionStats;
}


/** The analysis options of a file of the crate, by its role. */
function unitAnalyzer(input: CrateInput, procMacro: boolean, analyze: FileAnalyzer): UnitAnalyzer {
  return (abs, role, test, tokensOnly) => {
    const opts: FileOptions = {
      keepTests: input.allTargets,
      procMacro: procMacro && role !== 'build',
      buildScript: role === 'build',
      test: test || role === 'test' || role === 'bench' || role === 'example',
    };
    if (tokensOnly) opts.tokensOnly = tokensOnly;
    return analyze(abs, opts);
  };
}

/** The scan being collected, with the include_bytes! sites the package indicators check. */
type Collecting = CollectedScan & { includeBytes: UnitFindings['includeBytes'] };

/** Adds one unit's contribution to the collected scan (in scan order). */
function collect(into: Collecting, u: UnitFindings): void {
  // one push per item: a unit can hold 400k findings, too many for push(...list)'s arguments
  const append = <T>(to: T[], items: T[]) => {
    for (const item of items) to.push(item);
  };
  append(into.findings, u.findings);
  append(into.hosts, u.hosts);
  append(into.urls, u.urls);
  append(into.indicators, u.indicators);
  append(into.includeBytes, u.includeBytes);
  append(into.unanalyzed, u.unanalyzed);
}

export async function scanCrate(input: CrateInput, index: RuleIndex, analyze: FileAnalyzer): Promise<CrateScan> {
  const dir = realpathSync.native(input.dir);
  const manifest = input.manifest;
  const procMacro = manifest?.lib?.procMacro ?? false;
  const targets = targetsOf(dir, manifest, input.allTargets, (rel) => existsSync(join(dir, rel)));
  if (input.bins && !input.allTargets) for (const t of manifest?.bins ?? []) targets.push({ role: 'bin', root: t.path });
  const resolverOptions: ResolverOptions = {
    edition: manifest?.package?.edition ?? '2015',
    externs: input.externs,
    unknownAsExtern: true,
    isKnownPrefix: (p) => index.isKnownPrefix(p),
    isKnownSegment: (n) => index.isKnownSegment(n),
  };
  const crate = new CrateFiles(dir, input.allTargets, unitAnalyzer(input, procMacro, analyze));
  const unanalyzed: Unanalyzed[] = crate.unanalyzed;
  const indicators: Indicator[] = [];
  const out: Collecting = { findings: [], crateFindings: [], indicators, hosts: [], urls: [], unanalyzed, files: crate.files, includeBytes: [] };
  const place = (role: FileRole, buildSide: boolean): UnitPlace => ({ role, buildSide, libPhase: input.libPhase, allTargets: input.allTargets });

  // 1-2. each target's module tree, then its units' findings
  const units: ExpansionUnit[] = [];
  for (const t of targets) {
    const walked = await walkTarget(t, crate, resolverOptions);
    if (!walked) continue;
    for (const { unit, role } of walked.units) {
      const p = place(role, role === 'build');
      units.push({ unit, resolver: walked.resolver, place: p, target: t.role === 'lib' ? 'lib' : `${t.role}:${t.root}`, out: unitFindings(unit, walked.resolver, index, p) });
    }
  }
  // 3. files no module reaches are still scanned, marked unreferenced
  const listing: PackageListing = await (input.listing ?? listPackage(dir));
  for (const s of await unreferencedUnits(listing, targets, crate, resolverOptions)) {
    const p = place(s.role, s.buildSide);
    units.push({ unit: s.unit, resolver: s.resolver, place: p, target: `stray:${s.unit.rel}`, out: unitFindings(s.unit, s.resolver, index, p) });
  }
  // 3b. macro_rules! expansion (src/expand/): invocations' findings, macro bodies' marks, exported macros
  const expansion = macroExpansionStage(input, units, index);
  for (const u of units) collect(out, u.out);
  for (const a of expansion.added) collect(out, a);
  // what the limits left out, never silently
  const skipped = crate.budget.skippedEntry();
  if (skipped) unanalyzed.push(skipped);
  for (const gap of listingGaps(listing)) unanalyzed.push(gap);
  // 4. crate-level facts
  out.crateFindings = await crateFindings(index, manifest, procMacro, dir);
  indicators.push(...(await packageIndicators(dir, listing.files, manifest, out.includeBytes, unanalyzed)));
  // 5. sort and dedupe once
  const scan = finishScan(out);
  scan.macroExports = expansion.macroExports;
  scan.macroStats = expansion.stats;
  return scan;
}

/** Stage 3b: expansion of the crate's (and its dependencies') macro_rules! invocations. */
function macroExpansionStage(input: CrateInput, units: ExpansionUnit[], index: RuleIndex) {
  const e: Parameters<typeof expandCrateMacros>[0] = { units, index, cfg: index.analyzerConfig(), allTargets: input.allTargets, externs: input.externs };
  if (input.depMacros) e.depMacros = input.depMacros;
  return expandCrateMacros(e);
}
