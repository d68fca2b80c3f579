// The pipeline: project (lockfile + manifests + sources) → per-crate scan → ScanResult.

import { readFileSync, existsSync, statSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve, dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { FileOptions } from '../parse/analyze.js';
import type { ScanProgress } from './progress.js';
import { scanCrate, listPackage, rustFilesOf, type CrateInput, type CrateScan, type FileAnalyzer, type PackageListing } from './crate-scan.js';
import { analyzePathSync, createPool, poolSize, RUNNING_FROM_SOURCE, type AnalyzerPool, type PoolStats } from '../parse/pool.js';
import { cacheKey, codeFingerprint, contentHash, ResultCache, type CacheStats, type SourceIdentity } from './result-cache.js';
import { exportTableHash, rememberTableHash, type ExportTable } from '../link/exports.js';
import { linkOrder, type LinkPlan } from '../link/schedule.js';
import { inheritOutsideWorkspace, loadProject } from '../project/load-project.js';
import { readManifest } from '../project/manifest.js';
import { addProvenance } from '../project/provenance.js';
import { MAX_TOML_BYTES, readRegularText } from '../util/fs-safe.js';
import { defaultProviders } from '../sources/index.js';
import { loadRules } from '../rules/load.js';
import { builtinRulesDir } from '../rules/dir.js';
import { defaultCargoHome } from '../util/cargo-home.js';
import { realpathTraced, withTrace, type FsTrace } from '../util/fs-trace.js';
import { probeWorkspace, servedScan, WorkspaceRecorder, type WorkspaceProbe, type WorkspaceStats } from './workspace-cache.js';
import { parsePopularList, typosquatIndicator, typosquats } from '../indicators/typosquat.js';
import { downloadProvider } from '../sources/registry.js';
import { RuleIndex } from '../rules/engine.js';
import type { ScanOptions } from '../options.js';
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
  type SourceProvider,
} from '../types.js';
import { mapLimit } from '../util/async.js';
import { defaultCacheDir } from '../util/cache-dir.js';
import { cmp } from '../util/compare.js';
import { hostOfUrl } from '../util/url.js';

const require = createRequire(import.meta.url);

export function toolVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}

/** Marker 'checksum' of a located crate the scan did not scan (see prewarm). */
const UNSCANNED = 'unscanned';

let cachedIndex: RuleIndex | null = null;
export function ruleIndex(): RuleIndex {
  if (!cachedIndex) cachedIndex = new RuleIndex(loadRules());
  return cachedIndex;
}

export function sourceContext(opts: ScanOptions, workspaceRoot: string): SourceContext {
  return {
    workspaceRoot,
    cargoHome: defaultCargoHome(),
    offline: opts.offline,
    cacheDir: opts.cacheDir ?? defaultCacheDir(),
    allowUnverified: opts.allowUnverified,
    registryUrl: opts.registryUrl ?? (process.env.CAP_SCAN_REGISTRY || null),
    ...(opts.quiet ? { quiet: true } : {}),
  };
}

/** The in-thread file analyzer. */
export function localAnalyzer(index: RuleIndex): FileAnalyzer {
  const cfg = index.analyzerConfig();
  return async (abs, opts) => analyzePathSync(abs, cfg, opts);
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
  // findings under an always-false cfg (context disabled) are listed, not counted
  for (const f of scan.findings) if (f.context !== 'disabled') byPhase[f.phase].add(f.capability);
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
    ...(scan.reaches && scan.reaches.length > 0 ? { reaches: scan.reaches } : {}),
    urls,
    hosts,
    indicators: scan.indicators,
    unanalyzed: scan.unanalyzed,
  };
}

function externsOf(pkg: ResolvedPackage, byId: Map<string, ResolvedPackage>): Map<string, string> {
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
      const dir = project.packages.find((p) => p.name === c.name && p.version === c.version)?.dir;
      c.indicators.unshift(typosquatIndicator(t, dir, true));
    }
  }
}

