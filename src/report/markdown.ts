// Markdown reporter: PR-comment tables.

import { groupByDirect, type PackageChange } from '../diff/scan-diff.js';
import type { Phase } from '../types.js';
import type { Finding } from '../types.js';
import { addedWithEvidence, advisoryIndicators, crateVia, displayPath, viaText, findPackage, firstPerKind, phaseList, sourceLink, type CheckReport, type DiffReport, type ReportBase, type Reporter } from './common.js';

/** Escapes text for a table cell. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(s: string): string {
  const t = s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  return t.includes('`') ? `\`\` ${t} \`\`` : `\`${t}\``;
}

function evidenceLink(f: Finding, source: string | null, name: string, version: string): string {
  const at = `${f.file}:${f.line}`;
  const link = sourceLink(source, name, version, f.file, f.line);
  return `${link ? `[${cell(at)}](${link})` : cell(at)} ${code(f.evidence)}`;
}

/**
 * Evidence for a list of capabilities (added by a diff, or not allowed by check): each one illustrated
 * by the first finding of each of its kinds, never by findings of another capability.
 */
function evidenceCell(groups: { findings: Finding[] }[], source: string | null, name: string, version: string): string {
  const shown: string[] = [];
  let total = 0;
  for (const g of groups) {
    total += g.findings.length;
    for (const f of firstPerKind(g.findings)) shown.push(`${cell(f.kind)}: ${evidenceLink(f, source, name, version)}`);
  }
  if (total > shown.length) shown.push(`… ${total - shown.length} more`);
  return shown.join('<br>');
}

function capsWithPhase(set: { runtime: string[]; build: string[] }): string {
  const parts: string[] = [];
  for (const phase of ['runtime', 'build'] as Phase[]) for (const c of set[phase]) parts.push(`${c} (${phase})`);
  return parts.join(', ');
}

function versionCell(p: PackageChange): string {
  if (p.change === 'added') return `added ${p.to}`;
  if (p.change === 'removed') return `removed ${p.from}`;
  return `${p.from} → ${p.to}`;
}

function renderDiff(input: DiffReport): string[] {
  const d = input.diff;
  const lines = [`### cap-scan: dependency capability changes since \`${cell(d.base)}\``, ''];
  if (d.packages.length === 0) return [...lines, 'No dependency was added, removed or changed version.'];
  // the Indicators column only when some package gained or lost one (most diffs have none)
  const withInd = d.packages.some((p) => p.indicators.added.length || p.indicators.removed.length);
  // a Via column when provenance is known; rows grouped by the direct dependency that brought them
  const withVia = d.packages.some((p) => p.via.length > 1);
  lines.push(
    `| Crate | Version |${withVia ? ' Via |' : ''} + Capabilities | − Capabilities |${withInd ? ' Indicators |' : ''} Evidence |`,
    `| --- | --- |${withVia ? ' --- |' : ''} --- | --- |${withInd ? ' --- |' : ''} --- |`,
  );
  for (const p of groupByDirect(d.packages).flatMap((g) => g.packages)) {
    const added = p.unscanned.length
      ? p.unscanned.map((u) => `unscanned (${u.side} ${u.version}): ${cell(u.reason)}`).join('<br>')
      : capsWithPhase(p.added);
    const ind = [
      ...p.indicators.added.map((i) => `+ ${cell(i.id)} (${cell(`${i.file}:${i.line}`)}): ${cell(i.detail)}`),
      ...p.indicators.removed.map((i) => `− ${cell(i.id)} (${cell(`${i.file}:${i.line}`)})`),
    ].join('<br>');
    lines.push(
      `| ${cell(p.name)} | ${cell(versionCell(p))} |${withVia ? ` ${cell(viaText(p.via))} |` : ''} ${added} | ${capsWithPhase(p.removed)} |${withInd ? ` ${ind} |` : ''} ${evidenceCell(
        addedWithEvidence(p),
        p.source,
        p.name,
        p.to ?? p.from ?? '',
      )} |`,
    );
  }
  const grown = d.packages.filter((p) => p.added.runtime.length || p.added.build.length).length;
  const indAdded = d.packages.filter((p) => p.indicators.added.length).length;
  lines.push('', `${d.packages.length} changed, ${grown} gained capabilities${indAdded ? `, ${indAdded} gained supply-chain indicators` : ''}.`);
  return lines;
}

