// HTML reporter: one self-contained page (inline CSS and JS, no external URL, a CSP that allows only
// those two inline blocks by hash) with a crates × capabilities matrix per phase, evidence on click.
//
// Everything that comes from a crate (names, versions, paths, evidence, indicator details, source lines)
// is hostile. None of it is written into the markup: the page's data is one JSON block
// (<script type="application/json">, every `<`, `>`, `&` escaped as \u00XX so no `</script>` or `<!--`
// can end or bend it) and the page's script builds the DOM with textContent only.

import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { PackageChange } from '../diff/scan-diff.js';
import { CAPABILITIES, CAPABILITY_KINDS, PHASES, type Capability, type CrateReport, type Finding, type Indicator, type Phase } from '../types.js';
import { readFailureReason, readRegularFileSync } from '../util/fs-safe.js';
import { advisoryIndicators, describeKind, displayPath, findPackage, policyFile, type CheckReport, type DiffReport, type ReportBase, type Reporter, type ScanReport } from './common.js';

// ---------------------------------------------------------------- budgets (source lines embedded)

/** Lines shown before and after a finding's line. */
const SNIPPET_CONTEXT = 2;
/** Findings and indicators that get source lines; the rest say the limit was reached. */
export const MAX_SNIPPETS = 2000;
/** Characters kept of one source line. */
const SNIPPET_LINE_CHARS = 200;
/** Larger source files are not read for snippets. */
export const MAX_SNIPPET_FILE_BYTES = 8 * 1024 * 1024;
/** Bytes read for snippets over the whole report. */
export const MAX_SNIPPET_TOTAL_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------- page data

interface SourceLines {
  start: number;
  lines: string[];
}

interface FindingData {
  capability: string;
  kind: string;
  kindText: string;
  phase: Phase;
  rule: string;
  file: string;
  line: number;
  column: number;
  evidence: string;
  context: string | null;
  source: SourceLines | null;
  /** Why there are no source lines. */
  sourceNote: string | null;
}

interface IndicatorData {
  id: string;
  file: string;
  line: number;
  detail: string;
  source: SourceLines | null;
  sourceNote: string | null;
}

type CellState = 'present' | 'violation' | 'added' | 'removed';

interface CellData {
  state: CellState;
  /** Indices into the row's findings. */
  findings: number[];
  /** check: the kinds not allowed; diff: the kinds added. */
  notes: string[];
}

interface RowData {
  name: string;
  version: string;
  source: string | null;
  reachedAs: string[];
  buildScript: string | null;
  procMacro: boolean;
  cells: Record<Phase, Record<string, CellData>>;
  findings: FindingData[];
  indicators: IndicatorData[];
  /** The indicators fail the check (check with deny-indicators). */
  indicatorsDenied: boolean;
  urls: string[];
  hosts: string[];
  unanalyzed: { file: string; line: number; reason: string }[];
  /** Why the crate (or one side of a diff) was not scanned. */
  unscanned: string[];
  /** check: not allowed by the policy; `status` says why. */
  violation: boolean;
  /** One-line status (check: entry / new; diff: added, removed, from → to). */
  status: string;
  /** diff: 'added' | 'removed' | 'updated'. */
  change: string | null;
  /** How it is reached from a member, one `phase: a → b → c` per phase (empty without provenance). */
  paths: string[];
}

interface PageData {
  command: 'scan' | 'check' | 'diff';
  title: string;
  tool: string;
  capabilities: { id: string; kinds: string }[];
  rows: RowData[];
  summary: string[];
  /** check: passed/failed; diff: growth or not. */
  verdict: { ok: boolean; text: string } | null;
  notes: { title: string; items: string[] }[];
  /** With provenance: the dependency graph of where the capabilities come from (null without). */
  graph: GraphData | null;
}

interface GraphNode {
  /** The node's name in the paths (`name`, or `name@version` for a name held in several versions). */
  key: string;
  name: string;
  version: string | null;
  member: boolean;
  /** Distance from a member (members: 0). */
  layer: number;
  capabilities: string[];
}

interface GraphData {
  nodes: GraphNode[];
  /** `build`: the edge leads to a crate only reached at build time. */
  edges: { from: string; to: string; build: boolean }[];
  /** Crates with capabilities left out of the graph (over MAX_GRAPH_CRATES), by name. */
  omitted: string[];
}

// ---------------------------------------------------------------- source snippets

interface SnippetTarget {
  file: string;
  line: number;
  column: number;
  set: (source: SourceLines | null, note: string | null) => void;
}

/** Reads source lines for findings and indicators, within the budgets above; deterministic in row order. */
class SnippetReader {
  private snippets = 0;
  private bytes = 0;

  /** Fills the targets of one crate from its directory (or says why not). */
  fill(dir: string | null, targets: SnippetTarget[]): void {
    if (!dir) {
      for (const t of targets) t.set(null, 'source lines not shown: the report data has no source directory for this crate');
      return;
    }
    const byFile = new Map<string, SnippetTarget[]>();
    for (const t of targets) {
      let l = byFile.get(t.file);
      if (!l) byFile.set(t.file, (l = []));
      l.push(t);
    }
    for (const [file, ts] of byFile) {
      const note = this.readInto(dir, file, ts);
      if (note) for (const t of ts) t.set(null, note);
    }
  }

  private readInto(dir: string, file: string, ts: SnippetTarget[]): string | null {
    if (this.snippets >= MAX_SNIPPETS) return `source lines not shown: the report's limit of ${MAX_SNIPPETS} source excerpts was reached`;
    if (isAbsolute(file) || file.split(/[\\/]/).includes('..')) return 'source lines not shown: the path is not inside the crate directory';
    let text: string;
    try {
      const realDir = realpathSync(dir);
      const real = realpathSync(resolve(dir, file));
      const rel = relative(realDir, real);
      if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return 'source lines not shown: the file resolves outside the crate directory';
      const left = MAX_SNIPPET_TOTAL_BYTES - this.bytes;
      const buf = readRegularFileSync(real, { maxBytes: Math.min(MAX_SNIPPET_FILE_BYTES, left) });
      this.bytes += buf.length;
      text = buf.toString('utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EFBIG') {
        return this.bytes + MAX_SNIPPET_FILE_BYTES > MAX_SNIPPET_TOTAL_BYTES
          ? `source lines not shown: the report's limit of ${MAX_SNIPPET_TOTAL_BYTES / 1024 / 1024} MiB of source read was reached`
          : `source lines not shown: the file is over the ${MAX_SNIPPET_FILE_BYTES / 1024 / 1024} MiB excerpt limit`;
      }
      if (code === 'ENOENT') return 'source lines not shown: the file is no longer in the crate directory';
      return `source lines not shown: ${readFailureReason(e)}`;
    }
    const lines = text.split(/\r?\n|\r/);
    for (const t of ts) {
      if (this.snippets >= MAX_SNIPPETS) {
        t.set(null, `source lines not shown: the report's limit of ${MAX_SNIPPETS} source excerpts was reached`);
        continue;
      }
      if (t.line < 1 || t.line > lines.length) {
        t.set(null, `source lines not shown: the file has ${lines.length} lines now`);
        continue;
      }
      this.snippets++;
      const start = Math.max(1, t.line - SNIPPET_CONTEXT);
      const end = Math.min(lines.length, t.line + SNIPPET_CONTEXT);
      const out: string[] = [];
      for (let n = start; n <= end; n++) out.push(clip(lines[n - 1]!, n === t.line ? t.column : 1));
      t.set({ start, lines: out }, null);
    }
    return null;
  }
}

