// Export tables (issue 14): a crate's name surface as plain, serialisable data, so that a dependent's
// resolver can follow `dep::a::b` through the dependency without its module tree. Built once per crate from
// its library target's module tree, after the crate's own resolution through ITS dependencies' tables, so
// re-export chains across crates are already flattened (`pub use inner::Cmd as Task` where inner has
// `pub use std::process::Command as Cmd` is stored as `std::process::Command`, with `inner::Cmd` in `via`).
//
// Visibility is not recorded: every module-level name counts (an over-approximation; code that names a
// private item of a dependency does not compile, so this can only add resolutions, never hide one).
// Everything is kept in sorted arrays (no object keyed by a crate's names: `__proto__` is a valid Rust
// identifier), so the JSON is deterministic and safe.

import { createHash } from 'node:crypto';
import type { ModuleNode, Resolution, Resolver, Unit } from '../resolve/resolver.js';
import { cmp } from '../util/compare.js';
import type { MacroDef } from '../expand/stage.js';
import type { ReachStep } from './reach.js';

export const EXPORT_TABLE_FORMAT = 1;

/** A function or static declared in an extern block of the crate. */
export interface ForeignFn {
  /** Path inside the crate (`ffi::c_fn`), no crate name. */
  path: string;
  /** `extern "ABI"`: the block's ABI (`C` when none is written). */
  abi: string;
  /** Declared in a `#[wasm_bindgen] extern` block: a JS import, not a C symbol. */
  wasmBindgen?: true;
  /** `static` rather than `fn`. */
  static?: true;
  file: string;
  line: number;
}

/** What a name of a module of the crate is. */
export type ExportEntry =
  /** A re-export of an external path (std or another crate), chains already followed. */
  | { ext: string[]; via?: string[][] }
  /** A module of the crate (its path, `` for the root). */
  | { mod: string }
  /** A foreign function of the crate: index into foreignFns. */
  | { foreign: number };

export interface ExportModule {
  /** Re-exports, modules and foreign functions, sorted by name. */
  names: [string, ExportEntry][];
  /**
   * The crate's own items (functions, types, statics, imports of them), sorted; listed only in modules
   * with globs, where they shadow what a glob would bring. Elsewhere a name the table lacks is the same
   * thing as a local one: the dependent's path stays as written (rules name dependencies' paths too).
   * (libc and winapi have ~45k each: listing them everywhere tripled the cache.)
   */
  locals?: string[];
  /** `pub use x::*` targets (modules of the crate, or external paths), in source order. */
  globs: ({ ext: string[]; via?: string[][] } | { mod: string })[];
}

export interface ExportTable {
  format: typeof EXPORT_TABLE_FORMAT;
  /** Canonical crate name (`-` → `_`). */
  crate: string;
  /** Every module reachable from the library root, sorted by path (`` is the root). */
  modules: [string, ExportModule][];
  /** Foreign functions and statics, sorted by path. */
  foreignFns: ForeignFn[];
  /**
   * The dependencies this table was built against: canonical crate name and their tables' hashes (sorted).
   * A lookup that ends in one of them (`pub use inner::*`, `pub use inner::env as e`) continues in its
   * table, found by hash (the session keeps every table of the run).
   */
  deps: [string, string][];
  /** The crate's `#[macro_export]` macro_rules! (src/expand/), for dependents' expansion; absent when none. */
  macros?: MacroDef[];
  /**
   * What the crate's functions reach (src/link/reach.ts), by path inside the crate (`fetch`, `net::Client::new`),
   * sorted, each with one shortest chain; absent when none reaches anything.
   */
  reach?: [string, ReachStep[]][];
}

/** Finds a table by its hash (the session's tables). */
export type TableOf = (hash: string) => ExportTable | undefined;

/** Bound on the `via` chain kept in an entry (a long chain keeps its first and last steps). */
export const MAX_VIA = 8;
/** Bound on the work of one lookup: modules entered, globs tried, tables followed. */
export const MAX_LOOKUP_HOPS = 1024;

/** A module's path inside its crate (`` for the root). */
export function modulePath(m: ModuleNode): string {
  const parts: string[] = [];
  for (let n: ModuleNode | null = m; n && n.parent; n = n.parent) parts.push(n.name);
  return parts.reverse().join('::');
}

