// Offline source providers: crate sources already on disk (vendored directories, cargo's own
// registry/src and git/checkouts). Crate contents are hostile input: nothing here follows symlinks while
// searching, directory walks are bounded, and a malformed file only makes that candidate not match.

import { readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import TOML from '@iarna/toml';
import { UserError, type LocateResult, type SourceContext, type SourceProvider, type SourceRequest } from '../types.js';
import { type CargoConfig, parseGitSource, resolveReplacement } from './cargo-config.js';
import { MAX_TOML_BYTES, readFailureReason, readRegularText, refusal } from '../util/fs-safe.js';
import { isValidCrateName, isValidVersion } from '../project/lockfile.js';
import { checkTomlDepth, isTable } from '../util/toml.js';
import { realpathTraced, traceList, traceType } from '../util/fs-trace.js';

// ---------------------------------------------------------------- helpers

async function isDir(p: string): Promise<boolean> {
  traceType(p);
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(p: string): Promise<boolean> {
  traceType(p);
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Whether `dir` (after resolving symlinks) is `root` or below it: a directory a provider found for a
 * package must not lead out of the source it was found in.
 */
function staysInside(root: string, dir: string): boolean {
  try {
    const r = realpathTraced(root);
    const d = realpathTraced(dir);
    return d === r || d.startsWith(r.endsWith(path.sep) ? r : r + path.sep);
  } catch {
    return false;
  }
}

/** A name and version a provider may build a path from (the lock file parser checks them too). */
function unsafeRequest(pkg: SourceRequest): string | null {
  if (isValidCrateName(pkg.name) && isValidVersion(pkg.version)) return null;
  return `invalid package name or version ${JSON.stringify(`${pkg.name} ${pkg.version}`)}`;
}

async function listDir(dir: string): Promise<Dirent[]> {
  traceList(dir);
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

export interface ManifestIdentity {
  name: string;
  /** The version string, or `{ workspace: true }` when inherited. */
  version: string | { workspace: true } | null;
  /** `[workspace.package] version`, when this manifest is a workspace root that defines it. */
  workspaceVersion: string | null;
}

/** Name and version of `<dir>/Cargo.toml`; null when missing or malformed. */
export async function readManifestIdentity(dir: string): Promise<ManifestIdentity | null> {
  const r = await manifestIdentityOrProblem(dir);
  return typeof r === 'string' ? null : r;
}

/**
 * Why `<dir>/Cargo.toml` exists but cannot be used (refused, unreadable, invalid or too deep TOML), or null:
 * an unscanned package must name that reason, not "not in the source".
 */
export async function manifestProblem(dir: string): Promise<string | null> {
  const r = await manifestIdentityOrProblem(dir);
  return typeof r === 'string' && r !== MISSING ? r : null;
}

const MISSING = 'missing';

async function manifestIdentityOrProblem(dir: string): Promise<ManifestIdentity | null | string> {
  const file = path.join(dir, 'Cargo.toml');
  let text: string;
  try {
    text = await readRegularText(file, { maxBytes: MAX_TOML_BYTES });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return MISSING;
    return `${file}: ${refusal(e) ?? readFailureReason(e)}`;
  }
  let doc: Record<string, unknown>;
  try {
    checkTomlDepth(text, file);
    doc = TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UserError) return e.message;
    const line = (e as { line?: unknown }).line;
    return `${file}${typeof line === 'number' ? `:${line + 1}` : ''}: invalid TOML`;
  }
  const pkg = doc.package;
  const ws = doc.workspace;
  const wsPkg = isTable(ws) ? ws.package : undefined;
  const workspaceVersion = isTable(wsPkg) && typeof wsPkg.version === 'string' ? wsPkg.version : null;
  if (!isTable(pkg) || typeof pkg.name !== 'string') {
    return workspaceVersion === null ? null : { name: '', version: null, workspaceVersion };
  }
  let version: ManifestIdentity['version'] = null;
  if (typeof pkg.version === 'string') version = pkg.version;
  else if (isTable(pkg.version) && pkg.version.workspace === true) version = { workspace: true };
  return { name: pkg.name, version, workspaceVersion };
}

/** Does `<dir>/Cargo.toml` declare exactly this package name and version? (No workspace inheritance.) */
async function manifestMatches(dir: string, name: string, version: string): Promise<boolean> {
  const id = await readManifestIdentity(dir);
  return id !== null && id.name === name && id.version === version;
}

// ---------------------------------------------------------------- directory source replacement

interface CargoChecksum {
  package: string | null;
}

/** `.cargo-checksum.json`: `undefined` when absent, the parsed `package` otherwise; a string on bad JSON. */
async function readCargoChecksum(dir: string): Promise<CargoChecksum | undefined | { error: string }> {
  const file = path.join(dir, '.cargo-checksum.json');
  let text: string;
  try {
    text = await readRegularText(file, { maxBytes: MAX_TOML_BYTES });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { error: `${file} cannot be read (${(e as { reason?: string }).reason ?? (e as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (!isTable(doc)) return { error: `${file} is not a JSON object` };
    const pkg = doc.package;
    return { package: typeof pkg === 'string' ? pkg : null };
  } catch {
    return { error: `${file} is not valid JSON` };
  }
}

/**
 * A `directory = "…"` source replacement (what `cargo vendor` sets up). A package lives in
 * `<dir>/<name>-<version>` or `<dir>/<name>` (cargo vendor uses the short form for the first version of a
 * name; Debian drops `+build` metadata from the version); the candidate's Cargo.toml must declare the
 * name and version. As a last resort every subdirectory's Cargo.toml is indexed, since cargo itself ignores directory
 * names. When both `.cargo-checksum.json` `package` and the Cargo.lock checksum exist they must be equal.
 */
export function directorySourceProvider(cfg: CargoConfig): SourceProvider {
  const indexes = new Map<string, Promise<Map<string, string>>>();

  const indexOf = (root: string): Promise<Map<string, string>> => {
    let p = indexes.get(root);
    if (!p) {
      p = (async () => {
        const map = new Map<string, string>();
        const entries = (await listDir(root)).filter((e) => e.isDirectory()).map((e) => e.name).sort();
        for (const entry of entries) {
          const id = await readManifestIdentity(path.join(root, entry));
          if (id && typeof id.version === 'string' && id.name !== '') {
            const key = `${id.name}@${id.version}`;
            if (!map.has(key)) map.set(key, path.join(root, entry));
          }
        }
        return map;
      })();
      indexes.set(root, p);
    }
    return p;
  };

  return {
    name: 'directory',
    async locate(pkg: SourceRequest): Promise<LocateResult> {
      if (pkg.source === null) return null;
      const rep = resolveReplacement(cfg, pkg.source);
      if (rep.kind !== 'directory' || rep.path === undefined) return null;
      const root = rep.path;
      if (!(await isDir(root))) {
        return { unavailable: `directory source \`${rep.name}\` (${root}) does not exist` };
      }
      const bad = unsafeRequest(pkg);
      if (bad) return { unavailable: bad };
      let found: string | null = null;
      // Debian's /usr/share/cargo/registry drops semver build metadata from directory names.
      const bare = pkg.version.split('+')[0];
      const candidates = [`${pkg.name}-${pkg.version}`, ...(bare !== pkg.version ? [`${pkg.name}-${bare}`] : []), pkg.name];
      for (const cand of candidates) {
        const dir = path.join(root, cand);
        if ((await isDir(dir)) && (await manifestMatches(dir, pkg.name, pkg.version))) {
          found = dir;
          break;
        }
      }
      if (found === null) found = (await indexOf(root)).get(`${pkg.name}@${pkg.version}`) ?? null;
      if (found === null) {
        for (const cand of candidates) {
          const problem = await manifestProblem(path.join(root, cand));
          if (problem !== null) return { unavailable: `${pkg.name} ${pkg.version} in directory source \`${rep.name}\` has an unusable manifest: ${problem}` };
        }
        return { unavailable: `${pkg.name} ${pkg.version} is not in directory source \`${rep.name}\` (${root})` };
      }
      if (!staysInside(root, found)) {
        return { unavailable: `${found} leads outside directory source \`${rep.name}\` (${root})` };
      }
      const sum = await readCargoChecksum(found);
      if (sum !== undefined && 'error' in sum) return { unavailable: sum.error };
      if (sum !== undefined && sum.package !== null && pkg.checksum !== null && sum.package !== pkg.checksum) {
        return {
          unavailable:
            `checksum mismatch for ${pkg.name} ${pkg.version}: ${path.join(found, '.cargo-checksum.json')} has ` +
            `${sum.package}, Cargo.lock has ${pkg.checksum}`,
        };
      }
      return { dir: found };
    },
  };
}

// ---------------------------------------------------------------- local registry replacement

/** A `local-registry = "…"` replacement holds `.crate` tarballs; unpacking them is the download provider's job. */
export function localRegistryProvider(cfg: CargoConfig): SourceProvider {
  return {
    name: 'local-registry',
    async locate(pkg: SourceRequest): Promise<LocateResult> {
      if (pkg.source === null) return null;
      const rep = resolveReplacement(cfg, pkg.source);
      if (rep.kind !== 'local-registry' || rep.path === undefined) return null;
      const bad = unsafeRequest(pkg);
      if (bad) return { unavailable: bad };
      const file = path.join(rep.path, `${pkg.name}-${pkg.version}.crate`);
      if (!(await isFile(file))) {
        return { unavailable: `${pkg.name}-${pkg.version}.crate is not in local registry \`${rep.name}\` (${rep.path})` };
      }
      return { unavailable: 'local-registry needs unpacking (download provider)' };
    },
  };
}

// ---------------------------------------------------------------- $CARGO_HOME/registry/src

function hostOf(url: string): string | null {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}

/** Hosts whose `registry/src/<host>-<hash>` directories are preferred for a registry source. */
function preferredHosts(cfg: CargoConfig, source: string): Set<string> {
  const hosts = new Set<string>();
  const raw = source.replace(/^(registry|sparse)\+/, '');
  const h = hostOf(raw);
  if (h) hosts.add(h);
  if (h === 'github.com' && raw.toLowerCase().includes('/rust-lang/crates.io-index')) hosts.add('index.crates.io');
  if (h === 'index.crates.io') hosts.add('github.com');
  try {
    const rep = resolveReplacement(cfg, source);
    if (rep.url) {
      const rh = hostOf(rep.url);
      if (rh) hosts.add(rh);
    }
  } catch {
    // A broken replacement chain is reported by the replacement providers.
  }
  return hosts;
}

/**
 * Sources cargo has already unpacked: `$CARGO_HOME/registry/src/<index-dir>/<name>-<version>`, for
 * `registry+` and `sparse+` sources. Index directories whose host matches the source (or its mirror) are
 * tried first. Cargo writes `.cargo-ok` once an unpack is complete; a directory without it is skipped.
 */
export function registrySrcProvider(cfg: CargoConfig): SourceProvider {
  // index directories of registry/src, listed once per run (not once per package)
  const listings = new Map<string, Promise<string[]>>();
  const indexDirsOf = (srcRoot: string): Promise<string[]> => {
    let p = listings.get(srcRoot);
    if (!p) {
      p = listDir(srcRoot).then((es) => es.filter((e) => e.isDirectory()).map((e) => e.name));
      listings.set(srcRoot, p);
    }
    return p;
  };
  return {
    name: 'cargo-registry-src',
    async locate(pkg: SourceRequest, ctx: SourceContext): Promise<LocateResult> {
      if (pkg.source === null || !/^(registry|sparse)\+/.test(pkg.source)) return null;
      const bad = unsafeRequest(pkg);
      if (bad) return { unavailable: bad };
      const home = ctx.cargoHome;
      const srcRoot = path.join(home, 'registry', 'src');
      const hosts = preferredHosts(cfg, pkg.source);
      const indexDirs = [...(await indexDirsOf(srcRoot))];
      const hostOfDir = (d: string): string => d.replace(/-[0-9a-f]{16}$/, '');
      indexDirs.sort((a, b) => {
        const pa = hosts.has(hostOfDir(a)) ? 0 : 1;
        const pb = hosts.has(hostOfDir(b)) ? 0 : 1;
        return pa - pb || (a < b ? -1 : a > b ? 1 : 0);
      });
      let partial: string | null = null;
      for (const d of indexDirs) {
        const dir = path.join(srcRoot, d, `${pkg.name}-${pkg.version}`);
        if (!(await isDir(dir))) continue;
        if (!(await isFile(path.join(dir, '.cargo-ok')))) {
          partial ??= dir;
          continue;
        }
        if (!staysInside(srcRoot, dir)) continue;
        return { dir };
      }
      if (partial !== null) return { unavailable: `${partial} is incompletely unpacked (no .cargo-ok)` };
      return { unavailable: `${pkg.name}-${pkg.version} is not in ${srcRoot}` };
    },
  };
}

// ---------------------------------------------------------------- $CARGO_HOME/git/checkouts

const GIT_SCAN_MAX_DEPTH = 6;
const GIT_SCAN_MAX_DIRS = 20_000;

/** Last path segment of a git URL without `.git`, as cargo names checkout directories. */
function repoIdent(url: string): string {
  let p = url;
  try {
    p = new URL(url).pathname;
  } catch {
    // keep raw
  }
  const last = p.replace(/\/+$/, '').split('/').pop() ?? '';
  const ident = last.replace(/\.git$/, '');
  return ident === '' ? '_empty' : ident;
}

/** Find the package in a checkout: Cargo.toml files breadth-first, bounded depth, no symlinks. */
async function findInCheckout(root: string, name: string, version: string): Promise<string | null> {
  // Workspace `[workspace.package] version` of the nearest ancestor that defines one (within the checkout).
  const wsVersionCache = new Map<string, string | null>();
  const workspaceVersionFor = async (dir: string): Promise<string | null> => {
    let d = path.dirname(dir);
    while (d.length >= root.length) {
      if (!wsVersionCache.has(d)) {
        const id = await readManifestIdentity(d);
        wsVersionCache.set(d, id?.workspaceVersion ?? null);
      }
      const v = wsVersionCache.get(d);
      if (v) return v;
      if (d === root) break;
      d = path.dirname(d);
    }
    return null;
  };

  let level = [root];
  let visited = 0;
  for (let depth = 0; depth <= GIT_SCAN_MAX_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (++visited > GIT_SCAN_MAX_DIRS) return null;
      const entries = await listDir(dir);
      if (entries.some((e) => e.isFile() && e.name === 'Cargo.toml')) {
        const id = await readManifestIdentity(dir);
        if (id && id.name === name) {
          let v = id.version;
          if (isTable(v)) v = id.workspaceVersion ?? (await workspaceVersionFor(dir));
          if (v === version) return dir;
        }
      }
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'target') next.push(path.join(dir, e.name));
      }
    }
    next.sort();
    level = next;
  }
  return null;
}

