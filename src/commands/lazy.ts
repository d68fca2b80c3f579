// The heavy modules a command runs (the scan session with its rules, sources and parser; the reporters),
// loaded on first use: `--version`, `--help` and option errors start without them (issue 17, instant start),
// and a workspace scan that its workspace cache entry serves never loads the session.
// Each wrapper has the signature of the function it forwards to, made async.

type Session = typeof import('../scan/session.js');
type Reports = typeof import('../report/index.js');
type Registry = typeof import('../sources/registry.js');
type CrateSpec = typeof import('../sources/crate-spec.js');

const session = (): Promise<Session> => import('../scan/session.js');
const reports = (): Promise<Reports> => import('../report/index.js');

export async function scanWorkspace(...[opts, hooks, probe]: Parameters<Session['scanWorkspace']>): Promise<Awaited<ReturnType<Session['scanWorkspace']>>> {
  const cache = await import('../scan/workspace-cache.js');
  const looked = probe ?? cache.probeWorkspace(opts);
  return cache.servedScan(looked, opts) ?? (await session()).scanWorkspace(opts, hooks, looked);
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
export async function render(...a: Parameters<Reports['render']>): Promise<string> {
  return (await reports()).render(...a);
}
export async function getReporter(...a: Parameters<Reports['getReporter']>): Promise<ReturnType<Reports['getReporter']>> {
  return (await reports()).getReporter(...a);
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
