// Human reporter: aligned per-crate table, evidence with -v, check violations, diff changes.

import { Chalk, type ChalkInstance } from 'chalk';
import { groupByDirect, type PackageChange } from '../diff/scan-diff.js';
import type { CrateViolation, SkippedCrate } from '../policy/allowlist.js';
import type { Capability, CrateReport, DependencyPath, Finding, Phase, Unscanned } from '../types.js';
import { advisoryIndicators, crateVia, displayPath, firstPerKind, phaseList, plural, viaLine, type CheckReport, type DiffReport, type ReportBase, type Reporter } from './common.js';

/** Evidence lines shown per capability kind without -v. */
const EVIDENCE_LIMIT = 3;

function pad(s: string, width: number, visible = s.length): string {
  return s + ' '.repeat(Math.max(0, width - visible));
}

function findingLine(f: Finding, c: ChalkInstance, withKind: boolean): string {
  const ctx = f.context ? ` (${f.context})` : '';
  const head = withKind ? `${c.yellow(f.kind)}  ` : '';
  return `${head}${c.cyan(`${f.file}:${f.line}:${f.column}`)}  ${f.evidence}  ${c.dim(`[rule ${f.rule}]`)}${ctx}`;
}

function indicatorLines(crate: { indicators: CrateReport['indicators'] }, c: ChalkInstance, indent: string): string[] {
  return crate.indicators.map((i) => `${indent}${c.red.bold(`! ${i.id}`)}  ${c.cyan(`${i.file}:${i.line}`)}  ${i.detail}`);
}

function unscannedLines(unscanned: Unscanned[], c: ChalkInstance, title: string): string[] {
  if (unscanned.length === 0) return [];
  const w = Math.max(...unscanned.map((u) => `${u.name} ${u.version}`.length));
  return ['', c.yellow.bold(`${title} (${unscanned.length}):`), ...unscanned.map((u) => `  ${pad(`${u.name} ${u.version}`, w)}  ${u.reason}`)];
}

/** Crates with parts left entirely unanalysed (check): one line each, naming the first skipped part. */
function skippedLines(skipped: SkippedCrate[], c: ChalkInstance, title: string): string[] {
  if (skipped.length === 0) return [];
  const w = Math.max(...skipped.map((s) => `${s.name} ${s.version}`.length));
  return [
    '',
    c.yellow.bold(`${title} (${skipped.length}):`),
    ...skipped.map((s) => {
      const u = s.unanalyzed[0]!;
      const more = s.unanalyzed.length > 1 ? ` (+${s.unanalyzed.length - 1} more)` : '';
      return `  ${pad(`${s.name} ${s.version}`, w)}  ${c.cyan(`${u.file}:${u.line}`)}  ${u.reason}${more}`;
    }),
  ];
}

// ---------------------------------------------------------------- scan / crate

/** Capabilities from most to least dangerous: the order of the summary. */
export const DANGER_ORDER: readonly Capability[] = ['process', 'net', 'ffi', 'link', 'fs', 'env', 'build-script', 'proc-macro', 'unsafe'];

/** Report width the human output wraps lists to. */
const WIDTH = 80;

/** The colour of a capability family: the most dangerous ones stand out. */
function capColor(cap: string, c: ChalkInstance): (s: string) => string {
  switch (cap) {
    case 'process':
      return c.red.bold;
    case 'net':
      return c.magenta.bold;
    case 'ffi':
    case 'link':
      return c.yellow;
    case 'fs':
      return c.blue;
    case 'env':
      return c.cyan;
    case 'build-script':
    case 'proc-macro':
      return c.green;
    default:
      return c.dim;
  }
}

/** `items` joined with ", " and wrapped to WIDTH, each line starting with `indent`. */
function wrapList(items: string[], indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const [i, it] of items.entries()) {
    const piece = i < items.length - 1 ? `${it},` : it;
    if (line && indent.length + line.length + 1 + piece.length > WIDTH) {
      out.push(indent + line);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) out.push(indent + line);
  return out;
}

