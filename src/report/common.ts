// Shared pieces of the reporters: input type, stable JSON shapes, wording of capabilities.

import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve as resolvePath } from 'node:path';
import type { DiffResult, PackageChange } from '../diff/scan-diff.js';
import type { CrateViolation, DisallowedUse, UnusedEntry, Violations } from '../policy/allowlist.js';
import { viaFor } from '../project/provenance.js';
import type { CrateReport, DependencyPath, Finding, Indicator, MemberReport, Phase, Project, Reach, ResolvedPackage, ScanResult } from '../types.js';

/** What every report is about: a scan (of a workspace, or of one crate with `project` null). */
export interface ReportBase {
  result: ScanResult;
  project: Project | null;
  verbose: boolean;
  color: boolean;
  /** Workspace root; file locations in the user's repository are written relative to it. */
  workspaceRoot: string | null;
}

/** `scan` and `crate`: the capabilities of each crate. */
export interface ScanReport extends ReportBase {
  command: 'scan';
}

/** `check`: the scan compared with the allowlist. */
export interface CheckReport extends ReportBase {
  command: 'check';
  violations: Violations;
  /** False when the manifest has no cap-scan table at all (the human report then says how to start one). */
  policyPresent?: boolean;
}

/** `diff`: capability changes against an older lockfile. */
export interface DiffReport extends ReportBase {
  command: 'diff';
  diff: DiffResult;
}

/** The input of a reporter, discriminated by what is reported. */
export type ReportInput = ScanReport | CheckReport | DiffReport;

export type ReportCommand = ReportInput['command'];

/** A format's answer for a report it cannot render; the CLI turns it into a one-line error. */
export interface Unsupported {
  unsupported: string;
}

/**
 * An output format: one method per kind of report. A new kind of report does not compile until every
 * format renders it or says, with `{ unsupported: why }`, that it does not.
 */
export type Reporter = { [K in ReportCommand]: ((input: Extract<ReportInput, { command: K }>) => string) | Unsupported };

// ---------------------------------------------------------------- wording

/** What each capability kind means (used by SARIF rule descriptions and markdown). */
export const KIND_DESCRIPTIONS: Record<string, string> = {
  'fs.read': 'reads files or directories',
  'fs.write': 'creates or writes files',
  'fs.delete': 'deletes files or directories',
  'fs.meta': 'reads or changes file metadata and permissions',
  'net.connect': 'opens outgoing network connections',
  'net.listen': 'listens for incoming network connections',
  'net.dns': 'resolves host names',
  'net.http': 'makes HTTP requests',
  'process.spawn': 'starts other programs',
  'process.exec': 'replaces the current process with another program',
  'env.read': 'reads environment variables',
  'env.write': 'changes environment variables',
  'ffi.extern': 'declares foreign (C) functions',
  'ffi.link': 'links native libraries',
  'ffi.dynload': 'loads shared libraries at run time',
  'ffi.call': 'calls foreign functions',
  'unsafe.block': 'uses unsafe blocks',
  'unsafe.fn': 'declares unsafe functions',
  'unsafe.impl': 'implements unsafe traits',
  'unsafe.asm': 'uses inline or global assembly',
  'link.no_mangle': 'exports unmangled symbols (#[no_mangle])',
  'link.export_name': 'exports symbols under chosen names (#[export_name])',
  'link.section': 'places items in chosen linker sections (#[link_section])',
  'link.arg': 'passes arguments to the linker',
  'build-script': 'runs a build script at compile time',
  'proc-macro': 'is a procedural macro that runs at compile time',
};

export function describeKind(kind: string): string {
  return KIND_DESCRIPTIONS[kind] ?? `uses ${kind}`;
}

// ---------------------------------------------------------------- stable JSON shapes

export function findingJson(f: Finding): Record<string, unknown> {
  const o: Record<string, unknown> = {
    capability: f.capability,
    kind: f.kind,
    phase: f.phase,
    rule: f.rule,
    file: f.file,
    line: f.line,
    column: f.column,
    evidence: f.evidence,
  };
  if (f.context !== undefined) o['context'] = f.context;
  return o;
}

/** A `reaches` entry (src/link/reach.ts), keys in the contract's order. */
export function reachJson(r: Reach): Record<string, unknown> {
  const o: Record<string, unknown> = { capability: r.capability, kind: r.kind, phase: r.phase, via: [...r.via], file: r.file, line: r.line, column: r.column };
  if (r.context !== undefined) o['context'] = r.context;
  return o;
}

export function indicatorJson(i: Indicator): Record<string, unknown> {
  return { id: i.id, file: i.file, line: i.line, detail: i.detail };
}

