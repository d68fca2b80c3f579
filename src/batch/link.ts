// Cross-crate linking of a batch (issue 14's export tables, over a job queue).
//
// A crate's names are resolved through its dependencies' export tables, so its scan needs those tables
// before it resolves anything (the single-machine scan waits for them the same way, session.ts). A batch
// therefore links at scan time, not afterwards: `batch enqueue` resolves each crate's dependencies among
// the crate versions of its list and breaks cycles (planBatch, stored in each job's `deps`); a worker
// defers a job whose dependencies are not stored yet (BullMQ's DelayedError), then scans it with their
// stored tables (workerLink) and stores its own table with its result; `batch report` checks, in
// dependency order, that every result was linked against the tables now stored (checkLinks).
// Re-linking in the report instead would mean re-scanning every crate on the report's machine (sources,
// parse and all): the whole batch on one machine again.
//
// Resolution (the same for the batch and for its single-machine reference, scanDirsLinked):
// - the crate's normal and build dependencies (dev-dependencies are never built for a dependent), under
//   any target, optional ones included (features are unknown: more resolution can only add findings);
// - each to the highest version of that crate in the list that meets the requirement (Cargo's rule: a
//   prerelease only when the requirement names one); a `--lockfile` list uses the lockfile's own edges;
// - cycles broken as the session breaks them (src/link/schedule.ts: by the graph alone, ids in order);
// - the code name is the dependency's key when renamed, otherwise its lib name (as Cargo and the
//   workspace scan name it); two dependencies under one code name: the first by (code name, id).

import path from 'node:path';
import semver from 'semver';
import type { ScanOptions } from '../options.js';
import { inheritOutsideWorkspace } from '../project/load-project.js';
import { readManifest } from '../project/manifest.js';
import { addCrateTyposquats, scanCrateDirs, sessionLinks } from '../scan/session.js';
import { linkOrder } from '../link/schedule.js';
import type { Manifest, ScanResult } from '../types.js';
import { cmp } from '../util/compare.js';
import { reqMatches } from '../util/semver.js';
import { jobId, type BatchJobData } from './jobs.js';
import type { RejectedEntry, StoredResult } from './store.js';

/** A dependency of a job: the crate name and the job id of the version it resolved to. */
export interface BatchDep {
  name: string;
  id: string;
}

/** A dependency as a list states it: a requirement on a crate name, or (a lockfile's) one exact job. */
export type DepRequirement = { package: string; req: string | null } | { id: string };

export interface PlanCrate {
  id: string;
  name: string;
  version: string;
  deps: DepRequirement[];
}

export interface BatchPlan {
  /** Ids, every crate after the dependencies it keeps. */
  order: string[];
  /** Per crate, the dependencies kept (sorted by id), cycles broken. */
  deps: Map<string, BatchDep[]>;
  /** Edges dropped to break cycles (`from → to`), sorted. */
  dropped: [string, string][];
}

/** Each crate's dependencies among the list's crates, then the dependency order with cycles broken. */
export function planBatch(crates: PlanCrate[]): BatchPlan {
  const byId = new Map(crates.map((c) => [c.id, c]));
  // per name, the versions newest first (the first one a requirement accepts is the highest)
  const byName = new Map<string, PlanCrate[]>();
  for (const c of crates) {
    if (semver.valid(c.version, { loose: true }) === null) continue;
    let l = byName.get(c.name);
    if (!l) byName.set(c.name, (l = []));
    l.push(c);
  }
  for (const l of byName.values()) l.sort((a, b) => semver.rcompare(a.version, b.version, true) || cmp(a.id, b.id));
  const resolved = (d: DepRequirement): PlanCrate | undefined =>
    'id' in d ? byId.get(d.id) : byName.get(d.package)?.find((c) => reqMatches(c.version, d.req, false));
  const sorted = [...crates].sort((a, b) => cmp(a.id, b.id));
  const rank = new Map(sorted.map((c, i) => [c.id, i]));
  const plan = linkOrder(
    sorted.map((c) => ({
      id: c.id,
      rank: rank.get(c.id)!,
      // the code name is the worker's business (its manifest): here every edge is its own
      deps: c.deps.flatMap((d) => {
        const t = resolved(d);
        return t ? [{ codeName: t.id, id: t.id }] : [];
      }),
    })),
  );
  const deps = new Map<string, BatchDep[]>();
  for (const [id, list] of plan.deps) deps.set(id, list.map((d) => ({ name: byId.get(d.id)!.name, id: d.id })).sort((a, b) => cmp(a.id, b.id)));
  return { order: plan.order, deps, dropped: plan.dropped };
}

