// A worker's view of a job's dependencies (src/batch/link.ts): are their results stored, and then the
// CrateLink that feeds the crate's scan their export tables, as the single-machine session would.
// Only verified entries count (store.ts): a dependency whose stored result is missing or not trusted
// while its job says completed is re-queued (recomputed), a bounded number of times per worker process.

import type { CrateInput } from '../scan/crate-scan.js';
import type { CrateLink } from '../scan/session.js';
import { exportTableHash, type ExportTable } from '../link/exports.js';
import { cmp } from '../util/compare.js';
import { type BatchDep, CODE_NAME_TAKEN, libCodeName, linkCodeNames } from './link.js';
import { isRejected, type LinkedDep, type ResultStore, type StoredResult } from './store.js';

/** How often one worker process re-queues one dependency whose result is missing or not trusted. */
export const MAX_REQUEUES = 2;

/** What the worker needs from the queue: a job's state, and putting a completed job back to wait. */
export interface DepQueue {
  state(id: string): Promise<string>;
  requeue(id: string): Promise<void>;
}

export type DepsState = { wait: string } | { ready: ReadyDeps };

export interface ReadyDeps {
  /** Dependencies with a verified stored result. */
  stored: { dep: BatchDep; entry: StoredResult }[];
  /** Dependencies the crate is scanned without, and why. */
  unlinked: { id: string; reason: string }[];
}

/**
 * Whether a job can be scanned now: every planned dependency has a verified result, or will never have
 * one (its job failed, or is not on the queue). Otherwise what it waits for. The jobs' states are asked
 * first (cheap), results are read and verified only once no dependency is still to run.
 */
export async function storedDeps(deps: readonly BatchDep[], store: ResultStore, queue: DepQueue, requeued: Map<string, number>, warn: (m: string) => void): Promise<DepsState> {
  const states: string[] = [];
  for (const dep of deps) {
    const state = await queue.state(dep.id);
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return { wait: `${dep.id} (${state})` };
    states.push(state);
  }
  const stored: ReadyDeps['stored'] = [];
  const unlinked: ReadyDeps['unlinked'] = [];
  for (const [i, dep] of deps.entries()) {
    const r = await store.get(dep.id);
    if (r !== null && !isRejected(r)) {
      stored.push({ dep, entry: r });
      continue;
    }
    const state = states[i]!;
    if (state === 'failed') unlinked.push({ id: dep.id, reason: 'its batch job failed' });
    else if (state === 'unknown') unlinked.push({ id: dep.id, reason: 'its batch job is not on the queue' });
    else {
      // completed, but no result this worker can trust: computed again, never used as it is
      const n = requeued.get(dep.id) ?? 0;
      const why = r === null ? 'its job completed but its result is not in the results store' : `its stored result is not trusted: ${r.reason}`;
      if (n >= MAX_REQUEUES) {
        unlinked.push({ id: dep.id, reason: `${why} (re-queued ${n} times already)` });
        continue;
      }
      requeued.set(dep.id, n + 1);
      warn(`batch: ${dep.id}: ${why}; its job is re-queued`);
      await queue.requeue(dep.id);
      return { wait: `${dep.id} (re-queued)` };
    }
  }
  return { ready: { stored, unlinked } };
}

/** Every export table the dependencies' tables lead to, by hash (what `tableOf` answers; lookups follow `deps`). */
export async function tableClosure(stored: readonly StoredResult[], store: ResultStore): Promise<Map<string, ExportTable>> {
  const byHash = new Map<string, ExportTable>();
  const seen = new Set<string>();
  const queue = [...stored];
  while (queue.length > 0) {
    const e = queue.pop()!;
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    if (e.exportTable) byHash.set(e.exportTableHash, e.exportTable);
    for (const [, id, hash] of e.linked) {
      if (seen.has(id) || byHash.has(hash)) continue;
      const d = await store.get(id);
      // a dependency rescanned since has another table: not the one named (the report lists the crate stale)
      if (d !== null && !isRejected(d) && d.exportTableHash === hash) queue.push(d);
    }
  }
  return byHash;
}

/** The link of one job's scan (ScanHooks.link), and, after the scan, what goes into its stored entry. */
export function workerLink(name: string, ready: ReadyDeps, closure: Map<string, ExportTable>) {
  let own: ExportTable | null = null;
  let lib = name.replace(/-/g, '_');
  let linked: LinkedDep[] = [];
  const unlinked = [...ready.unlinked];
  const hook = (_dir: string, input: CrateInput): CrateLink => {
    lib = libCodeName(input.manifest, name);
    const entries = new Map(ready.stored.map((s) => [s.dep.id, s.entry]));
    const named = linkCodeNames(
      input.manifest,
      ready.stored.map(({ dep, entry }) => ({ name: dep.name, version: entry.job.version, id: dep.id, lib: entry.lib })),
    );
    linked = named.map((n) => [n.codeName, n.id, entries.get(n.id)!.exportTableHash] as LinkedDep);
    // a dependency whose code name another one has (the first by code name and id is kept)
    const kept = new Set(named.map((n) => n.id));
    for (const s of ready.stored) if (!kept.has(s.dep.id)) unlinked.push({ id: s.dep.id, reason: CODE_NAME_TAKEN });
    const tables = new Map<string, ExportTable>();
    for (const n of named) {
      const t = entries.get(n.id)!.exportTable;
      if (t) tables.set(n.codeName, t);
    }
    return {
      deps: async () => ({ tables, hashes: linked.map(([code, , h]) => [code, h] as [string, string]) }),
      publish: (t) => {
        own = t;
      },
      tableOf: (h) => closure.get(h),
    };
  };
  return {
    hook,
    entryFields: () => ({
      lib,
      exportTable: own,
      exportTableHash: exportTableHash(own),
      linked: [...linked].sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1])),
      unlinked: unlinked.sort((a, b) => cmp(a.id, b.id)),
    }),
  };
}
