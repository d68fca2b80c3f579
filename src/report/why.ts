// `cap-scan why CRATE [CAPABILITY]`: how a crate is reached from the workspace members (its shortest
// path per phase and, like `cargo tree -i`, the tree of its dependents up to the members), and why it
// has a capability: its findings for it, grouped by phase. Human and JSON renderings.

import { Chalk, type ChalkInstance } from 'chalk';
import { packageLabels } from '../project/provenance.js';
import { CAPABILITIES, type Capability, type CrateReport, type DepKind, type DependencyPath, type Finding, type Phase, type Project, type ResolvedPackage, type ScanResult } from '../types.js';
import { cmp } from '../util/compare.js';
import { findingJson, dependencyPathJson, firstPerKind, plural } from './common.js';

/** A `reaches` entry (capabilities a crate gets through calls into dependencies), when the scan has them. */
export interface ReachEntry {
  capability: string;
  kind: string;
  phase: Phase;
  via: string[];
  file: string;
  line: number;
  column: number;
}

export interface WhyCrate {
  pkg: ResolvedPackage;
  /** The scanned report; null for a member or an unscanned crate. */
  report: CrateReport | null;
  /** Why it was not scanned, when it was not (and is no member). */
  unscanned: string | null;
  dependencyPaths: DependencyPath[];
}

export interface WhyInput {
  project: Project;
  result: ScanResult;
  crates: WhyCrate[];
  /** A capability id or kind, or null for every capability. */
  capability: string | null;
  includeDev: boolean;
  verbose: boolean;
  color: boolean;
}

/** Findings listed per phase without -v. */
const WHY_LIMIT = 10;
/** Dependents shown per node of the inverted tree without -v (a crate like libc has dozens). */
const TREE_CHILDREN = 12;

interface Dependent {
  pkg: ResolvedPackage;
  kinds: DepKind[];
}

/** Who depends on each package (dev edges only with includeDev), sorted by label. */
function dependentsIndex(project: Project, includeDev: boolean, labels: Map<string, string>): Map<string, Dependent[]> {
  const m = new Map<string, Map<string, Dependent>>();
  for (const p of project.packages) {
    for (const d of p.deps) {
      if (d.kind === 'dev' && !includeDev) continue;
      let by = m.get(d.id);
      if (!by) m.set(d.id, (by = new Map()));
      let e = by.get(p.id);
      if (!e) by.set(p.id, (e = { pkg: p, kinds: [] }));
      if (!e.kinds.includes(d.kind)) e.kinds.push(d.kind);
    }
  }
  const out = new Map<string, Dependent[]>();
  for (const [id, by] of m) out.set(id, [...by.values()].sort((a, b) => cmp(labels.get(a.pkg.id)!, labels.get(b.pkg.id)!) || cmp(a.pkg.id, b.pkg.id)));
  return out;
}

function kindTag(kinds: DepKind[]): string {
  const k = kinds.filter((x) => x !== 'normal');
  return k.length && k.length === kinds.length ? ` (${k.join(', ')})` : k.length ? ` (also ${k.join(', ')})` : '';
}

/**
 * The inverted dependency tree (`cargo tree -i`): the crate, its dependents, theirs, up to the members.
 * Each package is expanded once; later occurrences end in `(*)`, so the output is linear in the graph.
 */