/** The normal and build dependencies of a manifest, as requirements (what planBatch resolves). */
export function manifestRequirements(m: Manifest | null): DepRequirement[] {
  return (m?.dependencies ?? []).filter((d) => d.kind !== 'dev').map((d) => ({ package: d.package, req: d.req }));
}

/** The name a dependent's code uses for a crate it does not rename: its lib name. */
export function libCodeName(m: Manifest | null, name: string): string {
  return m?.lib?.name ?? name.replace(/-/g, '_');
}

/** Why a stored dependency is not linked: another one has the code name the crate uses for it. */
export const CODE_NAME_TAKEN = 'another dependency has its code name';

/** A resolved dependency as the code-name step sees it. */
export interface NamedDep {
  name: string;
  version: string;
  id: string;
  /** Its lib name (libCodeName). */
  lib: string;
}

/**
 * The code names under which a crate's code refers to its resolved dependencies (as the workspace scan
 * names lockfile edges, load-project.ts): the key of a renamed declaration, otherwise the dependency's lib
 * name; one code name, one dependency (the first by code name, then id).
 */
export function linkCodeNames(m: Manifest | null, deps: NamedDep[]): { codeName: string; id: string }[] {
  const out: { codeName: string; id: string }[] = [];
  for (const dep of deps) {
    let decls = (m?.dependencies ?? []).filter((d) => d.package === dep.name && d.kind !== 'dev');
    const byReq = decls.filter((d) => reqMatches(dep.version, d.req));
    if (byReq.length > 0) decls = byReq;
    if (decls.length === 0) out.push({ codeName: dep.lib, id: dep.id });
    for (const d of decls) out.push({ codeName: d.key !== d.package ? d.key.replace(/-/g, '_') : dep.lib, id: dep.id });
  }
  out.sort((a, b) => cmp(a.codeName, b.codeName) || cmp(a.id, b.id));
  const seen = new Set<string>();
  return out.filter((d) => (seen.has(d.codeName) ? false : (seen.add(d.codeName), true)));
}

/** A crate directory's manifest as `crate DIR` reads it (inheritance outside a workspace applied); null if unreadable. */
export async function dirManifest(dir: string): Promise<Manifest | null> {
  try {
    return await inheritOutsideWorkspace(await readManifest(path.join(dir, 'Cargo.toml')));
  } catch {
    return null; // the worker fails the job with the reason
  }
}

/** Directory jobs with their dependencies planned, in dependency order (what enqueue adds, in that order). */
export async function planDirJobs(jobs: BatchJobData[]): Promise<{ jobs: BatchJobData[]; manifests: Map<string, Manifest | null>; plan: BatchPlan }> {
  const manifests = new Map<string, Manifest | null>();
  for (const j of jobs) manifests.set(jobId(j), j.dir === null ? null : await dirManifest(j.dir));
  const plan = planBatch(jobs.map((j) => ({ id: jobId(j), name: j.name, version: j.version, deps: manifestRequirements(manifests.get(jobId(j))!) })));
  return { jobs: withPlan(jobs, plan, jobId), manifests, plan };
}

/** The jobs with their planned `deps`, in the plan's order. */
export function withPlan(jobs: BatchJobData[], plan: BatchPlan, idOf: (j: BatchJobData) => string): BatchJobData[] {
  const byId = new Map(jobs.map((j) => [idOf(j), j]));
  return plan.order.map((id) => ({ ...byId.get(id)!, deps: plan.deps.get(id) ?? [] }));
}

// ------------------------------------------------------------------ the single-machine reference

/**
 * The single-machine scan a batch of directory jobs must equal: every crate of `jobs` in one session, in
 * dependency order, each resolved through its dependencies' tables exactly as the batch resolves them
 * (planDirJobs, linkCodeNames), and reported as `cap-scan crate DIR` reports it (typosquat indicators).
 */
