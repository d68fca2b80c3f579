// `cap-scan batch enqueue|worker|status|report`: registry-wide scans spread over any number of machines
// through a BullMQ queue in Redis (src/batch/). A worker scans each crate as `cap-scan crate DIR` does (the
// same function), through its dependencies' stored export tables (src/batch/link.ts), and stores the signed
// result; the report checks the links and assembles the verified results.

import type { Command } from 'commander';
import type { Skipped } from '../batch/jobs.js';
import { DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_URL } from '../batch/defaults.js';
import type { QueueTarget } from '../batch/redis.js';
import type { ResultStore } from '../batch/store.js';
import type { CommandOutput, CommonOptions } from '../options.js';
import { scanJson } from '../report/common.js';
import { filterScan } from '../report/filter.js';
import { render } from './lazy.js';
import { UserError } from '../types.js';
import { defineCommand, stringFlag } from './command.js';

// BullMQ and ioredis (and msgpackr's native addon) load only when a batch action runs, not at start-up
const jobsModule = () => import('../batch/jobs.js');
const queueModule = () => import('../batch/queue.js');
const redisModule = () => import('../batch/redis.js');
const storeModule = () => import('../batch/store.js');

export const BATCH_ACTIONS = ['enqueue', 'worker', 'status', 'report'] as const;
type Action = (typeof BATCH_ACTIONS)[number];

export interface BatchOptions extends CommonOptions {
  action: Action;
  names: string[];
  queueUrl: string;
  queueName: string;
  lockfile: string | null;
  dir: string | null;
  index: string | null;
  latest: boolean;
  attempts: number;
  concurrency: number;
  results: string | null;
  untilEmpty: boolean;
  quiet: boolean;
}

function intFlag(flags: Readonly<Record<string, unknown>>, name: string, flag: string, dflt: number, min: number, max: number): number {
  const v = stringFlag(flags, name);
  if (v === null) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min || n > max) throw new UserError(`${flag} must be a whole number from ${min} to ${max}, got '${v}'`);
  return n;
}

/** Which flags each action takes (a flag given to the wrong action is an error, not ignored). */
const ACTION_FLAGS: Record<Action, readonly string[]> = {
  enqueue: ['lockfile', 'dir', 'index', 'latest', 'attempts'],
  worker: ['concurrency', 'results', 'untilEmpty'],
  status: [],
  report: ['results'],
};
const FLAG_NAMES: Record<string, string> = {
  lockfile: '--lockfile',
  dir: '--dir',
  index: '--index',
  latest: '--latest',
  attempts: '--attempts',
  concurrency: '--concurrency',
  results: '--results',
  untilEmpty: '--until-empty',
};

export function batchOptions(common: CommonOptions, args: readonly string[], flags: Readonly<Record<string, unknown>>): BatchOptions {
  const action = args[0] ?? '';
  if (!(BATCH_ACTIONS as readonly string[]).includes(action)) {
    throw new UserError(`batch needs an action: ${BATCH_ACTIONS.join(', ')}${action ? ` (got '${action}')` : ''}`);
  }
  const a = action as Action;
  for (const [key, flag] of Object.entries(FLAG_NAMES)) {
    if (flags[key] !== undefined && flags[key] !== false && !ACTION_FLAGS[a].includes(key)) throw new UserError(`${flag} is not an option of batch ${a}`);
  }
  const names = args.slice(1).flat();
  if (names.length > 0 && !(a === 'enqueue' && stringFlag(flags, 'index') !== null)) {
    throw new UserError(`batch ${a} takes no crate names${a === 'enqueue' ? ' (names go with --index URL)' : ''}: ${names.join(' ')}`);
  }
  return {
    ...common,
    action: a,
    names,
    queueUrl: stringFlag(flags, 'queue') ?? DEFAULT_QUEUE_URL,
    queueName: stringFlag(flags, 'queueName') ?? DEFAULT_QUEUE_NAME,
    lockfile: stringFlag(flags, 'lockfile'),
    dir: stringFlag(flags, 'dir'),
    index: stringFlag(flags, 'index'),
    latest: !!flags.latest,
    attempts: intFlag(flags, 'attempts', '--attempts', 3, 1, 20),
    concurrency: intFlag(flags, 'concurrency', '--concurrency', 1, 1, 64),
    results: stringFlag(flags, 'results'),
    untilEmpty: !!flags.untilEmpty,
    quiet: !!flags.quiet,
  };
}

function textOut(o: BatchOptions, human: string, json: Record<string, unknown>): CommandOutput {
  return { text: o.format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : human, exitCode: 0 };
}

