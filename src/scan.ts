// The pipeline: project (lockfile + manifests + sources) → per-crate scan → ScanResult.

import { readFileSync, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { analyzeFile } from './parse/analyze.js';
import { scanCrate, cmp, type CrateScan, type FileAnalyzer } from './crate.js';
import { loadProject } from './project.js';
import { readManifest } from './manifest.js';
import { defaultCargoHome, defaultProviders } from './sources/index.js';
import { builtinRulesDir, loadRules } from './rules/load.js';
import { parsePopularList, typosquats } from './indicators/typosquat.js';
import { hostOfUrl } from './indicators/strings.js';
import { downloadProvider } from './sources/registry.js';
import { RuleIndex } from './rules/engine.js';
import type { ScanOptions } from './options.js';
import {
  CAPABILITIES,
  UserError,
  type Capability,
  type CrateReport,
  type DepKind,
  type Manifest,
  type Phase,
  type Project,
  type ResolvedPackage,
  type ScanResult,
  type SourceContext,
} from './types.js';

const require = createRequire(import.meta.url);

export function toolVersion(): string {
  return (require('../package.json') as { version: string }).version;
}

let cachedIndex: RuleIndex | null = null;
export function ruleIndex(): RuleIndex {
  if (!cachedIndex) cachedIndex = new RuleIndex(loadRules());
  return cachedIndex;
}

export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'cap-scan');
}

export function sourceContext(opts: ScanOptions, workspaceRoot: string): SourceContext {
  return {
    workspaceRoot,
    cargoHome: defaultCargoHome(),
    offline: opts.offline,
    cacheDir: opts.cacheDir ?? defaultCacheDir(),
    allowUnverified: opts.allowUnverified,
    registryUrl: opts.registryUrl ?? (process.env.CAP_SCAN_REGISTRY || null),
  };
}

/** The in-thread file analyzer. */
export function localAnalyzer(index: RuleIndex): FileAnalyzer {
  const cfg = index.analyzerConfig();
  return async (abs, opts) => analyzeFile(readFileSync(abs), cfg, opts);
}

function sortedUnique<T extends string>(xs: Iterable<T>): T[] {
  return [...new Set(xs)].sort(cmp);
}

/** Per-crate report from a crate scan (the JSON contract's shape and order). */
export function crateReport(
  meta: {
    name: string;
    version: string;
    source: string | null;
    checksum: string | null;
    reachedAs: DepKind[];
    manifest: Manifest | null;
  },
  scan: CrateScan,
): CrateReport {
  const byPhase: Record<Phase, Set<Capability>> = { runtime: new Set(), build: new Set() };
  for (const f of scan.findings) byPhase[f.phase].add(f.capability);
  const order = (s: Set<Capability>) => CAPABILITIES.filter((c) => s.has(c)).sort(cmp);
  const all = new Set([...byPhase.runtime, ...byPhase.build]);
  const urls = sortedUnique(scan.urls.map((u) => u.url));
  const hosts = sortedUnique([...urls.map(hostOfUrl).filter((h): h is string => h !== null), ...scan.hosts.map((h) => h.host)]);
  return {
    name: meta.name,
    version: meta.version,
    source: meta.source,
    checksum: meta.checksum,
    reachedAs: meta.reachedAs,
    procMacro: meta.manifest?.lib?.procMacro ?? false,
    buildScript: meta.manifest?.package?.build ?? null,
    capabilities: order(all),
    phases: { runtime: order(byPhase.runtime), build: order(byPhase.build) },
    findings: scan.findings,
    urls,
    hosts,
    indicators: scan.indicators,
    unanalyzed: scan.unanalyzed,
  };
}

function externsOf(pkg: ResolvedPackage, project: Project): Map<string, string> {
  const byId = new Map(project.packages.map((p) => [p.id, p]));
  const m = new Map<string, string>();
  for (const d of pkg.deps) {
    const dep = byId.get(d.id);
    if (dep) m.set(d.codeName, dep.name.replace(/-/g, '_'));
  }
  // dependencies declared in the manifest but absent from the lock (inactive optional/target deps)
  for (const d of pkg.manifest?.dependencies ?? []) {
    const key = d.key.replace(/-/g, '_');
    if (!m.has(key)) m.set(key, d.package.replace(/-/g, '_'));
  }
  return m;
}

let popular: string[] | null = null;