/** `crate` mode: the scanned crate's own name against the popular list (there is no lockfile). */
export function addCrateTyposquats(crates: CrateReport[], dir?: string): void {
  popular ??= parsePopularList(readFileSync(join(builtinRulesDir(), 'popular-crates.txt'), 'utf8'));
  for (const t of typosquats([...new Set(crates.map((c) => c.name))], popular)) {
    for (const c of crates) {
      if (c.name !== t.name) continue;
      c.indicators.unshift(typosquatIndicator(t, dir, false));
    }
  }
}

// ------------------------------------------------------------------ scan session: pool + result cache

export interface ScanStats {
  /** Analysis worker threads (0: in-thread). */
  workers: number;
  crates: number;
  /** Crates whose result came from the cache. */
  cached: number;
  /** Files analysed (parsed) in this run. */
  filesAnalysed: number;
  pool: PoolStats;
  cache: CacheStats | null;
  /** The whole-workspace entry (workspace-cache.ts): looked up first, written after a scan. */
  workspace: WorkspaceStats;
}

/** How many crates are scanned at once (each walks its module tree one file at a time). */
function crateConcurrency(workers: number): number {
  return Math.max(2, 2 + 2 * workers);
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * One scan run: the analysis pool, the result cache and the rule index, shared by every crate. Crates are
 * scanned concurrently (bounded); each crate's files are prefetched into the pool as soon as its scan (or
 * its location, see `prewarm`) starts.
 */
export class ScanSession {
  readonly index: RuleIndex;
  readonly pool: AnalyzerPool;
  readonly cache: ResultCache | null;
  readonly concurrency: number;
  private crates = 0;
  private cached = 0;
  /** Groups whose prefetches are over (scanned, cached, or not to be scanned); late prewarms skip them. */
  private finished = new Set<string>();
  private analysed = 0;
  private readonly version = toolVersion();

  private readonly progress: ScanProgress | undefined;

  constructor(
    opts: Pick<ScanOptions, 'jobs' | 'cache' | 'cacheDir' | 'progress' | 'warn' | 'remoteCache' | 'remoteCacheReadOnly'>,
    analyzer?: FileAnalyzer,
    /** Where the file-system facts of content-keyed crates go (a workspace scan that writes a workspace entry). */
    private readonly trace?: FsTrace,
  ) {
    this.progress = opts.progress;
    this.index = ruleIndex();
    // --jobs 1 still analyses in a worker: only a worker can be stopped on a hostile file that makes the
    // parser's queries run for minutes (time limit), and the main thread's crate work then overlaps it.
    // In-thread analysis: under a TypeScript test runner (workers would run the compiled dist/, another
    // build), or with CAP_SCAN_IN_THREAD=1 (debugging, determinism tests).
    const inThread = (RUNNING_FROM_SOURCE && !process.env.CAP_SCAN_WORKERS_FROM_SOURCE) || process.env.CAP_SCAN_IN_THREAD === '1';
    const size = inThread ? 0 : poolSize(opts.jobs);
    const cfg = this.index.analyzerConfig();
    if (analyzer) {
      // injected analyzer (tests): in-thread, counted
      this.pool = createPool({ cfg, size: 0 });
      const inner = analyzer;
      this.pool.analyze = (abs: string, o: FileOptions) => inner(abs, o);
    } else {
      this.pool = createPool({ cfg, size });
    }
    this.cache = opts.cache ? new ResultCache(opts.cacheDir ?? defaultCacheDir(), opts) : null;
    this.concurrency = crateConcurrency(this.pool.size);
  }

  /** Name of the "this source had a cached result" marker (checksum, or null for content-keyed sources). */
  private markerOf(checksum: string | null, dir: string): string {
    return createHash('sha256').update(`${codeFingerprint()}\0${this.version}\0${this.index.hash}\0${checksum ?? 'content'}\0${dir}`).digest('hex');
  }