function checkFormat(o: BatchOptions): void {
  if (o.action !== 'report' && o.format !== 'human' && o.format !== 'json') throw new UserError(`batch ${o.action} prints human or json, not ${o.format}`);
}

async function runEnqueue(o: BatchOptions, t: QueueTarget): Promise<CommandOutput> {
  const sources = [o.lockfile, o.dir, o.index].filter((s) => s !== null).length;
  if (sources !== 1) throw new UserError('batch enqueue needs exactly one of --lockfile PATH, --dir PATH, --index URL NAME...');
  const { jobsFromDir, jobsFromIndex, jobsFromLockfile } = await jobsModule();
  const { jobs, skipped } = o.lockfile !== null ? await jobsFromLockfile(o.lockfile) : o.dir !== null ? await jobsFromDir(o.dir) : await jobsFromIndex(o.index!, o.names, { latest: o.latest });
  const r = await (await queueModule()).enqueue(t, jobs, skipped, { attempts: o.attempts, backoffMs: 2_000 });
  const skippedLines = (s: Skipped[]): string => s.map((x) => `  skipped ${x.what}: ${x.reason}\n`).join('');
  return textOut(
    o,
    `queue ${t.name} at ${t.shown}: ${r.added.length} job${r.added.length === 1 ? '' : 's'} added, ${r.existing.length} already queued, ${r.skipped.length} skipped\n${skippedLines(r.skipped)}`,
    { queue: t.name, added: r.added, existing: r.existing, skipped: r.skipped },
  );
}

/** The results store; entries are signed and verified with `secret` (CAP_SCAN_CACHE_KEY). */
async function resultStore(o: BatchOptions, t: QueueTarget, secret: string | null): Promise<{ store: ResultStore; close: () => Promise<void> }> {
  const { dirStore, redisStore } = await storeModule();
  if (o.results !== null) return { store: dirStore(o.results, secret), close: async () => {} };
  const client = (await queueModule()).storeClient(t);
  return {
    store: redisStore(client, t.name, secret),
    close: async () => {
      client.disconnect();
    },
  };
}

const stderrLine = (line: string): void => void process.stderr.write(`cap-scan: ${line}\n`);

async function runBatchWorker(o: BatchOptions, t: QueueTarget, secret: string): Promise<CommandOutput> {
  const { store, close } = await resultStore(o, t, secret);
  try {
    const log = o.quiet ? undefined : stderrLine;
    // one crate per job: a thread pool per crate costs more than it saves (parallelism comes from
    // --concurrency and from running more worker processes); --jobs N still picks a pool. Same output.
    const scan = { ...o, jobs: o.jobs === 0 ? 1 : o.jobs };
    const r = await (await queueModule()).runWorker(t, { scan, concurrency: o.concurrency, store, untilEmpty: o.untilEmpty, ...(log ? { log, warn: log } : {}) });
    return textOut(o, `batch worker: ${r.completed} crate${r.completed === 1 ? '' : 's'} scanned, ${r.failedAttempts} failed attempt${r.failedAttempts === 1 ? '' : 's'}\n`, {
      queue: t.name,
      completed: r.completed,
      failedAttempts: r.failedAttempts,
    });
  } finally {
    await close();
  }
}

async function runStatus(o: BatchOptions, t: QueueTarget): Promise<CommandOutput> {
  const c = await (await queueModule()).queueCounts(t);
  const line = Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return textOut(o, `queue ${t.name} at ${t.shown}: ${line}\n`, { queue: t.name, counts: c });
}

async function runReport(o: BatchOptions, t: QueueTarget, secret: string | null): Promise<CommandOutput> {
  const { store, close } = await resultStore(o, t, secret);
  try {
    const r = await (await queueModule()).buildReport(t, store, o.quiet ? undefined : stderrLine);
    const result = filterScan(r.result, o.filter);
    const batch = { queue: r.queue, counts: r.counts, failed: r.failed, pending: r.pending, rejected: r.rejected, link: r.link };
    if (o.format === 'json') return { text: `${JSON.stringify({ ...scanJson(result), batch }, null, 2)}\n`, exitCode: 0 };
    const body = await render(o.format, { command: 'scan', result, project: null, verbose: o.verbose, color: o.color, workspaceRoot: null });
    if (o.format !== 'human') return { text: body, exitCode: 0 };
    const failed = r.failed.map((f) => `  failed ${f.id} after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.reason}\n`).join('');
    const rejected = r.rejected.map((x) => `  not trusted ${x.id}: ${x.reason}\n`).join('');
    const stale = r.link.stale.map((x) => `  stale ${x.id}: ${x.reason}\n`).join('');
    return {
      text: `${body}\nbatch ${r.queue}: ${r.result.crates.length} crates stored, ${r.failed.length} failed, ${r.pending.length} not finished, ${r.rejected.length} not trusted; link step ${r.link.applied ? 'applied' : 'not applied'}: ${r.link.note}\n${failed}${rejected}${stale}`,
      exitCode: 0,
    };
  } finally {
    await close();
  }
}

