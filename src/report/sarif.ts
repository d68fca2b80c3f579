// SARIF 2.1.0 reporter for GitHub code scanning.
//
// - One rule per capability kind (plus `url`, `indicator.<id>`, `policy.unused-entry` and `crate.unscanned` as used).
// - One result per violation (check), per added capability (diff), per crate capability kind (scan,
//   level note).
// - The primary location is the package's line in Cargo.lock (relative to the workspace root, base id
//   WORKSPACE), so the alert lands on a file of the user's repository. Evidence inside the crate goes
//   in the message and in relatedLocations with absolute file:// URIs.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, Indicator } from '../types.js';
import { CAPABILITY_KINDS } from '../types.js';
import { advisoryIndicators, describeKind, findPackage, packageLocation, policyFile, type CheckReport, type DiffReport, type ReportBase, type Reporter } from './common.js';

type Level = 'error' | 'warning' | 'note';

interface SarifResult {
  ruleId: string;
  level: Level;
  message: string;
  file: string;
  line: number | null;
  evidence: Evidence[];
  crate: { name: string; version: string } | null;
  fingerprint: string;
}

interface Evidence {
  file: string;
  line: number;
  column: number;
  text: string;
}

const toEvidence = (fs: Finding[]): Evidence[] => fs.map((f) => ({ file: f.file, line: f.line, column: f.column, text: `${f.kind}: ${f.evidence}` }));

const RELATED_LIMIT = 20;
const BASE_ID = 'WORKSPACE';

function ruleDescriptor(id: string): Record<string, unknown> {
  let short: string;
  let tags: string[];
  if (id === 'url') {
    short = 'A dependency contains a URL or host its allowlist entry does not allow';
    tags = ['security', 'supply-chain', 'url'];
  } else if (id === 'crate.unscanned') {
    short = 'A dependency could not be located or downloaded, so its capabilities are unknown';
    tags = ['security', 'supply-chain', 'coverage'];
  } else if (id === 'policy.unused-entry') {
    short = 'An allowlist entry allows more than the crate uses';
    tags = ['maintainability', 'policy'];
  } else if (id.startsWith('indicator.')) {
    short = `Supply-chain indicator: ${id.slice('indicator.'.length)}`;
    tags = ['security', 'supply-chain', 'indicator'];
  } else {
    short = `A dependency ${describeKind(id)} (${id}) without being allowed`;
    tags = ['security', 'supply-chain', 'capability', id.split('.')[0]!];
  }
  return {
    id,
    name: id.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : '')).replace(/^./, (x) => x.toUpperCase()),
    shortDescription: { text: short },
    defaultConfiguration: { level: id === 'policy.unused-entry' ? 'note' : id === 'crate.unscanned' ? 'warning' : 'error' },
    properties: { tags },
  };
}

