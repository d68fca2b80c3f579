// The heavy modules a command runs (the scan session with its rules, sources and parser; the reporters),
// loaded on first use: `--version`, `--help` and option errors start without them (issue 17, instant start),
// and a workspace scan that its workspace cache entry serves never loads the session.
// Each wrapper has the signature of the function it forwards to, made async.

import { checkFormat, type FormatName } from '../report/formats.js';
import type { ReportInput, Reporter } from '../report/common.js';
import type { CommandOutput } from '../options.js';

type Session = typeof import('../scan/session.js');
type Registry = typeof import('../sources/registry.js');
type CrateSpec = typeof import('../sources/crate-spec.js');

const session = (): Promise<Session> => import('../scan/session.js');
/** Each format's reporter, loading only its own module (report/index.ts maps them all, eagerly). */
const REPORTERS: Record<FormatName, () => Promise<Reporter>> = {
  human: async () => (await import('../report/human.js')).human,
  json: async () => (await import('../report/json.js')).json,
  sarif: async () => (await import('../report/sarif.js')).sarif,
  markdown: async () => (await import('../report/markdown.js')).markdown,
  github: async () => (await import('../report/github.js')).github,
  html: async () => (await import('../report/html.js')).html,
};

export async function scanWorkspace(...[opts, hooks, probe]: Parameters<Session['scanWorkspace']>): Promise<Awaited<ReturnType<Session['scanWorkspace']>>> {
  const cache = await import('../scan/workspace-cache.js');
  const looked = probe ?? cache.probeWorkspace(opts);
  return cache.servedScan(looked, opts) ?? (await session()).scanWorkspace(opts, hooks, looked);
}
/**
 * A workspace command's output: the report rendered before from the workspace entry that still holds, as
 * its bytes (no entry parsed, nothing rendered: workspace-cache.ts servedReport), or else the scan (from
 * the entry or run) handed to `make`, whose output is kept for the next run when the entry served it.
 * `render`: everything `make`'s report depends on besides the scan (command, format, options).
 */
export async function reportWorkspace(
  opts: Parameters<Session['scanWorkspace']>[0],
  render: Record<string, unknown>,
  make: (scan: Awaited<ReturnType<Session['scanWorkspace']>>) => Promise<{ text: string; exitCode: number }>,
): Promise<CommandOutput> {
  const cache = await import('../scan/workspace-cache.js');
  const key = cache.renderKey(render);
  const where = cache.workspaceEntryFile(opts);
  const served = cache.servedReport(opts, key, where);
  if (served) return served;
  const probe = cache.probeWorkspace(opts, where);
  const out = await make(await scanWorkspace(opts, undefined, probe));
  cache.storeReport(probe, key, out.text, out.exitCode);
  return out;
}
export async function scanCrateDir(...a: Parameters<Session['scanCrateDir']>): Promise<Awaited<ReturnType<Session['scanCrateDir']>>> {
  return (await session()).scanCrateDir(...a);
}
export async function addCrateTyposquats(...a: Parameters<Session['addCrateTyposquats']>): Promise<ReturnType<Session['addCrateTyposquats']>> {
  return (await session()).addCrateTyposquats(...a);
}
export async function sourceContext(...a: Parameters<Session['sourceContext']>): Promise<ReturnType<Session['sourceContext']>> {
  return (await session()).sourceContext(...a);
}
export async function ruleIndex(): Promise<ReturnType<Session['ruleIndex']>> {
  return (await session()).ruleIndex();
}
/** The reporter for a format name; an unknown name is a UserError listing the valid ones. */
export async function getReporter(name: string): Promise<Reporter> {
  return REPORTERS[checkFormat(name)]();
}
/** Renders a report in a format; a format that does not support the report is a UserError. */
export async function render(format: string, input: ReportInput): Promise<string> {
  const [reporter, { renderWith }] = await Promise.all([getReporter(format), import('../report/render.js')]);
  return renderWith(reporter, format, input);
}
export async function downloadProvider(...a: Parameters<Registry['downloadProvider']>): Promise<ReturnType<Registry['downloadProvider']>> {
  return (await import('../sources/registry.js')).downloadProvider(...a);
}
export async function normalizeIndexUrl(...a: Parameters<Registry['normalizeIndexUrl']>): Promise<ReturnType<Registry['normalizeIndexUrl']>> {
  return (await import('../sources/registry.js')).normalizeIndexUrl(...a);
}
export async function resolveCrateSpecWith(...a: Parameters<CrateSpec['resolveCrateSpecWith']>): Promise<Awaited<ReturnType<CrateSpec['resolveCrateSpecWith']>>> {
  return (await import('../sources/crate-spec.js')).resolveCrateSpecWith(...a);
}
