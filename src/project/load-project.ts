// Project loading: workspace root and members, Cargo.lock, each package's source directory and manifest,
// the dependency graph with edge kinds and code names, and how each package is reached (normal / build /
// dev) and in which phases (runtime / build) its library code runs.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import fg from 'fast-glob';
import semver from 'semver';
import { readLockfile, resolveLockDep } from './lockfile.js';
import { assertLocked } from './locked.js';
import { checkTargets, targetEnabled } from './targets.js';
import { applyWorkspaceInheritance, readManifest, usesWorkspaceInheritance } from './manifest.js';
import { isTable } from '../util/toml.js';
import {
  PHASES,
  UserError,
  type DepKind,
  type Lockfile,
  type LockPackage,
  type Manifest,
  type PackageDep,
  type Phase,
  type Project,
  type ResolvedPackage,
  type SourceContext,
  type SourceProvider,
} from '../types.js';
import { mapLimit } from '../util/async.js';
import { cmp } from '../util/compare.js';
import { reqMatches } from '../util/semver.js';
import { realpathTraced, traceList, traceType } from '../util/fs-trace.js';

export interface LoadProjectOptions {
  /** A Cargo.toml, or a directory containing one. */
  manifestPath: string;
  includeDev: boolean;
  providers: SourceProvider[];
  ctx: SourceContext;
  /** Use this Cargo.lock instead of `<workspace root>/Cargo.lock`. */
  lockfilePath?: string;
  /** Refuse (UserError) a Cargo.lock that does not satisfy the manifests, as `cargo --locked` does. Not with lockfilePath. */
  locked?: boolean;
  /**
   * Target triples (checkTargets): dependencies declared under `[target.…]` that none of them enables are
   * left out, with what is reached only through them (Project.excluded). Null/absent: the policy table's
   * `targets`, else every target (nothing left out).
   */
  targets?: string[] | null;
}

const DEP_KINDS: DepKind[] = ['normal', 'build', 'dev'];
const LOCATE_CONCURRENCY = 8;

/** The unique id of a lock package: `name version source` (`name version` for path packages). */
export function packageId(p: { name: string; version: string; source: string | null }): string {
  return p.source === null ? `${p.name} ${p.version}` : `${p.name} ${p.version} ${p.source}`;
}

function compareVersions(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va && vb) return semver.compare(va, vb) || cmp(a, b);
  return cmp(a, b);
}

function isWithin(child: string, parent: string): boolean {
  const rel = nodePath.relative(parent, child);
  return rel === '' || (rel.split(nodePath.sep)[0] !== '..' && !nodePath.isAbsolute(rel));
}

