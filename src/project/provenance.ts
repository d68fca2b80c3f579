// Provenance: how each crate is reached from the workspace members (its shortest dependency path per
// phase), and what each member's dependency tree brings (each capability with the direct dependencies
// it comes through). Walks the same states as load-project's classify — (package, reached-as, phase):
// a normal edge passes the state on, a build edge leads to the build phase, a proc-macro's own code and
// everything below it is build phase, and a member's dev edge leads to (dev, runtime), which counts only
// with --include-dev. Linear: every state is visited once per walk.

import {
  CAPABILITIES,
  type Capability,
  type CrateReport,
  type DepKind,
  type DependencyPath,
  type MemberReport,
  type Phase,
  type Project,
  type ResolvedPackage,
  type ScanResult,
} from '../types.js';
import { cmp } from '../util/compare.js';

interface State {
  pkg: ResolvedPackage;
  kind: DepKind;
  phase: Phase;
  /** The state it was first reached from (null: a start state). */
  parent: State | null;
  depth: number;
}

/**
 * How a package is named in a path: its name, or `name@version` when the project holds several versions
 * of that name.
 */
export function packageLabels(project: Project): Map<string, string> {
  const count = new Map<string, number>();
  for (const p of project.packages) count.set(p.name, (count.get(p.name) ?? 0) + 1);
  return new Map(project.packages.map((p) => [p.id, (count.get(p.name) ?? 0) > 1 ? `${p.name}@${p.version}` : p.name]));
}

/**
 * Breadth-first walk from `starts` (in order) over the dependency states. Packages' dependencies are
 * sorted by id (name first), so the first path found to a state — the one kept — is the shortest, ties
 * broken by the order of the start states and then of the dependencies' names.
 */
function walk(byId: Map<string, ResolvedPackage>, starts: Array<Omit<State, 'depth' | 'parent'> & { parent?: State | null }>): Map<string, State> {
  const seen = new Map<string, State>();
  const queue: State[] = [];
  const visit = (pkg: ResolvedPackage, kind: DepKind, phase: Phase, parent: State | null): void => {
    const ph: Phase = pkg.manifest?.lib?.procMacro ? 'build' : phase;
    const key = `${pkg.id}\u0000${kind}\u0000${ph}`;
    if (seen.has(key)) return;
    const s: State = { pkg, kind, phase: ph, parent, depth: parent ? parent.depth + 1 : 0 };
    seen.set(key, s);
    queue.push(s);
  };
  for (const st of starts) visit(st.pkg, st.kind, st.phase, st.parent ?? null);
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i]!;
    for (const e of s.pkg.deps) {
      const t = byId.get(e.id);
      if (!t) continue;
      if (e.kind === 'normal') visit(t, s.kind, s.phase, s);
      else if (e.kind === 'build') visit(t, s.kind === 'dev' ? 'dev' : 'build', 'build', s);
      else if (s.pkg.member) visit(t, 'dev', 'runtime', s);
    }
  }
  return seen;
}

function pathOf(s: State, labels: Map<string, string>): string[] {
  const out: string[] = [];
  for (let x: State | null = s; x; x = x.parent) out.push(labels.get(x.pkg.id)!);
  return out.reverse();
}

const KIND_ORDER: DepKind[] = ['normal', 'build', 'dev'];

/**
 * The shortest path from a member to each package, one per phase the package is reached in (its
 * `phases`). A path through a member's dev-dependency counts only with includeDev and is marked `dev`.
 * Packages no member reaches get none. Keyed by package id.
 */
export function dependencyPaths(project: Project, includeDev: boolean): Map<string, DependencyPath[]> {
  const byId = new Map(project.packages.map((p) => [p.id, p]));
  const labels = packageLabels(project);
  const members = project.packages.filter((p) => p.member);
  const states = walk(byId, members.map((pkg) => ({ pkg, kind: 'normal' as DepKind, phase: 'runtime' as Phase })));
  const out = new Map<string, DependencyPath[]>();
  for (const pkg of project.packages) {
    const paths: DependencyPath[] = [];
    for (const phase of pkg.phases) {
      const found = KIND_ORDER.map((kind) => states.get(`${pkg.id}\u0000${kind}\u0000${phase}`)).filter((s): s is State => s !== undefined);
      // a path through a dev-dependency is taken only when no other reaches the phase (and with includeDev)
      const plain = found.filter((s) => s.kind !== 'dev');
      const pool = plain.length > 0 ? plain : includeDev ? found : [];
      let best: State | null = null;
      for (const s of pool) if (best === null || s.depth < best.depth) best = s;
      if (best) paths.push({ phase, path: pathOf(best, labels), ...(best.kind === 'dev' ? { dev: true as const } : {}) });
    }
    out.set(pkg.id, paths);
  }
  return out;
}

/** A crate report's key in the project: name, version and source. */
function reportKey(x: { name: string; version: string; source: string | null }): string {
  return `${x.name}\u0000${x.version}\u0000${x.source ?? ''}`;
}

