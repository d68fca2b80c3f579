// Result cache: one JSON entry per crate scan under `<cacheDir>/results/`, keyed by everything that can
// change the result — the crate's identity (Cargo.lock checksum and source directory for verified registry
// crates; a hash of every file otherwise), the rules' hash, the tool version and a fingerprint of the
// running code and grammar, and every scan input (manifest, lib phase, extern names, --all-targets).
//
// Entry file: a header line `{"format":1,"key":…,"sha256":…,"bytes":…}` then the payload JSON. The payload's
// hash and length are checked on every read and the header must name the requested key; anything else
// (truncated, edited, foreign, unparsable) is a miss and the entry is recomputed and rewritten.
// Writes go to a temporary file that is renamed into place, so readers never see half an entry.

import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp, readdirSync, readFileSync, readlinkSync, statSync, type Dirent } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { CrateScan } from './crate-scan.js';
import { hashRegularFileSync, NotRegularFileError } from '../util/fs-safe.js';
import { openRemoteCache, policyRemoteCache, type RemoteCache, type RemoteCacheSetting, type RemoteStats } from './remote-cache.js';
import { isExportTable } from '../link/exports.js';

export const CACHE_FORMAT = 1;
/** An unanalyzed reason whose occurrence depends on the machine's load (parse/analyze.ts parse budget). */
const LOAD_DEPENDENT = /parse over its [\d.]+ s budget/;

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries found but rejected (corrupt, foreign, wrong key). */
  corrupt: number;
  writes: number;
  writeErrors: number;
  /** The remote cache's counts, when one is used. */
  remote?: RemoteStats;
}

export interface ResultCacheOptions {
  /** Warnings on stderr (each said once); absent: silent (-q). */
  warn?: (message: string) => void;
  /** --remote-cache or CAP_SCAN_REMOTE_CACHE; absent: the policy's `remote-cache`, if any (usePolicyRemote). */
  remoteCache?: RemoteCacheSetting | null;
  /** Download from the remote cache, never upload. */
  remoteCacheReadOnly?: boolean;
  /** Where CAP_SCAN_CACHE_KEY is read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with object keys sorted (Maps as sorted entry lists), for hashing. */
export function stableJson(v: unknown): string {
  if (v instanceof Map) return stableJson([...v.entries()].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0)));
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const require = createRequire(import.meta.url);
let codeFp: string | null = null;

/**
 * Fingerprint of the code producing results: every module of this build (the directory above the one this
 * file runs from: dist/ or src/) and the tree-sitter and grammar versions. A rebuilt engine never reuses old results,
 * even when package.json's version did not change.
 */
