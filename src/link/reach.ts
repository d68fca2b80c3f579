// Reach through calls (issue 14 item 5): a function-level call graph per crate, over resolved paths.
//
// Nodes are the crate's functions with bodies (FileSummary.fns: free functions of file and module scopes,
// methods of inherent `impl Type` blocks as `Type::method`). A function's sources are its own findings
// (plain compiled library code: no test, disabled, generated or macro-body context) and its calls into
// dependencies whose export tables carry a reach summary; its local edges are references that resolve to
// another function of the crate. One shortest chain per (function, capability, kind) is kept (a bucket
// queue over chain lengths: every pair is settled once, so the work is linear in edges × kinds).
//
// The summary of the crate's `pub` functions (and of the names a `use` or a glob of a module gives them)
// goes into its export table (`reach`), so it is cached with the crate and keys its dependents. A dependent's
// reference resolved to such a function gets `reaches` entries at the reference. Not in the graph: trait
// methods, method calls on values, closures and function pointers passed around, calls inside macro
// expansions, functions in regions the parser could not read (their findings stay direct findings).

import type { FnFact } from '../parse/summary.js';
import type { Resolver, Unit } from '../resolve/resolver.js';
import type { Rule } from '../rules/load.js';
import type { Capability, Finding, Reach } from '../types.js';
import { findingOf, type UnitPlace } from '../scan/unit-findings.js';
import { cmp } from '../util/compare.js';
import { exportTableHash, modulePath, type ExportTable, type TableOf } from './exports.js';

/** What a function reaches: a capability and kind, and the chain after the function (callees, then the finding's path). */
export interface ReachStep {
  capability: Capability;
  kind: string;
  via: string[];
}

/** Bound on a chain's length (longer ones keep their first steps, `…` and the last one). */
export const MAX_REACH_VIA = 8;

interface Chain {
  len: number;
  head: string;
  next: Chain | null;
  /** A dependency's stored chain (ends the list). */
  tail?: string[];
  last: string;
}

function chainArray(c: Chain): string[] {
  const out: string[] = [];
  for (let x: Chain | null = c; x && out.length < MAX_REACH_VIA; x = x.next) {
    out.push(x.head);
    if (x.tail) {
      for (const t of x.tail) out.push(t);
      break;
    }
  }
  if (c.len <= MAX_REACH_VIA && out.length <= MAX_REACH_VIA) return out;
  return [...out.slice(0, MAX_REACH_VIA - 2), '…', c.last];
}

/** The path part of a finding's evidence: the last name of a chain (`a = b` → b; a foreign call's declaration name). */
function evidencePath(evidence: string): string {
  const arrow = evidence.lastIndexOf(' → ');
  const parts = (arrow >= 0 ? evidence.slice(arrow + 3) : evidence).split(' = ');
  const last = parts[parts.length - 1]!;
  return last.startsWith('extern ') && parts.length > 1 ? parts[parts.length - 2]! : last;
}

/**
 * The chain of a reference into a dependency function: the names of its re-export chain (`util::ping`,
 * written through util's `pub use inner::*`), the function as resolved (`inner::ping`), then its own chain.
 */
function depChain(r: { ext: string[]; via?: string[][] }, st: ReachStep): string[] {
  return [...(r.via ?? []).map((p) => p.join('::')), r.ext.join('::'), ...st.via];
}

/** Functions of a unit by position (they never nest: block-scope functions are not listed). */
class FnIndex {
  readonly fns: FnFact[];
  constructor(fns: FnFact[] | undefined) {
    this.fns = [...(fns ?? [])].sort((a, b) => a.line - b.line || a.column - b.column);
  }
  at(line: number, column: number): FnFact | null {
    let lo = 0;
    let hi = this.fns.length - 1;
    let found: FnFact | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = this.fns[mid]!;
      if (f.line < line || (f.line === line && f.column <= column)) {
        found = f;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (!found) return null;
    return found.endLine > line || (found.endLine === line && found.endColumn > column) ? found : null;
  }
}

function fnModule(unit: Unit, f: FnFact): string {
  return modulePath(unit.moduleOf[f.scope] ?? unit.moduleOf[0]!);
}
function fnKey(mp: string, f: FnFact): string {
  return mp === '' ? f.path.join('::') : `${mp}::${f.path.join('::')}`;
}

/** Bound on the names globs give a crate's functions in its summary (past it, the crate says so). */
export const MAX_REACH_ALIASES = 20_000;

const capKey = (capability: string, kind: string) => `${capability}\0${kind}`;

const reachIndexes = new WeakMap<ExportTable, Map<string, ReachStep[]>>();

/** The reach summaries of the dependencies (and of their dependencies, through the tables' hashes). */
export class DepReach {
  private byCrate: Map<string, ExportTable[]> | null = null;
  private memo = new Map<string, ReachStep[] | undefined>();
  constructor(
    private readonly depExports: Map<string, ExportTable> | undefined,
    private readonly tableOf?: TableOf,
  ) {}

