// Scan one crate, in stages: walk each target's module tree into units (module-walk.ts), compute each
// unit's findings (unit-findings.ts), analyse the files no module reaches (unreferenced.ts), add the
// crate-level findings and indicators (crate-findings.ts), then sort and dedupe once (scan-output.ts).
// Produces findings as data.

import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { FileOptions } from '../parse/analyze.js';
import type { FileSummary } from '../parse/summary.js';
import type { Resolver, ResolverOptions } from '../resolve/resolver.js';
import type { RuleIndex } from '../rules/engine.js';
import type { Finding, Indicator, Manifest, Phase, Reach, Unanalyzed } from '../types.js';
import { computeReach, DepReach, MAX_REACH_ALIASES } from '../link/reach.js';
import { listPackage, type PackageListing } from './package-listing.js';
import { CrateFiles, targetsOf, walkTarget, type FileRole, type UnitAnalyzer } from './module-walk.js';
import { unitFindings, type UnitFindings, type UnitPlace } from './unit-findings.js';
import { listingGaps, unreferencedUnits } from './unreferenced.js';
import { crateFindings, packageIndicators } from './crate-findings.js';
import { finishScan, type CollectedScan } from './scan-output.js';
import { buildExportTable, exportTableHash, MAX_LOOKUP_HOPS, type ExportTable, type TableOf } from '../link/exports.js';
import { expandCrateMacros, exportedMacros, type ExpansionStats, type ExpansionUnit, type MacroDef } from '../expand/stage.js';

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
   * Export tables of the crate's dependencies, by code name (renames applied, `-` → `_`), or a function
   * awaited once the crate's files are parsed and before any name is resolved (the session's dependency
   * order: parsing stays parallel, resolution waits for the dependencies).
   */
  depExports?: Map<string, ExportTable> | (() => Promise<Map<string, ExportTable>>);
  /** Any export table of the run by its hash (tables name their own dependencies' tables by hash). */
  exportTableOf?: TableOf;
  /** Called with the crate's own export table as soon as it is built (before its findings are computed). */
  onExports?: (table: ExportTable | null) => void;
  /**
   * Dependencies' `#[macro_export]` macros (their CrateScan.macroExports) by the code name this crate uses
   * for each (renames applied, `-` → `_`): `dep::name!(…)`, `use dep::name` and `#[macro_use] extern
   * crate dep` invocations expand with `$crate` = the dependency; the findings are this crate's.
   */
  depMacros?: Map<string, MacroDef[]> | (() => Map<string, MacroDef[]>);
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
  /** Capabilities reached through calls into dependencies (sorted; absent when none). */
  reaches?: Reach[];
  /** The library's export table (what dependents resolve through); absent without a library target. */
  exports?: ExportTable;
  /** Its hash (exportTableHash), kept with it so a warm run does not serialise the table again. */
  exportsHash?: string;
  /** The crate's `#[macro_export]` macro_rules! (library code), for its dependents' expansion. */
  macroExports?: MacroDef[];
  /** Macro invocations expanded and expansions that could not be done (not serialised in reports). */
  macroStats?: ExpansionStats;
}


