// What `cap-scan crate SPEC` names: a directory, a `.crate` file, or `NAME@VERSION` from a registry,
// where VERSION may be a semver requirement (`^1`, `~1.2`, `>=1, <2`, `1.2`, `*`) resolved through the
// sparse index: the newest matching non-yanked version. A full version (`1.2.3`) means exactly that one
// (as `cargo install name@1.2.3` does), yanked or not.

import { existsSync, statSync } from 'node:fs';
import { MAX_CRATE_FILE_BYTES, MAX_TOML_BYTES, readRegularFile, readRegularText, refusal } from '../util/fs-safe.js';
import { checkTomlDepth } from '../util/toml.js';
import path from 'node:path';
import semver from 'semver';
import { Parser } from 'tar';
import TOML from '@iarna/toml';
import type { SourceContext } from '../types.js';
import { UserError } from '../types.js';
import { SourceCache, assertSafeNameVersion } from './download-cache.js';
import { loadCargoConfig, resolveReplacement } from './cargo-config.js';
import { readManifestIdentity } from './local.js';
import { readdir } from 'node:fs/promises';
import { CRATES_IO_GIT_INDEX, type DownloadProvider, type IndexEntry, indexPathOf, routeFor } from './registry.js';
import { cargoReqToRange } from '../util/semver.js';

export type CrateSpec =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'registry'; name: string; req: string };

/** The lock source used for crates resolved from the default registry (crates.io or its override). */
export const CRATES_IO_SOURCE = `registry+${CRATES_IO_GIT_INDEX}`;

const NAME_RE = /^[A-Za-z0-9_-]+$/;

export function parseCrateSpec(spec: string, cwd = process.cwd()): CrateSpec {
  const abs = path.resolve(cwd, spec);
  if (existsSync(abs)) {
    const st = statSync(abs);
    if (st.isDirectory()) return { kind: 'dir', path: abs };
    if (st.isFile()) return { kind: 'file', path: abs };
  }
  if (spec.endsWith('.crate')) throw new UserError(`no such .crate file: ${spec}`);
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const req = at < 0 ? '*' : spec.slice(at + 1).trim();
  if (!NAME_RE.test(name)) throw new UserError(`not a directory, .crate file or NAME@VERSION: ${spec}`);
  if (req === '') throw new UserError(`missing version after @ in ${spec}`);
  return { kind: 'registry', name, req };
}

/**
 * Pick the version for `req` among index entries: a full version matches exactly (even yanked);
 * otherwise the newest non-yanked version satisfying the requirement.
 */
export function pickVersion(entries: IndexEntry[], req: string): IndexEntry | null {
  const exact = semver.valid(req.replace(/^=\s*/, ''));
  if (exact !== null && (req.startsWith('=') || semver.valid(req) !== null)) {
    return entries.find((e) => semver.valid(e.vers) !== null && semver.eq(e.vers, exact)) ?? null;
  }
  const range = cargoReqToRange(req);
  let best: IndexEntry | null = null;
  for (const e of entries) {
    if (e.yanked || semver.valid(e.vers) === null) continue;
    if (!semver.satisfies(e.vers, range)) continue;
    if (best === null || semver.gt(e.vers, best.vers)) best = e;
  }
  return best;
}

/** The `name-version/` top-level directory of a `.crate` archive, split into name and version. */
export async function crateFileIdentity(data: Buffer, file: string): Promise<{ name: string; version: string }> {
  const top = await new Promise<string | null>((resolve) => {
    const parser = new Parser({ strict: true });
    let done = false;
    const finish = (v: string | null): void => {
      if (done) return;
      done = true;
      resolve(v);
    };
    parser.on('entry', (e) => {
      finish(e.path.split('/').filter((s: string) => s !== '' && s !== '.')[0] ?? null);
      parser.abort(new Error('peeked'));
    });
    parser.on('error', () => finish(null));
    parser.on('abort', () => finish(null));
    parser.on('end', () => finish(null));
    parser.end(data.subarray(0, 64 * 1024));
  });
  const m = top === null ? null : /^([A-Za-z0-9_-]+?)-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)$/.exec(top);
  if (!m) throw new UserError(`${file}: not a .crate archive (no name-version/ top-level directory)`);
  return { name: m[1], version: m[2] };
}

