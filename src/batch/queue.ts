// Registry-wide scans on a BullMQ queue in Redis: enqueue, work, status, report. BullMQ does the
// scheduling (locks, stalled-job recovery, attempts with backoff, delays, the failed set with reasons);
// this module only says what a job is and what a worker does with one: wait (delayed) until the crate's
// dependencies' results are stored, scan it through their export tables, store its signed result.

import { DelayedError, Job, Queue, UnrecoverableError, Worker, type JobType } from 'bullmq';
import { Redis, type RedisOptions as IoRedisOptions } from 'ioredis';
import { scanLocatedCrate } from '../commands/crate.js';
import type { ScanOptions } from '../options.js';
import { scanJson } from '../report/common.js';
import { sourceContext } from '../scan/session.js';
import { type DownloadProvider, downloadProvider } from '../sources/registry.js';
import { readManifestIdentity } from '../sources/local.js';
import type { CrateReport, ScanResult, Unscanned } from '../types.js';
import { UserError } from '../types.js';
import { cmp } from '../util/compare.js';
import { type BatchJobData, jobId, type Skipped } from './jobs.js';
import type { ExportTable } from '../link/exports.js';
import { checkLinks, type LinkOutcome } from './link.js';
import { type DepQueue, type ReadyDeps, storedDeps, tableClosure, workerLink } from './stored-deps.js';
import type { QueueTarget } from './redis.js';
import type { RejectedEntry, ResultStore, StoredResult } from './store.js';
import { toolVersion } from '../scan/session.js';

/** BullMQ job name of a crate scan. */
export const JOB_NAME = 'scan-crate';
/** A job's lock; renewed at half of it while the scan runs, so only a dead worker loses its job. */
const LOCK_MS = 120_000;
const PAGE = 500;

function openQueue(t: QueueTarget) {
  const q = new Queue<BatchJobData>(t.name, { connection: t.connection });
  // connection errors surface through the failing call; without a listener ioredis prints them
  q.on('error', () => {});
  return q;
}

// ------------------------------------------------------------------ enqueue

export interface EnqueueOutcome {
  added: string[];
  existing: string[];
  skipped: Skipped[];
}

/** One job per crate version; ids already on the queue (in any state) are left as they are. */
export async function enqueue(t: QueueTarget, jobs: BatchJobData[], skipped: Skipped[], opts: { attempts: number; backoffMs: number }): Promise<EnqueueOutcome> {
  const queue = openQueue(t);
  const added: string[] = [];
  const existing: string[] = [];
  try {
    for (let i = 0; i < jobs.length; i += PAGE) {
      const page = jobs.slice(i, i + PAGE);
      const states = await Promise.all(page.map((j) => queue.getJobState(jobId(j))));
      const fresh = page.filter((j, k) => {
        if (states[k] === 'unknown') return true;
        existing.push(jobId(j));
        return false;
      });
      await queue.addBulk(
        fresh.map((data) => ({
          name: JOB_NAME,
          data,
          opts: { jobId: jobId(data), attempts: opts.attempts, backoff: { type: 'exponential', delay: opts.backoffMs }, removeOnComplete: false, removeOnFail: false },
        })),
      );
      for (const j of fresh) added.push(jobId(j));
    }
  } finally {
    await queue.close();
  }
  return { added, existing, skipped };
}

// ------------------------------------------------------------------ worker

export interface WorkerOptions {
  scan: ScanOptions;
  concurrency: number;
  store: ResultStore;
  /** Stop once no job is waiting, delayed or active (otherwise run until SIGINT/SIGTERM). */
  untilEmpty: boolean;
  /** A line per job event on stderr (absent: silent). */
  log?: (line: string) => void;
  /** Warnings on stderr (a dependency's result re-queued); absent: silent. */
  warn?: (line: string) => void;
}

export interface WorkerOutcome {
  completed: number;
  failedAttempts: number;
}

