// Stage 1 of the crate scan: each target's module tree walked into units (`mod` declarations with
// #[path] and cfg(test), include!), every file constrained to the package directory and to the budget.

import { realpathSync, statSync } from 'node:fs';
import { join, dirname, basename, relative, resolve as resolvePath, sep } from 'node:path';
import type { FileSummary } from '../parse/summary.js';
import { ModuleNode, Resolver, placeUnit, type ResolverOptions, type Unit } from '../resolve/resolver.js';
import { fileKind } from '../util/fs-safe.js';
import type { Manifest, Unanalyzed } from '../types.js';
import { FileBudget } from './file-budget.js';

export type FileRole = 'lib' | 'build' | 'bin' | 'test' | 'example' | 'bench' | 'unreferenced';

export function posix(p: string): string {
  return p.split(sep).join('/');
}

/**
 * A file the crate's code points at, constrained to the package directory. Synchronous: one call per
 * module file, and the promise API's thread-pool round trips cost more than the lookups.
 */
export async function locateInside(root: string, abs: string): Promise<{ abs: string; size: number } | { problem: string } | null> {
  let real: string;
  try {
    real = realpathSync.native(abs);
  } catch {
    return null;
  }
  // a FIFO, socket or device (also through a symlink, to /dev/zero say) is refused by kind
  const st = statSync(real, { throwIfNoEntry: false });
  if (st && !st.isFile()) return { problem: `not-a-regular-file (${fileKind(st)})` };
  if (real !== root && !real.startsWith(root + sep)) return { problem: 'path outside the package' };
  if (!st) return { problem: 'not-a-regular-file (vanished)' };
  return { abs: real, size: st.size };
}

export interface Target {
  role: FileRole;
  root: string; // relative path
}

export function targetsOf(dir: string, manifest: Manifest | null, allTargets: boolean, exists: (rel: string) => boolean): Target[] {
  const out: Target[] = [];
  const lib = manifest ? manifest.lib?.path ?? null : exists('src/lib.rs') ? 'src/lib.rs' : null;
  if (lib) out.push({ role: 'lib', root: lib });
  const build = manifest ? manifest.package?.build ?? null : exists('build.rs') ? 'build.rs' : null;
  if (build) out.push({ role: 'build', root: build });
  if (allTargets && manifest) {
    for (const t of manifest.bins) out.push({ role: 'bin', root: t.path });
    for (const t of manifest.tests) out.push({ role: 'test', root: t.path });
    for (const t of manifest.examples) out.push({ role: 'example', root: t.path });
    for (const t of manifest.benches) out.push({ role: 'bench', root: t.path });
  }
  return out;
}

/** Analyse one reached file of a role (the crate's analysis options applied). */
export type UnitAnalyzer = (abs: string, role: FileRole, test: boolean, tokensOnly: string) => Promise<FileSummary>;

/** What the walks of one crate share: the files reached so far, the budget, what they left out. */
export class CrateFiles {
  /** Absolute paths analysed. */
  readonly visited = new Set<string>();
  /** Reached only through cfg(test) modules. */
  readonly testFiles = new Set<string>();
  /** Directories of cfg(test) modules' children. */
  readonly testDirs: string[] = [];
  /** Every analysed file (relative path) with its role. */
  readonly files: { rel: string; role: FileRole }[] = [];
  readonly unanalyzed: Unanalyzed[] = [];
  readonly budget = new FileBudget();
  constructor(
    /** The package directory (real path). */
    readonly dir: string,
    readonly allTargets: boolean,
    readonly analyze: UnitAnalyzer,
  ) {}
}

/** A file reached by a module tree, not analysed yet. */
interface Pending {
  abs: string;
  size: number;
  rel: string;
  module: ModuleNode;
  /** Directory where child modules of this file live. */
  modDir: string;
  test: boolean;
}

/** The units of one target's module tree, with the resolver over that tree. */
export interface TargetUnits {
  units: { unit: Unit; role: FileRole }[];
  resolver: Resolver;
}

