// `--locked`: does Cargo.lock still satisfy the manifests? Cargo refuses to build with `--locked` when it
// would have to change the lock; a scan of a stale lock would check packages the build will not use (and
// miss the ones it will). Checked, as cargo resolves them: every dependency of a workspace member (dev
// included) and of a path package (dev excluded) must be locked, at a version inside its requirement; a
// path dependency's name and version must be the ones locked. Optional dependencies are skipped: whether
// one is locked depends on the features enabled, which this does not model (never a false alarm).

import * as nodePath from 'node:path';
import semver from 'semver';
import { resolveLockDep } from './lockfile.js';
import { UserError, type Lockfile, type LockPackage, type Manifest, type ManifestDependency } from '../types.js';
import { cmp } from '../util/compare.js';
import { cargoReqToRange } from '../util/semver.js';

export interface LockProblem {
  /** Manifest path and 1-based line (null when unknown). */
  path: string;
  line: number | null;
  message: string;
}

function shown(p: string): string {
  const rel = nodePath.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !nodePath.isAbsolute(rel) ? rel : p;
}

function depText(d: ManifestDependency): string {
  const name = d.key === d.package ? d.key : `${d.key} (package ${d.package})`;
  if (d.path !== null) return `${name} = { path = ${JSON.stringify(d.path)} }`;
  return d.req !== null ? `${name} = ${JSON.stringify(d.req)}` : name;
}

function satisfies(version: string, req: string): boolean {
  try {
    return semver.satisfies(version, cargoReqToRange(req), { includePrerelease: true, loose: true });
  } catch {
    return false;
  }
}

/**
 * Problems of the lock against the manifests, sorted by manifest and line. `read` loads a path
 * dependency's manifest (null when it cannot be read; the scan reports that package as unscanned).
 */
export async function lockProblems(
  members: Map<string, Manifest>,
  lock: Lockfile,
  read: (manifestPath: string) => Promise<Manifest | null>,
): Promise<LockProblem[]> {
  const problems: LockProblem[] = [];
  const fix = '(run cargo update / cargo generate-lockfile)';
  const seen = new Set<string>();
  const queue: Array<{ m: Manifest; member: boolean }> = [...members.values()].map((m) => ({ m, member: true }));
  for (const m of members.values()) seen.add(m.dir);
  const locked = (m: Manifest): LockPackage | undefined =>
    lock.packages.find((p) => p.source === null && p.name === m.package!.name && p.version === m.package!.version);

  while (queue.length > 0) {
    const { m, member } = queue.shift()!;
    if (!m.package) continue;
    const own = locked(m);
    if (!own) {
      const other = lock.packages.filter((p) => p.source === null && p.name === m.package!.name).map((p) => p.version);
      problems.push({
        path: m.path,
        line: null,
        message: other.length
          ? `package ${m.package.name} ${m.package.version} is locked as ${other.join(', ')} in Cargo.lock ${fix}`
          : `package ${m.package.name} ${m.package.version} is not in Cargo.lock ${fix}`,
      });
      continue;
    }
    for (const d of m.dependencies) {
      if (d.optional || (d.kind === 'dev' && !member)) continue;
      const resolved = own.dependencies
        .filter((r) => r.name === d.package)
        .map((r) => resolveLockDep(lock, r))
        .filter((p): p is LockPackage => p !== undefined);
      const at = { path: m.path, line: d.line };
      if (resolved.length === 0) {
        problems.push({ ...at, message: `dependency ${depText(d)} is not in Cargo.lock ${fix}` });
        continue;
      }
      if (d.path !== null) {
        const dir = nodePath.resolve(m.dir, d.path);
        if (!resolved.some((p) => p.source === null)) {
          problems.push({ ...at, message: `path dependency ${depText(d)} is locked from ${resolved[0]!.source} ${fix}` });
          continue;
        }
        const known = seen.has(dir);
        seen.add(dir);
        // a path dependency under the workspace root is itself a member: checked as one, named here too
        const dm = members.get(dir) ?? (await read(nodePath.join(dir, 'Cargo.toml')));
        if (!dm?.package) continue;
        if (dm.package.name !== d.package) {
          problems.push({ ...at, message: `path dependency ${depText(d)} is now package ${dm.package.name} (${shown(dm.path)}) ${fix}` });
          continue;
        }
        if (d.req !== null && !satisfies(dm.package.version, d.req)) {
          problems.push({ ...at, message: `path dependency ${depText(d)} requires ${d.req}, its package is ${dm.package.version}` });
        }
        if (!known) queue.push({ m: dm, member: false });
        continue;
      }
      if (d.req !== null && !resolved.some((p) => satisfies(p.version, d.req!))) {
        const versions = [...new Set(resolved.map((p) => p.version))].join(', ');
        problems.push({ ...at, message: `dependency ${depText(d)} is locked at ${versions}, outside the requirement ${fix}` });
      }
    }
  }
  return problems.sort((a, b) => cmp(a.path, b.path) || (a.line ?? 0) - (b.line ?? 0) || cmp(a.message, b.message));
}

/** Throws the first problem as a UserError (`Cargo.toml:12: dependency ureq = "2" is not in Cargo.lock …`). */
export async function assertLocked(members: Map<string, Manifest>, lock: Lockfile, read: (p: string) => Promise<Manifest | null>): Promise<void> {
  const problems = await lockProblems(members, lock, read);
  if (problems.length === 0) return;
  const p = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new UserError(`--locked: ${shown(p.path)}${p.line !== null ? `:${p.line}` : ''}: ${p.message}${more}`);
}