/** A job the worker gives up on at once (a missing directory, a checksum mismatch): retrying cannot help. */
function permanent(message: string): UnrecoverableError {
  return new UnrecoverableError(message);
}

/**
 * Locate (directory job) or download and verify (registry job), then scan as `cap-scan crate` does, through
 * the dependencies' export tables (`ready`: their stored results, see stored-deps.ts).
 */
export async function processCrateJob(data: BatchJobData, id: string, o: WorkerOptions, provider: DownloadProvider, ready: ReadyDeps, closure: Map<string, ExportTable>): Promise<StoredResult> {
  const link = workerLink(data.name, ready, closure);
  const hooks = { link: link.hook };
  let result: ScanResult;
  try {
    if (data.dir !== null) {
      const ident = await readManifestIdentity(data.dir);
      if (ident === null) throw permanent(`${data.dir}: no Cargo.toml with a [package] name on this worker`);
      if (ident.name !== data.name || ident.version !== data.version) {
        throw permanent(`${data.dir}: holds ${ident.name} ${typeof ident.version === 'string' ? ident.version : '?'}, not ${data.name} ${data.version}`);
      }
      // exactly `cap-scan crate DIR`: the directory as it is (no source, no checksum in the report)
      result = await scanLocatedCrate({ dir: data.dir, name: '', version: '', checksum: null, source: null }, o.scan, data.dir, hooks);
    } else if (data.source !== null) {
      const ctx = sourceContext(o.scan, process.cwd());
      const r = await provider.locate({ name: data.name, version: data.version, source: data.source, checksum: data.checksum }, ctx);
      if (r === null) throw permanent(`${data.source}: not a source this worker can download from`);
      if ('unavailable' in r) {
        // a failed download may work next time; anything else (offline, no checksum, not found) will not
        if (r.unavailable.startsWith('download failed')) throw new Error(r.unavailable);
        throw permanent(r.unavailable);
      }
      result = await scanLocatedCrate({ dir: r.dir, name: data.name, version: data.version, checksum: data.checksum, source: data.source }, o.scan, `${data.name}@${data.version}`, hooks);
      // an archive whose Cargo.toml names another crate would be reported under that identity
      if (!result.crates.some((c) => c.name === data.name && c.version === data.version)) {
        const got = result.crates.map((c) => `${c.name} ${c.version}`).join(', ') || 'nothing';
        throw permanent(`the downloaded archive's Cargo.toml is ${got}, not ${data.name} ${data.version}`);
      }
    } else {
      throw permanent('job names neither a directory nor a registry source');
    }
  } catch (e) {
    if (e instanceof UnrecoverableError) throw e;
    // a UserError is about the crate (not a crate, checksum mismatch, refused archive): final
    if (e instanceof UserError) throw permanent(e.message);
    throw e;
  }
  const json = scanJson(result);
  return {
    entry: 2,
    id,
    job: data,
    crates: json.crates as Record<string, unknown>[],
    unscanned: json.unscanned as Record<string, unknown>[],
    ...link.entryFields(),
  };
}

/** How long a job whose dependencies are not stored yet waits before it is tried again (ms). */
export const DEPS_WAIT_MS = 1_000;

