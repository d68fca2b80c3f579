// The download provider: crates from registries (crates.io and alternative registries), through the
// sparse index protocol, verified against Cargo.lock's checksum, unpacked defensively into the cache.
//
// Order of decisions for a package (`registry+…` / `sparse+…` sources only; anything else → null):
//  1. already in the cap-scan cache (by checksum)      → found, no network, no config read;
//  2. where the source comes from:
//       crates.io + `ctx.registryUrl`                   → that sparse index (--registry-url / CAP_SCAN_REGISTRY);
//       `.cargo/config.toml` replacement:
//         directory                                     → null (the offline provider's job);
//         local-registry                                → `<path>/<name>-<version>.crate`, no network;
//         sparse / registry mirror                      → that index;
//       the lock source itself.
//     A git (non-sparse) index is used through its sparse equivalent for crates.io
//     (https://index.crates.io/); other git-index registries are not supported (unavailable, with the reason).
//  3. `ctx.offline`                                     → unavailable "offline";
//  4. no checksum and not `ctx.allowUnverified`         → unavailable;
//  5. download `config.json`, then the `.crate` from its `dl` template, verify (mismatch: UserError),
//     unpack, publish in the cache.

import { MAX_CRATE_FILE_BYTES, readRegularFile } from '../util/fs-safe.js';
import path from 'node:path';
import type { LocateResult, SourceContext, SourceProvider, SourceRequest } from '../types.js';
import { UserError } from '../types.js';
import { SourceCache, assertSafeNameVersion, isSha256, sha256Hex } from './download-cache.js';
import { type CargoConfig, loadCargoConfig, resolveReplacement, sourceIdOf } from './cargo-config.js';
import { HttpClient, HttpError, type HttpOptions, Progress, Semaphore } from './download.js';
import type { UnpackLimits } from './unpack.js';
import { traceRefuse } from '../util/fs-trace.js';

export const CRATES_IO_SPARSE_INDEX = 'https://index.crates.io/';
export const CRATES_IO_GIT_INDEX = 'https://github.com/rust-lang/crates.io-index';
const DEFAULT_DL_SUFFIX = '/{crate}/{version}/download';

/** Path of a crate's file inside a registry index: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…` (lower case). */
export function indexPathOf(name: string): string {
  const n = name.toLowerCase();
  if (n.length === 1) return `1/${n}`;
  if (n.length === 2) return `2/${n}`;
  if (n.length === 3) return `3/${n[0]}/${n}`;
  return `${n.slice(0, 2)}/${n.slice(2, 4)}/${n}`;
}

/** The `{prefix}` of the `dl` template: the index directory of the crate, with the name's case. */
function dlPrefix(name: string): string {
  if (name.length === 1) return '1';
  if (name.length === 2) return '2';
  if (name.length === 3) return `3/${name[0]}`;
  return `${name.slice(0, 2)}/${name.slice(2, 4)}`;
}

/** Expand a registry `config.json` `dl` template; without any marker, `/{crate}/{version}/download` is appended. */
export function expandDlTemplate(dl: string, c: { name: string; version: string; checksum: string | null }): string {
  let t = dl;
  if (!/\{(crate|version|prefix|lowerprefix|sha256-checksum)\}/.test(t)) t = t.replace(/\/+$/, '') + DEFAULT_DL_SUFFIX;
  if (t.includes('{sha256-checksum}') && c.checksum === null) {
    throw new UserError(`registry download URL needs {sha256-checksum}, but ${c.name} ${c.version} has none`);
  }
  return t
    // As cargo does: substituted verbatim (names and versions are validated to [A-Za-z0-9._+-] first).
    .replaceAll('{crate}', c.name)
    .replaceAll('{version}', c.version)
    .replaceAll('{prefix}', dlPrefix(c.name))
    .replaceAll('{lowerprefix}', dlPrefix(c.name).toLowerCase())
    .replaceAll('{sha256-checksum}', c.checksum ?? '');
}