export async function runBatch(o: BatchOptions): Promise<CommandOutput> {
  checkFormat(o);
  const secret = o.action === 'worker' || o.action === 'report' ? (await storeModule()).batchKey() : null;
  // an unsigned result would never be trusted by a report or another worker: refuse before taking a job
  if (o.action === 'worker' && secret === null) {
    throw new UserError('batch worker signs every result it stores with CAP_SCAN_CACHE_KEY (HMAC-SHA256), and it is not set (for example: export CAP_SCAN_CACHE_KEY=$(openssl rand -hex 32), the same on every worker and for the report)');
  }
  const t = await (await redisModule()).openQueueTarget(o.queueUrl, o.queueName);
  switch (o.action) {
    case 'enqueue':
      return runEnqueue(o, t);
    case 'worker':
      return runBatchWorker(o, t, secret!);
    case 'status':
      return runStatus(o, t);
    case 'report':
      return runReport(o, t, secret);
  }
}

const BATCH_HELP = `
Actions:
  enqueue   one job per crate version: --lockfile Cargo.lock | --dir DIR (unpacked crates) | --index URL NAME...
            (job id NAME@VERSION[#sha256]: enqueuing twice adds nothing). Each job names its dependencies
            among the list (normal and build ones; the highest listed version a requirement accepts, or the
            lockfile's own edges), added dependencies first
  worker    scan jobs as \`cap-scan crate DIR --format json\` does, resolving each crate through its
            dependencies' stored export tables (a job waits, delayed, until they are stored); store the
            result and the crate's own table, signed with CAP_SCAN_CACHE_KEY (required), in --results DIR
            (atomic files) or in Redis; a failed job is retried (--attempts, exponential backoff), then kept
            as failed with its reason. Runs until SIGINT/SIGTERM, or --until-empty
  status    job counts (waiting, active, delayed, completed, failed, ...)
  report    the verified results as one report (crates sorted; failed, unfinished and untrusted jobs listed as
            unscanned), after checking in dependency order that each was linked against the stored tables

Environment:
  CAP_SCAN_CACHE_KEY=SECRET  HMAC-SHA256 key results are signed (worker) and verified (report, worker) with;
                             a result that does not verify is never used (said once on stderr)

Examples:
  cap-scan batch enqueue --dir /usr/share/cargo/registry --queue redis://10.0.0.5:6379
  cap-scan batch worker --queue redis://10.0.0.5:6379 --concurrency 2 --results /shared/results
  cap-scan batch report --queue redis://10.0.0.5:6379 --results /shared/results --format json
`;

export const batchCommand = defineCommand({
  name: 'batch <action> [names...]',
  description: 'registry-wide scans on a BullMQ job queue in Redis: enqueue crates, run workers on any number of machines, report',
  configure: (cmd: Command) =>
    cmd
      .option('--queue <url>', `Redis of the job queue: redis://[user:password@]host:port[/db] or rediss:// (default ${DEFAULT_QUEUE_URL})`)
      .option('--queue-name <name>', `BullMQ queue name (default ${DEFAULT_QUEUE_NAME})`)
      .option('--lockfile <path>', 'enqueue: the registry packages of this Cargo.lock (with their checksums)')
      .option('--dir <path>', 'enqueue: every unpacked crate directory under this one (workers must see the same path)')
      .option('--index <url>', 'enqueue: the named crates of this sparse index, every non-yanked version')
      .option('--latest', 'enqueue --index: only the newest version of each name')
      .option('--attempts <n>', 'enqueue: attempts per job before it is recorded as failed (default 3)')
      .option('--concurrency <n>', 'worker: jobs scanned at once by this process (default 1)')
      .option('--results <dir>', 'worker, report: results directory (default: a hash in the same Redis)')
      .option('--until-empty', 'worker: exit once no job is waiting, delayed or running')
      .addHelpText('after', BATCH_HELP),
  options: (common, args, flags): BatchOptions => batchOptions(common, args, flags),
  run: runBatch,
});