/**
 * The per-capability summary: for each capability (most dangerous first) and phase, the crates that
 * have it. A crate is named with its version only when several versions of it are listed.
 */
function capabilitySummary(crates: readonly CrateReport[], c: ChalkInstance): string[] {
  const versions = new Map<string, number>();
  for (const cr of crates) versions.set(cr.name, (versions.get(cr.name) ?? 0) + 1);
  const label = (cr: CrateReport) => ((versions.get(cr.name) ?? 0) > 1 ? `${cr.name}@${cr.version}` : cr.name);
  const out: string[] = [];
  for (const cap of DANGER_ORDER) {
    for (const phase of ['runtime', 'build'] as Phase[]) {
      const have = crates.filter((cr) => cr.phases[phase].includes(cap));
      if (have.length === 0) continue;
      out.push(`${capColor(cap, c)(cap)} ${c.dim(`(${phase}, ${plural(have.length, 'crate')})`)}`, ...wrapList(have.map(label), '  '));
    }
  }
  return out.length ? [c.bold('Capabilities, most dangerous first:'), ...out, ''] : [];
}

/** A crate's capabilities in one phase, each coloured by family. */
function capsText(caps: readonly string[], c: ChalkInstance): string {
  return caps.length ? caps.map((x) => capColor(x, c)(x)).join(', ') : c.dim('-');
}

/**
 * Where a crate comes from, in one line of at most WIDTH - 2 columns: `direct dependency of app`, or the
 * path below the member (`via reqwest → hyper → tokio`, the runtime one when there is one), `(build)`
 * when it is reached at build time only.
 */
function provenanceText(paths: readonly DependencyPath[]): string {
  const p = paths.find((x) => x.phase === 'runtime') ?? paths[0];
  if (!p) return 'not reached from a member';
  const tags = `${p.phase === 'build' ? ' (build)' : ''}${p.dev ? ' (dev)' : ''}`;
  if (p.path.length <= 1) return 'workspace member';
  if (p.path.length === 2) return `direct dependency of ${p.path[0]}${tags}`;
  return `${viaLine(p.path.slice(1), WIDTH - 2 - tags.length)}${tags}`;
}