function fingerprint(parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

function evidenceText(fs: Finding[]): string {
  if (fs.length === 0) return '';
  const shown = fs.slice(0, 5).map((f) => `${f.file}:${f.line}:${f.column} ${f.evidence}`);
  const more = fs.length > shown.length ? ` (and ${fs.length - shown.length} more)` : '';
  return ` Evidence: ${shown.join('; ')}${more}.`;
}

/** An indicator of a crate, at the crate's location in the user's repository. */
function indicatorResult(i: Indicator, crate: { name: string; version: string }, loc: { file: string; line: number | null }, level: Level): SarifResult {
  return {
    ruleId: `indicator.${i.id}`,
    level,
    message: `${crate.name} ${crate.version}: ${i.id} indicator at ${i.file}:${i.line}: ${i.detail}`,
    ...loc,
    evidence: [{ file: i.file, line: i.line, column: 1, text: `${i.id}: ${i.detail}` }],
    crate,
    fingerprint: fingerprint(['indicator', i.id, crate.name, i.file, i.detail]),
  };
}

function checkResults(input: CheckReport): SarifResult[] {
  const out: SarifResult[] = [];
  const v = input.violations;
  for (const cv of v.crates) {
    const loc = packageLocation(input, cv.name, cv.version);
    const crate = { name: cv.name, version: cv.version };
    const why = cv.new ? 'it has no allowlist entry' : `allowlist entry "${cv.entry}" does not allow it`;
    for (const d of cv.disallowed) {
      const hint = d.allowedInOtherPhase ? ` (allowed at ${d.phase === 'runtime' ? 'build' : 'runtime'} only)` : '';
      out.push({
        ruleId: d.kind,
        level: 'error',
        message: `${cv.name} ${cv.version} ${describeKind(d.kind)} (${d.kind}, ${d.phase}) but ${why}${hint}.${evidenceText(d.findings)}`,
        ...loc,
        evidence: toEvidence(d.findings),
        crate,
        fingerprint: fingerprint([d.kind, cv.name, d.phase]),
      });
    }
    for (const u of cv.urls) {
      out.push({
        ruleId: 'url',
        level: 'error',
        message: `${cv.name} ${cv.version} contains the ${u.type} ${u.value}, which allowlist entry "${cv.entry}" does not allow.`,
        ...loc,
        evidence: [],
        crate,
        fingerprint: fingerprint(['url', cv.name, u.value]),
      });
    }
    for (const i of cv.indicators) out.push(indicatorResult(i, crate, loc, 'error'));
  }
  // not denied: still reported, as warnings that do not fail the check
  for (const cr of advisoryIndicators(input)) {
    const loc = packageLocation(input, cr.name, cr.version);
    for (const i of cr.indicators) out.push(indicatorResult(i, { name: cr.name, version: cr.version }, loc, 'warning'));
  }
  const policy = policyFile(input);
  for (const u of v.unused) {
    const what =
      u.reason === 'matches-no-crate'
        ? 'matches no crate of the workspace'
        : `allows what no matching crate uses: ${[...u.all, ...u.runtime.map((x) => `${x} (runtime)`), ...u.build.map((x) => `${x} (build)`), ...(u.indicators ?? []).map((x) => `indicator ${x}`)].join(', ')}`;
    out.push({
      ruleId: 'policy.unused-entry',
      level: v.strict ? 'error' : 'note',
      message: `Allowlist entry "${u.entry}" ${what}; it can be tightened.`,
      file: policy,
      line: u.line,
      evidence: [],
      crate: null,
      fingerprint: fingerprint(['unused', u.entry]),
    });
  }
  for (const u of input.result.unscanned) {
    out.push({
      ruleId: 'crate.unscanned',
      level: v.denyUnscanned ? 'error' : 'warning',
      message: `${u.name} ${u.version} was not scanned: ${u.reason}.`,
      ...packageLocation(input, u.name, u.version),
      evidence: [],
      crate: { name: u.name, version: u.version },
      fingerprint: fingerprint(['unscanned', u.name, u.version]),
    });
  }
  for (const k of v.skipped) {
    const u = k.unanalyzed[0]!;
    out.push({
      ruleId: 'crate.unscanned',
      level: v.denyUnscanned ? 'error' : 'warning',
      message: `${k.name} ${k.version} was not scanned in full: ${u.file}:${u.line}: ${u.reason}.`,
      ...packageLocation(input, k.name, k.version),
      evidence: [],
      crate: { name: k.name, version: k.version },
      fingerprint: fingerprint(['skipped', k.name, k.version]),
    });
  }
  return out;
}

function scanResults(input: ReportBase): SarifResult[] {
  const out: SarifResult[] = [];
  for (const c of input.result.crates) {
    if (findPackage(input.project, c.name, c.version)?.member) continue;
    const loc = packageLocation(input, c.name, c.version);
    const kinds = new Map<string, Finding[]>();
    for (const f of c.findings) {
      const k = `${f.kind}\0${f.phase}`;
      kinds.set(k, [...(kinds.get(k) ?? []), f]);
    }
    for (const phase of ['runtime', 'build'] as const) {
      for (const cap of c.phases[phase]) {
        if (!c.findings.some((f) => f.capability === cap && f.phase === phase)) kinds.set(`${cap}\0${phase}`, []);
      }
    }
    for (const [k, fs] of [...kinds.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const [kind, phase] = k.split('\0') as [string, string];
      out.push({
        ruleId: kind,
        level: 'note',
        message: `${c.name} ${c.version} ${describeKind(kind)} (${kind}, ${phase}).${evidenceText(fs)}`,
        ...loc,
        evidence: toEvidence(fs),
        crate: { name: c.name, version: c.version },
        fingerprint: fingerprint([kind, c.name, phase]),
      });
    }
    for (const i of c.indicators) out.push(indicatorResult(i, { name: c.name, version: c.version }, loc, 'warning'));
  }
  return out;
}

function diffResults(input: DiffReport): SarifResult[] {
  const d = input.diff;
  const out: SarifResult[] = [];
  for (const p of d.packages) {
    if (p.to === null) continue;
    const loc = packageLocation(input, p.name, p.to);
    for (const phase of ['runtime', 'build'] as const) {
      for (const cap of p.added[phase]) {
        const ev = p.evidence.filter((f) => f.capability === cap && f.phase === phase);
        const kinds = [...new Set(ev.map((f) => f.kind))].sort();
        for (const kind of kinds.length ? kinds : [cap]) {
          const fs = ev.filter((f) => f.kind === kind);
          out.push({
            ruleId: kind,
            level: 'warning',
            message: `${p.name} ${p.from ?? '(new)'} -> ${p.to} gained ${cap} (${phase}): it ${describeKind(kind)} (${kind}).${evidenceText(fs)}`,
            ...loc,
            evidence: toEvidence(fs),
            crate: { name: p.name, version: p.to },
            fingerprint: fingerprint(['diff', kind, p.name, p.to, phase]),
          });
        }
      }
    }
    const crate = { name: p.name, version: p.to };
    for (const i of p.indicators.added) out.push(indicatorResult(i, crate, loc, 'warning'));
    for (const i of p.indicators.removed) {
      out.push({
        ...indicatorResult(i, crate, loc, 'note'),
        message: `${p.name} ${p.from ?? '(new)'} -> ${p.to}: the ${i.id} indicator at ${i.file}:${i.line} is gone: ${i.detail}`,
        evidence: [],
        fingerprint: fingerprint(['diff-removed-indicator', i.id, p.name, i.file, i.detail]),
      });
    }
  }
  return out;
}

/** The SARIF log of a report's results. */
function sarifLog(input: ReportBase, results: SarifResult[]): string {
  const allKinds: string[] = Object.values(CAPABILITY_KINDS).flat();
  const extra = [...new Set(results.map((r) => r.ruleId).filter((id) => !allKinds.includes(id)))].sort();
  const ruleIds = [...allKinds, ...extra];
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));
  const run: Record<string, unknown> = {
    tool: {
      driver: {
        name: input.result.tool.name,
        version: input.result.tool.version,
        rules: ruleIds.map(ruleDescriptor),
      },
    },
  };
  if (input.workspaceRoot) {
    const root = pathToFileURL(input.workspaceRoot).href;
    run['originalUriBaseIds'] = { [BASE_ID]: { uri: root.endsWith('/') ? root : `${root}/` } };
  }
  run['results'] = results.map((r) => {
    const region: Record<string, unknown> = r.line !== null ? { region: { startLine: r.line } } : {};
    const artifactLocation: Record<string, unknown> = { uri: r.file.split('/').map(encodeURIComponent).join('/') };
    if (input.workspaceRoot) artifactLocation['uriBaseId'] = BASE_ID;
    const o: Record<string, unknown> = {
      ruleId: r.ruleId,
      ruleIndex: ruleIndex.get(r.ruleId)!,
      level: r.level,
      message: { text: r.message },
      locations: [{ physicalLocation: { artifactLocation, ...region } }],
      partialFingerprints: { 'capScan/v1': r.fingerprint },
    };
    const dir = r.crate ? findPackage(input.project, r.crate.name, r.crate.version)?.dir ?? null : null;
    if (dir && r.evidence.length > 0) {
      o['relatedLocations'] = r.evidence.slice(0, RELATED_LIMIT).map((f, i) => ({
        id: i + 1,
        physicalLocation: {
          artifactLocation: { uri: pathToFileURL(join(dir, f.file)).href },
          region: { startLine: f.line, startColumn: Math.max(1, f.column) },
        },
        message: { text: f.text },
      }));
    }
    if (r.crate) o['properties'] = { crate: r.crate.name, version: r.crate.version };
    return o;
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [run],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

export const sarif: Reporter = {
  scan: (input) => sarifLog(input, scanResults(input)),
  check: (input) => sarifLog(input, checkResults(input)),
  diff: (input) => sarifLog(input, diffResults(input)),
};