function renderScan(input: ReportBase): string[] {
  const lines = ['### cap-scan: dependency capabilities', '', '| Crate | Version | Runtime | Build | Indicators |', '| --- | --- | --- | --- | --- |'];
  for (const c of input.result.crates) {
    if (findPackage(input.project, c.name, c.version)?.member) continue;
    const ind = c.indicators.map((i) => `${cell(i.id)} (${cell(`${i.file}:${i.line}`)})`).join('<br>');
    lines.push(`| ${cell(c.name)} | ${cell(c.version)} | ${phaseList(c.phases.runtime)} | ${phaseList(c.phases.build)} | ${ind} |`);
  }
  if (input.result.unscanned.length) {
    lines.push('', `**Unscanned:** ${input.result.unscanned.map((u) => `${cell(u.name)} ${cell(u.version)} (${cell(u.reason)})`).join(', ')}`);
  }
  return lines;
}

function renderCheck(input: CheckReport): string[] {
  const v = input.violations;
  const policy = displayPath(v.policy, input.workspaceRoot);
  const lines = [`### cap-scan check: ${v.ok ? 'passed' : 'failed'}`, ''];
  if (v.crates.length === 0) lines.push(`All dependencies are allowed by \`${cell(policy)}\`.`);
  else {
    lines.push('| Crate | Version | Not allowed | Evidence |', '| --- | --- | --- | --- |');
    const viaOf = (name: string, version: string, phase?: Phase) => {
      const via = crateVia(input.result, name, version, phase);
      return via && via.length > 1 ? `<br>via ${cell(viaText(via))}` : '';
    };
    for (const cv of v.crates) {
      const what = [
        ...cv.disallowed.map((d) => `${d.kind} (${d.phase})`),
        ...cv.urls.map((u) => `${u.type} ${code(u.value)}`),
        ...cv.indicators.map((i) => `indicator ${cell(i.id)}`),
      ].join(', ');
      const name = `${cv.new ? `${cell(cv.name)} (new)` : cell(cv.name)}${viaOf(cv.name, cv.version, cv.disallowed[0]?.phase)}`;
      lines.push(`| ${name} | ${cell(cv.version)} | ${what} | ${evidenceCell(cv.disallowed, cv.source, cv.name, cv.version)} |`);
    }
  }
  if (v.unused.length) {
    lines.push('', v.strict ? '**Unused allow entries (strict):**' : '**Can be tightened:**', '');
    for (const u of v.unused) {
      const what = u.reason === 'matches-no-crate' ? 'matches no crate' : [...u.all, ...u.runtime.map((x) => `${x} (runtime)`), ...u.build.map((x) => `${x} (build)`), ...(u.indicators ?? []).map((x) => `indicator ${x}`)].join(', ') + ' not used';
      lines.push(`- \`${cell(u.entry)}\` (${cell(policy)}${u.line !== null ? `:${u.line}` : ''}): ${what}`);
    }
  }
  const advisory = advisoryIndicators(input);
  if (advisory.length) {
    lines.push('', '**Supply-chain indicators** (not failing the check):', '');
    for (const cr of advisory) for (const i of cr.indicators) lines.push(`- ${cell(cr.name)} ${cell(cr.version)}: ${cell(i.id)} at \`${cell(`${i.file}:${i.line}`)}\`: ${cell(i.detail)}`);
  }
  if (input.result.unscanned.length) {
    lines.push('', v.denyUnscanned ? '**Not allowed: unscanned (deny-unscanned):**' : '**Not checked (unscanned):**', '');
    for (const u of input.result.unscanned) lines.push(`- ${cell(u.name)} ${cell(u.version)}: ${cell(u.reason)}`);
  }
  if (v.skipped.length) {
    lines.push('', v.denyUnscanned ? '**Not allowed: parts skipped, not analysed (deny-unscanned):**' : '**Not checked in full (parts skipped, not analysed):**', '');
    for (const k of v.skipped) lines.push(`- ${cell(k.name)} ${cell(k.version)}: \`${cell(`${k.unanalyzed[0]!.file}:${k.unanalyzed[0]!.line}`)}\` ${cell(k.unanalyzed[0]!.reason)}`);
  }
  return lines;
}

const text = (lines: string[]): string => `${lines.join('\n')}\n`;

export const markdown: Reporter = {
  scan: (input) => text(renderScan(input)),
  check: (input) => text(renderCheck(input)),
  diff: (input) => text(renderDiff(input)),
};
