// --crate NAME[@VERSION] and --capability ID|KIND: narrow what a command reports (every format).
//
// - --crate (repeatable): only the crates (and unscanned crates, diff packages, check violations and
//   unused allow entries) with one of these names, and that version when given.
// - --capability (repeatable): a capability id (`net`) or kind (`net.connect`). A crate is kept when it
//   has one of them; its findings, capabilities and phases narrow to them (its indicators, urls and
//   unanalyzed parts stay). check keeps the disallowed uses of these capabilities, diff the added and
//   removed ones. check's verdict and diff's growth are those of what is shown. The members' roll-ups
//   (`members[].brings`) keep only those capabilities.
// Without filters every function returns its input unchanged (the default output is byte-identical).

import type { DiffResult, PackageChange } from '../diff/scan-diff.js';
import type { Violations } from '../policy/allowlist.js';
import { splitEntryKey } from '../policy/entry-key.js';
import { CAPABILITIES, CAPABILITY_KINDS, UserError, type Capability, type CrateReport, type Finding, type MemberReport, type Phase, type ScanResult } from '../types.js';

export interface CrateFilter {
  name: string;
  version: string | null;
}

export interface ReportFilter {
  crates: CrateFilter[];
  /** Capability ids and kinds. */
  capabilities: string[];
}

export const NO_FILTER: ReportFilter = { crates: [], capabilities: [] };

const ALL_KINDS = new Set<string>(Object.values(CAPABILITY_KINDS).flat());

/** Parses the flags' values; an unknown capability or an empty name is a UserError. */
export function parseFilter(crates: readonly string[], capabilities: readonly string[]): ReportFilter {
  const cs = crates.map((spec): CrateFilter => {
    const at = spec.indexOf('@');
    const name = at < 0 ? spec : spec.slice(0, at);
    const version = at < 0 ? null : spec.slice(at + 1);
    if (!name || version === '') throw new UserError(`--crate expects NAME or NAME@VERSION, got '${spec}'`);
    return { name, version };
  });
  for (const c of capabilities) {
    if (!(CAPABILITIES as string[]).includes(c) && !ALL_KINDS.has(c)) {
      throw new UserError(`unknown capability '${c}' for --capability (expected an id: ${CAPABILITIES.join(', ')}; or a kind such as net.connect, see cap-scan rules)`);
    }
  }
  return { crates: cs, capabilities: [...capabilities] };
}

export function isFiltered(f: ReportFilter | undefined): f is ReportFilter {
  return !!f && (f.crates.length > 0 || f.capabilities.length > 0);
}

function crateMatches(f: ReportFilter, name: string, version: string | null): boolean {
  return f.crates.length === 0 || f.crates.some((c) => c.name === name && (c.version === null || c.version === version));
}

function findingMatches(f: ReportFilter, x: { capability: string; kind: string }): boolean {
  return f.capabilities.includes(x.capability) || f.capabilities.includes(x.kind);
}

/** A capability of a phase is kept when named, or when one of its named kinds has a finding there. */
function capKept(f: ReportFilter, cap: Capability, phase: Phase, findings: readonly Finding[]): boolean {
  return f.capabilities.includes(cap) || findings.some((x) => x.capability === cap && x.phase === phase && f.capabilities.includes(x.kind));
}

function narrowCrate(f: ReportFilter, c: CrateReport): CrateReport | null {
  if (f.capabilities.length === 0) return c;
  const phases = {
    runtime: c.phases.runtime.filter((cap) => capKept(f, cap, 'runtime', c.findings)),
    build: c.phases.build.filter((cap) => capKept(f, cap, 'build', c.findings)),
  };
  if (phases.runtime.length === 0 && phases.build.length === 0) return null;
  return {
    ...c,
    capabilities: c.capabilities.filter((cap) => phases.runtime.includes(cap) || phases.build.includes(cap)),
    phases,
    findings: c.findings.filter((x) => findingMatches(f, x)),
  };
}

function narrowMember(f: ReportFilter, m: MemberReport): MemberReport {
  const keep = (b: { capability: Capability }) => f.capabilities.includes(b.capability) || f.capabilities.some((k) => k.startsWith(`${b.capability}.`));
  return { ...m, brings: { runtime: m.brings.runtime.filter(keep), build: m.brings.build.filter(keep) } };
}