/** A source line cut to SNIPPET_LINE_CHARS, around `column` when the line is long. */
function clip(line: string, column: number): string {
  if (line.length <= SNIPPET_LINE_CHARS) return line;
  const from = Math.max(0, Math.min(column - 1 - 40, line.length - SNIPPET_LINE_CHARS));
  return `${from > 0 ? '…' : ''}${line.slice(from, from + SNIPPET_LINE_CHARS)}${from + SNIPPET_LINE_CHARS < line.length ? '…' : ''}`;
}

// ---------------------------------------------------------------- building rows

function findingData(f: Finding, targets: SnippetTarget[]): FindingData {
  const d: FindingData = {
    capability: f.capability,
    kind: f.kind,
    kindText: describeKind(f.kind),
    phase: f.phase,
    rule: f.rule,
    file: f.file,
    line: f.line,
    column: f.column,
    evidence: f.evidence,
    context: f.context ?? null,
    source: null,
    sourceNote: null,
  };
  targets.push({ file: f.file, line: f.line, column: f.column, set: (s, n) => ((d.source = s), (d.sourceNote = n)) });
  return d;
}

function indicatorData(i: Indicator, targets: SnippetTarget[]): IndicatorData {
  const d: IndicatorData = { id: i.id, file: i.file, line: i.line, detail: i.detail, source: null, sourceNote: null };
  targets.push({ file: i.file, line: i.line, column: 1, set: (s, n) => ((d.source = s), (d.sourceNote = n)) });
  return d;
}

function emptyRow(name: string, version: string, source: string | null): RowData {
  return {
    name,
    version,
    source,
    reachedAs: [],
    buildScript: null,
    procMacro: false,
    cells: { runtime: {}, build: {} },
    findings: [],
    indicators: [],
    indicatorsDenied: false,
    urls: [],
    hosts: [],
    unanalyzed: [],
    unscanned: [],
    violation: false,
    status: '',
    change: null,
    paths: [],
  };
}

function crateRow(input: ReportBase, c: CrateReport, reader: SnippetReader): RowData {
  const row = emptyRow(c.name, c.version, c.source);
  const targets: SnippetTarget[] = [];
  row.reachedAs = [...c.reachedAs];
  row.buildScript = c.buildScript;
  row.procMacro = c.procMacro;
  row.findings = c.findings.map((f) => findingData(f, targets));
  row.indicators = c.indicators.map((i) => indicatorData(i, targets));
  row.urls = [...c.urls];
  row.hosts = [...c.hosts];
  row.unanalyzed = c.unanalyzed.map((u) => ({ file: u.file, line: u.line, reason: u.reason }));
  row.paths = (c.dependencyPaths ?? []).map((p) => `${p.phase}${p.dev ? ' (dev)' : ''}: ${p.path.join(' → ')}`);
  for (const phase of PHASES) {
    for (const cap of c.phases[phase]) row.cells[phase][cap] = { state: 'present', findings: [], notes: [] };
  }
  c.findings.forEach((f, i) => {
    // a finding always shows, even if (unexpectedly) its capability is not in the phase summary
    const cell = (row.cells[f.phase][f.capability] ??= { state: 'present', findings: [], notes: [] });
    cell.findings.push(i);
  });
  reader.fill(findPackage(input.project, c.name, c.version)?.dir ?? null, targets);
  return row;
}

function capabilityList(rows: RowData[]): { id: string; kinds: string }[] {
  const ids: string[] = [...CAPABILITIES];
  for (const r of rows) for (const p of PHASES) for (const cap of Object.keys(r.cells[p])) if (!ids.includes(cap)) ids.push(cap);
  return ids.map((id) => {
    const kinds = (CAPABILITIES as string[]).includes(id) ? describeCapability(id) : `uses ${id}`;
    return { id, kinds };
  });
}

function describeCapability(cap: string): string {
  const kinds: readonly string[] = CAPABILITY_KINDS[cap as Capability];
  if (kinds.length === 1 && kinds[0] === cap) return describeKind(cap);
  return kinds.map((k) => `${k}: ${describeKind(k)}`).join('\n');
}

function scanRows(input: ReportBase, reader: SnippetReader): RowData[] {
  const rows = input.result.crates.map((c) => crateRow(input, c, reader));
  for (const u of input.result.unscanned) {
    const row = emptyRow(u.name, u.version, null);
    row.unscanned.push(u.reason);
    rows.push(row);
  }
  return rows;
}

function scanSummary(input: ReportBase): string[] {
  const cs = input.result.crates;
  return [
    `${cs.length} crates`,
    `${cs.filter((c) => c.capabilities.length).length} with capabilities`,
    `${cs.filter((c) => c.indicators.length).length} with indicators`,
    `${input.result.unscanned.length} unscanned`,
    `${cs.filter((c) => c.unanalyzed.length).length} with parts not fully analysed`,
  ];
}

function pageTitle(input: ReportBase, what: string): string {
  const root = input.project?.root ?? input.workspaceRoot;
  const base = root ? root.split(/[\\/]/).filter(Boolean).pop() ?? root : input.result.crates[0]?.name ?? '';
  return base ? `${what}: ${base}` : what;
}

function buildScan(input: ScanReport): PageData {
  const rows = scanRows(input, new SnippetReader());
  return { command: 'scan', title: pageTitle(input, 'Dependency capabilities'), tool: toolLine(input), capabilities: capabilityList(rows), rows, summary: scanSummary(input), verdict: null, notes: [], graph: graphData(input) };
}

