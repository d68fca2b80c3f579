// Registry-wide scans on a BullMQ queue in Redis: enqueue, work, status, report. BullMQ does the
// scheduling (locks, stalled-job recovery, attempts with backoff, the failed set with reasons); this
// module only says what a job is and what a worker does with one.

import { Queue, UnrecoverableError, Worker, type Job, type JobType } from 'bullmq';
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
import { exportTableOf, type LinkOutcome, linkStoredResults } from './link.js';
import type { QueueTarget } from './redis.js';
import type { ResultStore, StoredResult } from './store.js';
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
}

export interface WorkerOutcome {
  completed: number;
  failedAttempts: number;
}

/** A job the worker gives up on at once (a missing directory, a checksum mismatch): retrying cannot help. */
function permanent(message: string): UnrecoverableError {
  return new UnrecoverableError(message);
}

/** Locate (directory job) or download and verify (registry job), then scan as `cap-scan crate` does. */
export async function processCrateJob(data: BatchJobData, id: string, o: WorkerOptions, provider: DownloadProvider): Promise<StoredResult> {
  let result: ScanResult;
  try {
    if (data.dir !== null) {
      const ident = await readManifestIdentity(data.dir);
      if (ident === null) throw permanent(`${data.dir}: no Cargo.toml with a [package] name on this worker`);
      if (ident.name !== data.name || ident.version !== data.version) {
        throw permanent(`${data.dir}: holds ${ident.name} ${typeof ident.version === 'string' ? ident.version : '?'}, not ${data.name} ${data.version}`);
      }
      // exactly `cap-scan crate DIR`: the directory as it is (no source, no checksum in the report)
      result = await scanLocatedCrate({ dir: data.dir, name: '', version: '', checksum: null, source: null }, o.scan);
    } else if (data.source !== null) {
      const ctx = sourceContext(o.scan, process.cwd());
      const r = await provider.locate({ name: data.name, version: data.version, source: data.source, checksum: data.checksum }, ctx);
      if (r === null) throw permanent(`${data.source}: not a source this worker can download from`);
      if ('unavailable' in r) {
        // a failed download may work next time; anything else (offline, no checksum, not found) will not
        if (r.unavailable.startsWith('download failed')) throw new Error(r.unavailable);
        throw permanent(r.unavailable);
      }
      result = await scanLocatedCrate({ dir: r.dir, name: data.name, version: data.version, checksum: data.checksum, source: data.source }, o.scan, `${data.name}@${data.version}`);
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
    entry: 1,
    id,
    job: data,
    crates: json.crates as Record<string, unknown>[],
    unscanned: json.unscanned as Record<string, unknown>[],
    exportTable: exportTableOf(result), // ISSUE 14 HOOK (null until export tables exist)
  };
}

export async function runWorker(t: QueueTarget, o: WorkerOptions): Promise<WorkerOutcome> {
  const provider = downloadProvider({ progress: false });
  const outcome: WorkerOutcome = { completed: 0, failedAttempts: 0 };
  const scan: ScanOptions = { ...o.scan, progress: undefined };
  const worker = new Worker<BatchJobData, { stored: string }>(
    t.name,
    async (job: Job<BatchJobData>) => {
      const stored = await processCrateJob(job.data, job.id ?? jobId(job.data), { ...o, scan }, provider);
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
  const queue = openQueue(t);
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

/** The stored results (sorted) and the queue's failed and unfinished jobs, as one ScanResult. */
export async function buildReport(t: QueueTarget, store: ResultStore): Promise<BatchReport> {
  const queue = openQueue(t);
  let failedJobs: Job<BatchJobData>[];
  let pendingJobs: Job<BatchJobData>[];
  let counts: Record<string, number>;
  try {
    failedJobs = await allJobs(queue, ['failed']);
    pendingJobs = await allJobs(queue, ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
    const c = await queue.getJobCounts(...COUNT_STATES);
    counts = Object.fromEntries(COUNT_STATES.map((s) => [s, c[s] ?? 0]));
  } finally {
    await queue.close();
  }
  const { entries, outcome } = linkStoredResults(await store.all()); // ISSUE 14 HOOK
  const stored = new Set(entries.map((e) => e.id));
  const failed: FailedJob[] = failedJobs
    .filter((j) => !stored.has(j.id ?? ''))
    .map((j) => ({ id: j.id ?? jobId(j.data), name: j.data.name, version: j.data.version, attempts: j.attemptsMade, reason: (j.failedReason ?? 'failed').split('\n')[0]! }))
    .sort((a, b) => cmp(a.id, b.id));
  const pendingData = pendingJobs.filter((j) => !stored.has(j.id ?? jobId(j.data)));
  const pending = pendingData.map((j) => j.id ?? jobId(j.data)).sort(cmp);

  const crates = entries.flatMap((e) => e.crates as unknown as CrateReport[]);
  crates.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.source ?? '', b.source ?? '') || cmp(a.checksum ?? '', b.checksum ?? ''));
  const unscanned: Unscanned[] = [
    ...entries.flatMap((e) => e.unscanned as unknown as Unscanned[]),
    ...failed.map((f) => ({ name: f.name, version: f.version, reason: `batch job failed after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.reason}` })),
    ...pendingData.map((j) => ({ name: j.data.name, version: j.data.version, reason: 'not scanned yet: its batch job is still queued or running' })),
  ].sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.reason, b.reason));
  return {
    result: { schemaVersion: 1, tool: { name: 'cap-scan', version: toolVersion() }, crates, unscanned },
    queue: t.name,
    counts,
    failed,
    pending,
    link: outcome,
  };
}

/** A client for the Redis result store (closed by the caller with `quit`). */
export function storeClient(t: QueueTarget): Redis {
  const c = new Redis(t.connection as IoRedisOptions);
  c.on('error', () => {});
  return c;
}