  /** Every table reachable from the dependencies, by crate name (several versions of one name: all, by hash). */
  private tables(): Map<string, ExportTable[]> {
    if (this.byCrate) return this.byCrate;
    const m = new Map<string, ExportTable[]>();
    const queue: ExportTable[] = [...(this.depExports?.values() ?? [])];
    const seen = new Set<string>();
    while (queue.length) {
      const t = queue.pop()!;
      const h = exportTableHash(t);
      if (seen.has(h)) continue;
      seen.add(h);
      let l = m.get(t.crate);
      if (!l) m.set(t.crate, (l = []));
      l.push(t);
      for (const [, dh] of t.deps) {
        const dt = seen.has(dh) ? undefined : this.tableOf?.(dh);
        if (dt) queue.push(dt);
      }
    }
    for (const l of m.values()) l.sort((a, b) => cmp(exportTableHash(a), exportTableHash(b)));
    return (this.byCrate = m);
  }

  /** Whether any dependency's table has a reach summary. */
  any(): boolean {
    for (const l of this.tables().values()) for (const t of l) if (t.reach && t.reach.length > 0) return true;
    return false;
  }

  /**
   * What the dependency function at `ext` (`[crate, …path]`) reaches, when its crate's table says. A path
   * names a crate, not a version: with two versions of it in the graph, what either reaches (never less).
   */
  steps(ext: string[]): ReachStep[] | undefined {
    if (ext.length < 2 || ext[0] === 'std') return undefined;
    const key = ext.join('::');
    if (this.memo.has(key)) return this.memo.get(key);
    let out: ReachStep[] | undefined;
    const path = ext.slice(1).join('::');
    for (const t of this.tables().get(ext[0]!) ?? []) {
      if (!t.reach) continue;
      let ix = reachIndexes.get(t);
      if (!ix) reachIndexes.set(t, (ix = new Map(t.reach)));
      const st = ix.get(path);
      if (!st) continue;
      if (!out) out = st;
      else {
        const have = new Set(out.map((x) => capKey(x.capability, x.kind)));
        out = [...out, ...st.filter((x) => !have.has(capKey(x.capability, x.kind)))].sort((a, b) => cmp(a.capability, b.capability) || cmp(a.kind, b.kind));
      }
    }
    this.memo.set(key, out);
    return out;
  }
}

/** A unit of the crate, its resolver and place (every target's; the library's build the summary). */
export interface ReachUnit {
  unit: Unit;
  resolver: Resolver;
  place: UnitPlace;
  lib: boolean;
}

/**
 * The crate's reach summary (for its export table) and its `reaches` entries. `findings`: the crate's
 * findings (direct ones are sources, and are not repeated as reaches at their own site).
 */
export function computeReach(
  crate: string,
  units: ReachUnit[],
  findings: Finding[],
  dep: DepReach,
): { summary: [string, ReachStep[]][]; reaches: Reach[]; aliasesOver: number } {
  let aliases = 0;
  let aliasesOver = 0;
  // the library's compiled code (a cfg(test) module's file, kept with --all-targets, is no node)
  const libUnits = units.filter((u) => u.lib && !u.unit.test);
  const fnIndexes = new Map<Unit, FnIndex>();
  const byRel = new Map<string, { unit: Unit; ix: FnIndex }>();
  const keys = new Map<FnFact, string>();
  const known = new Set<string>();
  /** Per module path: its functions (name within the module, key). */
  const byModule = new Map<string, [string, string][]>();
  for (const u of libUnits) {
    const ix = new FnIndex(u.unit.summary.fns);
    fnIndexes.set(u.unit, ix);
    if (!byRel.has(u.unit.rel)) byRel.set(u.unit.rel, { unit: u.unit, ix });
    for (const f of ix.fns) {
      const mp = fnModule(u.unit, f);
      const k = fnKey(mp, f);
      keys.set(f, k);
      if (known.has(k)) continue;
      known.add(k);
      let l = byModule.get(mp);
      if (!l) byModule.set(mp, (l = []));
      l.push([f.path.join('::'), k]);
    }
  }
  // sources: a function's own findings, and its calls into dependencies
  const best = new Map<string, Map<string, Chain>>();
  const buckets: [string, string, Chain][][] = [];
  const offer = (fn: string, capability: string, kind: string, c: Chain) => {
    let m = best.get(fn);
    if (!m) best.set(fn, (m = new Map()));
    const k = capKey(capability, kind);
    const prev = m.get(k);
    if (prev && prev.len <= c.len) return;
    m.set(k, c);
    (buckets[c.len] ??= []).push([fn, k, c]);
  };
  const sorted = [...findings].sort((a, b) => cmp(a.file, b.file) || a.line - b.line || a.column - b.column || cmp(a.capability, b.capability) || cmp(a.kind, b.kind) || cmp(a.evidence, b.evidence));
  for (const f of sorted) {
    if (f.context) continue;
    const at = byRel.get(f.file);
    const fn = at?.ix.at(f.line, f.column);
    if (!fn) continue;
    const p = evidencePath(f.evidence);
    offer(keys.get(fn)!, f.capability, f.kind, { len: 1, head: p, next: null, last: p });
  }
  const callers = new Map<string, Set<string>>();
  const anyDep = dep.any();
  for (const u of libUnits) {
    const ix = fnIndexes.get(u.unit)!;
    if (ix.fns.length === 0) continue;
    const refs = u.unit.summary.refs;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      if (ref.ctx || ref.how === 'macro') continue;
      const fn = ix.at(ref.line, ref.column);
      if (!fn || (!anyDep && best.size === 0)) continue;
      const from = keys.get(fn)!;
      const edge = (to: string) => {
        if (to === from || !known.has(to)) return;
        let s = callers.get(to);
        if (!s) callers.set(to, (s = new Set()));
        s.add(from);
      };
      // `Self::other()` in a method of `impl Type`: Type's function (the resolver does not name Self)
      if (ref.segs[0] === 'Self' && !ref.global && fn.path.length === 2 && ref.segs.length > 1) {
        edge(fnKey(fnModule(u.unit, fn), { ...fn, path: [fn.path[0]!, ...ref.segs.slice(1)] }));
        continue;
      }
      const r = u.resolver.resolveRef(u.unit, i);
      if (!r) continue;
      if ('local' in r) {
        if (!r.item) continue;
        const mp = modulePath(r.item.module);
        edge([...(mp === '' ? [] : [mp]), r.item.name, ...r.item.rest].join('::'));
        continue;
      }
      for (const st of dep.steps(r.ext) ?? []) {
        const [head, ...tail] = depChain(r, st);
        offer(from, st.capability, st.kind, { len: 1 + tail.length, head: head!, next: null, tail, last: tail[tail.length - 1] ?? head! });
      }
    }
  }
  // shortest chains: settle by increasing length, each (function, kind) once
  const callerLists = new Map<string, string[]>();
  for (const [to, s] of callers) callerLists.set(to, [...s].sort(cmp));
  for (let len = 1; len < buckets.length; len++) {
    const b = buckets[len];
    if (!b) continue;
    for (const [fn, k, c] of b) {
      if (best.get(fn)!.get(k) !== c) continue;
      const [capability, kind] = k.split('\0') as [string, string];
      // the chain names the crate's own callees as its dependents would (`util::helper`)
      for (const g of callerLists.get(fn) ?? []) offer(g, capability, kind, { len: c.len + 1, head: `${crate}::${fn}`, next: c, last: c.last });
    }
  }
  const summary = summaryOf();
  return { summary, reaches: reachesOf(), aliasesOver };