/**
 * What each member's dependency tree brings: per phase, each capability with the direct dependencies
 * it comes through and the crates that have it. A crate reached at run time brings its runtime
 * capabilities at run time and its build capabilities (build script) at build time; a crate reached
 * only at build time (through a build-dependency or a proc-macro) brings everything at build time.
 * Members' own code is not in the roll-up (members are not scanned); other members reached through path
 * dependencies lead on to their dependencies.
 */
export function memberRollups(project: Project, crates: readonly CrateReport[], includeDev: boolean): MemberReport[] {
  const byId = new Map(project.packages.map((p) => [p.id, p]));
  const labels = packageLabels(project);
  const reports = new Map(crates.map((c) => [reportKey(c), c]));
  // what one direct dependency's tree brings depends only on it and how it is entered: walked once
  // however many members share it
  const memo = new Map<string, Array<[Phase, Capability, string]>>();
  const brought = (pkg: ResolvedPackage, kinds: Set<DepKind>, memberPhase: Phase): Array<[Phase, Capability, string]> => {
    const key = `${pkg.id}\u0000${[...kinds].sort().join(',')}\u0000${memberPhase}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const starts = [...kinds].map((k) =>
      k === 'normal' ? { pkg, kind: 'normal' as DepKind, phase: memberPhase } : k === 'build' ? { pkg, kind: 'build' as DepKind, phase: 'build' as Phase } : { pkg, kind: 'dev' as DepKind, phase: 'runtime' as Phase },
    );
    const seen = new Set<string>();
    const out: Array<[Phase, Capability, string]> = [];
    const push = (phase: Phase, cap: Capability, label: string): void => {
      const k = `${phase}\u0000${cap}\u0000${label}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push([phase, cap, label]);
      }
    };
    for (const s of walk(byId, starts).values()) {
      if (s.kind === 'dev' && !includeDev) continue;
      const r = reports.get(reportKey(s.pkg));
      if (!r) continue;
      const label = labels.get(s.pkg.id)!;
      for (const cap of r.phases.runtime) push(s.phase, cap, label);
      for (const cap of r.phases.build) push('build', cap, label);
    }
    memo.set(key, out);
    return out;
  };
  const out: MemberReport[] = [];
  for (const m of project.packages.filter((p) => p.member)) {
    const memberPhase: Phase = m.manifest?.lib?.procMacro ? 'build' : 'runtime';
    // capability → phase → { via, crates }
    const acc: Record<Phase, Map<Capability, { via: Set<string>; crates: Set<string> }>> = { runtime: new Map(), build: new Map() };
    const add = (phase: Phase, cap: Capability, via: string, crate: string): void => {
      let e = acc[phase].get(cap);
      if (!e) acc[phase].set(cap, (e = { via: new Set(), crates: new Set() }));
      e.via.add(via);
      e.crates.add(crate);
    };
    const direct = new Map<string, { pkg: ResolvedPackage; kinds: Set<DepKind> }>();
    for (const e of m.deps) {
      const t = byId.get(e.id);
      if (!t || (e.kind === 'dev' && !includeDev)) continue;
      let d = direct.get(t.id);
      if (!d) direct.set(t.id, (d = { pkg: t, kinds: new Set() }));
      d.kinds.add(e.kind);
    }
    for (const { pkg, kinds } of direct.values()) {
      const via = labels.get(pkg.id)!;
      for (const [phase, cap, label] of brought(pkg, kinds, memberPhase)) add(phase, cap, via, label);
    }
    const list = (phase: Phase) =>
      CAPABILITIES.filter((c) => acc[phase].has(c))
        .sort(cmp)
        .map((capability) => {
          const e = acc[phase].get(capability)!;
          return { capability, via: [...e.via].sort(cmp), crates: [...e.crates].sort(cmp) };
        });
    out.push({ name: m.name, version: m.version, brings: { runtime: list('runtime'), build: list('build') } });
  }
  return out.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version));
}

/** Adds `dependencyPaths` to every crate and the members' roll-ups to the result (in place). */
export function addProvenance(project: Project, result: ScanResult, includeDev: boolean): void {
  const paths = dependencyPaths(project, includeDev);
  const ids = new Map(project.packages.map((p) => [reportKey(p), p.id]));
  for (const c of result.crates) {
    const id = ids.get(reportKey(c));
    c.dependencyPaths = (id !== undefined ? paths.get(id) : undefined) ?? [];
  }
  result.members = memberRollups(project, result.crates, includeDev);
}

/** The path that explains a crate's capability in `phase`: that phase's path, else the first one. */
export function pathFor(c: { dependencyPaths?: DependencyPath[] }, phase?: Phase): string[] | null {
  const ps = c.dependencyPaths ?? [];
  const p = (phase ? ps.find((x) => x.phase === phase) : undefined) ?? ps[0];
  return p ? p.path : null;
}

/** The path below the member (`ureq → curl`): what `via` names in check and diff; null when unknown. */
export function viaFor(c: { dependencyPaths?: DependencyPath[] }, phase?: Phase): string[] | null {
  const p = pathFor(c, phase);
  return p && p.length > 1 ? p.slice(1) : null;
}