export function crateJson(c: CrateReport): Record<string, unknown> {
  return {
    name: c.name,
    version: c.version,
    source: c.source,
    checksum: c.checksum,
    reachedAs: [...c.reachedAs],
    procMacro: c.procMacro,
    buildScript: c.buildScript,
    capabilities: [...c.capabilities],
    phases: { runtime: [...c.phases.runtime], build: [...c.phases.build] },
    findings: c.findings.map(findingJson),
    ...(c.reaches && c.reaches.length > 0 ? { reaches: c.reaches.map(reachJson) } : {}),
    urls: [...c.urls],
    hosts: [...c.hosts],
    indicators: c.indicators.map(indicatorJson),
    unanalyzed: c.unanalyzed.map((u) => ({ file: u.file, line: u.line, reason: u.reason })),
    ...(c.counted ? { counted: [...c.counted] } : {}),
    ...(c.dependencyPaths ? { dependencyPaths: c.dependencyPaths.map(dependencyPathJson) } : {}),
  };
}

export function dependencyPathJson(p: DependencyPath): Record<string, unknown> {
  return { phase: p.phase, path: [...p.path], ...(p.dev ? { dev: true } : {}) };
}

export function memberJson(m: MemberReport): Record<string, unknown> {
  const list = (xs: MemberReport['brings']['runtime']) => xs.map((b) => ({ capability: b.capability, via: [...b.via], crates: [...b.crates] }));
  return { name: m.name, version: m.version, brings: { runtime: list(m.brings.runtime), build: list(m.brings.build) } };
}

export function scanJson(r: ScanResult): Record<string, unknown> {
  return {
    schemaVersion: r.schemaVersion,
    tool: { name: r.tool.name, version: r.tool.version },
    crates: r.crates.map(crateJson),
    unscanned: r.unscanned.map((u) => ({ name: u.name, version: u.version, reason: u.reason })),
    ...(r.targets ? { targets: [...r.targets], excluded: (r.excluded ?? []).map((x) => ({ name: x.name, version: x.version, reason: x.reason })) } : {}),
    ...(r.members ? { members: r.members.map(memberJson) } : {}),
  };
}

function disallowedJson(d: DisallowedUse): Record<string, unknown> {
  return { capability: d.capability, kind: d.kind, phase: d.phase, allowedInOtherPhase: d.allowedInOtherPhase, findings: d.findings.map(findingJson) };
}

export function crateViolationJson(v: CrateViolation, result?: ScanResult): Record<string, unknown> {
  const via = result ? crateVia(result, v.name, v.version, v.disallowed[0]?.phase) : null;
  return {
    name: v.name,
    version: v.version,
    source: v.source,
    entry: v.entry,
    new: v.new,
    disallowed: v.disallowed.map(disallowedJson),
    urls: v.urls.map((u) => ({ type: u.type, value: u.value })),
    indicators: v.indicators.map(indicatorJson),
    ...(result ? { via: via ?? [] } : {}),
  };
}

export function unusedJson(u: UnusedEntry): Record<string, unknown> {
  return { entry: u.entry, line: u.line, reason: u.reason, runtime: [...u.runtime], build: [...u.build], all: [...u.all], ...(u.indicators ? { indicators: [...u.indicators] } : {}) };
}

export function violationsJson(v: Violations, workspaceRoot: string | null, result?: ScanResult): Record<string, unknown> {
  return {
    policy: displayPath(v.policy, workspaceRoot),
    strict: v.strict,
    denyIndicators: v.denyIndicators,
    denyUnscanned: v.denyUnscanned,
    ok: v.ok,
    crates: v.crates.map((c) => crateViolationJson(c, result)),
    unused: v.unused.map(unusedJson),
    // only when some crate had parts skipped: check output of fully analysed scans is unchanged
    ...(v.skipped.length ? { skipped: v.skipped.map((k) => ({ name: k.name, version: k.version, unanalyzed: k.unanalyzed.map((u) => ({ file: u.file, line: u.line, reason: u.reason })) })) } : {}),
  };
}

export function packageChangeJson(p: PackageChange): Record<string, unknown> {
  return {
    name: p.name,
    change: p.change,
    from: p.from,
    to: p.to,
    source: p.source,
    added: { runtime: [...p.added.runtime], build: [...p.added.build] },
    removed: { runtime: [...p.removed.runtime], build: [...p.removed.build] },
    evidence: p.evidence.map(findingJson),
    unscanned: p.unscanned.map((u) => ({ side: u.side, version: u.version, reason: u.reason })),
    indicators: { added: p.indicators.added.map(indicatorJson), removed: p.indicators.removed.map(indicatorJson) },
    via: [...p.via],
  };
}

export function diffJson(d: DiffResult): Record<string, unknown> {
  return { base: d.base, growth: d.growth, packages: d.packages.map(packageChangeJson) };
}