/**
 * Git dependencies cargo has checked out: `$CARGO_HOME/git/checkouts/<repo>-<hash>/<short-rev>/`, where
 * `<short-rev>` starts with the locked commit of the `git+URL?…#<sha>` source (cargo uses 7 characters).
 */
export function gitCheckoutProvider(): SourceProvider {
  return {
    name: 'cargo-git-checkouts',
    async locate(pkg: SourceRequest, ctx: SourceContext): Promise<LocateResult> {
      if (pkg.source === null || !pkg.source.startsWith('git+')) return null;
      const git = parseGitSource(pkg.source);
      if (!git.commit || !/^[0-9a-f]{7,64}$/i.test(git.commit)) {
        return { unavailable: `git source ${pkg.source} has no locked commit` };
      }
      const commit = git.commit.toLowerCase();
      const home = ctx.cargoHome;
      const checkouts = path.join(home, 'git', 'checkouts');
      const ident = repoIdent(git.url);
      const repos = (await listDir(checkouts)).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      // Directories named after this repository first, then the rest (the hash suffix is cargo-internal).
      const ordered = [
        ...repos.filter((r) => r.startsWith(`${ident}-`)),
        ...repos.filter((r) => !r.startsWith(`${ident}-`)),
      ];
      const searched: string[] = [];
      for (const repo of ordered) {
        const revs = (await listDir(path.join(checkouts, repo)))
          .filter((e) => e.isDirectory() && e.name.length >= 7 && commit.startsWith(e.name.toLowerCase()))
          .map((e) => e.name)
          .sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
        for (const rev of revs) {
          const root = path.join(checkouts, repo, rev);
          searched.push(root);
          const dir = await findInCheckout(root, pkg.name, pkg.version);
          if (dir !== null) return { dir };
        }
      }
      if (searched.length > 0) {
        return { unavailable: `${pkg.name} ${pkg.version} not found in git checkout ${searched.join(', ')}` };
      }
      return { unavailable: `no checkout of ${git.url} at ${commit.slice(0, 7)} in ${checkouts}` };
    },
  };
}