function renderScan(input: ReportBase, c: ChalkInstance): string[] {
  const { crates, unscanned } = input.result;
  const lines: string[] = [...capabilitySummary(crates, c)];
  // name and version as one column: a long version does not widen every row
  const headW = Math.max(0, ...crates.map((x) => x.name.length + 1 + x.version.length)) + 2;
  const rtOf = (x: CrateReport) => `runtime: ${phaseList(x.phases.runtime)}`.length;
  const bdOf = (x: CrateReport) => `build: ${phaseList(x.phases.build)}`.length;
  // the build column sits where the most rows fit in 80 columns (the leftmost such place); a row
  // that does not fit puts its build phase on a second line, under the runtime one
  const fits = (x: CrateReport, w: number) => rtOf(x) <= w && headW + w + 2 + bdOf(x) <= WIDTH;
  let rtW = 0;
  let best = -1;
  for (const w of [...new Set(crates.map(rtOf))].sort((a, b) => a - b)) {
    const n = crates.filter((x) => fits(x, w)).length;
    if (n > best) [rtW, best] = [w, n];
  }
  for (const cr of crates) {
    const rtPlain = `runtime: ${phaseList(cr.phases.runtime)}`;
    const bdPlain = `build: ${phaseList(cr.phases.build)}`;
    // a crate whose only capability is unsafe is toned down: the eye goes to the others
    const onlyUnsafe = cr.capabilities.length === 1 && cr.capabilities[0] === 'unsafe' && cr.indicators.length === 0;
    const rt = onlyUnsafe ? c.dim(rtPlain) : `runtime: ${capsText(cr.phases.runtime, c)}`;
    const bd = onlyUnsafe ? c.dim(bdPlain) : `build: ${capsText(cr.phases.build, c)}`;
    const nameVer = onlyUnsafe ? c.dim(`${cr.name} ${cr.version}`) : `${c.bold(cr.name)} ${cr.version}`;
    const head = pad(nameVer, headW, cr.name.length + 1 + cr.version.length);
    if (fits(cr, rtW)) {
      lines.push(`${head}${pad(rt, rtW, rtPlain.length)}  ${bd}`.trimEnd());
    } else {
      // too wide for 80 columns: the build phase goes under the runtime one
      lines.push(`${head}${rt}`.trimEnd(), `${' '.repeat(headW)}${bd}`);
    }
    if (cr.dependencyPaths) lines.push(`  ${c.dim(provenanceText(cr.dependencyPaths))}`);
    if (cr.counted) lines.push(`  ${c.dim(`counted: ${cr.counted.join(', ')}`)}`);
    lines.push(...indicatorLines(cr, c, '  '));
    if (input.verbose) {
      for (const f of cr.findings) lines.push(`  ${findingLine(f, c, true)}`);
      for (const u of cr.urls) lines.push(`  ${c.yellow('url')}  ${u}`);
      for (const h of cr.hosts) lines.push(`  ${c.yellow('host')}  ${h}`);
      for (const u of cr.unanalyzed) lines.push(`  ${c.dim('unanalyzed')}  ${c.cyan(`${u.file}:${u.line}`)}  ${u.reason}`);
    } else if (cr.unanalyzed.length > 0) {
      lines.push(`  ${c.dim(`unanalyzed: ${plural(cr.unanalyzed.length, 'part')} (-v lists them)`)}`);
    }
  }
  lines.push(...unscannedLines(unscanned, c, 'Unscanned'));
  const withCaps = crates.filter((x) => x.capabilities.length > 0).length;
  const withInd = crates.filter((x) => x.indicators.length > 0).length;
  let summary = `${plural(crates.length, 'crate')}, ${withCaps} with capabilities, ${unscanned.length} unscanned`;
  if (input.result.targets) summary += `, ${input.result.excluded?.length ?? 0} excluded (not built for ${input.result.targets.join(', ')})`;
  if (withInd > 0) summary += `, ${withInd} with indicators`;
  const withUn = crates.filter((x) => x.unanalyzed.length > 0).length;
  if (withUn > 0) summary += `, ${withUn} with unanalyzed parts`;
  lines.push('', c.bold(summary));
  return lines;
}

// ---------------------------------------------------------------- check

function disallowedLines(v: CrateViolation, input: CheckReport, c: ChalkInstance): string[] {
  const out: string[] = [];
  for (const d of v.disallowed) {
    out.push(`  ${c.red(d.kind)} (${d.phase})${d.allowedInOtherPhase ? `  allowed at ${d.phase === 'runtime' ? 'build' : 'runtime'} only` : ''}`);
    const shown = input.verbose ? d.findings : d.findings.slice(0, EVIDENCE_LIMIT);
    for (const f of shown) out.push(`    ${findingLine(f, c, false)}`);
    if (shown.length < d.findings.length) out.push(c.dim(`    … and ${d.findings.length - shown.length} more (-v shows all)`));
  }
  for (const u of v.urls) out.push(`  ${c.red(u.type)} ${u.value}  not matched by urls`);
  out.push(...indicatorLines(v, c, '  '));
  return out;
}