// ---------------------------------------------------------------- locations

/** A path for display: relative to the workspace root when inside it, with `/` separators. */
export function displayPath(p: string, workspaceRoot: string | null): string {
  if (!workspaceRoot || !isAbsolute(p)) return p.split('\\').join('/');
  const rel = relative(workspaceRoot, p);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return p.split('\\').join('/');
  return rel.split('\\').join('/');
}

/**
 * Indicators `check` reports without failing: every dependency's, when indicators are not denied (when
 * they are, they are violations). Workspace members are not checked.
 */
export function advisoryIndicators(input: CheckReport): CrateReport[] {
  if (input.violations.denyIndicators) return [];
  return input.result.crates.filter((c) => c.indicators.length > 0 && !findPackage(input.project, c.name, c.version)?.member);
}

export function findPackage(project: Project | null, name: string, version: string): ResolvedPackage | null {
  return project?.packages.find((p) => p.name === name && p.version === version) ?? null;
}

/** Where an alert about a package lands in the user's repository: its line in Cargo.lock. */
export function packageLocation(input: ReportBase, name: string, version: string): { file: string; line: number | null } {
  const lock = input.project?.lockfile.path ?? null;
  const file = lock ? displayPath(lock, input.workspaceRoot) : 'Cargo.lock';
  const pkg = findPackage(input.project, name, version);
  const line = pkg && pkg.lockLine > 0 ? pkg.lockLine : null;
  return { file, line };
}

/**
 * The repository root above `dir`: the nearest directory upward holding `.git` (a directory, or a
 * file in worktrees and submodules); null when there is none.
 */
export function gitRoot(dir: string | null): string | null {
  if (!dir) return null;
  for (let d = resolvePath(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return null;
  }
}

/** The manifest that holds the policy, for display. */
export function policyFile(input: CheckReport): string {
  return displayPath(input.violations.policy, input.workspaceRoot);
}

/**
 * The first finding of each kind, kinds in the order their first finding appears: what illustrates a
 * capability without letting one kind (or one file) crowd out the others.
 */
export function firstPerKind(fs: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const f of fs) {
    if (seen.has(f.kind)) continue;
    seen.add(f.kind);
    out.push(f);
  }
  return out;
}

/** Each capability a package gained, per phase (runtime first), with its own findings in the new version. */
export function addedWithEvidence(p: PackageChange): { capability: string; phase: 'runtime' | 'build'; findings: Finding[] }[] {
  const out: { capability: string; phase: 'runtime' | 'build'; findings: Finding[] }[] = [];
  for (const phase of ['runtime', 'build'] as const) {
    for (const cap of p.added[phase]) out.push({ capability: cap, phase, findings: p.evidence.filter((f) => f.capability === cap && f.phase === phase) });
  }
  return out;
}

export function phaseList(caps: readonly string[]): string {
  return caps.length ? caps.join(', ') : '-';
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const CRATES_IO = new Set(['registry+https://github.com/rust-lang/crates.io-index', 'sparse+https://index.crates.io/']);

/** A docs.rs source link for a file of a crates.io crate, or null for other sources. */
export function sourceLink(source: string | null, name: string, version: string, file: string, line: number): string | null {
  if (!source || !CRATES_IO.has(source)) return null;
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `https://docs.rs/crate/${encodeURIComponent(name)}/${encodeURIComponent(version)}/source/${path}#${line}`;
}

// ---------------------------------------------------------------- provenance

/**
 * How a crate of the scan is reached below the member (`["ureq", "curl"]`), for a capability of
 * `phase`: that phase's path, else its first; null when unknown (crate mode, or no member reaches it).
 */
export function crateVia(result: ScanResult, name: string, version: string, phase?: Phase): string[] | null {
  const c = result.crates.find((x) => x.name === name && x.version === version);
  return c ? viaFor(c, phase) : null;
}

/** `ureq → curl`. */
export function viaText(via: readonly string[]): string {
  return via.join(' → ');
}

/** `via ureq → curl`, shortened to `width` columns by eliding the middle (`via a → … → z`). */
export function viaLine(via: readonly string[], width: number): string {
  const full = `via ${viaText(via)}`;
  if (full.length <= width || via.length <= 2) return full;
  for (let keep = via.length - 2; keep >= 0; keep--) {
    const head = via.slice(0, 1 + Math.ceil(keep / 2));
    const tail = via.slice(via.length - 1 - Math.floor(keep / 2));
    const s = `via ${viaText([...head, '…', ...tail])}`;
    if (s.length <= width) return s;
  }
  return `via ${viaText([via[0]!, '…', via[via.length - 1]!])}`;
}