/** `sparse+https://x/` or `https://x` → `https://x/`. */
export function normalizeIndexUrl(raw: string): string {
  let u = raw.trim();
  if (u.startsWith('sparse+')) u = u.slice('sparse+'.length);
  if (!/^https?:\/\//.test(u)) throw new UserError(`registry index URL must be http(s): ${raw}`);
  return u.replace(/\/*$/, '/');
}

export interface IndexDep {
  name: string;
  req: string;
  features: string[];
  optional: boolean;
  default_features: boolean;
  target: string | null;
  kind: 'normal' | 'dev' | 'build';
  registry?: string | null;
  package?: string;
}

/** One line of a registry index file (fields cap-scan uses). */
export interface IndexEntry {
  name: string;
  vers: string;
  cksum: string;
  yanked: boolean;
  deps: IndexDep[];
}

/** A sparse registry: `config.json`, index files and `.crate` downloads (memoized per instance). */
export class RegistryClient {
  readonly indexUrl: string;
  private configP: Promise<{ dl: string }> | null = null;
  private readonly entriesP = new Map<string, Promise<IndexEntry[]>>();

  constructor(
    indexUrl: string,
    readonly http: HttpClient,
  ) {
    this.indexUrl = normalizeIndexUrl(indexUrl);
  }

  config(): Promise<{ dl: string }> {
    this.configP ??= (async () => {
      const url = new URL('config.json', this.indexUrl).href;
      const body = await this.http.get(url);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new UserError(`${url}: registry config.json is not valid JSON`);
      }
      const dl = (parsed as { dl?: unknown })?.dl;
      if (typeof dl !== 'string' || dl === '') throw new UserError(`${url}: registry config.json has no "dl" URL`);
      return { dl: new URL(dl, this.indexUrl).href.replace(/%7B/gi, '{').replace(/%7D/gi, '}') };
    })();
    this.configP.catch(() => (this.configP = null));
    return this.configP;
  }

  /** Every published version of `name` (empty when the index has no such crate). */
  entries(name: string): Promise<IndexEntry[]> {
    const key = name.toLowerCase();
    let p = this.entriesP.get(key);
    if (!p) {
      p = (async () => {
        const url = new URL(indexPathOf(name), this.indexUrl).href;
        let body: Buffer;
        try {
          body = await this.http.get(url);
        } catch (err) {
          if (err instanceof HttpError && err.kind === 'not-found') return [];
          throw err;
        }
        const out: IndexEntry[] = [];
        for (const line of body.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          let e: Partial<IndexEntry>;
          try {
            e = JSON.parse(line) as Partial<IndexEntry>;
          } catch {
            continue;
          }
          if (typeof e.name !== 'string' || typeof e.vers !== 'string' || typeof e.cksum !== 'string') continue;
          out.push({ name: e.name, vers: e.vers, cksum: e.cksum, yanked: e.yanked === true, deps: Array.isArray(e.deps) ? e.deps : [] });
        }
        return out;
      })();
      p.catch(() => this.entriesP.delete(key));
      this.entriesP.set(key, p);
    }
    return p;
  }

  async crateUrl(name: string, version: string, checksum: string | null): Promise<string> {
    const { dl } = await this.config();
    return expandDlTemplate(dl, { name, version, checksum });
  }
}

// ------------------------------------------------------------------ routing

export type Route =
  | { kind: 'sparse'; indexUrl: string }
  | { kind: 'local-registry'; path: string; name: string }
  | { kind: 'not-mine' }
  | { kind: 'unsupported'; reason: string };

function isRegistrySource(source: string | null): source is string {
  return source !== null && (source.startsWith('registry+') || source.startsWith('sparse+'));
}

/** Where a registry package's `.crate` comes from, given the cargo config and the override. */
export function routeFor(source: string, cfg: CargoConfig, registryUrl: string | null): Route {
  const cratesIo = sourceIdOf(source) === 'crates-io';
  if (cratesIo && registryUrl) return { kind: 'sparse', indexUrl: normalizeIndexUrl(registryUrl) };
  const rep = resolveReplacement(cfg, source);
  const viaIndex = (url: string, sparse: boolean, what: string): Route => {
    if (sparse) return { kind: 'sparse', indexUrl: normalizeIndexUrl(url) };
    if (sourceIdOf(`registry+${url}`) === 'crates-io') return { kind: 'sparse', indexUrl: CRATES_IO_SPARSE_INDEX };
    return {
      kind: 'unsupported',
      reason: `${what} ${url} is a git index; cap-scan downloads only through sparse indexes (use its sparse+ URL, or --registry-url)`,
    };
  };
  switch (rep.kind) {
    case 'directory':
      return { kind: 'not-mine' };
    case 'local-registry':
      return { kind: 'local-registry', path: rep.path!, name: rep.name ?? 'local-registry' };
    case 'sparse':
      return viaIndex(rep.url!, true, `registry \`${rep.name}\``);
    case 'registry':
      return viaIndex(rep.url!, false, `registry \`${rep.name}\``);
    case 'none':
    default:
      if (source.startsWith('sparse+')) return viaIndex(source.slice('sparse+'.length), true, 'registry');
      return viaIndex(source.slice('registry+'.length), false, 'registry');
  }
}

// ------------------------------------------------------------------ provider

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`;
}

export interface DownloadProviderOptions {
  /** Parallel downloads (default 8). */
  concurrency?: number;
  /** An HttpClient to share, or options for a new one. */
  http?: HttpClient | HttpOptions;
  /** A progress bar, or true/false to force one on/off (default: on when stderr is a TTY, unless the context is quiet: -q). */
  progress?: Progress | boolean;
  /** Use this cargo config instead of reading it from ctx.workspaceRoot / ctx.cargoHome. */
  cargoConfig?: CargoConfig;
  /** Unpack caps (default 512 MiB, 100 000 entries). */
  limits?: Partial<UnpackLimits>;
}

export interface DownloadStats {
  /** Crates found already unpacked in the cache. */
  cacheHits: number;
  /** Crates downloaded (verified and unpacked). */
  downloaded: number;
  /** Crates unpacked from a local registry. */
  localRegistry: number;
}

export interface DownloadProvider extends SourceProvider {
  readonly stats: DownloadStats;
  readonly http: HttpClient;
  readonly semaphore: Semaphore;
  /** The registry client for a sparse index URL (shared: config.json and index files fetched once). */
  registry(indexUrl: string): RegistryClient;
  /** Clear the progress line (call once all packages are located). */
  finish(): void;
}

export function downloadProvider(opts: DownloadProviderOptions = {}): DownloadProvider {
  const http = opts.http instanceof HttpClient ? opts.http : new HttpClient(opts.http ?? {});
  const semaphore = new Semaphore(opts.concurrency ?? 8);
  // made on the first download, when the context says whether -q silenced it
  let bar: Progress | null = opts.progress instanceof Progress ? opts.progress : null;
  const progressFor = (ctx: SourceContext): Progress =>
    (bar ??= new Progress(process.stderr, typeof opts.progress === 'boolean' ? opts.progress : !!process.stderr.isTTY && !ctx.quiet));
  const stats: DownloadStats = { cacheHits: 0, downloaded: 0, localRegistry: 0 };
  const registries = new Map<string, RegistryClient>();
  const configs = new Map<string, Promise<CargoConfig>>();
  const inflight = new Map<string, Promise<LocateResult>>();

  const registry = (indexUrl: string): RegistryClient => {
    const key = normalizeIndexUrl(indexUrl);
    let r = registries.get(key);
    if (!r) {
      r = new RegistryClient(key, http);
      registries.set(key, r);
    }
    return r;
  };

  const cargoConfig = (ctx: SourceContext): Promise<CargoConfig> => {
    if (opts.cargoConfig) return Promise.resolve(opts.cargoConfig);
    const key = `${ctx.workspaceRoot}\0${ctx.cargoHome}`;
    let p = configs.get(key);
    if (!p) {
      p = loadCargoConfig(ctx.workspaceRoot, ctx.cargoHome);
      configs.set(key, p);
    }
    return p;
  };

  const install = async (data: Buffer, pkg: SourceRequest, cache: SourceCache): Promise<string> =>
    cache.install(data, { name: pkg.name, version: pkg.version, expected: pkg.checksum, limits: opts.limits });

  async function locateUncached(lockPkg: SourceRequest & { source: string }, ctx: SourceContext): Promise<LocateResult> {
    // A lock "checksum" that is not a sha256 (Debian writes "Could not get crate checksum") verifies
    // nothing: it is treated as no checksum at all, and the reason says what the lock holds.
    const notSha = lockPkg.checksum !== null && !isSha256(lockPkg.checksum.toLowerCase()) ? lockPkg.checksum : null;
    const pkg = { ...lockPkg, checksum: notSha !== null ? null : (lockPkg.checksum?.toLowerCase() ?? null) };
    const cache = new SourceCache(ctx.cacheDir);
    if (pkg.checksum !== null) {
      const hit = await cache.lookup(pkg.checksum, pkg.name, pkg.version);
      if (hit) {
        stats.cacheHits++;
        return { dir: hit };
      }
    }
    const route = routeFor(pkg.source, await cargoConfig(ctx), ctx.registryUrl);
    if (route.kind === 'not-mine') return null;
    if (route.kind === 'unsupported') return { unavailable: route.reason };
    if (pkg.checksum === null && !ctx.allowUnverified) {
      const what = notSha !== null ? `Cargo.lock checksum ${JSON.stringify(truncate(notSha, 64))} is not a sha256` : 'no checksum in Cargo.lock';
      return { unavailable: `${what}: nothing to verify a download against (--allow-unverified unpacks it anyway)` };
    }
    if (route.kind === 'local-registry') {
      // unpacks into the cache: the next run finds it there, as a fact
      traceRefuse('a crate was unpacked from a local registry');
      const file = path.join(route.path, `${pkg.name}-${pkg.version}.crate`);
      let data: Buffer;
      try {
        data = await readRegularFile(file, { maxBytes: MAX_CRATE_FILE_BYTES });
      } catch (e) {
        const reason = (e as { reason?: string }).reason;
        if (reason) return { unavailable: `${file}: ${reason}` };
        return { unavailable: `${pkg.name}-${pkg.version}.crate is not in local registry \`${route.name}\` (${route.path})` };
      }
      const dir = await install(data, pkg, cache);
      stats.localRegistry++;
      return { dir };
    }
    if (ctx.offline) return { unavailable: `offline: not in the cap-scan cache (${ctx.cacheDir})` };
    // what a registry answers is no file-system fact (a failed download may succeed next time)
    traceRefuse('a crate was downloaded');

    const reg = registry(route.indexUrl);
    const progress = progressFor(ctx);
    progress.add();
    try {
      const data = await semaphore.run(async () => {
        const url = await reg.crateUrl(pkg.name, pkg.version, pkg.checksum);
        return http.get(url, (n) => progress.addBytes(n));
      });
      const dir = await install(data, pkg, cache);
      stats.downloaded++;
      return { dir };
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.kind === 'not-found') return { unavailable: `not found in registry ${reg.indexUrl} (${err.url})` };
        return { unavailable: `download failed: ${err.message}` };
      }
      throw err;
    } finally {
      progress.finishOne();
    }
  }

  return {
    name: 'registry-download',
    stats,
    http,
    semaphore,
    registry,
    finish: () => bar?.clear(),
    async locate(pkg: SourceRequest, ctx: SourceContext): Promise<LocateResult> {
      if (!isRegistrySource(pkg.source)) return null;
      try {
        assertSafeNameVersion(pkg.name, pkg.version);
      } catch (err) {
        return { unavailable: (err as Error).message };
      }
      const key = `${pkg.name}\0${pkg.version}\0${pkg.source}\0${pkg.checksum}\0${ctx.cacheDir}`;
      let p = inflight.get(key);
      if (!p) {
        p = locateUncached(pkg as SourceRequest & { source: string }, ctx);
        inflight.set(key, p);
        void p.finally(() => inflight.delete(key)).catch(() => {});
      }
      return p;
    },
  };
}

/** sha256 of a buffer (re-exported for callers that verify `.crate` files themselves). */
export { sha256Hex };