function renderCheck(input: CheckReport, c: ChalkInstance): string[] {
  const v = input.violations;
  const policy = displayPath(v.policy, input.workspaceRoot);
  const lines: string[] = [];
  const checked = input.result.crates.length;
  if (v.crates.length === 0) {
    lines.push(c.green(`All dependencies are allowed by ${policy}.`));
  } else {
    lines.push(c.red.bold(`${plural(v.crates.length, 'crate')} not allowed by ${policy}:`));
  }
  for (const cv of v.crates) {
    const tag = cv.new ? c.magenta('new: no allow entry') : c.dim(`allow entry "${cv.entry}"`);
    lines.push('', `${c.bold(cv.name)} ${cv.version}  ${tag}`);
    const via = crateVia(input.result, cv.name, cv.version, cv.disallowed[0]?.phase);
    // a direct dependency needs no path (its name says it)
    if (via && via.length > 1) lines.push(`  ${c.dim(viaLine(via, WIDTH - 2))}`);
    lines.push(...disallowedLines(cv, input, c));
  }
  if (v.unused.length > 0) {
    lines.push('', c.yellow.bold(v.strict ? 'Unused allow entries (--strict):' : 'Can be tightened:'));
    for (const u of v.unused) {
      const at = `${policy}${u.line !== null ? `:${u.line}` : ''}`;
      let what: string;
      if (u.reason === 'matches-no-crate') what = 'matches no crate';
      else {
        const parts: string[] = [];
        if (u.all.length) parts.push(`${u.all.join(', ')} not used`);
        if (u.runtime.length) parts.push(`runtime ${u.runtime.join(', ')} not used`);
        if (u.build.length) parts.push(`build ${u.build.join(', ')} not used`);
        if (u.indicators?.length) parts.push(`accepted indicators ${u.indicators.join(', ')} no longer occur`);
        what = parts.join('; ');
      }
      lines.push(`  ${c.cyan(at)}  ${u.entry}: ${what}`);
    }
  }
  const advisory = advisoryIndicators(input);
  if (advisory.length > 0) {
    lines.push('', c.red.bold('Supply-chain indicators (not failing the check; --deny-indicators makes them fail):'));
    for (const cr of advisory) lines.push(`${c.bold(cr.name)} ${cr.version}`, ...indicatorLines(cr, c, '  '));
  }
  lines.push(...unscannedLines(input.result.unscanned, c, v.denyUnscanned ? 'Not allowed: unscanned (deny-unscanned)' : 'Not checked (unscanned)'));
  lines.push(...skippedLines(v.skipped, c, v.denyUnscanned ? 'Not allowed: parts skipped, not analysed (deny-unscanned)' : 'Not checked in full (parts skipped, not analysed)'));
  const newCount = v.crates.filter((x) => x.new).length;
  // no allowlist at all: every crate is "new"; say how to start one instead of only listing them
  if (input.policyPresent === false && v.crates.length > 0) lines.push('', c.yellow(`No allowlist yet: \`cap-scan allow --write\` records today's capabilities in ${policy}; review, commit, and check then lists only changes.`));
  let summary = `${plural(checked, 'crate')} checked, ${v.crates.length} not allowed`;
  if (newCount) summary += ` (${newCount} new)`;
  summary += `, ${plural(v.unused.length, 'unused entry', 'unused entries')}`;
  if (input.result.unscanned.length) summary += `, ${input.result.unscanned.length} unscanned`;
  if (v.skipped.length) summary += `, ${plural(v.skipped.length, 'crate')} with skipped parts`;
  if (advisory.length) summary += `, ${plural(advisory.length, 'crate')} with indicators`;
  lines.push('', (v.ok ? c.green.bold : c.red.bold)(`${v.ok ? 'ok' : 'FAILED'}: ${summary}`));
  return lines;
}

// ---------------------------------------------------------------- diff

function versionChange(p: PackageChange): string {
  if (p.change === 'added') return `${p.to} (added)`;
  if (p.change === 'removed') return `${p.from} (removed)`;
  return `${p.from} -> ${p.to}`;
}