function toolLine(input: ReportBase): string {
  return `${input.result.tool.name} ${input.result.tool.version}`;
}

function buildCheck(input: CheckReport): PageData {
  const v = input.violations;
  const rows = scanRows(input, new SnippetReader());
  const byKey = new Map(rows.map((r) => [`${r.name}\0${r.version}`, r]));
  for (const r of rows) if (!r.unscanned.length) r.status = 'allowed';
  for (const cv of v.crates) {
    const row = byKey.get(`${cv.name}\0${cv.version}`);
    if (!row) continue;
    row.violation = true;
    const what: string[] = [];
    for (const d of cv.disallowed) {
      const cell = (row.cells[d.phase][d.capability] ??= { state: 'present', findings: [], notes: [] });
      cell.state = 'violation';
      cell.notes.push(`${d.kind} not allowed at ${d.phase}${d.allowedInOtherPhase ? ` (allowed at ${d.phase === 'build' ? 'runtime' : 'build'} only)` : ''}`);
    }
    for (const u of cv.urls) what.push(`${u.type} ${u.value} not allowed`);
    if (cv.indicators.length) {
      row.indicatorsDenied = true;
      what.push(`${cv.indicators.length} indicators (deny-indicators)`);
    }
    row.status = [cv.new ? 'not allowed: new, no allow entry' : `not allowed by entry ${cv.entry ?? ''}`, ...what].join('; ');
  }
  const policy = policyFile(input);
  const notes: PageData['notes'] = [];
  if (v.unused.length) {
    notes.push({
      title: v.strict ? 'Unused allow entries (strict: failing)' : 'Allow entries that can be tightened',
      items: v.unused.map((u) => {
        const what = u.reason === 'matches-no-crate' ? 'matches no crate' : `${[...u.all, ...u.runtime.map((x) => `${x} (runtime)`), ...u.build.map((x) => `${x} (build)`)].join(', ')} not used`;
        return `${u.entry} (${policy}${u.line !== null ? `:${u.line}` : ''}): ${what}`;
      }),
    });
  }
  if (v.skipped.length) {
    notes.push({
      title: v.denyUnscanned ? 'Not allowed: parts skipped, not analysed (deny-unscanned)' : 'Not checked in full (parts skipped, not analysed)',
      items: v.skipped.map((k) => `${k.name} ${k.version}: ${k.unanalyzed.map((u) => `${u.file}:${u.line} ${u.reason}`).join('; ')}`),
    });
  }
  if (input.result.unscanned.length) {
    notes.push({ title: v.denyUnscanned ? 'Not allowed: unscanned (deny-unscanned)' : 'Not checked (unscanned)', items: input.result.unscanned.map((u) => `${u.name} ${u.version}: ${u.reason}`) });
  }
  const advisory = advisoryIndicators(input).length;
  const failing = v.crates.length;
  return {
    command: 'check',
    title: pageTitle(input, 'Capability check'),
    tool: toolLine(input),
    capabilities: capabilityList(rows),
    rows,
    summary: [...scanSummary(input).slice(0, 1), `${failing} not allowed (${v.crates.filter((c) => c.new).length} new)`, `${v.unused.length} unused entries`, `${advisory} with advisory indicators`, `policy ${policy}`],
    verdict: { ok: v.ok, text: v.ok ? `PASSED: every dependency is allowed by ${policy}` : `FAILED: ${failing} of ${input.result.crates.length} crates not allowed by ${policy}` },
    notes,
    graph: graphData(input),
  };
}

function diffRow(input: DiffReport, p: PackageChange, reader: SnippetReader): RowData {
  const version = p.to ?? p.from ?? '';
  const crate = p.to !== null ? input.result.crates.find((c) => c.name === p.name && c.version === p.to) : undefined;
  const row = crate ? crateRow(input, crate, reader) : emptyRow(p.name, version, p.source);
  row.change = p.change;
  row.status = p.change === 'added' ? `added ${p.to ?? ''}` : p.change === 'removed' ? `removed ${p.from ?? ''}` : `${p.from ?? ''} → ${p.to ?? ''}`;
  for (const u of p.unscanned) row.unscanned.push(`${u.side} ${u.version}: ${u.reason}`);
  for (const phase of PHASES) {
    for (const cap of p.added[phase]) {
      const cell = (row.cells[phase][cap] ??= { state: 'present', findings: [], notes: [] });
      cell.state = 'added';
      cell.notes.push(`added at ${phase} since ${input.diff.base}`);
      if (!crate) {
        // evidence without the crate (should not happen): keep it visible
        const targets: SnippetTarget[] = [];
        for (const f of p.evidence.filter((e) => e.capability === cap && e.phase === phase)) {
          cell.findings.push(row.findings.length);
          row.findings.push(findingData(f, targets));
        }
        reader.fill(null, targets);
      }
    }
    for (const cap of p.removed[phase]) {
      const cell = (row.cells[phase][cap] ??= { state: 'removed', findings: [], notes: [] });
      cell.state = 'removed';
      cell.notes.push(`removed at ${phase} since ${input.diff.base}; the old version's evidence is not part of the diff report`);
    }
  }
  return row;
}

function buildDiff(input: DiffReport): PageData {
  const d = input.diff;
  const reader = new SnippetReader();
  const rows = d.packages.map((p) => diffRow(input, p, reader));
  const grown = d.packages.filter((p) => p.added.runtime.length || p.added.build.length).length;
  return {
    command: 'diff',
    title: pageTitle(input, 'Capability changes'),
    tool: toolLine(input),
    capabilities: capabilityList(rows),
    rows,
    summary: [`base ${d.base}`, `${d.packages.length} changed packages`, `${grown} gained capabilities`, `${d.packages.filter((p) => p.unscanned.length).length} with an unscanned side`],
    verdict: { ok: !d.growth, text: d.packages.length === 0 ? `No dependency was added, removed or changed version since ${d.base}` : d.growth ? `Capabilities grew since ${d.base}` : `No capability was added since ${d.base}` },
    notes: [],
    graph: graphData(input),
  };
}

// ---------------------------------------------------------------- dependency graph

/** Crates with capabilities the graph draws (with the crates on their paths); the rest are named. */
export const MAX_GRAPH_CRATES = 250;
const GRAPH_ORDER: readonly string[] = ['process', 'net', 'ffi', 'link', 'fs', 'env', 'build-script', 'proc-macro', 'unsafe'];

/**
 * Where the capabilities come from: every crate with a capability other than `unsafe` alone, on its
 * shortest path from a member (the runtime one when there is one), members at the top. Null when the
 * scan has no provenance (crate mode).
 */