function invertedTree(root: ResolvedPackage, index: Map<string, Dependent[]>, verbose: boolean): string[] {
  const lines: string[] = [];
  const expanded = new Set<string>();
  const name = (p: ResolvedPackage) => `${p.name} ${p.version}${p.member ? ' (member)' : ''}`;
  const rec = (p: ResolvedPackage, prefix: string): void => {
    const all = index.get(p.id) ?? [];
    const shown = verbose ? all : all.slice(0, TREE_CHILDREN);
    for (const [i, d] of shown.entries()) {
      const last = i === shown.length - 1 && shown.length === all.length;
      const seen = expanded.has(d.pkg.id) && (index.get(d.pkg.id)?.length ?? 0) > 0;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${name(d.pkg)}${kindTag(d.kinds)}${seen ? ' (*)' : ''}`);
      if (!seen) {
        expanded.add(d.pkg.id);
        rec(d.pkg, `${prefix}${last ? '    ' : '│   '}`);
      }
    }
    if (shown.length < all.length) lines.push(`${prefix}└── … ${all.length - shown.length} more (-v shows all)`);
  };
  lines.push(name(root));
  expanded.add(root.id);
  rec(root, '');
  return lines;
}

function matches(f: { capability: string; kind: string }, cap: string | null): boolean {
  return cap === null || f.capability === cap || f.kind === cap;
}

function findingText(f: Finding, c: ChalkInstance): string {
  const ctx = f.context ? ` (${f.context})` : '';
  return `${c.yellow(f.kind)}  ${c.cyan(`${f.file}:${f.line}:${f.column}`)}  ${f.evidence}  ${c.dim(`[rule ${f.rule}]`)}${ctx}`;
}

/** Why the capability is build-phase only: the build script, or the crate is only built for build time. */
function buildOnlyReason(r: CrateReport, build: Finding[], pkg: ResolvedPackage): string {
  if (r.buildScript && build.every((f) => f.file === r.buildScript)) return `its build script ${r.buildScript}`;
  if (r.procMacro) return 'it is a proc-macro, run by the compiler';
  if (!pkg.phases.includes('runtime')) return 'it is only built for build scripts and proc-macros (through build-dependencies)';
  return 'build scripts';
}

/** The reaches list of a report, when the scan records one (an optional key of later scans). */
function reachesOf(r: CrateReport | null): ReachEntry[] {
  const x = (r as (CrateReport & { reaches?: ReachEntry[] }) | null)?.reaches;
  return Array.isArray(x) ? x : [];
}

/** The capabilities the question is about: the one asked (its id, for a kind), or all the crate has. */
function asked(r: CrateReport, capability: string | null): Capability[] {
  if (capability === null) return r.capabilities;
  const id = (CAPABILITIES as string[]).includes(capability) ? (capability as Capability) : (capability.split('.')[0] as Capability);
  return [id];
}

function crateLines(w: WhyCrate, input: WhyInput, index: Map<string, Dependent[]>, c: ChalkInstance): string[] {
  const { pkg, report } = w;
  const lines: string[] = [`${c.bold(pkg.name)} ${pkg.version}${pkg.source ? c.dim(` (${pkg.source})`) : ''}${pkg.member ? ' (workspace member)' : ''}`];
  lines.push('', c.bold('Reached from the members (shortest path per phase):'));
  if (pkg.member) lines.push('  it is a workspace member');
  else if (w.dependencyPaths.length === 0) lines.push('  no member reaches it');
  for (const p of w.dependencyPaths) lines.push(`  ${p.phase}${p.dev ? ' (dev)' : ''}: ${p.path.join(' → ')}`);
  lines.push('', c.bold('Dependents (inverted tree, as cargo tree -i):'), ...invertedTree(pkg, index, input.verbose).map((l) => `  ${l}`));
  lines.push('');
  const what = input.capability ?? 'its capabilities';
  if (pkg.member) {
    lines.push(`${pkg.name} is a workspace member: its own code is not scanned (cap-scan scans dependencies).`);
    return lines;
  }
  if (!report) {
    lines.push(c.yellow(`${pkg.name} ${pkg.version} was not scanned: ${w.unscanned ?? 'source not found'}. Its capabilities are unknown.`));
    return lines;
  }
  const caps = asked(report, input.capability);
  const findings = report.findings.filter((f) => matches(f, input.capability));
  const reaches = reachesOf(report).filter((f) => matches(f, input.capability));
  if (findings.length === 0 && reaches.length === 0) {
    lines.push(input.capability === null ? `${pkg.name} ${pkg.version} has no capabilities.` : `${pkg.name} ${pkg.version} has no ${input.capability} findings (its capabilities: ${report.capabilities.join(', ') || 'none'}).`);
    return lines;
  }
  lines.push(c.bold(`Why ${pkg.name} ${pkg.version} has ${what}:`));
  for (const cap of caps) {
    const of = findings.filter((f) => f.capability === cap);
    if (of.length === 0) continue;
    const byPhase: Record<Phase, Finding[]> = { runtime: of.filter((f) => f.phase === 'runtime'), build: of.filter((f) => f.phase === 'build') };
    const only = byPhase.runtime.length === 0 ? ` — build phase only: ${buildOnlyReason(report, byPhase.build, pkg)}` : byPhase.build.length === 0 ? ' — runtime only' : '';
    lines.push(`  ${c.bold(cap)}${only}`);
    for (const phase of ['runtime', 'build'] as Phase[]) {
      const fs = byPhase[phase];
      if (fs.length === 0) continue;
      lines.push(`    ${phase} (${plural(fs.length, 'finding')}):`);
      // without -v: the first WHY_LIMIT in file order, and the first finding of every kind
      const firsts = new Set(firstPerKind(fs));
      const shown = input.verbose ? fs : fs.filter((f, i) => i < WHY_LIMIT || firsts.has(f));
      for (const f of shown) lines.push(`      ${findingText(f, c)}`);
      if (shown.length < fs.length) lines.push(c.dim(`      … and ${fs.length - shown.length} more (-v shows all)`));
    }
  }
  if (reaches.length > 0) {
    lines.push(`  ${c.bold('reaches')} (through calls into dependencies):`);
    for (const r of reaches) lines.push(`    ${c.yellow(r.kind)} (${r.phase})  ${c.cyan(`${r.file}:${r.line}:${r.column}`)}  ${r.via.join(' → ')}`);
  }
  return lines;
}

export function renderWhyHuman(input: WhyInput): string {
  const c = new Chalk({ level: input.color ? 1 : 0 });
  const labels = packageLabels(input.project);
  const index = dependentsIndex(input.project, input.includeDev, labels);
  const out: string[] = [];
  for (const [i, w] of input.crates.entries()) {
    if (i > 0) out.push('', '');
    out.push(...crateLines(w, input, index, c));
  }
  return `${out.join('\n')}\n`;
}

export function renderWhyJson(input: WhyInput): string {
  const labels = packageLabels(input.project);
  const index = dependentsIndex(input.project, input.includeDev, labels);
  const crates = input.crates.map((w) => {
    const r = w.report;
    const findings = r ? r.findings.filter((f) => matches(f, input.capability)) : [];
    return {
      name: w.pkg.name,
      version: w.pkg.version,
      source: w.pkg.source,
      member: w.pkg.member,
      scanned: r !== null,
      ...(w.unscanned !== null ? { unscanned: w.unscanned } : {}),
      dependencyPaths: w.dependencyPaths.map(dependencyPathJson),
      dependents: (index.get(w.pkg.id) ?? []).map((d) => ({ name: d.pkg.name, version: d.pkg.version, kinds: [...d.kinds] })),
      capabilities: r ? asked(r, input.capability).filter((cap) => r.capabilities.includes(cap)) : [],
      phases: r ? { runtime: r.phases.runtime.filter((cap) => asked(r, input.capability).includes(cap)), build: r.phases.build.filter((cap) => asked(r, input.capability).includes(cap)) } : { runtime: [], build: [] },
      evidence: { runtime: findings.filter((f) => f.phase === 'runtime').map(findingJson), build: findings.filter((f) => f.phase === 'build').map(findingJson) },
      reaches: reachesOf(r).filter((f) => matches(f, input.capability)),
    };
  });
  const doc = { schemaVersion: 1, tool: { name: input.result.tool.name, version: input.result.tool.version }, capability: input.capability, crates };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