  /**
   * Start analysing a located crate before the project is fully loaded. Options are guessed from the
   * manifest text (proc-macro, build script); a wrong guess only wastes the prefetch. Skipped for sources
   * the cache already holds a result for.
   */
  async prewarm(req: { checksum: string | null }, dir: string, allTargets: boolean): Promise<void> {
    if (this.pool.size === 0) return;
    const checksum = req.checksum && SHA256.test(req.checksum) ? req.checksum : null;
    // the scan keys a crate by content when its source is no registry (a directory source replacing crates-io,
    // vendor/), even with a Cargo.lock checksum: its marker then says 'content', and a warm scan must find it
    // (it prefetched the 48 such crates of the real workspace on every warm run, starting the worker pool)
    // A warm run prewarms nothing: besides a crate's own marker, a 'content' marker (the scan keys a crate by
    // content when its source is no registry, e.g. a directory source replacing crates-io, even with a
    // Cargo.lock checksum: 48 crates of the real workspace), and an 'unscanned' one (located but not scanned
    // last time: dev-only) skip it. Markers only steer prefetching, never a result.
    if (this.cache && [checksum, null, UNSCANNED].some((c, i) => (i === 0 || c !== checksum) && this.cache!.hasMarker(this.markerOf(c, dir)))) return;
    let text = '';
    try {
      text = await readRegularText(join(dir, 'Cargo.toml'), { maxBytes: MAX_TOML_BYTES });
    } catch {
      return;
    }
    const procMacro = /^\s*proc[-_]macro\s*=\s*true/m.test(text);
    const m = /^\s*build\s*=\s*"([^"]+)"/m.exec(text);
    const build = m ? m[1]! : existsSync(join(dir, 'build.rs')) ? 'build.rs' : null;
    await this.prefetchCrate(dir, { procMacro, build, allTargets }, `dir:${dir}`);
  }

  /** A located crate that this run does not scan: its prefetch stops, and the next run does not prewarm it. */
  async notScanned(dir: string): Promise<void> {
    this.finishGroup(`dir:${dir}`);
    if (this.cache) await this.cache.putMarker(this.markerOf(UNSCANNED, dir));
  }

  /** Queue every Rust file of a crate for speculative analysis (roots first). */
  async prefetchCrate(dir: string, o: { procMacro: boolean; build: string | null; allTargets: boolean; lib?: string | null }, group: string): Promise<void> {
    if (this.pool.size === 0 || this.finished.has(group)) return;
    let real: string;
    let files: string[];
    try {
      real = realpathSync.native(dir);
      files = rustFilesOf((await this.listing(group, real)).files, o.allTargets);
    } catch {
      return;
    }
    if (this.finished.has(group)) return; // finished while we were listing files
    const lib: FileOptions = { keepTests: o.allTargets, procMacro: o.procMacro, buildScript: false, test: false };
    const build: FileOptions = { keepTests: o.allTargets, procMacro: false, buildScript: true, test: false };
    const test: FileOptions = { ...lib, test: true };
    const libRoot = o.lib ?? 'src/lib.rs';
    const first = files.filter((f) => f === libRoot || f === o.build);
    for (const rel of [...first, ...files.filter((f) => f !== libRoot && f !== o.build)]) {
      const opts = rel === o.build ? build : /^(tests|benches|examples)\//.test(rel) ? test : lib;
      this.pool.prefetch(join(real, rel), opts, group);
    }
  }

  /**
   * Scan one crate, through the cache. `checksum`: the Cargo.lock checksum of a registry crate (its
   * content identity); otherwise the content of every file is hashed (reading, not parsing).
   * `link`: the crate's dependencies' export tables (awaited before its names are resolved, and hashed
   * into its cache key) and where to publish its own table.
   */
  async crate(input: CrateInput, checksum: string | null, group: string, link?: CrateLink): Promise<CrateScan> {
    let published = false;
    const publish = (t: ExportTable | null) => {
      if (published) return;
      published = true;
      link?.publish(t);
    };
    try {
      return await this.crateLinked(input, checksum, group, link, publish);
    } finally {
      publish(null); // never leaves a dependent waiting (an error, or a crate without a library)
    }
  }

  private async crateLinked(input: CrateInput, checksum: string | null, group: string, link: CrateLink | undefined, publish: (t: ExportTable | null) => void): Promise<CrateScan> {
    this.crates++;
    let key: string | null = null;
    let identity: SourceIdentity | null = null;
    if (this.cache) {
      if (checksum && SHA256.test(checksum)) identity = { kind: 'checksum', checksum, dir: input.dir };
      else {
        // null: more files than the hash covers; a file it does not cover could change unseen, so the
        // crate is neither looked up nor stored (never a stale result)
        const real = realpathTraced(input.dir, this.trace);
        this.trace?.note('tree', real);
        const hash = await contentHash(real);
        if (hash !== null) identity = { kind: 'content', hash };
        else this.trace?.refuse(`${input.name} has more files than a content hash covers`);
      }
    }
    const m = input.manifest;
    const prefetch = () =>
      void this.prefetchCrate(
        input.dir,
        { procMacro: m?.lib?.procMacro ?? false, build: m?.package?.build ?? null, allTargets: input.allTargets, lib: m ? m.lib?.path ?? null : null },
        group,
      );
    let depTables: Map<string, ExportTable> | null = null;
    if (this.cache && identity) {
      // the key covers the dependencies' export tables: wait for them (a likely miss starts parsing first)
      let linked: LinkedDeps = { tables: new Map(), hashes: [] };
      if (link) {
        if (!this.cache.hasMarker(this.markerOf(identity.kind === 'checksum' ? identity.checksum : null, input.dir))) prefetch();
        linked = await link.deps();
        depTables = linked.tables;
      }
      key = cacheKey({
        toolVersion: this.version,
        rulesHash: this.index.hash,
        identity,
        inputs: {
          name: input.name,
          libPhase: input.libPhase,
          allTargets: input.allTargets,
          externs: input.externs,
          manifest: input.manifest,
          ...(input.bins ? { bins: true } : {}),
          ...(link ? { depExports: linked.hashes } : {}),
        },
      });
      const hit = await this.cache.get(key);
      if (hit) {
        this.cached++;
        this.finishGroup(group);
        if (hit.exports && hit.exportsHash) rememberTableHash(hit.exports, hit.exportsHash);
        publish(hit.exports ?? null);
        return hit;
      }
    }
    prefetch();
    let scan: CrateScan;
    try {
      let listing: Promise<PackageListing> | undefined;
      try {
        listing = this.listing(group, realpathSync.native(input.dir));
      } catch {
        // scanCrate reports the directory
      }
      const linkedInput: CrateInput = { ...input, onExports: publish };
      if (link) linkedInput.exportTableOf = link.tableOf;
      if (listing) linkedInput.listing = listing;
      if (depTables) linkedInput.depExports = depTables;
      else if (link) linkedInput.depExports = async () => (await link.deps()).tables;
      scan = await scanCrate(linkedInput, this.index, (abs, o) => {
        this.analysed++;
        this.progress?.fileParsed();
        return this.pool.analyze(abs, o);
      });
    } finally {
      this.finishGroup(group);
    }
    // a file that timed out, crashed its worker or could not be read may do better next time: not cached
    const transient = scan.unanalyzed.some((u) => /^(analysis-timeout|analysis-crashed|read-failed)/.test(u.reason));
    if (transient) this.trace?.refuse(`${input.name}: a file failed in a way that may not recur`);
    if (this.cache && key && !transient) {
      await this.cache.put(key, scan);
      await this.cache.putMarker(this.markerOf(identity?.kind === 'checksum' ? identity.checksum : null, input.dir));
    }
    return scan;
  }

  /** A package's file listing by group, shared by its prefetch and its scan (kept while the crate is in flight). */
  private listings = new Map<string, Promise<PackageListing>>();
  private listing(group: string, realDir: string): Promise<PackageListing> {
    let l = this.listings.get(group);
    if (!l) this.listings.set(group, (l = listPackage(realDir)));
    return l;
  }

  /** No more prefetching for this group: drop what it holds, and ignore prewarms still listing files. */
  finishGroup(group: string): void {
    this.listings.delete(group);
    this.finished.add(group);
    this.pool.dropGroup(group);
  }

  stats(): ScanStats {
    return {
      workers: this.pool.size,
      crates: this.crates,
      cached: this.cached,
      filesAnalysed: this.analysed,
      pool: this.pool.stats(),
      cache: this.cache ? this.cache.snapshot() : null,
      workspace: { lookup: 'off', reason: null, stored: null },
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Dependencies' export tables of one crate, with their hashes by code name (sorted; for the cache key). */
export interface LinkedDeps {
  tables: Map<string, ExportTable>;
  hashes: [string, string][];
}

/** A crate's place in the session's dependency order. */
export interface CrateLink {
  /** Waits for the dependencies' export tables. */
  deps: () => Promise<LinkedDeps>;
  publish: (t: ExportTable | null) => void;
  /** Every table of the run published so far, by hash. */
  tableOf: (hash: string) => ExportTable | undefined;
}

/** The Cargo.lock checksum of a registry crate: its content identity for the cache (null otherwise). */
function registryChecksum(pkg: ResolvedPackage): string | null {
  const s = pkg.source ?? '';
  return s.startsWith('registry+') || s.startsWith('sparse+') ? pkg.checksum : null;
}

export interface ScanHooks {
  /** Replace the file analyzer (tests count calls); runs in-thread. */
  analyzer?: FileAnalyzer;
  /** scanCrateDirs: a crate's dependencies' export tables (batch linking, src/batch/link.ts); none: scanned alone. */
  link?: (dir: string, input: CrateInput) => CrateLink | undefined;
}

/**
 * Scan a workspace: from its workspace cache entry when that still holds (`probe`: the lookup, when the
 * caller made it already), else every crate through the session, recording what the result rests on
 * for a new workspace entry.
 */
export async function scanWorkspace(
  opts: ScanOptions,
  hooks: ScanHooks = {},
  probe: WorkspaceProbe = probeWorkspace(opts),
): Promise<{ project: Project; result: ScanResult; stats: ScanStats }> {
  const served = servedScan(probe, opts);
  if (served) return served;
  const recorder = probe.file ? WorkspaceRecorder.start(probe) : null;
  const trace = recorder instanceof WorkspaceRecorder ? recorder.trace : undefined;
  // the project loader's and the source providers' reads are recorded (util/fs-trace.ts)
  const traced = <T>(load: () => Promise<T>): Promise<T> => (trace ? withTrace(trace, load) : load());
  const manifestPath = resolve(opts.manifestPath);
  trace?.note('type', manifestPath);
  if (!existsSync(manifestPath)) throw new UserError(`manifest not found: ${opts.manifestPath} (run inside a Cargo project or pass --manifest-path)`);
  const startDir = statSync(manifestPath).isDirectory() ? manifestPath : dirname(manifestPath);
  const ctx = sourceContext(opts, startDir);
  const session = new ScanSession(opts, hooks.analyzer, trace);
  try {
    // Crates located by a provider start analysing at once (low priority), while the rest is still being
    // located or downloaded; they are then scanned first, in the order they became available.
    const locatedOrder = new Map<string, number>();
    const watch = (p: SourceProvider): SourceProvider => ({
      name: p.name,
      locate: async (req, c) => {
        const r = await p.locate(req, c);
        if (r && 'dir' in r && !locatedOrder.has(r.dir)) {
          locatedOrder.set(r.dir, locatedOrder.size);
          opts.progress?.located();
          void session.prewarm(req, r.dir, opts.allTargets);
        }
        return r;
      },
    });
    // offline providers first; the download provider last (it also serves the cache when --offline)
    const dl = downloadProvider();
    const providers = [...(await traced(() => defaultProviders(ctx))), dl].map(watch);
    let project: Project;
    try {
      project = await traced(() => loadProject({
        manifestPath,
        includeDev: opts.includeDev,
        locked: opts.locked,
        targets: opts.targets ?? null,
        providers,
        ctx,
        ...(opts.lockfilePath ? { lockfilePath: resolve(opts.lockfilePath) } : {}),
      }));
    } finally {
      dl.finish();
    }
    session.cache?.usePolicyRemote(project.rootManifest.raw);
    const unscanned: ScanResult['unscanned'] = [];
    const todo: ResolvedPackage[] = [];
    for (const pkg of project.packages) {
      if (pkg.member) continue;
      if (!pkg.dir || pkg.unscannedReason) {
        unscanned.push({ name: pkg.name, version: pkg.version, reason: pkg.unscannedReason ?? 'source not found' });
        continue;
      }
      todo.push(pkg);
    }
    // prewarmed crates that will not be scanned (dev-only, bad manifest…) must not hold prefetch slots
    const scanned = new Set(todo.map((p) => p.dir!));
    for (const dir of locatedOrder.keys()) if (!scanned.has(dir)) await session.notScanned(dir);
    // scheduling order only (output is sorted): dependencies first (a crate's names are resolved through
    // its dependencies' export tables), otherwise prewarmed crates first, in location order
    const rank = (p: ResolvedPackage) => locatedOrder.get(p.dir!) ?? Number.MAX_SAFE_INTEGER;
    const todoIndex = new Map(todo.map((p, i) => [p.id, i]));
    const plan = linkOrder(
      todo.map((p) => ({
        id: p.id,
        rank: rank(p) * todo.length + todoIndex.get(p.id)!,
        deps: p.deps.filter((d) => d.kind !== 'dev').map((d) => ({ codeName: d.codeName, id: d.id })),
      })),
    );
    const byId = new Map(project.packages.map((p) => [p.id, p]));
    const order = plan.order.map((id) => byId.get(id)!);
    const links = sessionLinks(plan);
    opts.progress?.total(order.length);
    const crates = await mapLimit(order, session.concurrency, async (pkg) => {
      const procMacro = pkg.manifest?.lib?.procMacro ?? false;
      const scan = await session.crate(
        {
          name: pkg.name,
          dir: pkg.dir!,
          manifest: pkg.manifest,
          libPhase: procMacro || !pkg.phases.includes('runtime') ? 'build' : 'runtime',
          externs: externsOf(pkg, byId),
          allTargets: opts.allTargets,
        },
        registryChecksum(pkg),
        `dir:${pkg.dir}`,
        links.get(pkg.id),
      );
      opts.progress?.scanned();
      return crateReport(pkg, scan);
    });
    addTyposquats(project, crates);
    crates.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version));
    unscanned.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version));
    const result: ScanResult = { schemaVersion: 1, tool: { name: 'cap-scan', version: toolVersion() }, crates, unscanned };
    // only when targets were chosen: without one the result (and its JSON) is what it always was
    if (project.targets) Object.assign(result, { targets: project.targets, excluded: project.excluded ?? [] });
    addProvenance(project, result, opts.includeDev);
    let stored: WorkspaceStats['stored'] = typeof recorder === 'string' ? recorder : null;
    if (recorder instanceof WorkspaceRecorder) {
      // the bytes of what decides the project, besides its fingerprint: the lock, the workspace manifests
      // with the policy table (cargo config files are marked as they are read)
      recorder.trace.content(project.lockfile.path);
      recorder.trace.content(project.rootManifest.path);
      for (const p of project.packages) if (p.member && p.manifest) recorder.trace.content(p.manifest.path);
      stored = recorder.store(project, result);
    }
    return { project, result, stats: { ...session.stats(), workspace: { ...probe.stats, stored } } };
  } finally {
    opts.progress?.done();
    await session.close();
  }
}