export interface ResolvedCrate {
  dir: string;
  name: string;
  version: string;
  /** sha256 of the `.crate` (registry or file), null for a directory. */
  checksum: string | null;
  /** Lock-style source for registry crates, null otherwise. */
  source: string | null;
}

/** Entries of a crate from the registry the default source (crates.io) resolves to. */
async function registryEntries(name: string, ctx: SourceContext, provider: DownloadProvider): Promise<IndexEntry[]> {
  const cfg = await loadCargoConfig(ctx.workspaceRoot, ctx.cargoHome);
  const route = routeFor(CRATES_IO_SOURCE, cfg, ctx.registryUrl);
  if (route.kind === 'unsupported') throw new UserError(route.reason);
  if (route.kind === 'not-mine') {
    throw new UserError(`crates-io is replaced by a directory source in the cargo config; scan the crate's directory instead`);
  }
  if (route.kind === 'local-registry') {
    const file = path.join(route.path, 'index', indexPathOf(name));
    let text: string;
    try {
      text = await readRegularText(file, { maxBytes: MAX_TOML_BYTES });
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          const e = JSON.parse(l) as IndexEntry;
          return [{ name: e.name, vers: e.vers, cksum: e.cksum, yanked: e.yanked === true, deps: e.deps ?? [] }];
        } catch {
          return [];
        }
      });
  }
  if (ctx.offline) throw new UserError(`offline: cannot resolve ${name} without the registry index (give a .crate file or a directory)`);
  return provider.registry(route.indexUrl).entries(name);
}

/**
 * `NAME@VERSION` when the cargo config replaces crates-io by a directory source (`cargo vendor`, Debian's
 * /usr/share/cargo/registry): the newest matching version found there, offline, with no download. Null when
 * crates-io is not replaced by a directory. Candidates are the directory's subdirectories named `NAME` or
 * `NAME-…` whose Cargo.toml declares that name (the path is never built from the spec).
 */
async function fromDirectorySource(name: string, req: string, ctx: SourceContext): Promise<ResolvedCrate | null> {
  const cfg = await loadCargoConfig(ctx.workspaceRoot, ctx.cargoHome);
  const rep = resolveReplacement(cfg, CRATES_IO_SOURCE);
  if (rep.kind !== 'directory' || rep.path === undefined) return null;
  const where = `directory source \`${rep.name ?? 'crates-io replacement'}\` (${rep.path})`;
  return pickFromRoots(name, req, [rep.path], where, `, which replaces crates-io in the cargo config`);
}

/** Offline, without a directory source: CARGO_HOME's unpacked registry sources (`registry/src/<index>/NAME-VERSION`). */
async function fromCargoHome(name: string, req: string, ctx: SourceContext): Promise<ResolvedCrate | null> {
  const src = path.join(ctx.cargoHome, 'registry', 'src');
  let indexes: string[];
  try {
    indexes = (await readdir(src, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => path.join(src, e.name)).sort();
  } catch {
    return null;
  }
  return pickFromRoots(name, req, indexes, `${src}`, '', true);
}

/**
 * The newest version matching `req` among the subdirectories named `NAME` or `NAME-…` of `roots` whose
 * Cargo.toml declares that name (the path is never built from the spec). None found: an error naming
 * `where`, or null when `quiet` (the caller goes on to the next source).
 */
async function pickFromRoots(name: string, req: string, roots: string[], where: string, why: string, quiet = false): Promise<ResolvedCrate | null> {
  const found: { entry: IndexEntry; dir: string }[] = [];
  for (const root of roots) {
    let names: string[];
    try {
      names = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && (e.name === name || e.name.startsWith(`${name}-`))).map((e) => e.name).sort();
    } catch {
      if (quiet) continue;
      throw new UserError(`${where} cannot be read`);
    }
    for (const n of names) {
      const id = await readManifestIdentity(path.join(root, n));
      if (id === null || id.name !== name || typeof id.version !== 'string' || semver.valid(id.version) === null) continue;
      found.push({ entry: { name, vers: id.version, cksum: '', yanked: false, deps: [] }, dir: path.join(root, n) });
    }
  }
  if (found.length === 0) {
    if (quiet) return null;
    throw new UserError(`crate ${name} not found in ${where}${why}`);
  }
  const picked = pickVersion(found.map((f) => f.entry), req);
  if (picked === null) {
    if (quiet) return null;
    const versions = [...new Set(found.map((f) => f.entry.vers))].sort(semver.compare);
    throw new UserError(`no version of ${name} matches ${req} in ${where} (available: ${versions.join(', ')})`);
  }
  const dir = found.find((f) => f.entry === picked)!.dir;
  return { dir, name, version: picked.vers, checksum: null, source: CRATES_IO_SOURCE };
}