/** Paths whose lookup through a dependency's export table hit its bound (matched as written instead). */
function linkLimitEntries(resolvers: Resolver[]): Unanalyzed[] {
  const counts = new Map<string, number>();
  for (const r of resolvers) for (const [dep, n] of r.linkLimited) counts.set(dep, (counts.get(dep) ?? 0) + n);
  return [...counts.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([dep, n]) => ({ file: 'Cargo.toml', line: 1, reason: `link-limit: ${n} path(s) through dependency \`${dep}\` stopped at the export-table lookup bound (${MAX_LOOKUP_HOPS} steps): matched as written, re-exports past the bound not followed` }));
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

  // 1. each target's module tree (parsing)
  const walkedTargets: { t: (typeof targets)[number]; walked: NonNullable<Awaited<ReturnType<typeof walkTarget>>> }[] = [];
  for (const t of targets) {
    const walked = await walkTarget(t, crate, resolverOptions);
    if (walked) walkedTargets.push({ t, walked });
  }
  // link: the dependencies' export tables are needed from here on (names are resolved); then this crate's
  // own table, published before its findings so dependents can start resolving
  const depExports = typeof input.depExports === 'function' ? await input.depExports() : input.depExports;
  if (depExports && depExports.size > 0) resolverOptions.depExports = depExports;
  if (input.exportTableOf) resolverOptions.exportTableOf = input.exportTableOf;
  const lib = walkedTargets.find((w) => w.t.role === 'lib');
  const exports = lib ? buildExportTable(input.name.replace(/-/g, '_'), lib.walked.resolver.root, lib.walked.resolver, lib.walked.units.map((u) => u.unit), resolverOptions.edition, depExports) : null;
  // its #[macro_export] macros travel with the table (dependents expand them; the table's hash keys them)
  const macros = lib ? exportedMacros(lib.walked.units) : [];
  if (exports && macros.length > 0) exports.macros = macros;
  // 2. each unit's findings
  const units: ExpansionUnit[] = [];
  for (const { t, walked } of walkedTargets) {
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
  const expansion = macroExpansionStage(input, units, index, depExports);
  for (const u of units) collect(out, u.out);
  for (const a of expansion.added) collect(out, a);
  // 3c. reach through calls (src/link/reach.ts): the summary goes into the table, published only now
  const reach = computeReach(
    input.name.replace(/-/g, '_'),
    units.map((u) => ({ unit: u.unit, resolver: u.resolver, place: u.place, lib: u.target === 'lib' })),
    out.findings,
    new DepReach(depExports, input.exportTableOf),
  );
  if (exports && reach.summary.length > 0) exports.reach = reach.summary;
  if (reach.aliasesOver > 0) {
    unanalyzed.push({ file: 'Cargo.toml', line: 1, reason: `reach-limit: ${reach.aliasesOver} name(s) that globs give the crate's functions past ${MAX_REACH_ALIASES} not in its reach summary: calls of them from dependents are not followed` });
  }
  input.onExports?.(exports);
  // what the limits left out, never silently
  for (const e of linkLimitEntries(walkedTargets.map((w) => w.walked.resolver))) unanalyzed.push(e);
  const skipped = crate.budget.skippedEntry();
  if (skipped) unanalyzed.push(skipped);
  for (const gap of listingGaps(listing)) unanalyzed.push(gap);
  // 4. crate-level facts
  out.crateFindings = await crateFindings(index, manifest, procMacro, dir);
  indicators.push(...(await packageIndicators(dir, listing.files, manifest, out.includeBytes, unanalyzed)));
  // 5. sort and dedupe once
  const scan = finishScan(out);
  if (exports) {
    scan.exports = exports;
    scan.exportsHash = exportTableHash(exports);
  }
  if (reach.reaches.length > 0) scan.reaches = reach.reaches;
  scan.macroExports = expansion.macroExports;
  scan.macroStats = expansion.stats;
  return scan;
}

/** Stage 3b: expansion of the crate's (and its dependencies') macro_rules! invocations. */
function macroExpansionStage(input: CrateInput, units: ExpansionUnit[], index: RuleIndex, depExports: Map<string, ExportTable> | undefined) {
  const e: Parameters<typeof expandCrateMacros>[0] = { units, index, cfg: index.analyzerConfig(), allTargets: input.allTargets, externs: input.externs };
  // the dependencies' exported macros: given, or carried by their export tables
  let depMacros = typeof input.depMacros === 'function' ? input.depMacros() : input.depMacros;
  if (!depMacros && depExports) {
    depMacros = new Map();
    for (const [code, t] of depExports) if (t.macros && t.macros.length > 0) depMacros.set(code, t.macros);
  }
  if (depMacros && depMacros.size > 0) e.depMacros = depMacros;
  return expandCrateMacros(e);
}