export function codeFingerprint(): string {
  if (codeFp) return codeFp;
  // the build's root (dist/ or src/): this file sits in its scan/ folder
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const h = createHash('sha256');
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.(js|ts|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(root);
  files.sort();
  for (const f of files) {
    h.update(relative(root, f).split(sep).join('/'));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  for (const mod of ['tree-sitter/package.json', 'tree-sitter-rust/package.json']) {
    try {
      h.update(`${mod}@${(require(mod) as { version: string }).version}\0`);
    } catch {
      h.update(`${mod}@?\0`);
    }
  }
  codeFp = h.digest('hex');
  return codeFp;
}

/** What identifies a crate's source content. */
export type SourceIdentity =
  | { kind: 'checksum'; checksum: string; dir: string }
  | { kind: 'content'; hash: string };

export interface CacheKeyInput {
  toolVersion: string;
  rulesHash: string;
  identity: SourceIdentity;
  /** Every other scan input (manifest, lib phase, externs, allTargets…), hashed with stableJson. */
  inputs: unknown;
}

export function cacheKey(k: CacheKeyInput): string {
  return sha256(stableJson({ format: CACHE_FORMAT, tool: k.toolVersion, code: codeFingerprint(), rules: k.rulesHash, identity: k.identity, inputs: k.inputs }));
}

/** Top-level directories left out of content hashes (build output, VCS data); crate scans ignore them too. */
const SKIP_TOP = new Set(['target', '.git']);
/**
 * Bound on directory entries hashed per crate (hostile input). Over it there is no hash (null): a hash of
 * the first entries would let a change past them serve a stale cached result, so such a crate is not cached.
 */
export const MAX_HASHED_FILES = 50_000;

/**
 * Hash of a directory's content: every regular file's relative path, size and bytes, and symlinks' targets,
 * in sorted order (top-level target/ and .git/ excluded). Symlinked directories are not followed. Null
 * when the directory holds more than MAX_HASHED_FILES entries (no hash covers it all: uncacheable).
 */
export async function contentHash(dir: string, maxEntries = MAX_HASHED_FILES): Promise<string | null> {
  const h = createHash('sha256');
  const entries: { rel: string; abs: string; link: boolean }[] = [];
  let total = 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    let list: Dirent[];
    try {
      list = await fsp.readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of list) {
      if (rel === '' && SKIP_TOP.has(e.name)) continue;
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const p = join(abs, e.name);
      if (++total > maxEntries) return;
      if (e.isDirectory()) await walk(p, r);
      else if (e.isFile()) entries.push({ rel: r, abs: p, link: false });
      else if (e.isSymbolicLink()) entries.push({ rel: r, abs: p, link: true });
    }
  };
  await walk(dir, '');
  if (total > maxEntries) return null;
  h.update(`files:${entries.length}:${total}\0`);
  // Synchronous reads: far cheaper per small file than the promise API's open/stat/read/close round trips
  // through the thread pool (crates are mostly many small files).
  // Files are hashed in chunks (memory bounded whatever their size), and only while still regular files:
  // one swapped for a FIFO or device after the walk is hashed as such, never read (a FIFO would block).
  for (const e of entries) {
    let part: string;
    let digest: string | null = null;
    try {
      if (e.link) {
        part = `link:${readlinkSync(e.abs)}`;
      } else {
        const fh = createHash('sha256');
        part = `${hashRegularFileSync(e.abs, fh)}`;
        digest = fh.digest('hex');
      }
    } catch (err) {
      part = err instanceof NotRegularFileError ? `special:${err.kind}` : `unreadable:${(err as NodeJS.ErrnoException).code ?? '?'}`;
    }
    h.update(`${e.rel}\0${part}\0`);
    if (digest !== null) h.update(digest);
  }
  return h.digest('hex');
}

function isCrateScan(v: unknown): v is CrateScan {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return ['findings', 'indicators', 'hosts', 'urls', 'unanalyzed', 'files'].every((k) => Array.isArray(o[k])) && (o.exports === undefined || isExportTable(o.exports)) && (o.exportsHash === undefined || typeof o.exportsHash === 'string');
}

export class ResultCache {
  readonly dir: string;
  readonly stats: CacheStats = { hits: 0, misses: 0, corrupt: 0, writes: 0, writeErrors: 0 };
  /** The shared store read through after a local miss (remote-cache.ts), or null. */
  remote: RemoteCache | null = null;
  private warnedWrite = false;

  /**
   * `cacheDir` is the cap-scan cache root; entries live in `<cacheDir>/results/`. A remote cache given in
   * `opts` is checked now (a bad URL or key is a UserError before any work).
   */
  constructor(
    cacheDir: string,
    private readonly opts: ResultCacheOptions = {},
  ) {
    this.dir = join(cacheDir, 'results');
    if (opts.remoteCache) this.setRemote(opts.remoteCache);
  }

  private setRemote(setting: RemoteCacheSetting | null): void {
    this.remote = openRemoteCache(setting, { readOnly: !!this.opts.remoteCacheReadOnly, ...(this.opts.env ? { env: this.opts.env } : {}), ...(this.opts.warn ? { warn: this.opts.warn } : {}) });
  }

  /** The policy's `remote-cache` (root manifest), unless --remote-cache / CAP_SCAN_REMOTE_CACHE chose one. */
  usePolicyRemote(rawManifest: unknown): void {
    if (this.opts.remoteCache) return;
    this.setRemote(policyRemoteCache(rawManifest));
  }

  /** Said once: an unwritable cache makes every run cold, which the user should know. */
  private writeFailed(e: unknown): void {
    this.stats.writeErrors++;
    if (this.warnedWrite) return;
    this.warnedWrite = true;
    const code = (e as NodeJS.ErrnoException | null)?.code ?? String(e);
    this.opts.warn?.(`cannot write the result cache in ${this.dir} (${code}): results are not kept, so every run scans from scratch (--cache-dir picks another directory)`);
  }

  pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached scan, or null (missing, or rejected as corrupt). */
  async get(key: string): Promise<CrateScan | null> {
    let text: string | null = null;
    try {
      text = await fsp.readFile(this.pathOf(key), 'utf8');
    } catch {
      // not in the local cache
    }
    if (text !== null) {
      const scan = decodeEntry(text, key);
      if (scan) {
        this.stats.hits++;
        return scan;
      }
      this.stats.corrupt++;
    }
    this.stats.misses++;
    return this.getRemote(key);
  }

  /** Read-through: a verified remote entry, kept locally too (the next run is a local hit). */
  private async getRemote(key: string): Promise<CrateScan | null> {
    const remote = this.remote;
    if (!remote) return null;
    const entry = await remote.get(key);
    if (entry === null) return null;
    const scan = decodeEntry(entry, key);
    if (!scan) {
      remote.reject(key, 'authenticated but not a valid entry for this key');
      return null;
    }
    remote.hit();
    await this.writeLocal(key, entry);
    return scan;
  }

  /**
   * Stores a computed scan locally, then uploads it to the remote cache (unless read-only). A scan with
   * a parse stopped by its wall-clock budget is not uploaded: that outcome depends on this machine's
   * load (a loaded runner gets the token pass where an idle one parses), and would spread to every runner.
   */
  async put(key: string, scan: CrateScan): Promise<void> {
    const entry = encodeEntry(key, scan);
    await this.writeLocal(key, entry);
    if (this.remote && !scan.unanalyzed.some((u) => LOAD_DEPENDENT.test(u.reason))) await this.remote.put(key, entry);
  }

  private async writeLocal(key: string, entry: string): Promise<void> {
    const file = this.pathOf(key);
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fsp.mkdir(dirname(file), { recursive: true });
      await fsp.writeFile(tmp, entry);
      await fsp.rename(tmp, file);
      this.stats.writes++;
    } catch (e) {
      // an unwritable cache never fails a scan
      this.writeFailed(e);
      await fsp.rm(tmp, { force: true }).catch(() => {});
    }
  }

  /** The counts, with the remote's when one is used. */
  snapshot(): CacheStats {
    return this.remote ? { ...this.stats, remote: { ...this.remote.stats } } : { ...this.stats };
  }

  /** Whether a marker exists (cheap stat; used to skip speculative work for crates likely cached). */
  hasMarker(name: string): boolean {
    try {
      return statSync(join(this.dir, 'markers', name.slice(0, 2), name)).isFile();
    } catch {
      return false;
    }
  }

  async putMarker(name: string): Promise<void> {
    const file = join(this.dir, 'markers', name.slice(0, 2), name);
    try {
      await fsp.mkdir(dirname(file), { recursive: true });
      await fsp.writeFile(file, '');
    } catch (e) {
      this.writeFailed(e);
    }
  }
}

export function encodeEntry(key: string, scan: CrateScan): string {
  const payload = JSON.stringify(scan);
  const bytes = Buffer.byteLength(payload);
  return `${JSON.stringify({ format: CACHE_FORMAT, key, sha256: sha256(payload), bytes })}\n${payload}`;
}

export function decodeEntry(text: string, key: string): CrateScan | null {
  const nl = text.indexOf('\n');
  if (nl < 0) return null;
  let header: { format?: unknown; key?: unknown; sha256?: unknown; bytes?: unknown };
  try {
    header = JSON.parse(text.slice(0, nl)) as typeof header;
  } catch {
    return null;
  }
  if (header === null || typeof header !== 'object') return null;
  if (header.format !== CACHE_FORMAT || header.key !== key) return null;
  const payload = text.slice(nl + 1);
  if (header.bytes !== Buffer.byteLength(payload) || header.sha256 !== sha256(payload)) return null;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  return isCrateScan(v) ? v : null;
}