/**
 * Resolve a `crate` command spec to an unpacked directory. Registry crates are downloaded (or taken from
 * the cache) through `provider`, verified against the index checksum.
 */
export async function resolveCrateSpecWith(
  spec: string,
  ctx: SourceContext,
  provider: DownloadProvider,
  cwd = process.cwd(),
): Promise<ResolvedCrate> {
  const s = parseCrateSpec(spec, cwd);
  if (s.kind === 'dir') {
    const manifest = path.join(s.path, 'Cargo.toml');
    let name = path.basename(s.path);
    let version = '0.0.0';
    try {
      const text = await readRegularText(manifest, { maxBytes: MAX_TOML_BYTES });
      checkTomlDepth(text, manifest);
      const doc = TOML.parse(text) as { package?: { name?: unknown; version?: unknown } };
      if (typeof doc.package?.name === 'string') name = doc.package.name;
      if (typeof doc.package?.version === 'string') version = doc.package.version;
    } catch {
      // A directory without a readable manifest is still scannable; the scanner reports what it can.
    }
    return { dir: s.path, name, version, checksum: null, source: null };
  }
  if (s.kind === 'file') {
    let data: Buffer;
    try {
      data = await readRegularFile(s.path, { maxBytes: MAX_CRATE_FILE_BYTES });
    } catch (e) {
      const refused = refusal(e);
      if (refused) throw new UserError(`${s.path}: ${refused}`);
      throw new UserError(`${s.path}: cannot read: ${(e as Error).message}`);
    }
    const { name, version } = await crateFileIdentity(data, s.path);
    assertSafeNameVersion(name, version);
    const cache = new SourceCache(ctx.cacheDir);
    const dir = await cache.install(data, { name, version, expected: null });
    return { dir, name, version, checksum: path.basename(path.dirname(dir)), source: null };
  }
  const local = (await fromDirectorySource(s.name, s.req, ctx)) ?? (ctx.offline ? await fromCargoHome(s.name, s.req, ctx) : null);
  if (local !== null) return local;
  const entries = await registryEntries(s.name, ctx, provider);
  if (entries.length === 0) throw new UserError(`crate ${s.name} not found in the registry`);
  const picked = pickVersion(entries, s.req);
  if (picked === null) {
    const live = entries.filter((e) => !e.yanked).map((e) => e.vers);
    throw new UserError(
      `no version of ${s.name} matches ${s.req} (${live.length > 0 ? `available: ${live.join(', ')}` : 'every version is yanked'})`,
    );
  }
  const req = { name: picked.name, version: picked.vers, source: CRATES_IO_SOURCE, checksum: picked.cksum };
  const r = await provider.locate(req, ctx);
  provider.finish();
  if (r === null) throw new UserError(`cannot download ${picked.name} ${picked.vers}: its source is not a registry`);
  if ('unavailable' in r) throw new UserError(`cannot download ${picked.name} ${picked.vers}: ${r.unavailable}`);
  return { dir: r.dir, name: picked.name, version: picked.vers, checksum: picked.cksum, source: CRATES_IO_SOURCE };
}