  /** The pub functions' steps, and the names `use`/globs of modules give them (names within the crate). */
  function summaryOf(): [string, ReachStep[]][] {
    const root = libUnits[0]?.resolver.root;
    const out = new Map<string, ReachStep[]>();
    const stepsOf = (fn: string): ReachStep[] =>
      [...best.get(fn)!.entries()]
        .map(([k, c]) => {
          const [capability, kind] = k.split('\0') as [Capability, string];
          return { capability, kind, via: chainArray(c) };
        })
        .sort((a, b) => cmp(a.capability, b.capability) || cmp(a.kind, b.kind));
    for (const u of libUnits) {
      for (const f of fnIndexes.get(u.unit)!.fns) {
        const k = keys.get(f)!;
        if (f.pub && best.has(k) && !out.has(k)) out.set(k, stepsOf(k));
      }
    }
    // names given by `use` bindings and globs of local modules (`pub use imp::fetch;`, `pub use imp::*;`)
    if (root) {
      const resolver = libUnits[0]!.resolver;
      const stack = [root];
      const seen = new Set<typeof root>();
      while (stack.length) {
        const m = stack.pop()!;
        if (seen.has(m)) continue;
        seen.add(m);
        const mp = modulePath(m);
        const at = (n: string) => (mp === '' ? n : `${mp}::${n}`);
        for (const [name, { b }] of m.bindings) {
          if (b.kind !== 'use') continue;
          const r = resolver.resolveIn(m, [name], 0);
          if (!r || !('local' in r) || !r.item) continue;
          const imp = modulePath(r.item.module);
          const target = [...(imp === '' ? [] : [imp]), r.item.name, ...r.item.rest].join('::');
          if (best.has(target) && !out.has(at(name))) out.set(at(name), stepsOf(target));
        }
        for (const g of m.globs) {
          const r = g.b.target ? resolver.resolve(g.unit, g.b.scope, g.b.target, g.b.global) : null;
          if (!r || !('local' in r) || !r.module) continue;
          for (const [name, k] of byModule.get(modulePath(r.module)) ?? []) {
            if (!best.has(k)) continue;
            const alias = at(name);
            if (out.has(alias)) continue;
            if (++aliases > MAX_REACH_ALIASES) {
              aliasesOver++;
              continue;
            }
            out.set(alias, stepsOf(k));
          }
        }
        for (const c of m.children.values()) stack.push(c);
      }
    }
    return [...out.entries()].sort((a, b) => cmp(a[0], b[0]));
  }