function graphData(input: ReportBase): GraphData | null {
  const crates = input.result.crates;
  if (!crates.some((c) => c.dependencyPaths !== undefined)) return null;
  const rank = (c: CrateReport) => Math.min(...c.capabilities.map((x) => (GRAPH_ORDER.indexOf(x) + GRAPH_ORDER.length + 1) % (GRAPH_ORDER.length + 1)));
  const shown = crates
    .filter((c) => c.capabilities.some((x) => x !== 'unsafe') && (c.dependencyPaths?.length ?? 0) > 0)
    .sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  const drawn = shown.slice(0, MAX_GRAPH_CRATES);
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, { from: string; to: string; build: boolean }>();
  const members = new Set((input.result.members ?? []).map((m) => m.name));
  // the report of each path element, by its key (name, or name@version)
  const byKey = new Map<string, CrateReport>();
  const counts = new Map<string, number>();
  for (const c of crates) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  for (const c of crates) byKey.set(c.dependencyPaths?.flatMap((p) => p.path.slice(-1))[0] ?? ((counts.get(c.name) ?? 0) > 1 ? `${c.name}@${c.version}` : c.name), c);
  for (const c of drawn) {
    const p = c.dependencyPaths!.find((x) => x.phase === 'runtime') ?? c.dependencyPaths![0]!;
    p.path.forEach((key, i) => {
      const r = byKey.get(key);
      const n = nodes.get(key);
      if (n) n.layer = Math.min(n.layer, i);
      else {
        const member = i === 0 || (!r && members.has(key));
        nodes.set(key, { key, name: r?.name ?? key, version: r?.version ?? null, member, layer: i, capabilities: r ? [...r.capabilities] : [] });
      }
      if (i > 0) {
        const from = p.path[i - 1]!;
        const build = r ? !(r.dependencyPaths ?? []).some((x) => x.phase === 'runtime') : p.phase === 'build';
        const k = `${from}\u0000${key}`;
        if (!edges.has(k)) edges.set(k, { from, to: key, build });
      }
    });
  }
  const sorted = [...nodes.values()].sort((a, b) => a.layer - b.layer || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const edgeList = [...edges.values()].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
  return { nodes: sorted, edges: edgeList, omitted: shown.slice(MAX_GRAPH_CRATES).map((c) => `${c.name} ${c.version}`) };
}

// ---------------------------------------------------------------- page

/** JSON that is safe inside a <script> element: no `<`, `>`, `&` or line separators left as such. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

function page(data: PageData): string {
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(SCRIPT)}'`,
    `style-src 'sha256-${sha256(STYLE)}'`,
    "img-src 'none'",
    "font-src 'none'",
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`cap-scan: ${data.title}`)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<noscript>This report needs JavaScript (inline only; it fetches nothing). The same data is in cap-scan --format json.</noscript>',
    '<div id="app"></div>',
    '<svg id="svg-ns" width="0" height="0" aria-hidden="true"></svg>',
    `<script type="application/json" id="cap-scan-data">${scriptJson(data)}</script>`,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export const html: Reporter = {
  scan: (input) => page(buildScan(input)),
  check: (input) => page(buildCheck(input)),
  diff: (input) => page(buildDiff(input)),
};

// ---------------------------------------------------------------- inline CSS

const STYLE = String.raw`
:root{--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--bg:#fff;--soft:#f6f8fa;--bad:#cf222e;--badbg:#ffebe9;--good:#1a7f37;--goodbg:#dafbe1;
--fs:#0969da;--fs-bg:#ddf4ff;--net:#8250df;--net-bg:#fbefff;--process:#bc4c00;--process-bg:#fff1e5;--env:#1a7f37;--env-bg:#dafbe1;
--ffi:#9a6700;--ffi-bg:#fff8c5;--unsafe:#cf222e;--unsafe-bg:#ffebe9;--link:#57606a;--link-bg:#eaeef2;--build-script:#953800;--build-script-bg:#ffe7d1;
--proc-macro:#bf3989;--proc-macro-bg:#ffeff7;--other:#57606a;--other-bg:#eaeef2}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
#app{max-width:1400px;margin:0 auto;padding:20px 24px 40px}
header{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap;border-bottom:1px solid var(--line);padding-bottom:10px;margin-bottom:12px}
h1{font-size:20px;margin:0;font-weight:600}
h2{font-size:15px;margin:18px 0 8px;font-weight:600}
.tool{color:var(--muted);font-size:12px}
.summary{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}
.chip{background:var(--soft);border:1px solid var(--line);border-radius:999px;padding:1px 10px;font-size:12.5px;color:var(--muted)}
.verdict{border-radius:6px;padding:8px 12px;font-weight:600;margin:8px 0}
.verdict.ok{background:var(--goodbg);color:var(--good);border:1px solid #aceebb}
.verdict.bad{background:var(--badbg);color:var(--bad);border:1px solid #ffcecb}
.alert{border:1px solid #ffcecb;border-left:4px solid var(--bad);background:#fff8f7;border-radius:6px;padding:8px 12px;margin:10px 0}
.alert h2{margin:0 0 6px;color:var(--bad)}
.alert ul{margin:0;padding-left:18px}
.alert li{margin:2px 0}
.ind-id{display:inline-block;background:var(--bad);color:#fff;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600;margin-right:6px}
.controls{display:flex;gap:14px;align-items:center;flex-wrap:wrap;margin:12px 0 10px}
.controls input[type=search]{font:inherit;padding:5px 10px;border:1px solid var(--line);border-radius:6px;width:230px}
.toggles{display:flex;gap:6px;flex-wrap:wrap}
.toggle{display:inline-flex;align-items:center;gap:4px;border:1px solid var(--line);border-radius:999px;padding:1px 9px 1px 6px;font-size:12.5px;cursor:pointer;user-select:none}
.toggle input{margin:0}
.toggle.off{opacity:.45}
.opt{font-size:12.5px;color:var(--muted);display:inline-flex;gap:4px;align-items:center}
.wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table.matrix{border-collapse:separate;border-spacing:0;width:100%}
.matrix th,.matrix td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:center;white-space:nowrap}
.matrix tbody td{height:34px}
.matrix thead th{background:var(--soft);font-weight:600;font-size:12px;position:sticky;top:0}
.matrix th.phase{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);border-left:2px solid var(--line)}
.matrix .first{border-left:2px solid var(--line)}
.matrix td.name,.matrix th.name{text-align:left}
.matrix td.name{font-weight:600}
.matrix td.ver{color:var(--muted);font-size:12.5px;text-align:left}
.matrix tbody tr:hover{background:#fafbfc}
.matrix tr.violation td.name{color:var(--bad)}
.matrix tr.has-ind{background:#fff8f7}
button.sort{font:inherit;background:none;border:0;padding:0;cursor:pointer;color:inherit}
button.sort[aria-sort=ascending]::after{content:" ▲";font-size:9px}
button.sort[aria-sort=descending]::after{content:" ▼";font-size:9px}
.caph{display:inline-block;border-bottom:3px solid var(--c);padding-bottom:1px}
button.cell{font:600 12px/1 inherit;font-family:inherit;min-width:34px;padding:4px 6px;border-radius:5px;border:1px solid transparent;cursor:pointer;background:var(--cb);color:var(--c)}
button.cell:focus-visible,button.crate:focus-visible,button.ind:focus-visible{outline:2px solid var(--fs);outline-offset:1px}
button.cell.selected{box-shadow:0 0 0 2px var(--fg)}
button.cell.violation{background:var(--bad);color:#fff;border-color:var(--bad)}
button.cell.added{background:var(--goodbg);color:var(--good);border:1px dashed var(--good)}
button.cell.removed{background:#fff;color:var(--muted);border:1px dashed var(--muted);text-decoration:line-through}
.dot{color:#d0d7de}
button.crate{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:inherit;text-align:left}
button.ind{font:600 12px/1 inherit;font-family:inherit;background:var(--bad);color:#fff;border:0;border-radius:5px;padding:4px 7px;cursor:pointer}
.tag{display:inline-block;font-size:11px;font-weight:600;border-radius:4px;padding:0 5px;margin-left:6px;vertical-align:1px}
.tag.bad{background:var(--badbg);color:var(--bad)}
.tag.warn{background:#fff8c5;color:#7d4e00}
.tag.good{background:var(--goodbg);color:var(--good)}
.tag.muted{background:var(--soft);color:var(--muted)}
td.unscanned{color:var(--bad);text-align:left;font-size:12.5px}
.empty{padding:16px;color:var(--muted);text-align:center}
#details{margin-top:16px;border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:#fff}
#details h2{margin:0 0 4px;font-size:16px}
#details .sub{color:var(--muted);margin-bottom:8px}
.ev{border-top:1px solid var(--line);padding:8px 0}
.ev:first-of-type{border-top:0}
.ev .head{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.kind{font-weight:600;color:var(--c)}
.loc{color:var(--fs)}
.rule{color:var(--muted)}
.evidence{background:var(--soft);border-radius:4px;padding:0 5px}
pre.src{margin:6px 0 0;background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:6px 0;overflow-x:auto}
pre.src span.l{display:block;padding:0 10px}
pre.src span.l.hit{background:#fff8c5}
pre.src span.n{display:inline-block;width:4em;color:var(--muted);user-select:none}
.note{color:var(--muted);font-style:italic;font-size:12.5px;margin-top:4px}
.notes li{margin:2px 0}
.legend{font-size:12px;color:var(--muted);margin:6px 0 0}
.cc{display:inline-block;font-size:11px;font-weight:600;padding:0 5px;border-radius:4px;background:var(--cb);color:var(--c)}
.vis{color:var(--bad);font-weight:700}
#dep-graph .toggles{margin:0 0 6px}
#dep-graph .gwrap{overflow:auto;border:1px solid var(--line);border-radius:8px;background:#fff;max-height:640px}
#graph .edge{fill:none;stroke:#8c959f;stroke-width:1.2}
#graph .edge.build{stroke-dasharray:4 3}
#graph .node rect{fill:#fff;stroke:#afb8c1;stroke-width:1}
#graph .node.member rect{stroke:var(--fg);stroke-width:2;fill:var(--soft)}
#graph .node.member text{font-weight:700}
#graph .node text{font-size:12px;fill:var(--fg)}
#graph .node{cursor:pointer}
#graph .node:hover rect{stroke:var(--fs)}
`;

// ---------------------------------------------------------------- inline JS (DOM built with textContent only)

const SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('cap-scan-data').textContent);
  var app = document.getElementById('app');
  var FAMILIES = ['fs', 'net', 'process', 'env', 'ffi', 'unsafe', 'link', 'build-script', 'proc-macro'];
  var state = { filter: '', hidden: {}, onlyCaps: false, sort: { key: 'name', dir: 1 }, selected: null };

  // Invisible and bidirectional-control characters (Trojan Source) are shown, never applied.
  var INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) appendText(e, String(text));
    return e;
  }
  function appendText(parent, s) {
    var last = 0, m;
    INVISIBLE.lastIndex = 0;
    while ((m = INVISIBLE.exec(s)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(s.slice(last, m.index)));
      var v = document.createElement('span');
      v.className = 'vis';
      v.title = 'invisible or bidirectional control character';
      v.textContent = '<U+' + m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0') + '>';
      parent.appendChild(v);
      last = m.index + m[0].length;
    }
    if (last < s.length) parent.appendChild(document.createTextNode(s.slice(last)));
    return parent;
  }
  function family(cap) { return FAMILIES.indexOf(cap) >= 0 ? cap : 'other'; }
  function colour(e, cap) {
    // custom properties through the CSSOM (allowed by the page's CSP, unlike style attributes)
    e.style.setProperty('--c', 'var(--' + family(cap) + ')');
    e.style.setProperty('--cb', 'var(--' + family(cap) + '-bg)');
    return e;
  }
  function rowKey(r) { return r.name + ' ' + r.version; }
  var caps = data.capabilities.map(function (c) { return c.id; });
  // A phase's columns: every capability, except crate-level ones no crate has in that phase.
  var columns = {};
  ['runtime', 'build'].forEach(function (p) {
    columns[p] = caps.filter(function (c) {
      if (p === 'runtime' && (c === 'build-script' || c === 'proc-macro')) {
        return data.rows.some(function (r) { return r.cells[p][c]; });
      }
      return true;
    });
  });
  function cellCount(r, p, c) { var x = r.cells[p][c]; return x ? (x.state === 'removed' ? 0.5 : 1 + x.findings.length) : 0; }

  function header() {
    var h = el('header');
    h.appendChild(el('h1', null, data.title));
    h.appendChild(el('span', 'tool', data.tool + ' · ' + data.command + ' report'));
    app.appendChild(h);
    if (data.verdict) app.appendChild(el('div', 'verdict ' + (data.verdict.ok ? 'ok' : 'bad'), data.verdict.text));
    var s = el('div', 'summary');
    data.summary.forEach(function (t) { s.appendChild(el('span', 'chip', t)); });
    app.appendChild(s);
    var withInd = data.rows.filter(function (r) { return r.indicators.length; });
    if (withInd.length) {
      var a = el('section', 'alert');
      a.id = 'indicators';
      a.appendChild(el('h2', null, '⚠ Supply-chain indicators in ' + withInd.length + (withInd.length === 1 ? ' crate' : ' crates')));
      var ul = el('ul');
      withInd.forEach(function (r) {
        r.indicators.forEach(function (i) {
          var li = el('li');
          li.appendChild(el('span', 'ind-id', i.id));
          var b = el('button', 'crate', r.name + ' ' + r.version);
          b.addEventListener('click', function () { select({ row: r, indicators: true }); });
          li.appendChild(b);
          li.appendChild(document.createTextNode(' '));
          li.appendChild(el('code', 'loc', i.file + ':' + i.line));
          li.appendChild(document.createTextNode(' '));
          appendText(li, i.detail);
          if (r.indicatorsDenied) li.appendChild(el('span', 'tag bad', 'fails the check'));
          ul.appendChild(li);
        });
      });
      a.appendChild(ul);
      app.appendChild(a);
    }
  }

  function controls() {
    var c = el('div', 'controls');
    var q = el('input');
    q.type = 'search';
    q.id = 'filter';
    q.placeholder = 'Filter crates…';
    q.setAttribute('aria-label', 'Filter crates by name or version');
    q.addEventListener('input', function () { state.filter = q.value.toLowerCase(); renderTable(); });
    c.appendChild(q);
    var t = el('div', 'toggles');
    t.setAttribute('role', 'group');
    t.setAttribute('aria-label', 'Capabilities shown');
    data.capabilities.forEach(function (cap) {
      var l = colour(el('label', 'toggle'), cap.id);
      l.title = cap.kinds;
      var box = el('input');
      box.type = 'checkbox';
      box.checked = true;
      box.dataset.cap = cap.id;
      box.addEventListener('change', function () {
        state.hidden[cap.id] = !box.checked;
        l.classList.toggle('off', !box.checked);
        renderTable();
      });
      l.appendChild(box);
      l.appendChild(el('span', 'cc', cap.id));
      t.appendChild(l);
    });
    c.appendChild(t);
    var o = el('label', 'opt');
    var ob = el('input');
    ob.type = 'checkbox';
    ob.id = 'only-caps';
    ob.addEventListener('change', function () { state.onlyCaps = ob.checked; renderTable(); });
    o.appendChild(ob);
    o.appendChild(document.createTextNode(data.command === 'check' ? 'only not allowed' : 'only crates with capabilities'));
    c.appendChild(o);
    app.appendChild(c);
  }

  var wrap, details;
  function visibleCols(p) { return columns[p].filter(function (c) { return !state.hidden[c]; }); }
  function sortButton(label, key, cls) {
    var b = el('button', 'sort', null);
    if (cls) b.appendChild(cls); else b.textContent = label;
    b.dataset.sort = key;
    if (state.sort.key === key) b.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
    b.addEventListener('click', function () {
      if (state.sort.key === key) state.sort.dir = -state.sort.dir;
      else state.sort = { key: key, dir: key === 'name' || key === 'version' ? 1 : -1 };
      renderTable();
    });
    return b;
  }
  function sortValue(r, key) {
    if (key === 'name') return r.name;
    if (key === 'version') return r.version;
    if (key === 'indicators') return r.indicators.length;
    var i = key.indexOf(':');
    return cellCount(r, key.slice(0, i), key.slice(i + 1));
  }
  function rows() {
    var f = state.filter;
    var list = data.rows.filter(function (r) {
      if (f && (r.name + ' ' + r.version).toLowerCase().indexOf(f) < 0) return false;
      if (state.onlyCaps) {
        if (data.command === 'check') return r.violation || r.unscanned.length > 0;
        var any = r.unscanned.length > 0 || r.indicators.length > 0;
        ['runtime', 'build'].forEach(function (p) { visibleCols(p).forEach(function (c) { if (r.cells[p][c]) any = true; }); });
        return any;
      }
      return true;
    });
    var k = state.sort.key, d = state.sort.dir;
    return list.slice().sort(function (a, b) {
      var x = sortValue(a, k), y = sortValue(b, k);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (c === 0) c = a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
      else c *= d;
      return c;
    });
  }

  function renderTable() {
    wrap.textContent = '';
    var t = el('table', 'matrix');
    t.id = 'matrix';
    var thead = el('thead');
    var h1 = el('tr'), h2 = el('tr');
    var thn = el('th', 'name'); thn.rowSpan = 2; thn.appendChild(sortButton('Crate', 'name')); h1.appendChild(thn);
    var thv = el('th', 'name'); thv.rowSpan = 2; thv.appendChild(sortButton('Version', 'version')); h1.appendChild(thv);
    ['runtime', 'build'].forEach(function (p) {
      var cols = visibleCols(p);
      if (!cols.length) return;
      var th = el('th', 'phase', p === 'runtime' ? 'Runtime' : 'Build time');
      th.colSpan = cols.length;
      h1.appendChild(th);
      cols.forEach(function (c, i) {
        var x = el('th', i === 0 ? 'first' : null);
        x.dataset.phase = p; x.dataset.cap = c;
        var label = colour(el('span', 'caph', c), c);
        x.appendChild(sortButton(c, p + ':' + c, label));
        x.title = c + ' at ' + (p === 'runtime' ? 'runtime' : 'build time');
        h2.appendChild(x);
      });
    });
    var thi = el('th', 'first'); thi.rowSpan = 2; thi.appendChild(sortButton('Indicators', 'indicators')); h1.appendChild(thi);
    thead.appendChild(h1); thead.appendChild(h2);
    t.appendChild(thead);
    var tb = el('tbody');
    var list = rows();
    var ncols = 3 + visibleCols('runtime').length + visibleCols('build').length;
    list.forEach(function (r) {
      var tr = el('tr');
      tr.dataset.crate = r.name; tr.dataset.version = r.version;
      if (r.violation) tr.classList.add('violation');
      if (r.indicators.length) tr.classList.add('has-ind');
      var tdn = el('td', 'name');
      var b = el('button', 'crate', r.name);
      b.title = 'All evidence of ' + rowKey(r);
      b.addEventListener('click', function () { select({ row: r }); });
      tdn.appendChild(b);
      if (r.change) tdn.appendChild(el('span', 'tag ' + (r.change === 'added' ? 'good' : r.change === 'removed' ? 'muted' : 'warn'), r.change));
      if (data.command === 'check' && r.violation) tdn.appendChild(el('span', 'tag bad', 'not allowed'));
      if (r.unanalyzed.length) { var ua = el('span', 'tag warn', 'partly analysed'); ua.title = r.unanalyzed.length + ' unanalyzed entries'; tdn.appendChild(ua); }
      tr.appendChild(tdn);
      tr.appendChild(el('td', 'ver mono', r.change === 'updated' ? r.status : r.version));
      if (r.unscanned.length && !Object.keys(r.cells.runtime).length && !Object.keys(r.cells.build).length) {
        var u = el('td', 'unscanned', 'not scanned: ' + r.unscanned.join('; '));
        u.colSpan = ncols - 3;
        tr.appendChild(u);
      } else {
        ['runtime', 'build'].forEach(function (p) {
          visibleCols(p).forEach(function (c, i) {
            var td = el('td', i === 0 ? 'first' : null);
            td.dataset.phase = p; td.dataset.cap = c;
            var cell = r.cells[p][c];
            if (cell) {
              var btn = colour(el('button', 'cell ' + cell.state, cell.state === 'added' ? '+' + (cell.findings.length || '') : cell.state === 'removed' ? '−' : cell.state === 'violation' ? '✕ ' + (cell.findings.length || '') : String(cell.findings.length || '●')), c);
              btn.title = c + ' (' + p + '): ' + cell.findings.length + ' findings' + (cell.notes.length ? '; ' + cell.notes.join('; ') : '');
              btn.setAttribute('aria-label', rowKey(r) + ' ' + c + ' ' + p + ' ' + cell.state);
              if (state.selected && state.selected.row === r && state.selected.phase === p && state.selected.cap === c) btn.classList.add('selected');
              btn.addEventListener('click', function () { select({ row: r, phase: p, cap: c }); });
              td.appendChild(btn);
            } else td.appendChild(el('span', 'dot', '·'));
            tr.appendChild(td);
          });
        });
      }
      var tdi = el('td', 'first');
      if (r.indicators.length) {
        var ib = el('button', 'ind', '! ' + r.indicators.length);
        ib.title = r.indicators.map(function (i) { return i.id; }).join(', ');
        ib.addEventListener('click', function () { select({ row: r, indicators: true }); });
        tdi.appendChild(ib);
      } else tdi.appendChild(el('span', 'dot', '·'));
      tr.appendChild(tdi);
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    wrap.appendChild(t);
    if (!list.length) wrap.appendChild(el('div', 'empty', data.rows.length ? 'No crate matches the filter.' : 'Nothing to report.'));
  }

  function sourceBlock(parent, item) {
    if (item.source) {
      var pre = el('pre', 'src');
      item.source.lines.forEach(function (line, i) {
        var n = item.source.start + i;
        var l = el('span', 'l' + (n === item.line ? ' hit' : ''));
        l.appendChild(el('span', 'n', n));
        appendText(l, line);
        pre.appendChild(l);
      });
      parent.appendChild(pre);
    } else if (item.sourceNote) parent.appendChild(el('div', 'note', item.sourceNote));
  }
  function findingBlock(f) {
    var d = colour(el('div', 'ev'), f.capability);
    var h = el('div', 'head');
    var k = el('span', 'kind', f.kind); k.title = f.kindText; h.appendChild(k);
    h.appendChild(el('code', 'loc', f.file + ':' + f.line + ':' + f.column));
    h.appendChild(el('code', 'evidence', f.evidence));
    h.appendChild(el('span', 'rule', 'rule ' + f.rule));
    if (f.context) h.appendChild(el('span', 'tag muted', f.context));
    if (f.phase) h.appendChild(el('span', 'tag muted', f.phase));
    d.appendChild(h);
    sourceBlock(d, f);
    return d;
  }
  function indicatorBlock(i) {
    var d = el('div', 'ev');
    var h = el('div', 'head');
    h.appendChild(el('span', 'ind-id', i.id));
    h.appendChild(el('code', 'loc', i.file + ':' + i.line));
    h.appendChild(el('span', null, i.detail));
    d.appendChild(h);
    sourceBlock(d, i);
    return d;
  }
  function list(title, items) {
    var s = el('div');
    s.appendChild(el('h2', null, title));
    var ul = el('ul', 'notes');
    items.forEach(function (x) { ul.appendChild(el('li', null, x)); });
    s.appendChild(ul);
    return s;
  }

  function select(sel) {
    state.selected = sel;
    renderTable();
    details.textContent = '';
    details.hidden = false;
    var r = sel.row;
    if (sel.cap) {
      var cell = r.cells[sel.phase][sel.cap];
      details.dataset.cell = sel.phase + ':' + sel.cap;
      details.appendChild(el('h2', null, rowKey(r) + ' · ' + sel.cap + ' · ' + (sel.phase === 'runtime' ? 'runtime' : 'build time')));
      var sub = el('div', 'sub', cell.findings.length + (cell.findings.length === 1 ? ' finding' : ' findings'));
      details.appendChild(sub);
      cell.notes.forEach(function (n) { details.appendChild(el('div', cell.state === 'violation' ? 'verdict bad' : 'note', n)); });
      if (!cell.findings.length && cell.state !== 'removed') details.appendChild(el('div', 'note', 'The scan reports this capability without a located finding (a crate-level capability).'));
      cell.findings.forEach(function (i) { details.appendChild(findingBlock(r.findings[i])); });
    } else if (sel.indicators) {
      details.dataset.cell = 'indicators';
      details.appendChild(el('h2', null, rowKey(r) + ' · supply-chain indicators'));
      r.indicators.forEach(function (i) { details.appendChild(indicatorBlock(i)); });
    } else {
      details.dataset.cell = 'crate';
      details.appendChild(el('h2', null, rowKey(r)));
      var facts = [];
      if (r.status) facts.push(r.status);
      if (r.source) facts.push('source ' + r.source); else facts.push('no registry source (path, vendored or workspace)');
      if (r.reachedAs.length) facts.push('reached as ' + r.reachedAs.join(', '));
      if (r.buildScript) facts.push('build script ' + r.buildScript);
      if (r.procMacro) facts.push('proc-macro');
      details.appendChild(el('div', 'sub', facts.join(' · ')));
      if (r.paths.length) details.appendChild(list('Reached from the members', r.paths));
      if (r.unscanned.length) details.appendChild(list('Not scanned', r.unscanned));
      if (r.indicators.length) { details.appendChild(el('h2', null, 'Indicators')); r.indicators.forEach(function (i) { details.appendChild(indicatorBlock(i)); }); }
      if (r.findings.length) { details.appendChild(el('h2', null, 'Findings')); r.findings.forEach(function (f) { details.appendChild(findingBlock(f)); }); }
      if (r.urls.length) details.appendChild(list('URLs in the code', r.urls));
      if (r.hosts.length) details.appendChild(list('Hosts', r.hosts));
      if (r.unanalyzed.length) details.appendChild(list('Not fully analysed', r.unanalyzed.map(function (u) { return u.file + ':' + u.line + ' ' + u.reason; })));
      if (!r.findings.length && !r.indicators.length && !r.unscanned.length) details.appendChild(el('div', 'note', 'No capability found.'));
    }
  }

  // the SVG namespace, from an <svg> the HTML parser placed in it (the page names no URL at all)
  var SVG = document.getElementById('svg-ns').namespaceURI;
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }
  // Layered drawing: members on top, each crate on the row of its distance from a member, ordered in a
  // row by where its parents sit; capability dots coloured by family.
  function graph() {
    var g = data.graph;
    if (!g || !g.nodes.length) return;
    var sec = el('section');
    sec.id = 'dep-graph';
    sec.appendChild(el('h2', null, 'Where the capabilities come from'));
    var gw = el('div', 'gwrap');
    var ROW = 70, GAP = 14, H = 38, PAD = 10, DOT = 11;
    var layers = [];
    g.nodes.forEach(function (n) { (layers[n.layer] = layers[n.layer] || []).push(n); });
    var pos = {}, width = 0;
    var parents = {};
    g.edges.forEach(function (e) { (parents[e.to] = parents[e.to] || []).push(e.from); });
    layers.forEach(function (row) {
      if (!row) return;
      row.forEach(function (n) {
        var ps = (parents[n.key] || []).filter(function (k) { return pos[k]; });
        n._order = ps.length ? ps.reduce(function (s, k) { return s + pos[k].cx; }, 0) / ps.length : 0;
        n._w = Math.max(n.key.length * 7 + 18, n.capabilities.length * DOT + 14);
      });
      row.sort(function (a, b) { return a._order - b._order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0); });
      var x = PAD;
      row.forEach(function (n) { pos[n.key] = { x: x, w: n._w, cx: x + n._w / 2 }; x += n._w + GAP; });
      row._w = x;
      width = Math.max(width, x);
    });
    // rows centred on the widest one
    layers.forEach(function (row, i) {
      if (!row) return;
      var shift = (width - row._w) / 2;
      row.forEach(function (n) { var q = pos[n.key]; q.x += shift; q.cx += shift; q.y = PAD + i * ROW; });
    });
    var s = svg('svg', { id: 'graph', width: width + PAD, height: PAD * 2 + layers.length * ROW - (ROW - H), role: 'img' });
    s.appendChild(svg('title')).textContent = 'Dependency graph: members at the top; dots are capabilities; dashed edges lead to build-time crates';
    g.edges.forEach(function (e) {
      var a = pos[e.from], b = pos[e.to];
      if (!a || !b) return;
      var y1 = a.y + H, y2 = b.y, my = (y1 + y2) / 2;
      var p = svg('path', { d: 'M' + a.cx + ',' + y1 + ' C' + a.cx + ',' + my + ' ' + b.cx + ',' + my + ' ' + b.cx + ',' + y2, 'class': 'edge' + (e.build ? ' build' : '') });
      p.dataset.from = e.from; p.dataset.to = e.to;
      s.appendChild(p);
    });
    g.nodes.forEach(function (n) {
      var q = pos[n.key];
      var node = svg('g', { 'class': 'node' + (n.member ? ' member' : ''), transform: 'translate(' + q.x + ',' + q.y + ')' });
      node.dataset.crate = n.key;
      node.appendChild(svg('title')).textContent = n.key + (n.member ? ' (workspace member)' : '') + (n.capabilities.length ? ': ' + n.capabilities.join(', ') : '');
      node.appendChild(svg('rect', { width: q.w, height: H, rx: 6 }));
      var t = svg('text', { x: 9, y: 15 });
      t.textContent = n.key;
      node.appendChild(t);
      n.capabilities.forEach(function (c, i) {
        var d = svg('circle', { cx: 12 + i * DOT, cy: 28, r: 4.2 });
        d.dataset.cap = c;
        d.style.setProperty('fill', 'var(--' + family(c) + ')');
        node.appendChild(d);
      });
      var row = data.rows.filter(function (r) { return r.name === n.name && r.version === n.version; })[0];
      if (row) node.addEventListener('click', function () { select({ row: row }); details.scrollIntoView(); });
      s.appendChild(node);
    });
    gw.appendChild(s);
    var keyRow = el('div', 'toggles');
    var present = {};
    g.nodes.forEach(function (n) { n.capabilities.forEach(function (c) { present[c] = true; }); });
    caps.filter(function (c) { return present[c]; }).forEach(function (c) { keyRow.appendChild(colour(el('span', 'cc', c), c)); });
    sec.appendChild(keyRow);
    sec.appendChild(gw);
    sec.appendChild(el('div', 'legend', 'Each crate with a capability other than unsafe, on its shortest path from a member (members at the top, bold). Dots are its capabilities, coloured as in the matrix; a dashed edge leads to a crate only reached at build time. Click a crate for its evidence.'
      + (g.omitted.length ? ' Not drawn (over the limit): ' + g.omitted.join(', ') + '.' : '')));
    app.appendChild(sec);
  }

  header();
  controls();
  wrap = el('div', 'wrap');
  app.appendChild(wrap);
  var leg = el('div', 'legend', data.command === 'check'
    ? 'Numbers count findings; ✕ marks a capability the allowlist does not allow. Click a cell for its evidence, a crate for everything about it.'
    : data.command === 'diff'
      ? '+ added since the base, − removed, plain cells unchanged. Click a cell for its evidence, a crate for everything about it.'
      : 'Numbers count findings (● a capability without a located finding). Click a cell for its evidence, a crate for everything about it.');
  app.appendChild(leg);
  details = el('section');
  details.id = 'details';
  details.hidden = true;
  details.setAttribute('aria-live', 'polite');
  app.appendChild(details);
  data.notes.forEach(function (n) { app.appendChild(list(n.title, n.items)); });
  graph();
  renderTable();
})();
`;