function diffPackageLines(p: PackageChange, input: DiffReport, c: ChalkInstance): string[] {
  const lines: string[] = ['', `${c.bold(p.name)} ${versionChange(p)}`];
  if (p.via.length > 1) lines.push(`  ${c.dim(viaLine(p.via, WIDTH - 2))}`);
  for (const u of p.unscanned) lines.push(`  ${c.yellow('?')} ${u.side} ${u.version} unscanned: ${u.reason}`);
  for (const phase of ['runtime', 'build'] as Phase[]) {
    for (const cap of p.added[phase]) {
      lines.push(`  ${c.red(`+ ${cap}`)} (${phase})`);
      const ev = p.evidence.filter((f) => f.capability === cap && f.phase === phase);
      // the first finding of each kind: a capability is shown by its own kinds, not its first file
      const shown = input.verbose ? ev : firstPerKind(ev);
      for (const f of shown) lines.push(`      ${findingLine(f, c, true)}`);
      if (shown.length < ev.length) lines.push(c.dim(`      … and ${ev.length - shown.length} more (-v shows all)`));
    }
  }
  for (const i of p.indicators.added) lines.push(`  ${c.red.bold(`+ ! ${i.id}`)}  ${c.cyan(`${i.file}:${i.line}`)}  ${i.detail}`);
  for (const phase of ['runtime', 'build'] as Phase[]) {
    for (const cap of p.removed[phase]) lines.push(`  ${c.green(`- ${cap}`)} (${phase})`);
  }
  for (const i of p.indicators.removed) lines.push(`  ${c.green(`- ! ${i.id}`)}  ${c.cyan(`${i.file}:${i.line}`)}  ${i.detail}`);
  return lines;
}

function renderDiff(input: DiffReport, c: ChalkInstance): string[] {
  const d = input.diff;
  const lines: string[] = [`Capability changes against ${d.base}:`];
  if (d.packages.length === 0) lines.push('', 'No dependency was added, removed or changed version.');
  const noChange = (p: PackageChange) =>
    !p.unscanned.length && !p.added.runtime.length && !p.added.build.length && !p.removed.runtime.length && !p.removed.build.length && !p.indicators.added.length && !p.indicators.removed.length;
  // grouped by the direct dependency that brought the change (when provenance is known)
  const groups = groupByDirect(d.packages.filter((p) => !noChange(p)));
  // a heading only where it tells something: a group holding more than the direct dependency itself
  const grouped = groups.some((g) => g.packages.some((p) => p.via.length > 1));
  for (const g of groups) {
    const heading = g.direct === null ? 'Not reached from a member:' : `Through ${g.direct}:`;
    if (grouped && (g.direct === null || g.packages.some((p) => p.via.length > 1))) lines.push('', c.bold.underline(heading));
    for (const p of g.packages) lines.push(...diffPackageLines(p, input, c));
  }
  // packages without any change are folded into one list (it printed "no capability change" for each)
  const quiet = d.packages.filter(noChange);
  if (quiet.length) lines.push('', c.dim(`No capability change (${quiet.length}):`), ...wrapList(quiet.map((p) => `${p.name} ${versionChange(p)}`), '  ').map((l) => c.dim(l)));
  const grown = d.packages.filter((p) => p.added.runtime.length || p.added.build.length).length;
  const shrunk = d.packages.filter((p) => p.removed.runtime.length || p.removed.build.length).length;
  const unk = d.packages.filter((p) => p.unscanned.length).length;
  const indAdded = d.packages.filter((p) => p.indicators.added.length).length;
  const indRemoved = d.packages.filter((p) => p.indicators.removed.length).length;
  let summary = `${plural(d.packages.length, 'package')} changed, ${grown} gained capabilities, ${shrunk} lost capabilities`;
  if (indAdded) summary += `, ${indAdded} gained indicators`;
  if (indRemoved) summary += `, ${indRemoved} lost indicators`;
  if (unk) summary += `, ${unk} unscanned`;
  lines.push('', c.bold(summary));
  return lines;
}

/** Renders with colours when the input asks for them. */
function colored<I extends ReportBase>(render: (input: I, c: ChalkInstance) => string[]): (input: I) => string {
  return (input) => `${render(input, new Chalk({ level: input.color ? 1 : 0 })).join('\n')}\n`;
}

export const human: Reporter = {
  scan: colored(renderScan),
  check: colored(renderCheck),
  diff: colored(renderDiff),
};