/** Each crate's wait for its dependencies' export tables, and the publication of its own. */
export function sessionLinks(plan: LinkPlan): Map<string, CrateLink> {
  const tables = new Map<string, { promise: Promise<ExportTable | null>; resolve: (t: ExportTable | null) => void; hash?: string }>();
  for (const id of plan.order) {
    let resolve!: (t: ExportTable | null) => void;
    const promise = new Promise<ExportTable | null>((r) => (resolve = r));
    tables.set(id, { promise, resolve });
  }
  const byHash = new Map<string, ExportTable>();
  const tableOf = (h: string) => byHash.get(h);
  const out = new Map<string, CrateLink>();
  for (const id of plan.order) {
    const deps = plan.deps.get(id) ?? [];
    let linked: Promise<LinkedDeps> | null = null;
    out.set(id, {
      deps: () =>
        (linked ??= (async () => {
          const res: LinkedDeps = { tables: new Map(), hashes: [] };
          for (const d of deps) {
            const slot = tables.get(d.id)!;
            const t = await slot.promise;
            if (slot.hash === undefined) {
              slot.hash = exportTableHash(t);
              if (t) byHash.set(slot.hash, t);
            }
            if (t) res.tables.set(d.codeName, t);
            res.hashes.push([d.codeName, slot.hash]);
          }
          return res;
        })()),
      publish: (t) => tables.get(id)!.resolve(t),
      tableOf,
    });
  }
  return out;
}