/** The scan narrowed to the filter. */
export function filterScan(r: ScanResult, f: ReportFilter | undefined): ScanResult {
  if (!isFiltered(f)) return r;
  const crates = r.crates.filter((c) => crateMatches(f, c.name, c.version)).map((c) => narrowCrate(f, c)).filter((c): c is CrateReport => c !== null);
  // an unscanned crate's capabilities are unknown: a capability filter cannot rule it out
  const unscanned = r.unscanned.filter((u) => crateMatches(f, u.name, u.version));
  // the members' roll-ups narrow to the capabilities asked for (a kind keeps its capability)
  const members = r.members && f.capabilities.length ? r.members.map((m) => narrowMember(f, m)) : r.members;
  return { ...r, crates, unscanned, ...(members ? { members } : {}) };
}

/**
 * A --crate that names no crate of the scan is an error (a typo would otherwise print an empty,
 * reassuring report).
 */
export function checkCratesExist(r: ScanResult, f: ReportFilter | undefined): void {
  for (const c of f?.crates ?? []) {
    const known = [...r.crates, ...r.unscanned].some((x) => x.name === c.name && (c.version === null || x.version === c.version));
    if (!known) throw new UserError(`--crate ${c.name}${c.version ? `@${c.version}` : ''}: no such crate in the lockfile`);
  }
}

/** check's violations narrowed to the filter; `ok` is recomputed for what is shown. */
export function filterViolations(v: Violations, unscannedShown: number, f: ReportFilter | undefined): Violations {
  if (!isFiltered(f)) return v;
  const crates = v.crates
    .filter((c) => crateMatches(f, c.name, c.version))
    .map((c) => (f.capabilities.length ? { ...c, disallowed: c.disallowed.filter((d) => findingMatches(f, d)) } : c))
    .filter((c) => f.capabilities.length === 0 || c.disallowed.length > 0);
  const unused = v.unused.filter((u) => f.crates.length === 0 || f.crates.some((c) => c.name === splitEntryKey(u.entry).name));
  const skipped = v.skipped.filter((k) => crateMatches(f, k.name, k.version));
  const ok = crates.length === 0 && (!v.strict || unused.length === 0) && (!v.denyUnscanned || (unscannedShown === 0 && skipped.length === 0));
  return { ...v, crates, unused, skipped, ok };
}

function narrowChange(f: ReportFilter, p: PackageChange): PackageChange | null {
  if (f.capabilities.length === 0) return p;
  const keep = (caps: Capability[], phase: Phase, findings: readonly Finding[]) => caps.filter((cap) => capKept(f, cap, phase, findings));
  const added = { runtime: keep(p.added.runtime, 'runtime', p.evidence), build: keep(p.added.build, 'build', p.evidence) };
  // removed capabilities have no evidence in the new version: a kind filter keeps them by capability id
  const removed = {
    runtime: p.removed.runtime.filter((cap) => f.capabilities.includes(cap) || f.capabilities.some((k) => k.startsWith(`${cap}.`))),
    build: p.removed.build.filter((cap) => f.capabilities.includes(cap) || f.capabilities.some((k) => k.startsWith(`${cap}.`))),
  };
  if (!added.runtime.length && !added.build.length && !removed.runtime.length && !removed.build.length && !p.unscanned.length) return null;
  return { ...p, added, removed, evidence: p.evidence.filter((x) => findingMatches(f, x)) };
}

/** diff narrowed to the filter; `growth` is recomputed for what is shown. */
export function filterDiff(d: DiffResult, f: ReportFilter | undefined): DiffResult {
  if (!isFiltered(f)) return d;
  const packages = d.packages
    .filter((p) => crateMatches(f, p.name, p.to) || crateMatches(f, p.name, p.from))
    .map((p) => narrowChange(f, p))
    .filter((p): p is PackageChange => p !== null);
  const growth = packages.some((p) => p.added.runtime.length > 0 || p.added.build.length > 0 || p.indicators.added.length > 0);
  return { ...d, packages, growth };
}