export async function scanDirsLinked(jobs: BatchJobData[], opts: ScanOptions): Promise<ScanResult> {
  const planned = await planDirJobs(jobs);
  const byId = new Map(planned.jobs.map((j) => [jobId(j), j]));
  const named = (id: string): NamedDep => {
    const j = byId.get(id)!;
    return { name: j.name, version: j.version, id, lib: libCodeName(planned.manifests.get(id)!, j.name) };
  };
  const deps = new Map<string, { codeName: string; id: string }[]>();
  for (const j of planned.jobs) deps.set(jobId(j), linkCodeNames(planned.manifests.get(jobId(j))!, (j.deps ?? []).map((d) => named(d.id))));
  const links = sessionLinks({ order: planned.plan.order, deps, dropped: planned.plan.dropped });
  const idOfDir = new Map(planned.jobs.map((j) => [path.resolve(j.dir!), jobId(j)]));
  const dirs = planned.jobs.map((j) => j.dir!);
  const { result } = await scanCrateDirs(dirs, opts, { link: (abs) => links.get(idOfDir.get(path.resolve(abs))!) });
  const dirOf = new Map(planned.jobs.map((j) => [`${j.name}@${j.version}`, j.dir!]));
  for (const c of result.crates) await addCrateTyposquats([c], dirOf.get(`${c.name}@${c.version}`));
  return result;
}

// ------------------------------------------------------------------ the report's check

export interface LinkOutcome {
  applied: boolean;
  /** What was done (shown in the report's `batch.link`). */
  note: string;
  /** Stored results checked, and the dependency edges they were linked through. */
  crates: number;
  edges: number;
  /** Planned dependencies a crate was scanned without (their job failed, or was not on the queue). */
  unlinked: { id: string; dep: string; reason: string }[];
  /**
   * Results linked against a table that is not the one stored now (a dependency rescanned or dropped
   * since): kept in the report, listed here; re-queue the crate to relink it.
   */
  stale: { id: string; reason: string }[];
}

/**
 * The link step over the stored results, in dependency order: each crate's result must have been linked
 * against the export tables its dependencies' stored results hold now, and its dependencies must be
 * current themselves; what is not is listed (never dropped).
 */
export function checkLinks(entries: StoredResult[], rejected: RejectedEntry[]): LinkOutcome {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const untrusted = new Set(rejected.map((r) => r.id));
  const plan = linkOrder(
    entries.map((e, i) => ({ id: e.id, rank: i, deps: (e.job.deps ?? []).map((d) => ({ codeName: d.id, id: d.id })) })),
  );
  const stale = new Map<string, string>();
  const unlinked: LinkOutcome['unlinked'] = [];
  let edges = 0;
  for (const id of plan.order) {
    const e = byId.get(id)!;
    const why: string[] = [];
    const linkedIds = new Set(e.linked.map((l) => l[1]));
    for (const [, dep, hash] of e.linked) {
      edges++;
      const d = byId.get(dep);
      if (!d) why.push(`linked against ${dep}, whose result is ${untrusted.has(dep) ? 'not trusted' : 'not stored'} now`);
      else if (d.exportTableHash !== hash) why.push(`linked against an export table of ${dep} that its stored result no longer has`);
      else if (stale.has(dep)) why.push(`its dependency ${dep} is stale`);
    }
    for (const u of e.unlinked) {
      unlinked.push({ id, dep: u.id, reason: u.reason });
      if (byId.has(u.id) && u.reason !== CODE_NAME_TAKEN) why.push(`scanned without ${u.id} (${u.reason}), whose result is stored now`);
    }
    for (const d of e.job.deps ?? []) if (!linkedIds.has(d.id) && !e.unlinked.some((u) => u.id === d.id)) why.push(`its planned dependency ${d.id} is neither linked nor listed as unlinked`);
    if (why.length > 0) stale.set(id, why.join('; '));
  }
  const staleList = [...stale.entries()].map(([id, reason]) => ({ id, reason })).sort((a, b) => cmp(a.id, b.id));
  unlinked.sort((a, b) => cmp(a.id, b.id) || cmp(a.dep, b.dep));
  const note =
    `${entries.length} crate${entries.length === 1 ? '' : 's'} linked in dependency order through ${edges} dependency edge${edges === 1 ? '' : 's'} (their stored export tables)` +
    (unlinked.length > 0 ? `; ${unlinked.length} planned dependenc${unlinked.length === 1 ? 'y' : 'ies'} not linked` : '') +
    (staleList.length > 0 ? `; ${staleList.length} stale (re-queue to relink)` : '');
  return { applied: true, note, crates: entries.length, edges, unlinked, stale: staleList };
}