async function crateDirInput(dir: string, allTargets: boolean): Promise<{ abs: string; manifest: Manifest | null; input: CrateInput }> {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UserError(`not a directory: ${dir}`);
  const manifestPath = join(abs, 'Cargo.toml');
  // a workspace member's `version.workspace = true` and inherited dependencies come from its workspace root
  const manifest = existsSync(manifestPath) ? await inheritOutsideWorkspace(await readManifest(manifestPath)) : null;
  const externs = new Map<string, string>();
  for (const d of manifest?.dependencies ?? []) externs.set(d.key.replace(/-/g, '_'), d.package.replace(/-/g, '_'));
  const procMacro = manifest?.lib?.procMacro ?? false;
  // a bin-only crate (the `cargo install` case): its binaries are the code that runs
  const bins = !!manifest && manifest.lib === null && manifest.bins.length > 0;
  return {
    abs,
    manifest,
    input: { name: manifest?.package?.name ?? abs, dir: abs, manifest, libPhase: procMacro ? 'build' : 'runtime', externs, allTargets, ...(bins ? { bins } : {}) },
  };
}

function dirReport(abs: string, manifest: Manifest | null, scan: CrateScan, input: CrateInput): CrateReport {
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
  // which targets were counted, when not just the library (and build script)
  if (input.bins && !input.allTargets && manifest) report.counted = manifest.bins.map((b) => `bin ${b.name} (${b.path}): runtime`);
  return report;
}