  function reachesOf(): Reach[] {
    if (!anyDep) return [];
    const direct = new Set(findings.map((f) => `${f.file}\0${f.line}\0${f.column}\0${f.capability}\0${f.kind}`));
    const out = new Map<string, Reach>();
    for (const u of units) {
      const refs = u.unit.summary.refs;
      for (let i = 0; i < refs.length; i++) {
        const ref = refs[i]!;
        if (ref.ctx === 'generated' || ref.how === 'macro') continue;
        const r = u.resolver.resolveRef(u.unit, i);
        if (!r || !('ext' in r)) continue;
        const steps = dep.steps(r.ext);
        if (!steps) continue;
        for (const st of steps) {
          const site = `${u.unit.rel}\0${ref.line}\0${ref.column}\0${st.capability}\0${st.kind}`;
          if (direct.has(site) || out.has(site)) continue;
          const f = findingOf({ capability: st.capability, kind: st.kind, id: 'reach' } as Rule, u.unit, u.place, ref, '');
          const via = depChain(r, st);
          const e: Reach = { capability: st.capability, kind: st.kind, phase: f.phase, via: via.length <= MAX_REACH_VIA ? via : [...via.slice(0, MAX_REACH_VIA - 2), '…', via[via.length - 1]!], file: u.unit.rel, line: ref.line, column: ref.column };
          if (f.context) e.context = f.context;
          out.set(site, e);
        }
      }
    }
    return [...out.values()].sort((a, b) => cmp(a.file, b.file) || a.line - b.line || a.column - b.column || cmp(a.capability, b.capability) || cmp(a.kind, b.kind));
  }
}