/** Names in the lockfile one edit away from a popular crate that is not itself in the lockfile. */
function addTyposquats(project: Project, crates: CrateReport[]): void {
  popular ??= parsePopularList(readFileSync(join(builtinRulesDir(), 'popular-crates.txt'), 'utf8'));
  const raw = project.rootManifest.raw as { workspace?: { metadata?: Record<string, unknown> }; package?: { metadata?: Record<string, unknown> } };
  const meta = (raw.workspace?.metadata?.['cap-scan'] ?? raw.package?.metadata?.['cap-scan']) as Record<string, unknown> | undefined;
  const ex = meta?.['typosquat-exceptions'];
  const exceptions = Array.isArray(ex) ? ex.filter((x): x is string => typeof x === 'string') : [];
  const names = [...new Set(project.packages.filter((p) => !p.member).map((p) => p.name))];
  for (const t of typosquats(names, popular, exceptions)) {
    for (const c of crates) {
      if (c.name !== t.name) continue;
      c.indicators.unshift({ id: 'typosquat', file: 'Cargo.toml', line: 1, detail: `name is close to the popular crate "${t.similarTo}" (${t.how}), which is not in the lockfile` });
    }
  }
}

export async function scanWorkspace(opts: ScanOptions): Promise<{ project: Project; result: ScanResult }> {
  const manifestPath = resolve(opts.manifestPath);
  if (!existsSync(manifestPath)) throw new UserError(`manifest not found: ${opts.manifestPath}`);
  const startDir = statSync(manifestPath).isDirectory() ? manifestPath : dirname(manifestPath);
  const ctx = sourceContext(opts, startDir);
  // offline providers first; the download provider last (it also serves the cache when --offline)
  const dl = downloadProvider();
  const providers = [...(await defaultProviders(ctx)), dl];
  let project: Project;
  try {
    project = await loadProject({
      manifestPath,
      includeDev: opts.includeDev,
      providers,
      ctx,
      ...(opts.lockfilePath ? { lockfilePath: resolve(opts.lockfilePath) } : {}),
    });
  } finally {
    dl.finish();
  }
  const index = ruleIndex();
  const analyze = localAnalyzer(index);
  const crates: CrateReport[] = [];
  const unscanned: ScanResult['unscanned'] = [];
  for (const pkg of project.packages) {
    if (pkg.member) continue;
    if (!pkg.dir || pkg.unscannedReason) {
      unscanned.push({ name: pkg.name, version: pkg.version, reason: pkg.unscannedReason ?? 'source not found' });
      continue;
    }
    const procMacro = pkg.manifest?.lib?.procMacro ?? false;
    const scan = await scanCrate(
      {
        name: pkg.name,
        dir: pkg.dir,
        manifest: pkg.manifest,
        libPhase: procMacro || !pkg.phases.includes('runtime') ? 'build' : 'runtime',
        externs: externsOf(pkg, project),
        allTargets: opts.allTargets,
      },
      index,
      analyze,
    );
    crates.push(crateReport(pkg, scan));
  }
  addTyposquats(project, crates);
  crates.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version));
  unscanned.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version));
  return { project, result: { schemaVersion: 1, tool: { name: 'cap-scan', version: toolVersion() }, crates, unscanned } };
}

/** Scan one unpacked crate directory (a vendored crate, a crate you are about to add). */
export async function scanCrateDir(dir: string, opts: ScanOptions): Promise<ScanResult> {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UserError(`not a directory: ${dir}`);
  const manifestPath = join(abs, 'Cargo.toml');
  const manifest = existsSync(manifestPath) ? await readManifest(manifestPath) : null;
  const index = ruleIndex();
  const externs = new Map<string, string>();
  for (const d of manifest?.dependencies ?? []) externs.set(d.key.replace(/-/g, '_'), d.package.replace(/-/g, '_'));
  const procMacro = manifest?.lib?.procMacro ?? false;
  const scan = await scanCrate(
    { name: manifest?.package?.name ?? abs, dir: abs, manifest, libPhase: procMacro ? 'build' : 'runtime', externs, allTargets: opts.allTargets },
    index,
    localAnalyzer(index),
  );
  const report = crateReport(
    {
      name: manifest?.package?.name ?? abs.split('/').pop()!,
      version: manifest?.package?.version ?? '0.0.0',
      source: null,
      checksum: null,
      reachedAs: ['normal'],
      manifest,
    },
    scan,
  );
  return { schemaVersion: 1, tool: { name: 'cap-scan', version: toolVersion() }, crates: [report], unscanned: [] };
}