/** Scan one unpacked crate directory (a vendored crate, a crate you are about to add). */
export async function scanCrateDir(dir: string, opts: ScanOptions, hooks: ScanHooks = {}): Promise<ScanResult> {
  const { result } = await scanCrateDirs([dir], opts, hooks);
  return result;
}

/**
 * Scan many unpacked crate directories in one session (the `crate` command, the benchmark). Bad
 * directories and manifests fail the run (UserError). `files` lists every analysed file (absolute), sorted.
 */
export async function scanCrateDirs(
  dirs: string[],
  opts: ScanOptions,
  hooks: ScanHooks = {},
): Promise<{ result: ScanResult; files: string[]; stats: ScanStats }> {
  const session = new ScanSession(opts, hooks.analyzer);
  try {
    const inputs = await mapLimit(dirs, 16, (d) => crateDirInput(d, opts.allTargets));
    const files: string[] = [];
    const crates = await mapLimit(inputs, session.concurrency, async ({ abs, manifest, input }) => {
      const scan = await session.crate(input, null, `dir:${abs}`, hooks.link?.(abs, input));
      const real = realpathSync(abs);
      for (const f of scan.files) files.push(join(real, f.rel));
      return dirReport(abs, manifest, scan, input);
    });
    crates.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version));
    files.sort(cmp);
    const stats = session.stats();
    return { result: { schemaVersion: 1, tool: { name: 'cap-scan', version: toolVersion() }, crates, unscanned: [] }, files, stats };
  } finally {
    await session.close();
  }
}