function hasManifest(dir: string): boolean {
  const path = nodePath.join(dir, 'Cargo.toml');
  traceType(path);
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The Cargo.toml a `--manifest-path` names: the file itself, which must be called `Cargo.toml` as cargo
 * requires (a `src/main.rs` is not a manifest), or `Cargo.toml` inside a directory, which must exist.
 */
export async function resolveManifestPath(p: string): Promise<string> {
  const abs = nodePath.resolve(p);
  let isDir = false;
  traceType(abs);
  try {
    isDir = (await fsp.stat(abs)).isDirectory();
  } catch {
    return abs; // readManifest reports the missing file
  }
  if (isDir) {
    const inside = nodePath.join(abs, 'Cargo.toml');
    if (!hasManifest(abs)) throw new UserError(`${p}: directory has no Cargo.toml (not a Cargo package or workspace)`);
    return inside;
  }
  if (nodePath.basename(abs) !== 'Cargo.toml') throw new UserError(`${p}: the manifest path must be a \`Cargo.toml\` file or a directory holding one`);
  return abs;
}

// ---------------------------------------------------------------- workspace

function isGlob(pattern: string): boolean {
  return /[*?[\]{}]/.test(pattern);
}

/** Directories (and symlinks) one workspace member glob may match before the run is refused. */
export const MAX_MEMBER_GLOB_DIRS = 50_000;

/** `f` with `note(path)` called first. */
function tracedCall<F>(f: F, note: (path: string) => void): F {
  return ((path: string, ...rest: unknown[]) => {
    note(path);
    return (f as (...a: unknown[]) => unknown)(path, ...rest);
  }) as F;
}

/** fast-glob's file-system calls, each traced first (a workspace cache entry is keyed on what a glob saw). */
const tracedGlobFs: Partial<fg.FileSystemAdapter> = {
  readdir: tracedCall(fs.readdir, traceList),
  readdirSync: tracedCall(fs.readdirSync, traceList),
  stat: tracedCall(fs.stat, (p) => traceType(p)),
  statSync: tracedCall(fs.statSync, (p) => traceType(p)),
  lstat: tracedCall(fs.lstat, (p) => traceType(p, false)),
  lstatSync: tracedCall(fs.lstatSync, (p) => traceType(p, false)),
};

/**
 * Directories a `members` glob matches, sorted. The walk never goes through a symlink (`crates/**` with a
 * link to `/` would walk the whole file system), so it is bounded by the workspace's own tree; a symlink
 * the pattern itself matches is a member candidate when it resolves to a directory inside the workspace
 * root. Over MAX_MEMBER_GLOB_DIRS matched directories: a UserError.
 */
async function globMemberDirs(root: Manifest, pattern: string): Promise<string[]> {
  const realRoot = realpathTraced(root.dir);
  const glob = pattern.replace(/\\/g, '/').replace(/\/$/, '');
  // fast-glob reads the pattern's literal leading directories as given, symlinks included: a base that
  // leads out of the workspace (`crates/**` with crates -> /) matches nothing instead of being walked
  const segs = glob.split('/');
  const firstGlob = segs.findIndex((s) => isGlob(s));
  const base = nodePath.resolve(root.dir, segs.slice(0, firstGlob < 0 ? segs.length : firstGlob).join('/'));
  try {
    if (!isWithin(realpathTraced(base), realRoot)) return [];
  } catch {
    return [];
  }
  const out: string[] = [];
  let seen = 0;
  const stream = fg.stream(glob, {
    cwd: root.dir,
    onlyFiles: false,
    absolute: true,
    dot: true,
    followSymbolicLinks: false,
    objectMode: true,
    fs: tracedGlobFs,
  });
  for await (const item of stream) {
    const entry = item as unknown as fg.Entry;
    const isLink = entry.dirent.isSymbolicLink();
    if (!entry.dirent.isDirectory() && !isLink) continue;
    if (++seen > MAX_MEMBER_GLOB_DIRS) {
      (stream as unknown as { destroy(): void }).destroy();
      throw new UserError(`${root.path}: workspace member glob \`${pattern}\` matches more than ${MAX_MEMBER_GLOB_DIRS} directories`);
    }
    const dir = nodePath.resolve(entry.path);
    if (isLink) {
      let real: string;
      try {
        real = realpathTraced(dir);
      } catch {
        continue; // dangling
      }
      traceType(real);
      if (!isWithin(real, realRoot) || !fs.statSync(real).isDirectory()) continue;
    } else {
      // the glob's static part may itself be a symlink (`crates/*` with crates -> /): stay inside too
      let real: string;
      try {
        real = realpathTraced(dir);
      } catch {
        continue;
      }
      if (!isWithin(real, realRoot)) continue;
    }
    out.push(dir);
  }
  return out.sort(cmp);
}

/**
 * The workspace members of a root manifest (which must have `[workspace]`), by directory, with workspace
 * inheritance applied: the root when it is a package, `members` (globs expanded; glob matches without a
 * Cargo.toml are skipped), and — as cargo does — path dependencies of members that live under the root
 * directory. `exclude` removes a directory and everything below it unless a literal `members` entry names it.
 */
export async function workspaceMembers(root: Manifest): Promise<Map<string, Manifest>> {
  const ws = root.workspace;
  if (!ws) throw new Error(`workspaceMembers: ${root.path} has no [workspace]`);
  const literal = ws.members.filter((m) => !isGlob(m)).map((m) => nodePath.resolve(root.dir, m));
  const excludes = ws.exclude.map((e) => nodePath.resolve(root.dir, e));
  const isExcluded = (dir: string): boolean =>
    excludes.some((e) => isWithin(dir, e)) && !literal.some((l) => isWithin(dir, l));

  const candidates: string[] = [];
  if (root.package) candidates.push(root.dir);
  for (const m of ws.members) {
    if (!isGlob(m)) {
      const dir = nodePath.resolve(root.dir, m);
      if (!hasManifest(dir)) throw new UserError(`${root.path}: workspace member \`${m}\` has no Cargo.toml (${dir})`);
      candidates.push(dir);
      continue;
    }
    for (const dir of await globMemberDirs(root, m)) {
      if (hasManifest(dir)) candidates.push(dir);
    }
  }

  const members = new Map<string, Manifest>();
  const queue = candidates.filter((d) => d === root.dir || !isExcluded(d));
  while (queue.length > 0) {
    const dir = queue.shift()!;
    if (members.has(dir)) continue;
    let m = dir === root.dir ? root : await readManifest(nodePath.join(dir, 'Cargo.toml'));
    if (usesWorkspaceInheritance(m)) m = applyWorkspaceInheritance(m, root);
    members.set(dir, m);
    for (const dep of m.dependencies) {
      if (dep.path === null) continue;
      const depDir = nodePath.resolve(m.dir, dep.path);
      if (!members.has(depDir) && isWithin(depDir, root.dir) && !isExcluded(depDir) && hasManifest(depDir)) {
        queue.push(depDir);
      }
    }
  }
  return new Map([...members.entries()].sort(([a], [b]) => cmp(a, b)));
}

/**
 * The workspace root of a package: `package.workspace` when set, else the nearest ancestor Cargo.toml with
 * `[workspace]` whose members include the package, else the package itself. A manifest with `[workspace]`
 * is its own root.
 */
export async function findWorkspaceRoot(start: Manifest): Promise<Manifest> {
  if (start.workspace) return start;
  if (!start.package) throw new UserError(`${start.path}: has neither [package] nor [workspace]`);
  const pkgTable = isTable(start.raw.package) ? start.raw.package : isTable(start.raw.project) ? start.raw.project : {};
  if (typeof pkgTable.workspace === 'string') {
    const target = nodePath.resolve(start.dir, pkgTable.workspace);
    const rootPath = target.endsWith('Cargo.toml') ? target : nodePath.join(target, 'Cargo.toml');
    const root = await readManifest(rootPath);
    if (!root.workspace) throw new UserError(`${start.path}: \`package.workspace\` points to ${rootPath}, which has no [workspace]`);
    return root;
  }
  let dir = nodePath.dirname(start.dir);
  for (;;) {
    if (hasManifest(dir)) {
      const candidate = await readManifest(nodePath.join(dir, 'Cargo.toml'));
      if (candidate.workspace && (await workspaceMembers(candidate)).has(start.dir)) return candidate;
    }
    const parent = nodePath.dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

// ---------------------------------------------------------------- loading

interface Slot {
  pkg: LockPackage;
  id: string;
  member: boolean;
  dir: string | null;
  manifest: Manifest | null;
  reason: string | null;
}

/** Applies workspace inheritance to a non-member manifest when it needs it; failures leave it as read. */
export async function inheritOutsideWorkspace(m: Manifest): Promise<Manifest> {
  if (!usesWorkspaceInheritance(m)) return m;
  try {
    const root = await findWorkspaceRoot(m);
    return root === m ? m : applyWorkspaceInheritance(m, root);
  } catch {
    return m;
  }
}

export async function loadProject(opts: LoadProjectOptions): Promise<Project> {
  const start = await readManifest(await resolveManifestPath(opts.manifestPath));
  const rootRead = await findWorkspaceRoot(start);
  let members: Map<string, Manifest>;
  if (rootRead.workspace) {
    members = await workspaceMembers(rootRead);
  } else {
    // A package without a workspace is its own only member; `workspace = true` then has nothing to inherit
    // from, which applyWorkspaceInheritance reports.
    members = new Map([[rootRead.dir, usesWorkspaceInheritance(rootRead) ? applyWorkspaceInheritance(rootRead, rootRead) : rootRead]]);
  }
  const rootManifest = members.get(rootRead.dir) ?? rootRead;
  const lockfile = await readLockfile(opts.lockfilePath ?? nodePath.join(rootManifest.dir, 'Cargo.lock'));
  if (opts.locked && !opts.lockfilePath) {
    await assertLocked(members, lockfile, async (p) => {
      try {
        return await inheritOutsideWorkspace(await readManifest(p));
      } catch (e) {
        if (e instanceof UserError) return null;
        throw e;
      }
    });
  }

  const slots: Slot[] = lockfile.packages.map((pkg) => ({
    pkg,
    id: packageId(pkg),
    member: false,
    dir: null,
    manifest: null,
    reason: null,
  }));
  const slotOf = new Map<LockPackage, Slot>(slots.map((s) => [s.pkg, s]));

  /** The source-null lock package for a path package: by name and version, else by a unique name. */
  const matchPath = (name: string, version: string | null): Slot | undefined => {
    const byName = slots.filter((s) => s.pkg.source === null && s.pkg.name === name);
    const exact = version === null ? [] : byName.filter((s) => s.pkg.version === version);
    if (exact.length === 1) return exact[0];
    return byName.length === 1 ? byName[0] : undefined;
  };

  // Members. A member missing from the lock (stale lock, or a --base lock of another revision) has no
  // package to report.
  const pathQueue: Manifest[] = [];
  const seenDirs = new Set<string>();
  for (const [dir, m] of members) {
    seenDirs.add(dir);
    if (!m.package) continue;
    const slot = matchPath(m.package.name, m.package.version);
    if (!slot || slot.dir !== null) continue;
    Object.assign(slot, { member: true, dir, manifest: m });
    pathQueue.push(m);
  }

  // Path packages: path dependencies of members and of other path packages, plus `[patch]`/`[replace]`
  // paths of the root manifest, matched to source-null lock packages by name and version.
  const visitPath = async (fromDir: string, relPath: string, declaredName: string): Promise<void> => {
    const dir = nodePath.resolve(fromDir, relPath);
    if (seenDirs.has(dir)) return;
    seenDirs.add(dir);
    let m: Manifest;
    try {
      m = await inheritOutsideWorkspace(await readManifest(nodePath.join(dir, 'Cargo.toml')));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      const slot = matchPath(declaredName, null);
      if (slot && slot.dir === null) Object.assign(slot, { dir, reason: e.message });
      return;
    }
    if (!m.package) return;
    const slot = matchPath(m.package.name, m.package.version);
    if (!slot || slot.dir !== null) return;
    Object.assign(slot, { dir, manifest: m });
    pathQueue.push(m);
  };
  for (const entry of rootPatchPaths(rootManifest)) await visitPath(rootManifest.dir, entry.path, entry.name);
  while (pathQueue.length > 0) {
    const m = pathQueue.shift()!;
    for (const dep of m.dependencies) {
      if (dep.path !== null) await visitPath(m.dir, dep.path, dep.package);
    }
  }

  // Everything else: ask the providers, in order. The first directory wins; otherwise every responsible
  // provider's reason, in order (the local lookup's and the download's both matter to the user).
  const rest = slots.filter((s) => s.dir === null && s.reason === null);
  await mapLimit(rest, LOCATE_CONCURRENCY, async (slot) => {
    const req = { name: slot.pkg.name, version: slot.pkg.version, source: slot.pkg.source, checksum: slot.pkg.checksum };
    const reasons: string[] = [];
    for (const provider of opts.providers) {
      const r = await provider.locate(req, opts.ctx);
      if (r === null) continue;
      if ('dir' in r) {
        slot.dir = r.dir;
        break;
      }
      reasons.push(r.unavailable);
    }
    if (slot.dir === null) {
      slot.reason =
        (reasons.length > 0 ? reasons.join('; ') : null) ??
        (slot.pkg.source === null
          ? 'source not found (path package not reached through the path dependencies of the workspace)'
          : 'source not found (no provider)');
      return;
    }
    // A broken dependency manifest makes the package unscanned, never the whole run.
    try {
      const m = await inheritOutsideWorkspace(await readManifest(nodePath.join(slot.dir, 'Cargo.toml')));
      if (!m.package) {
        slot.reason = `${m.path}: has no [package]`;
      } else if (m.package.name !== slot.pkg.name || m.package.version !== slot.pkg.version) {
        slot.reason = `${m.path}: declares ${m.package.name} ${m.package.version}, expected ${slot.pkg.name} ${slot.pkg.version}`;
      } else {
        slot.manifest = m;
      }
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      slot.reason = e.message;
    }
  });

  const targets = opts.targets ?? policyTargets(rootManifest);
  const edges = new Map<Slot, PackageDep[]>(slots.map((s) => [s, buildEdges(s, lockfile, slotOf, targets)]));
  const slotById = new Map(slots.map((s) => [s.id, s]));
  // left out for the targets: reached through every edge, but not through the edges the targets enable
  const excludedSlots = new Set<Slot>();
  if (targets !== null) {
    const all = new Map<Slot, PackageDep[]>(slots.map((s) => [s, buildEdges(s, lockfile, slotOf, null)]));
    const reachAll = reachable(slots, all, slotById);
    const reachTargets = reachable(slots, edges, slotById);
    for (const s of slots) if (!s.member && reachAll.has(s) && !reachTargets.has(s)) excludedSlots.add(s);
  }
  const { reachedAs, phases } = classify(slots, edges, slotById, opts.includeDev);

  const kept = slots.filter((s) => {
    if (excludedSlots.has(s)) return false;
    const r = reachedAs.get(s)!;
    return opts.includeDev || s.member || !(r.size === 1 && r.has('dev'));
  });
  const excluded = [...excludedSlots]
    .map((s) => ({ name: s.pkg.name, version: s.pkg.version, reason: 'target' as const }))
    .sort((a, b) => cmp(a.name, b.name) || compareVersions(a.version, b.version));
  const keptIds = new Set(kept.map((s) => s.id));

  const packages: ResolvedPackage[] = kept
    .sort((a, b) => cmp(a.pkg.name, b.pkg.name) || compareVersions(a.pkg.version, b.pkg.version) || cmp(a.pkg.source ?? '', b.pkg.source ?? ''))
    .map((s) => ({
      id: s.id,
      name: s.pkg.name,
      version: s.pkg.version,
      source: s.pkg.source,
      checksum: s.pkg.checksum,
      member: s.member,
      reachedAs: DEP_KINDS.filter((k) => reachedAs.get(s)!.has(k)),
      phases: PHASES.filter((p) => phases.get(s)!.has(p)),
      dir: s.dir,
      manifest: s.manifest,
      unscannedReason: s.reason,
      deps: edges
        .get(s)!
        .filter((d) => keptIds.has(d.id))
        .sort((a, b) => cmp(a.id, b.id) || cmp(a.codeName, b.codeName) || DEP_KINDS.indexOf(a.kind) - DEP_KINDS.indexOf(b.kind)),
      lockLine: s.pkg.line,
    }));

  return { root: rootManifest.dir, rootManifest, lockfile, packages, ...(targets !== null ? { targets, excluded } : {}) };
}

/** `targets = [...]` of the root manifest's cap-scan policy table, validated; null when absent. */
export function policyTargets(root: Manifest): string[] | null {
  for (const section of ['workspace', 'package'] as const) {
    const top = root.raw[section];
    const meta = isTable(top) ? top.metadata : undefined;
    const cs = isTable(meta) ? meta['cap-scan'] : undefined;
    if (!isTable(cs) || cs.targets === undefined) continue;
    const t = cs.targets;
    if (!Array.isArray(t) || t.some((x) => typeof x !== 'string')) throw new UserError(`${root.path}: \`${section}.metadata.cap-scan.targets\` must be a list of target triples`);
    return checkTargets(t as string[], `${root.path}: ${section}.metadata.cap-scan.targets`);
  }
  return null;
}

/** Slots reached from the members over `edges` (any kind). */
function reachable(slots: Slot[], edges: Map<Slot, PackageDep[]>, slotById: Map<string, Slot>): Set<Slot> {
  const seen = new Set<Slot>(slots.filter((s) => s.member));
  const queue = [...seen];
  while (queue.length > 0) {
    const s = queue.shift()!;
    for (const e of edges.get(s)!) {
      const t = slotById.get(e.id)!;
      if (!seen.has(t)) {
        seen.add(t);
        queue.push(t);
      }
    }
  }
  return seen;
}


/** `[patch.<source>.<name>] path = …` and `[replace."name:version"] path = …` entries of the root. */
function rootPatchPaths(root: Manifest): Array<{ name: string; path: string }> {
  const out: Array<{ name: string; path: string }> = [];
  const add = (key: string, v: unknown): void => {
    if (isTable(v) && typeof v.path === 'string') {
      out.push({ name: typeof v.package === 'string' ? v.package : key.split(':')[0]!, path: v.path });
    }
  };
  if (isTable(root.raw.patch)) {
    for (const src of Object.values(root.raw.patch)) {
      if (isTable(src)) for (const [k, v] of Object.entries(src)) add(k, v);
    }
  }
  if (isTable(root.raw.replace)) for (const [k, v] of Object.entries(root.raw.replace)) add(k, v);
  return out;
}

// ---------------------------------------------------------------- graph

/**
 * Edges of one package. The lock says which package each dependency is; the manifest says how (kind) and
 * under which name the code refers to it. When one crate name appears in several versions among the
 * dependencies, the manifest requirement picks the entries that apply to each version. Dev edges of
 * non-members are dropped (cargo never builds them for a dependent).
 */
function buildEdges(s: Slot, lock: Lockfile, slotOf: Map<LockPackage, Slot>, targets: readonly string[] | null): PackageDep[] {
  const out = new Map<string, PackageDep>();
  const add = (d: PackageDep): void => {
    out.set(`${d.id}\u0000${d.codeName}\u0000${d.kind}`, d);
  };
  for (const ref of s.pkg.dependencies) {
    const q = resolveLockDep(lock, ref);
    if (!q) continue; // parseLockfile already rejects dangling references
    const target = slotOf.get(q)!;
    const m = s.manifest;
    if (!m) {
      add({ id: target.id, codeName: libName(target), kind: 'normal' });
      continue;
    }
    let decls = m.dependencies.filter((d) => d.package === q.name);
    const byReq = decls.filter((d) => reqMatches(q.version, d.req));
    if (byReq.length > 0) decls = byReq;
    if (decls.length === 0) {
      add({ id: target.id, codeName: libName(target), kind: 'normal' });
      continue;
    }
    // declarations under [target.…] that no chosen target enables do not lead anywhere
    if (targets !== null) decls = decls.filter((d) => d.target === null || targetEnabled(d.target, targets));
    for (const d of decls) {
      if (d.kind === 'dev' && !s.member) continue;
      // A renamed dependency is known by its key; otherwise by the dependency's lib name.
      const codeName = d.key !== d.package ? d.key.replace(/-/g, '_') : libName(target, d.key);
      add({ id: target.id, codeName, kind: d.kind });
    }
  }
  return [...out.values()];
}

function libName(s: Slot, fallback?: string): string {
  return s.manifest?.lib?.name ?? (fallback ?? s.pkg.name).replace(/-/g, '_');
}

/**
 * Breadth-first walk from the members over states (package, reached-as, phase):
 * - members start as (normal, runtime), or build when they are proc-macros;
 * - a normal edge passes the state on; a proc-macro's own code and everything it depends on is build phase;
 * - a build edge leads to (build, build) — but inside a dev subtree it stays dev, so everything needed only
 *   for the members' tests is dev-only;
 * - a member's dev edge leads to (dev, runtime). Dev code counts for phases only with includeDev.
 */
function classify(
  slots: Slot[],
  edges: Map<Slot, PackageDep[]>,
  slotById: Map<string, Slot>,
  includeDev: boolean,
): { reachedAs: Map<Slot, Set<DepKind>>; phases: Map<Slot, Set<Phase>> } {
  const reachedAs = new Map<Slot, Set<DepKind>>(slots.map((s) => [s, new Set()]));
  const phases = new Map<Slot, Set<Phase>>(slots.map((s) => [s, new Set()]));
  const seen = new Set<string>();
  const queue: Array<[Slot, DepKind, Phase]> = [];
  const visit = (s: Slot, kind: DepKind, phase: Phase): void => {
    const ph: Phase = s.manifest?.lib?.procMacro ? 'build' : phase;
    const key = `${s.id}\u0000${kind}\u0000${ph}`;
    if (seen.has(key)) return;
    seen.add(key);
    reachedAs.get(s)!.add(kind);
    if (kind !== 'dev' || includeDev) phases.get(s)!.add(ph);
    queue.push([s, kind, ph]);
  };
  for (const s of slots) if (s.member) visit(s, 'normal', 'runtime');
  while (queue.length > 0) {
    const [s, kind, ph] = queue.shift()!;
    for (const e of edges.get(s)!) {
      const t = slotById.get(e.id)!;
      if (e.kind === 'normal') visit(t, kind, ph);
      else if (e.kind === 'build') visit(t, kind === 'dev' ? 'dev' : 'build', 'build');
      else if (s.member) visit(t, 'dev', 'runtime');
    }
  }
  for (const s of slots) {
    // Nothing reaches this package (e.g. the edge to it was lost with a manifest we could not read, or it
    // is only wanted by a lock entry we do not model). Be conservative: treat it as a normal runtime
    // dependency so it is scanned and reported rather than silently dropped.
    if (reachedAs.get(s)!.size === 0) {
      reachedAs.get(s)!.add('normal');
      phases.get(s)!.add(s.manifest?.lib?.procMacro ? 'build' : 'runtime');
    }
  }
  return { reachedAs, phases };
}