export function boundVia(via: string[][]): string[][] {
  return via.length <= MAX_VIA ? via : [...via.slice(0, MAX_VIA - 2), ...via.slice(-2)];
}

function entryOf(r: Resolution): ExportEntry | { local: true } | null {
  if (!r) return null;
  if ('ext' in r) return r.via ? { ext: r.ext, via: boundVia(r.via) } : { ext: r.ext };
  if (r.module) return { mod: modulePath(r.module) };
  return { local: true };
}

/**
 * The export table of a crate from its library target's module tree (`root`, the resolver over it, and
 * its units, for the foreign functions).
 */
export function buildExportTable(crate: string, root: ModuleNode, resolver: Resolver, units: Unit[], edition: string, depExports?: Map<string, ExportTable>): ExportTable {
  // foreign functions, by module
  const foreignByModule = new Map<ModuleNode, Map<string, ForeignFn>>();
  const foreignFns: ForeignFn[] = [];
  for (const unit of units) {
    for (const h of unit.summary.syntax) {
      if ((h.construct !== 'extern-fn' && h.construct !== 'extern-static' && h.construct !== 'wasm-import') || !h.name || h.ctx === 'test') continue;
      const mod = unit.moduleOf[h.scope ?? 0] ?? unit.moduleOf[0]!;
      const mp = modulePath(mod);
      const abi = /^extern "([^"]*)"/.exec(h.evidence)?.[1] ?? 'C';
      const f: ForeignFn = { path: mp === '' ? h.name : `${mp}::${h.name}`, abi, file: unit.rel, line: h.line };
      // a #[wasm_bindgen] import is listed, told apart: it is a JS import, not a C symbol (not a foreign call)
      if (h.wasmBindgen || h.construct === 'wasm-import') f.wasmBindgen = true;
      if (h.construct === 'extern-static') f.static = true;
      let m = foreignByModule.get(mod);
      if (!m) foreignByModule.set(mod, (m = new Map()));
      const prev = m.get(h.name);
      if (!prev || cmp(f.file, prev.file) < 0 || (f.file === prev.file && f.line < prev.line)) m.set(h.name, f);
    }
  }
  for (const m of foreignByModule.values()) for (const f of m.values()) foreignFns.push(f);
  foreignFns.sort((a, b) => cmp(a.path, b.path));
  const foreignIndex = new Map(foreignFns.map((f, i) => [f, i]));
  const foreignAt = (mod: ModuleNode, name: string): number | null => {
    const f = foreignByModule.get(mod)?.get(name);
    return f ? foreignIndex.get(f)! : null;
  };

  const modules: [string, ExportModule][] = [];
  const queue: ModuleNode[] = [root];
  const seen = new Set<ModuleNode>();
  while (queue.length) {
    const m = queue.shift()!;
    if (seen.has(m)) continue;
    seen.add(m);
    const names = new Map<string, ExportEntry | { local: true }>();
    const keys = [...new Set([...m.bindings.keys(), ...m.children.keys(), ...(foreignByModule.get(m)?.keys() ?? [])])].sort(cmp);
    for (const name of keys) {
      const foreign = foreignAt(m, name);
      const b = m.bindings.get(name);
      const child = m.children.get(name);
      let e: ExportEntry | { local: true } | null = null;
      if (foreign !== null && (!b || b.b.kind === 'item')) e = { foreign };
      else if (!b || b.b.kind === 'mod') e = child ? { mod: modulePath(child) } : { local: true };
      else if (b.b.kind === 'item') e = { local: true };
      else {
        e = entryOf(resolver.resolveIn(m, [name], 0));
        // `pub use self::ffi::c_fn;`: a foreign function is no binding of its module, look there
        if ((!e || 'local' in e) && b.b.kind === 'use' && b.b.target && b.b.target.length > 1) {
          const parent = resolver.resolve(b.unit, b.b.scope, b.b.target.slice(0, -1), b.b.global);
          const fi = parent && 'local' in parent && parent.module ? foreignAt(parent.module, b.b.target[b.b.target.length - 1]!) : null;
          if (fi !== null) e = { foreign: fi };
        }
      }
      if (e) names.set(name, e);
    }
    const globs: ExportModule['globs'] = [];
    for (const g of m.globs) {
      if (!g.b.target || g.b.target.length === 0) continue;
      let r = resolver.resolve(g.unit, g.b.scope, g.b.target, g.b.global);
      if (!r && edition === '2015') r = resolver.resolveIn(root, g.b.target, 0);
      const e = entryOf(r);
      if (e && ('ext' in e || 'mod' in e)) globs.push(e);
    }
    const entries = [...names.entries()].filter((x): x is [string, ExportEntry] => !('local' in x[1]));
    const mod: ExportModule = { names: entries, globs };
    if (globs.length > 0) mod.locals = [...names.entries()].filter((x) => 'local' in x[1]).map((x) => x[0]);
    if (entries.length > 0 || globs.length > 0) modules.push([modulePath(m), mod]);
    for (const k of [...m.children.keys()].sort(cmp)) queue.push(m.children.get(k)!);
  }
  modules.sort((a, b) => cmp(a[0], b[0]));
  const deps = new Map<string, string>();
  for (const t of depExports?.values() ?? []) {
    const h = exportTableHash(t);
    const prev = deps.get(t.crate);
    // two dependencies of one name (two versions): the smaller hash, deterministically
    if (prev === undefined || h < prev) deps.set(t.crate, h);
  }
  return { format: EXPORT_TABLE_FORMAT, crate, modules, foreignFns, deps: [...deps.entries()].sort((a, b) => cmp(a[0], b[0])) };
}

