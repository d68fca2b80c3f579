// Capability diff between two scans of one workspace (an old Cargo.lock and the current one).

import semver from 'semver';
import { viaFor } from '../project/provenance.js';
import type { Capability, CrateReport, Finding, Indicator, Phase, ScanResult } from '../types.js';
import { cmp } from '../util/compare.js';

export interface CapabilitySet {
  runtime: Capability[];
  build: Capability[];
}

export interface DiffUnscanned {
  side: 'old' | 'new';
  version: string;
  reason: string;
}

export interface PackageChange {
  name: string;
  /** `added`: only in the new lockfile; `removed`: only in the old; `updated`: version changed. */
  change: 'added' | 'removed' | 'updated';
  from: string | null;
  to: string | null;
  /** Source of the new version (the old one for removed packages). */
  source: string | null;
  added: CapabilitySet;
  removed: CapabilitySet;
  /** Findings of the new version for the added (capability, phase) pairs. */
  evidence: Finding[];
  /** Sides that could not be scanned; their capabilities are unknown, so nothing is computed for them. */
  unscanned: DiffUnscanned[];
  /**
   * Supply-chain indicators the new version has and the old one had not (`added`), and the reverse.
   * An indicator is the same on both sides when its id, file and detail match (its line may move).
   */
  indicators: { added: Indicator[]; removed: Indicator[] };
  /**
   * How the package is reached below the member (`["ureq", "curl"]`: the direct dependency first): its
   * shortest path in the new scan (the old one for removed packages), the runtime one when there is
   * one; empty when no member reaches it.
   */
  via: string[];
}

export interface DiffResult {
  /** The base as given: a git revision or a path to the old Cargo.lock. */
  base: string;
  /** True when any package gained a capability or a supply-chain indicator. */
  growth: boolean;
  /** Sorted by name, then new (or old) version. */
  packages: PackageChange[];
}

type Side = { version: string; crate: CrateReport | null; source: string | null; reason: string | null };

function vcmp(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va && vb) return semver.compare(va, vb);
  return cmp(a, b);
}

function sidesByName(res: ScanResult, skip: Set<string>): Map<string, Side[]> {
  const m = new Map<string, Side[]>();
  const add = (name: string, s: Side) => {
    if (skip.has(name)) return;
    let l = m.get(name);
    if (!l) m.set(name, (l = []));
    if (!l.some((x) => x.version === s.version)) l.push(s);
  };
  for (const c of res.crates) add(c.name, { version: c.version, crate: c, source: c.source, reason: null });
  for (const u of res.unscanned) add(u.name, { version: u.version, crate: null, source: null, reason: u.reason });
  for (const l of m.values()) l.sort((a, b) => vcmp(a.version, b.version));
  return m;
}

function minus(a: Capability[], b: Capability[]): Capability[] {
  return a.filter((x) => !b.includes(x)).sort();
}

const EMPTY = (): CapabilitySet => ({ runtime: [], build: [] });

function change(name: string, oldS: Side | null, newS: Side | null): PackageChange {
  const out: PackageChange = {
    name,
    change: oldS && newS ? 'updated' : newS ? 'added' : 'removed',
    from: oldS?.version ?? null,
    to: newS?.version ?? null,
    source: newS?.source ?? oldS?.source ?? null,
    added: EMPTY(),
    removed: EMPTY(),
    evidence: [],
    unscanned: [],
    indicators: { added: [], removed: [] },
    via: (newS?.crate ? viaFor(newS.crate) : null) ?? (oldS?.crate ? viaFor(oldS.crate) : null) ?? [],
  };
  if (oldS && !oldS.crate) out.unscanned.push({ side: 'old', version: oldS.version, reason: oldS.reason ?? 'not scanned' });
  if (newS && !newS.crate) out.unscanned.push({ side: 'new', version: newS.version, reason: newS.reason ?? 'not scanned' });
  // indicators are known for every scanned side, even when the other side is unscanned
  const oldInd = oldS?.crate?.indicators ?? [];
  const newInd = newS?.crate?.indicators ?? [];
  const key = (i: Indicator) => `${i.id}\0${i.file}\0${i.detail}`;
  const oldKeys = new Set(oldInd.map(key));
  const newKeys = new Set(newInd.map(key));
  out.indicators.added = newInd.filter((i) => !oldKeys.has(key(i)));
  // an unscanned new side says nothing about what went away
  if (newS?.crate) out.indicators.removed = oldInd.filter((i) => !newKeys.has(key(i)));
  if (out.unscanned.length > 0) return out;
  const o = oldS?.crate?.phases ?? EMPTY();
  const n = newS?.crate?.phases ?? EMPTY();
  for (const phase of ['runtime', 'build'] as Phase[]) {
    out.added[phase] = minus(n[phase], o[phase]);
    out.removed[phase] = minus(o[phase], n[phase]);
  }
  if (newS?.crate) {
    out.evidence = newS.crate.findings.filter((f) => out.added[f.phase].includes(f.capability));
  }
  return out;
}

/**
 * Compares an old and a new scan. Packages are matched by name; versions present on both sides are
 * unchanged. Each new version is paired with the highest removed old version not above it (else the
 * lowest removed old version); unpaired new versions are `added`, unpaired old ones `removed`.
 * `skipNames` (workspace members) are left out.
 */
export function diffScans(base: string, oldRes: ScanResult, newRes: ScanResult, skipNames: Set<string> = new Set()): DiffResult {
  const oldBy = sidesByName(oldRes, skipNames);
  const newBy = sidesByName(newRes, skipNames);
  const names = [...new Set([...oldBy.keys(), ...newBy.keys()])].sort();
  const packages: PackageChange[] = [];
  for (const name of names) {
    const olds = oldBy.get(name) ?? [];
    const news = newBy.get(name) ?? [];
    const gone = olds.filter((o) => !news.some((n) => n.version === o.version));
    const fresh = news.filter((n) => !olds.some((o) => o.version === n.version));
    const pool = [...gone];
    for (const n of fresh) {
      let pick: Side | null = null;
      for (const o of pool) if (vcmp(o.version, n.version) <= 0) pick = o;
      if (!pick && pool.length > 0) pick = pool[0]!;
      if (pick) pool.splice(pool.indexOf(pick), 1);
      packages.push(change(name, pick, n));
    }
    for (const o of pool) packages.push(change(name, o, null));
  }
  packages.sort((a, b) => cmp(a.name, b.name) || vcmp(a.to ?? a.from ?? '', b.to ?? b.from ?? ''));
  const growth = packages.some((p) => p.added.runtime.length > 0 || p.added.build.length > 0 || p.indicators.added.length > 0);
  return { base, growth, packages };
}

/** The direct dependency a change comes through (`via[0]`), null when no member reaches it. */
export function directDependency(p: PackageChange): string | null {
  return p.via[0] ?? null;
}

/**
 * The packages grouped by the direct dependency they come through, groups sorted by its name (the
 * packages no member reaches last, under null); packages keep their order inside a group.
 */
export function groupByDirect(packages: readonly PackageChange[]): Array<{ direct: string | null; packages: PackageChange[] }> {
  const m = new Map<string | null, PackageChange[]>();
  for (const p of packages) {
    const k = directDependency(p);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(p);
  }
  return [...m.entries()]
    .sort((a, b) => (a[0] === null ? 1 : b[0] === null ? -1 : cmp(a[0], b[0])))
    .map(([direct, ps]) => ({ direct, packages: ps }));
}