export async function runWorker(t: QueueTarget, o: WorkerOptions): Promise<WorkerOutcome> {
  const provider = downloadProvider({ progress: false });
  const outcome: WorkerOutcome = { completed: 0, failedAttempts: 0 };
  const scan: ScanOptions = { ...o.scan, progress: undefined };
  const queue = openQueue(t);
  const requeued = new Map<string, number>();
  const depQueue: DepQueue = {
    state: (id) => queue.getJobState(id),
    requeue: async (id) => {
      const j = await Job.fromId(queue, id);
      // another worker may have re-queued it first: then it is no longer completed, which is what we want
      await j?.retry('completed').catch(() => {});
    },
  };
  const warn = o.warn ?? (() => {});
  const worker = new Worker<BatchJobData, { stored: string }>(
    t.name,
    async (job: Job<BatchJobData>, token?: string) => {
      // a crate is scanned once its dependencies' results (and export tables) are stored: until then the
      // job waits in BullMQ's delayed set, holding no worker slot (BullMQ's documented DelayedError pattern)
      const deps = await storedDeps(job.data.deps ?? [], o.store, depQueue, requeued, warn);
      if ('wait' in deps) {
        await job.moveToDelayed(Date.now() + DEPS_WAIT_MS, token);
        throw new DelayedError(`waiting for ${deps.wait}`);
      }
      const closure = await tableClosure(deps.ready.stored.map((s) => s.entry), o.store);
      const stored = await processCrateJob(job.data, job.id ?? jobId(job.data), { ...o, scan }, provider, deps.ready, closure);
      await o.store.put(stored);
      return { stored: o.store.kind };
    },
    { connection: t.connection, concurrency: o.concurrency, lockDuration: LOCK_MS, autorun: false },
  );
  let lastError: Error | null = null;
  worker.on('error', (e) => {
    lastError = e;
  });
  worker.on('completed', (job) => {
    outcome.completed++;
    o.log?.(`batch: ${job.id} scanned`);
  });
  worker.on('failed', (job, err) => {
    outcome.failedAttempts++;
    if (!job) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    o.log?.(`batch: ${job.id} failed (attempt ${job.attemptsMade}/${job.opts.attempts ?? 1}${final ? ', final' : ', will retry'}): ${err.message.split('\n')[0]}`);
  });
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  void worker.run().catch((e: Error) => {
    lastError = e;
    stop = true;
  });
  let failure: Error | null = null;
  try {
    // heartbeat: the queue must stay reachable; with untilEmpty, stop once nothing is left to do
    let idleChecks = 0;
    while (!stop) {
      await new Promise((r) => setTimeout(r, 500));
      let counts: Record<string, number>;
      try {
        counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      } catch (e) {
        failure = new UserError(`lost the redis connection to ${t.shown}: ${(lastError ?? (e as Error)).message.split('\n')[0]}`);
        break;
      }
      const left = Object.values(counts).reduce((a, b) => a + b, 0);
      idleChecks = left === 0 ? idleChecks + 1 : 0;
      // two empty looks in a row: a job moving from active to delayed (a retry) is never missed
      if (o.untilEmpty && idleChecks >= 2) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await worker.close();
    await queue.close();
  }
  if (failure) throw failure;
  return outcome;
}

// ------------------------------------------------------------------ status

export const COUNT_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

export async function queueCounts(t: QueueTarget): Promise<Record<string, number>> {
  const queue = openQueue(t);
  try {
    const c = await queue.getJobCounts(...COUNT_STATES);
    return Object.fromEntries(COUNT_STATES.map((s) => [s, c[s] ?? 0]));
  } finally {
    await queue.close();
  }
}

// ------------------------------------------------------------------ report

export interface FailedJob {
  id: string;
  name: string;
  version: string;
  attempts: number;
  reason: string;
}

export interface BatchReport {
  result: ScanResult;
  queue: string;
  counts: Record<string, number>;
  failed: FailedJob[];
  pending: string[];
  /** Stored results that are not trusted (their crates are listed under unscanned with the reason). */
  rejected: RejectedEntry[];
  link: LinkOutcome;
}

async function allJobs(queue: ReturnType<typeof openQueue>, types: JobType[]): Promise<Job<BatchJobData>[]> {
  const out: Job<BatchJobData>[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = (await queue.getJobs(types, start, start + PAGE - 1, true)) as Job<BatchJobData>[];
    out.push(...page.filter((j) => j !== undefined && j !== null));
    if (page.length < PAGE) break;
  }
  return out;
}

/**
 * The stored results (sorted) and the queue's failed and unfinished jobs, as one ScanResult, after the
 * link step's check in dependency order. Only verified entries are reported as scanned: one that is not
 * (not signed, another key, edited) is said once through `warn` and its crate listed as unscanned with
 * the reason, as is a completed job whose result is not in the store.
 */
export async function buildReport(t: QueueTarget, store: ResultStore, warn: (m: string) => void = () => {}): Promise<BatchReport> {
  const queue = openQueue(t);
  let failedJobs: Job<BatchJobData>[];
  let pendingJobs: Job<BatchJobData>[];
  let completedJobs: Job<BatchJobData>[];
  let counts: Record<string, number>;
  try {
    failedJobs = await allJobs(queue, ['failed']);
    pendingJobs = await allJobs(queue, ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
    completedJobs = await allJobs(queue, ['completed']);
    const c = await queue.getJobCounts(...COUNT_STATES);
    counts = Object.fromEntries(COUNT_STATES.map((s) => [s, c[s] ?? 0]));
  } finally {
    await queue.close();
  }
  const { entries, rejected } = await store.all();
  if (rejected.length > 0) {
    warn(`batch: ${rejected.length} stored result${rejected.length === 1 ? ' is' : 's are'} not trusted and reported as unscanned (${rejected[0]!.id}: ${rejected[0]!.reason}${rejected.length > 1 ? '; …' : ''})`);
  }
  const link = checkLinks(entries, rejected);
  const stored = new Set(entries.map((e) => e.id));
  const untrusted = new Map(rejected.map((r) => [r.id, r.reason]));
  const idOf = (j: Job<BatchJobData>) => j.id ?? jobId(j.data);
  const failed: FailedJob[] = failedJobs
    .filter((j) => !stored.has(idOf(j)))
    .map((j) => ({ id: idOf(j), name: j.data.name, version: j.data.version, attempts: j.attemptsMade, reason: (j.failedReason ?? 'failed').split('\n')[0]! }))
    .sort((a, b) => cmp(a.id, b.id));
  const pendingData = pendingJobs.filter((j) => !stored.has(idOf(j)));
  const pending = pendingData.map(idOf).sort(cmp);
  const jobData = new Map([...failedJobs, ...pendingJobs, ...completedJobs].map((j) => [idOf(j), j.data]));
  const settled = new Set([...failed.map((f) => f.id), ...pending]);
  const nameOf = (id: string) => jobData.get(id) ?? { name: id.split('@')[0]!, version: (id.split('@')[1] ?? '').split('#')[0]! };

  const crates = entries.flatMap((e) => e.crates as unknown as CrateReport[]);
  crates.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.source ?? '', b.source ?? '') || cmp(a.checksum ?? '', b.checksum ?? ''));
  const unscanned: Unscanned[] = [
    ...entries.flatMap((e) => e.unscanned as unknown as Unscanned[]),
    ...failed.map((f) => ({ name: f.name, version: f.version, reason: `batch job failed after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.reason}` })),
    ...pendingData.map((j) => ({ name: j.data.name, version: j.data.version, reason: 'not scanned yet: its batch job is still queued or running' })),
    // a result that is not trusted is no result (failed or pending jobs already say why they have none)
    ...[...untrusted].filter(([id]) => !settled.has(id)).map(([id, why]) => ({ ...pick(nameOf(id)), reason: `batch result not trusted: ${why}` })),
    ...completedJobs
      .filter((j) => !stored.has(idOf(j)) && !untrusted.has(idOf(j)))
      .map((j) => ({ name: j.data.name, version: j.data.version, reason: 'its batch job completed but its result is not in the results store' })),
  ].sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.reason, b.reason));
  return {
    result: { schemaVersion: 1, tool: { name: 'cap-scan', version: toolVersion() }, crates, unscanned },
    queue: t.name,
    counts,
    failed,
    pending,
    rejected,
    link,
  };
}

function pick(d: { name: string; version: string }): { name: string; version: string } {
  return { name: d.name, version: d.version };
}

/** A client for the Redis result store (closed by the caller with `quit`). */
export function storeClient(t: QueueTarget): Redis {
  const c = new Redis(t.connection as IoRedisOptions);
  c.on('error', () => {});
  return c;
}