const hashes = new WeakMap<ExportTable, string>();

/** Hash of a table (what a dependent's cache key holds for it), computed once per table object. */
export function exportTableHash(t: ExportTable | null): string {
  if (!t) return 'none';
  let h = hashes.get(t);
  if (h === undefined) hashes.set(t, (h = createHash('sha256').update(JSON.stringify(t)).digest('hex')));
  return h;
}

/** A table read back from the cache with the hash stored beside it (the entry itself is hash-checked). */
export function rememberTableHash(t: ExportTable, hash: string): void {
  if (/^[0-9a-f]{64}$/.test(hash)) hashes.set(t, hash);
}

export function isExportTable(v: unknown): v is ExportTable {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return o.format === EXPORT_TABLE_FORMAT && typeof o.crate === 'string' && Array.isArray(o.modules) && Array.isArray(o.foreignFns) && Array.isArray(o.deps);
}

// ------------------------------------------------------------------ lookup (in a dependent)

interface TableIndex {
  modules: Map<string, { names: Map<string, ExportEntry>; locals: Set<string>; globs: IndexedGlob[] }>;
  names: Set<string>;
  deps: Map<string, string>;
}
const indexes = new WeakMap<ExportTable, TableIndex>();

/** A glob of a table's module; an external one with its path joined (`a::b::`, what a name is appended to). */
type IndexedGlob = { mod: string } | { ext: string[]; via?: string[][]; prefix: string; g: { ext: string[]; via?: string[][] } };

function indexedGlob(g: ExportModule['globs'][number]): IndexedGlob {
  return 'mod' in g ? g : { ext: g.ext, prefix: g.ext.length > 0 ? `${g.ext.join('::')}::` : '', g };
}

function indexOf(t: ExportTable): TableIndex {
  let ix = indexes.get(t);
  if (!ix) {
    const modules: TableIndex['modules'] = new Map();
    const names = new Set<string>();
    for (const [p, m] of t.modules) {
      modules.set(p, { names: new Map(m.names), locals: new Set(m.locals ?? []), globs: m.globs.map(indexedGlob) });
      for (const [n] of m.names) names.add(n);
      for (const n of m.locals ?? []) names.add(n);
    }
    indexes.set(t, (ix = { modules, names, deps: new Map(t.deps) }));
  }
  return ix;
}

/** Every name some module of the table binds (what a glob of the dependency can yield). */
export function exportedNames(t: ExportTable): Set<string> {
  return indexOf(t).names;
}

/**
 * What a path inside a dependency (`segs` after the crate's name) is, by its export table. `limit`: the
 * lookup stopped at MAX_LOOKUP_HOPS (the path is then matched as written, and the crate says so).
 */
export type LinkedPath = { ext: string[]; via?: string[][] } | { local: true } | { foreign: ForeignFn } | { limit: true } | null;

/**
 * Follows `segs` through the table: modules, re-exports (already flattened), globs (a glob of an external
 * path only yields names some rule path knows, like the resolver's own globs). Bounded hops, cycles stop.
 */