/** Walks a target's module tree from its root file; null when the root is missing or refused (listed as unanalyzed). */
export async function walkTarget(target: Target, crate: CrateFiles, resolverOptions: ResolverOptions): Promise<TargetUnits | null> {
  const { dir } = crate;
  const root = new ModuleNode('crate', null);
  const resolver = new Resolver(root, resolverOptions);
  const units: TargetUnits['units'] = [];
  const rootAbs = resolvePath(dir, target.root);
  const located = await locateInside(dir, rootAbs);
  if (!located) {
    crate.unanalyzed.push({ file: target.root, line: 1, reason: 'target file not found' });
    return null;
  }
  if ('problem' in located) {
    crate.unanalyzed.push({ file: target.root, line: 1, reason: located.problem });
    return null;
  }
  const queue: Pending[] = [{ abs: located.abs, size: located.size, rel: posix(relative(dir, located.abs)), module: root, modDir: dirname(located.abs), test: false }];
  while (queue.length) {
    const p = queue.shift()!;
    if (crate.visited.has(p.abs)) continue;
    crate.visited.add(p.abs);
    const how = crate.budget.take(p.rel, p.size);
    if (how === null) continue;
    const summary = await crate.analyze(p.abs, target.role, p.test, how);
    if (summary.testOnly && !crate.allTargets) {
      crate.testFiles.add(p.abs);
      continue;
    }
    const unit = placeUnit(p.rel, summary, p.module, p.test || summary.testOnly);
    units.push({ unit, role: target.role });
    crate.files.push({ rel: p.rel, role: target.role });
    await followMods(p, unit, crate, queue);
    await followIncludes(p, unit, crate, queue);
  }
  return { units, resolver };
}

/** Queues the files of a unit's `mod x;` declarations (cfg(test) ones are only marked as test code). */
async function followMods(p: Pending, unit: Unit, crate: CrateFiles, queue: Pending[]): Promise<void> {
  const { dir, allTargets } = crate;
  const summary = unit.summary;
  const fileDir = dirname(p.abs);
  // module directory of each scope: inline `mod a { mod b; }` nests directories
  const scopeDir = (scope: number): string => {
    const s = summary.scopes[scope]!;
    if (scope === 0 || s.parent < 0) return p.modDir;
    const parentDir = scopeDir(s.parent);
    if (s.kind !== 'mod') return parentDir;
    // an inline `#[path = "dir"] mod m { mod n; }` puts n under dir, not under m (openssl-sys: `#[path = "."]`)
    const decl = inlineMods.get(scope);
    return resolvePath(parentDir, decl?.pathAttr ?? s.name ?? '_');
  };
  const inlineMods = new Map(summary.mods.filter((m) => m.body >= 0).map((m) => [m.body, m]));
  for (const m of summary.mods) {
    if (m.body >= 0) continue; // inline: same file
    const base = scopeDir(m.scope);
    const candidates = m.pathAttr
      ? [resolvePath(m.scope === 0 || summary.scopes[m.scope]!.kind !== 'mod' ? fileDir : base, m.pathAttr)]
      : [join(base, `${m.name}.rs`), join(base, m.name, 'mod.rs')];
    let found: Awaited<ReturnType<typeof locateInside>> = null;
    for (const c of candidates) {
      found = await locateInside(dir, c);
      if (found) break;
    }
    if (!found) {
      if ((!m.test || allTargets) && !m.macro) crate.unanalyzed.push({ file: p.rel, line: m.line, reason: `module file not found: ${posix(relative(dir, candidates[0]!))}` });
      continue;
    }
    if ('problem' in found) {
      crate.unanalyzed.push({ file: p.rel, line: m.line, reason: `${found.problem}: ${m.pathAttr ?? m.name}` });
      continue;
    }
    const isModRs = basename(found.abs) === 'mod.rs' || !!m.pathAttr;
    const modDir = isModRs ? dirname(found.abs) : join(dirname(found.abs), basename(found.abs, '.rs'));
    if (m.test && !allTargets) {
      // the module and its whole subtree are test code: not unreferenced either
      crate.testFiles.add(found.abs);
      if (modDir !== dirname(found.abs) || basename(found.abs) === 'mod.rs') crate.testDirs.push(modDir + sep);
      continue;
    }
    const childModule = unit.moduleOf[m.scope]!.child(m.name);
    queue.push({ abs: found.abs, size: found.size, rel: posix(relative(dir, found.abs)), module: childModule, modDir, test: p.test || !!m.test });
  }
}

/** Queues the files of a unit's include! sites: the included code lands in the module of the site. */
async function followIncludes(p: Pending, unit: Unit, crate: CrateFiles, queue: Pending[]): Promise<void> {
  const { dir } = crate;
  const fileDir = dirname(p.abs);
  for (const inc of unit.summary.includes) {
    const found = await locateInside(dir, resolvePath(fileDir, inc.path));
    if (!found || 'problem' in found) {
      crate.unanalyzed.push({ file: p.rel, line: inc.line, reason: `include not analysed: ${inc.path}${found ? ` (${found.problem})` : ' (not found)'}` });
      continue;
    }
    queue.push({ abs: found.abs, size: found.size, rel: posix(relative(dir, found.abs)), module: unit.moduleOf[inc.scope]!, modDir: p.modDir, test: p.test });
  }
}
