// GitHub Actions workflow commands: `::error file=…,line=…,title=…::message`.

import type { Phase } from '../types.js';
import { addedWithEvidence, advisoryIndicators, crateVia, gitRoot, viaText, findPackage, firstPerKind, packageLocation, phaseList, policyFile, type CheckReport, type DiffReport, type ReportBase, type Reporter } from './common.js';

/** Escapes the message part of a workflow command. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a property value of a workflow command (also `:` and `,`). */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function command(level: 'error' | 'warning' | 'notice', props: { file: string; line: number | null; title: string }, message: string): string {
  const p = [`file=${escapeProperty(props.file)}`];
  if (props.line !== null) p.push(`line=${props.line}`);
  p.push(`title=${escapeProperty(props.title)}`);
  return `::${level} ${p.join(',')}::${escapeData(message)}`;
}

function renderCheck(input: CheckReport): string[] {
  const v = input.violations;
  const out: string[] = [];
  for (const cv of v.crates) {
    const loc = packageLocation(input, cv.name, cv.version);
    const title = `cap-scan: ${cv.name} ${cv.version}${cv.new ? ' (new crate)' : ''}`;
    for (const d of cv.disallowed) {
      const ev = d.findings.slice(0, 3).map((f) => `${f.file}:${f.line}:${f.column} ${f.evidence}`);
      if (d.findings.length > ev.length) ev.push(`and ${d.findings.length - ev.length} more`);
      const hint = d.allowedInOtherPhase ? ` (allowed at ${d.phase === 'runtime' ? 'build' : 'runtime'} only)` : '';
      const via = crateVia(input.result, cv.name, cv.version, d.phase);
      const msg = `${d.kind} (${d.phase}) is not allowed${hint}${via && via.length > 1 ? ` (via ${viaText(via)})` : ''}${ev.length ? `\n${ev.join('\n')}` : ''}`;
      out.push(command('error', { ...loc, title }, msg));
    }
    for (const u of cv.urls) out.push(command('error', { ...loc, title }, `${u.type} ${u.value} is not allowed by the entry's urls`));
    for (const i of cv.indicators) out.push(command('error', { ...loc, title }, `indicator ${i.id} at ${i.file}:${i.line}: ${i.detail}`));
  }
  for (const cr of advisoryIndicators(input)) {
    const loc = packageLocation(input, cr.name, cr.version);
    for (const i of cr.indicators) out.push(command('warning', { ...loc, title: `cap-scan: ${cr.name} ${cr.version}` }, `indicator ${i.id} at ${i.file}:${i.line}: ${i.detail}`));
  }
  const file = policyFile(input);
  for (const u of v.unused) {
    const what =
      u.reason === 'matches-no-crate'
        ? 'matches no crate'
        : `${[...u.all, ...u.runtime.map((x) => `${x} (runtime)`), ...u.build.map((x) => `${x} (build)`), ...(u.indicators ?? []).map((x) => `indicator ${x}`)].join(', ')} not used`;
    out.push(command(v.strict ? 'error' : 'warning', { file, line: u.line, title: `cap-scan: allow entry ${u.entry}` }, `can be tightened: ${what}`));
  }
  for (const u of input.result.unscanned) {
    const loc = packageLocation(input, u.name, u.version);
    out.push(command(v.denyUnscanned ? 'error' : 'warning', { ...loc, title: `cap-scan: ${u.name} ${u.version}` }, `not scanned: ${u.reason}`));
  }
  for (const k of v.skipped) {
    const loc = packageLocation(input, k.name, k.version);
    const u = k.unanalyzed[0]!;
    out.push(command(v.denyUnscanned ? 'error' : 'warning', { ...loc, title: `cap-scan: ${k.name} ${k.version}` }, `not scanned in full: ${u.file}:${u.line}: ${u.reason}`));
  }
  return out;
}

function renderScan(input: ReportBase): string[] {
  const out: string[] = [];
  for (const c of input.result.crates) {
    if (c.capabilities.length === 0 && c.indicators.length === 0) continue;
    if (findPackage(input.project, c.name, c.version)?.member) continue;
    const loc = packageLocation(input, c.name, c.version);
    const title = `cap-scan: ${c.name} ${c.version}`;
    if (c.capabilities.length) out.push(command('notice', { ...loc, title }, `runtime: ${phaseList(c.phases.runtime)}; build: ${phaseList(c.phases.build)}`));
    for (const i of c.indicators) out.push(command('warning', { ...loc, title }, `indicator ${i.id} at ${i.file}:${i.line}: ${i.detail}`));
  }
  return out;
}

function renderDiff(input: DiffReport): string[] {
  const d = input.diff;
  const out: string[] = [];
  for (const p of d.packages) {
    if (p.to === null) continue;
    const loc = packageLocation(input, p.name, p.to);
    const title = `cap-scan: ${p.name} ${p.from ?? 'new'} -> ${p.to}`;
    const added: string[] = [];
    for (const phase of ['runtime', 'build'] as Phase[]) for (const cap of p.added[phase]) added.push(`${cap} (${phase})`);
    if (added.length) {
      // each gained capability shown by its own findings: the first of each of its kinds
      const ev = addedWithEvidence(p).flatMap((a) => firstPerKind(a.findings)).map((f) => `${f.kind} ${f.file}:${f.line}:${f.column} ${f.evidence}`);
      const via = p.via.length > 1 ? ` (via ${viaText(p.via)})` : '';
      out.push(command('warning', { ...loc, title }, `gained ${added.join(', ')}${via}${ev.length ? `\n${ev.join('\n')}` : ''}`));
    }
    for (const i of p.indicators.added) out.push(command('warning', { ...loc, title }, `new indicator ${i.id} at ${i.file}:${i.line}: ${i.detail}`));
    for (const i of p.indicators.removed) out.push(command('notice', { ...loc, title }, `indicator ${i.id} gone (was at ${i.file}:${i.line}: ${i.detail})`));
  }
  return out;
}

/** Workflow commands, one a line; no output at all when there is nothing to say. */
const text = (lines: string[]): string => (lines.length ? `${lines.join('\n')}\n` : '');

/**
 * GitHub resolves `file=` against the repository root: when the workspace sits in a subdirectory,
 * paths are written relative to the git root found upward (Cargo.lock became sub/Cargo.lock).
 */
function fromRepoRoot<I extends ReportBase>(input: I): I {
  return { ...input, workspaceRoot: gitRoot(input.workspaceRoot) ?? input.workspaceRoot };
}

export const github: Reporter = {
  scan: (input) => text(renderScan(fromRepoRoot(input))),
  check: (input) => text(renderCheck(fromRepoRoot(input))),
  diff: (input) => text(renderDiff(fromRepoRoot(input))),
};