export function lookupExport(t0: ExportTable, segs0: string[], isKnownPrefix: (p: string) => boolean, tableOf?: TableOf): LinkedPath {
  let hops = 0;
  /** Where a glob search for a name started (name → crate name → module paths): a cycle stops there. */
  const seen = new Map<string, Map<string, Set<string>>>();
  const r = lookupIn(t0, segs0);
  return r === null && hops > MAX_LOOKUP_HOPS ? { limit: true } : r;

  /** In table t: its module walk, and an external result that lands in one of t's dependencies continues there. */
  function lookupIn(t: ExportTable, segs: string[]): LinkedPath {
    return walk(indexOf(t), t, '', segs);
  }

  /** The table of t's dependency an external path of t lands in, when there is one. */
  function depTable(ix: TableIndex, ext: string[]): ExportTable | undefined {
    const h = ext.length > 1 ? ix.deps.get(ext[0]!) : undefined;
    return h !== undefined ? tableOf?.(h) : undefined;
  }

  /** An external path of t: followed into t's dependency (dt, its depTable) when it has a table there. */
  function follow(dt: ExportTable | undefined, r: { ext: string[]; via?: string[][] }): LinkedPath {
    if (!dt || ++hops > MAX_LOOKUP_HOPS) return r;
    const sub = lookupIn(dt, r.ext.slice(1));
    if (sub && 'ext' in sub) return { ext: sub.ext, via: boundVia([...(r.via ?? []), r.ext, ...(sub.via ?? [])]) };
    if (sub && 'foreign' in sub) return sub;
    return r;
  }

  /**
   * `segs` from module `modPath` of t. `absent`: no module of t binds segs[0] (its names nor its locals),
   * known already when a glob search goes on with the same segs.
   */
  function walk(ix: TableIndex, t: ExportTable, modPath: string, segs: string[], absent?: boolean): LinkedPath {
    if (++hops > MAX_LOOKUP_HOPS) return null;
    const mod = ix.modules.get(modPath);
    if (!mod) return null;
    if (segs.length === 0) return { local: true };
    const name = segs[0]!;
    // a name of no module of the table is in neither map of this one (two big maps spared per module)
    absent ??= !ix.names.has(name);
    const e = absent ? undefined : mod.names.get(name);
    if (e) {
      if ('mod' in e) return walk(ix, t, e.mod, segs.slice(1));
      if ('foreign' in e) {
        const f = t.foreignFns[e.foreign];
        return f && segs.length === 1 ? { foreign: f } : { local: true };
      }
      const r = extend(e, segs.slice(1));
      return follow(depTable(ix, r.ext), r);
    }
    if (!absent && mod.locals.has(name)) return { local: true };
    let crates = seen.get(name);
    if (!crates) seen.set(name, (crates = new Map()));
    let mods = crates.get(t.crate);
    if (!mods) crates.set(t.crate, (mods = new Set()));
    if (mods.has(modPath)) return null;
    mods.add(modPath);
    for (const ig of mod.globs) {
      if ('mod' in ig) {
        const r = walk(ix, t, ig.mod, segs, absent);
        if (r) return r;
        continue;
      }
      const g = ig.g;
      if (++hops > MAX_LOOKUP_HOPS) return null;
      const cand = extend(g, segs);
      // `pub use dep::*` of a dependency with a table: the name must be there
      const dt = depTable(ix, cand.ext);
      if (dt) {
        const r = follow(dt, cand);
        if (r && r !== cand) return r;
        const inDep = cand.ext.slice(1);
        if (lookupIn(dt, inDep)) return cand;
        // a function of the dependency that its reach summary names (its own items are not in its table)
        if (hasReach(dt, inDep)) return cand;
      }
      if (isKnownPrefix(ig.prefix + name)) return cand;
    }
    return null;
  }
}

const reachNames = new WeakMap<ExportTable, Set<string>>();
function hasReach(t: ExportTable, segs: string[]): boolean {
  if (!t.reach) return false;
  let names = reachNames.get(t);
  if (!names) reachNames.set(t, (names = new Set(t.reach.map((r) => r[0]))));
  return names.has(segs.join('::'));
}

function extend(e: { ext: string[]; via?: string[][] }, rest: string[]): { ext: string[]; via?: string[][] } {
  if (rest.length === 0) return e;
  const out: { ext: string[]; via?: string[][] } = { ext: [...e.ext, ...rest] };
  if (e.via) out.via = e.via.map((v) => [...v, ...rest]);
  return out;
}
