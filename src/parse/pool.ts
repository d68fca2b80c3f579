// File analysis off the main thread: a pool of worker_threads, each loading tree-sitter once and running
// analyzeFile on paths it reads itself. Demand requests (a crate scan waiting for a file) go before
// speculative prefetches (files of crates in flight, read ahead so both cores stay busy while a crate walks
// its module tree one file at a time). Results are a pure function of (file bytes, config, options), so
// scheduling never changes the output.
//
// A file whose analysis throws, kills its worker (out of memory, native crash that the runtime survives)
// or runs past the time limit becomes a summary with a `problems` entry, which the crate scanner reports as
// `unanalyzed`; the worker is replaced. A worker that cannot start at all is a clear error, never a hang.

import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeFile, MAX_TOKEN_FILE_BYTES, type AnalyzerConfig, type FileOptions } from './analyze.js';
import { readFailureReason, readRegularFileSync } from '../util/fs-safe.js';
import { emptySummary, type FileSummary } from './summary.js';

/** Analyse one file: read it and reduce it to a summary. Failures become a summary with a problem. */
export function analyzePathSync(abs: string, cfg: AnalyzerConfig, opts: FileOptions): FileSummary {
  let buf: Buffer;
  try {
    // regular files only (a FIFO or device never blocks or streams); a file over the token pass's limit is not read
    buf = readRegularFileSync(abs, { maxBytes: MAX_TOKEN_FILE_BYTES });
  } catch (e) {
    return failedSummary(readFailureReason(e));
  }
  try {
    return analyzeFile(buf, cfg, opts);
  } catch (e) {
    if (opts.tokensOnly) return failedSummary(`analysis-failed: ${firstLine(e)}`);
    return tokenRetry(abs, cfg, opts, `analysis-failed (${firstLine(e)})`);
  }
}

/**
 * The token-level pass of a file whose analysis failed, crashed its worker or ran out of time (linear, so
 * it runs in-thread): the file's findings survive, `why` is listed as unanalyzed.
 */
export function tokenRetry(abs: string, cfg: AnalyzerConfig, opts: FileOptions, why: string): FileSummary {
  const s = analyzePathSync(abs, cfg, { ...opts, tokensOnly: `${why}: analysed as tokens` });
  return s.problems.some((p) => p.reason.startsWith('read-failed')) ? failedSummary(why) : s;
}

export function failedSummary(reason: string): FileSummary {
  const s = emptySummary();
  s.problems.push({ line: 1, reason });
  return s;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? '').slice(0, 200);
}

/** Stable key of the analysis options (every field of FileOptions, fixed order). */
export function optionsKey(o: FileOptions): string {
  return `${+o.keepTests}${+o.procMacro}${+o.buildScript}${+o.test}${o.tokensOnly ? `:${o.tokensOnly}` : ''}`;
}

export interface PoolStats {
  /** Files analysed (in a worker or in-thread). */
  analysed: number;
  /** Demand requests served by a prefetch (finished or in progress). */
  prefetchHits: number;
  /** Prefetched results never asked for (wasted work). */
  prefetchWasted: number;
  /** Files that failed (exception, worker crash, timeout). */
  failed: number;
  /** Workers replaced after a crash or a timeout. */
  restarts: number;
  /** Files the parse triage cleared (structural captures only), and their characters. */
  triaged: number;
  triagedChars: number;
}

export interface AnalyzerPool {
  /** Worker threads (0: analysis runs in-thread). */
  readonly size: number;
  /** Analyse a file now (resolves with the summary). */
  analyze(abs: string, opts: FileOptions): Promise<FileSummary>;
  /** Analyse a file speculatively, at low priority; `group` lets the caller drop unused results. */
  prefetch(abs: string, opts: FileOptions, group: string): void;
  /** Forget queued and finished prefetches of a group. */
  dropGroup(group: string): void;
  stats(): PoolStats;
  /** Stop the workers. Pending requests are rejected. */
  close(): Promise<void>;
}

export interface PoolOptions {
  cfg: AnalyzerConfig;
  /** Worker threads; 0 runs in-thread. */
  size: number;
  /** Per-file time limit in a worker (ms); default 30 s or $CAP_SCAN_FILE_TIMEOUT_MS. */
  fileTimeoutMs?: number;
  /** Finished prefetches held at most (memory bound); default 512. */
  maxHeld?: number;
  /** Heap limit per worker (MB); default 768. */
  workerHeapMb?: number;
  /** Worker script (compiled JS); default: worker.js next to this module, or dist/parse/worker.js. */
  workerScript?: string;
}

/** Worker count for `--jobs N` (0 = available cores). */
export function poolSize(jobs: number): number {
  return jobs > 0 ? jobs : availableParallelism();
}

const here = dirname(fileURLToPath(import.meta.url));
/** Running from TypeScript sources (a test runner's loader): workers would run dist/, another build. */
export const RUNNING_FROM_SOURCE = fileURLToPath(import.meta.url).endsWith('.ts');

export function defaultWorkerScript(): string {
  const sibling = join(here, 'worker.js');
  if (existsSync(sibling)) return sibling;
  return resolve(here, '../../dist/parse/worker.js');
}

export function createPool(o: PoolOptions): AnalyzerPool {
  return o.size <= 0 ? inThreadPool(o.cfg) : new WorkerPool(o);
}

function inThreadPool(cfg: AnalyzerConfig): AnalyzerPool {
  const stats: PoolStats = { analysed: 0, prefetchHits: 0, prefetchWasted: 0, failed: 0, restarts: 0, triaged: 0, triagedChars: 0 };
  return {
    size: 0,
    async analyze(abs, opts) {
      stats.analysed++;
      const s = analyzePathSync(abs, cfg, opts);
      if (s.problems.some((p) => isFailure(p.reason))) stats.failed++;
      countTriaged(stats, s);
      return s;
    },
    prefetch() {},
    dropGroup() {},
    stats: () => ({ ...stats }),
    close: async () => {},
  };
}

function countTriaged(st: PoolStats, s: FileSummary): void {
  if (s.triaged === undefined) return;
  st.triaged++;
  st.triagedChars += s.triaged;
}

function isFailure(reason: string): boolean {
  return reason.startsWith('analysis-') || reason.startsWith('read-failed');
}

// ------------------------------------------------------------------ worker pool

interface Task {
  key: string;
  abs: string;
  opts: FileOptions;
  state: 'queued' | 'running' | 'done' | 'dropped';
  /** Someone asked for it (demand). */
  wanted: boolean;
  waiters: { resolve: (s: FileSummary) => void; reject: (e: Error) => void }[];
  result: FileSummary | null;
  group: string | null;
}

/** FIFO with O(1) push/shift (Array#shift is linear on large arrays). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  push(x: T) {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  get length() {
    return this.items.length - this.head;
  }
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /**
   * Tasks sent to the worker, oldest first; it answers them in order, so the first is the one running.
   * Two in flight: the next file is already queued in the worker while the main thread is busy with a
   * crate, instead of the worker waiting a message round trip (9% of its time on the corpus).
   */
  inflight: Task[];
  /** Time limit of inflight[0], armed when it starts running. */
  timer: NodeJS.Timeout | null;
  exited: boolean;
  stopping?: boolean;
  /** Replaced after a timeout; its exit needs no action. */
  abandoned?: boolean;
  onExit?: () => void;
}

type FromWorker = { ready: true } | { id: string; summary: FileSummary } | { id: string; json: string } | { id: string; fail: string } | { fatal: string };

const MAX_START_FAILURES = 3;
/** Tasks sent ahead to each worker. */
const PIPELINE_DEPTH = 2;

class WorkerPool implements AnalyzerPool {
  readonly size: number;
  private readonly cfg: AnalyzerConfig;
  private readonly script: string;
  private readonly timeoutMs: number;
  private readonly maxHeld: number;
  private readonly heapMb: number;
  private slots: Slot[] = [];
  private tasks = new Map<string, Task>();
  private high = new Fifo<Task>();
  private low = new Fifo<Task>();
  private groups = new Map<string, Set<Task>>();
  private held = 0;
  private closed = false;
  private fatal: Error | null = null;
  private startFailures = 0;
  private st: PoolStats = { analysed: 0, prefetchHits: 0, prefetchWasted: 0, failed: 0, restarts: 0, triaged: 0, triagedChars: 0 };

  constructor(o: PoolOptions) {
    this.size = o.size;
    this.cfg = o.cfg;
    this.script = o.workerScript ?? defaultWorkerScript();
    const envTimeout = Number(process.env.CAP_SCAN_FILE_TIMEOUT_MS);
    this.timeoutMs = o.fileTimeoutMs ?? (Number.isFinite(envTimeout) && envTimeout > 0 ? envTimeout : 30_000);
    this.maxHeld = o.maxHeld ?? 512;
    this.heapMb = o.workerHeapMb ?? 768;
    if (!existsSync(this.script)) throw new Error(`analysis worker script not found: ${this.script} (run the build: npx tsc -p tsconfig.json)`);
  }

  /** Workers start with the first request, so a run with nothing to analyse starts none. */
  private ensureStarted() {
    if (this.slots.length === 0) for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, {
      workerData: { cfg: this.cfg },
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false, inflight: [], timer: null, exited: false };
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', () => {
      // the 'exit' event follows; the running task is failed there
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker) {
    if (this.closed) {
      // closing: a worker that finished starting or its last task leaves on its own
      if ('ready' in m) slot.ready = true;
      else if ('id' in m && slot.inflight[0]?.key === m.id) slot.inflight.shift();
      this.stopIfIdle(slot);
      return;
    }
    if ('ready' in m) {
      slot.ready = true;
      this.startFailures = 0;
      this.pump();
      return;
    }
    if ('fatal' in m) {
      this.fail(new Error(`analysis worker failed to start: ${m.fatal}`));
      return;
    }
    const task = slot.inflight[0];
    if (!task || task.key !== m.id) return;
    slot.inflight.shift();
    this.armTimer(slot);
    this.complete(task, 'json' in m ? (JSON.parse(m.json) as FileSummary) : 'summary' in m ? m.summary : failedSummary(m.fail));
    this.pump();
  }

  /** Put a fresh worker in a slot's place (the old one is on its way out). */
  private replace(slot: Slot) {
    const idx = this.slots.indexOf(slot);
    if (idx < 0 || this.closed) return;
    slot.abandoned = true;
    this.st.restarts++;
    this.slots[idx] = this.spawn();
  }

  private onExit(slot: Slot, code: number) {
    slot.exited = true;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.onExit?.();
    if (this.closed || slot.abandoned) return;
    const idx = this.slots.indexOf(slot);
    const task = slot.inflight.shift() ?? null;
    this.requeue(slot);
    if (!slot.ready && !task) {
      // died while starting (could not load tree-sitter, bad script…)
      if (++this.startFailures >= MAX_START_FAILURES) {
        this.fail(new Error(`analysis worker exited with code ${code} while starting (${this.script})`));
        return;
      }
    }
    if (task) this.complete(task, tokenRetry(task.abs, this.cfg, task.opts, `analysis-crashed (worker exit code ${code})`));
    this.st.restarts++;
    if (idx >= 0) this.slots[idx] = this.spawn();
    this.pump();
  }

  /** Tasks a worker will not answer (it crashed or was given up on) go back to their queue. */
  private requeue(slot: Slot) {
    for (const t of slot.inflight.splice(0)) {
      if (t.state !== 'running') continue; // dropped meanwhile
      t.state = 'queued';
      (t.wanted ? this.high : this.low).push(t);
    }
  }

  /** (Re)start the time limit for the task the worker is now running. */
  private armTimer(slot: Slot) {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const head = slot.inflight[0];
    if (!head) return;
    slot.timer = setTimeout(() => {
      // stuck on this file: replace the worker; onExit fails the task
      slot.timer = null;
      slot.stopping = true; // no new task for this worker
      const t = slot.inflight.shift();
      this.requeue(slot);
      if (t) this.complete(t, tokenRetry(t.abs, this.cfg, t.opts, `analysis-timeout (over ${Math.round(this.timeoutMs / 1000)} s)`));
      // A thread stuck in native parser code only stops when that call returns: replace it now, and do not
      // let it keep the process alive.
      slot.worker.unref();
      void slot.worker.terminate();
      this.replace(slot);
      this.pump();
    }, this.timeoutMs);
  }

  private complete(task: Task, summary: FileSummary) {
    this.st.analysed++;
    if (summary.problems.some((p) => isFailure(p.reason))) this.st.failed++;
    countTriaged(this.st, summary);
    if (task.state === 'dropped') return;
    if (task.waiters.length > 0) {
      this.forget(task);
      task.state = 'done';
      for (const w of task.waiters) w.resolve(summary);
      task.waiters = [];
      return;
    }
    task.state = 'done';
    task.result = summary;
    this.held++;
  }

  private forget(task: Task) {
    if (this.tasks.get(task.key) === task) this.tasks.delete(task.key);
    if (task.group !== null) this.groups.get(task.group)?.delete(task);
  }

  private fail(err: Error) {
    if (this.fatal) return;
    this.fatal = err;
    for (const t of this.tasks.values()) {
      for (const w of t.waiters) w.reject(err);
      t.waiters = [];
    }
    this.tasks.clear();
    void this.close();
  }

  private next(): Task | undefined {
    for (;;) {
      const t = this.high.shift();
      if (!t) break;
      if (t.state === 'queued') return t;
    }
    while (this.held < this.maxHeld) {
      const t = this.low.shift();
      if (!t) break;
      if (t.state === 'queued') return t;
    }
    return undefined;
  }

  private pump() {
    if (this.closed) return;
    // fill every worker's first place before any second one, so an idle worker gets the next task
    for (let depth = 1; depth <= PIPELINE_DEPTH; depth++) {
      for (const slot of this.slots) {
        if (!slot.ready || slot.inflight.length >= depth || slot.exited || slot.stopping) continue;
        const task = this.next();
        if (!task) return;
        task.state = 'running';
        slot.inflight.push(task);
        if (slot.inflight.length === 1) this.armTimer(slot);
        slot.worker.postMessage({ id: task.key, abs: task.abs, opts: task.opts });
      }
    }
  }

  analyze(abs: string, opts: FileOptions): Promise<FileSummary> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new Error('analysis pool is closed'));
    const key = `${abs}\0${optionsKey(opts)}`;
    const existing = this.tasks.get(key);
    if (existing) {
      this.st.prefetchHits++;
      if (existing.state === 'done') {
        this.held--;
        this.forget(existing);
        const r = existing.result!;
        existing.result = null;
        return Promise.resolve(r);
      }
      return new Promise((resolve, reject) => {
        existing.waiters.push({ resolve, reject });
        if (!existing.wanted && existing.state === 'queued') {
          existing.wanted = true;
          this.high.push(existing); // promoted; the stale low-queue entry is skipped when it runs
          this.pump();
        }
        existing.wanted = true;
      });
    }
    return new Promise((resolve, reject) => {
      const task: Task = { key, abs, opts, state: 'queued', wanted: true, waiters: [{ resolve, reject }], result: null, group: null };
      this.tasks.set(key, task);
      this.high.push(task);
      this.ensureStarted();
      this.pump();
    });
  }

  prefetch(abs: string, opts: FileOptions, group: string): void {
    if (this.closed || this.fatal) return;
    const key = `${abs}\0${optionsKey(opts)}`;
    if (this.tasks.has(key)) return;
    const task: Task = { key, abs, opts, state: 'queued', wanted: false, waiters: [], result: null, group };
    this.tasks.set(key, task);
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Set()));
    g.add(task);
    this.low.push(task);
    this.ensureStarted();
    this.pump();
  }

  dropGroup(group: string): void {
    const g = this.groups.get(group);
    if (!g) return;
    this.groups.delete(group);
    for (const t of g) {
      if (t.waiters.length > 0) {
        t.group = null;
        continue;
      }
      if (t.state === 'done') {
        this.held--;
        this.st.prefetchWasted++;
      } else if (t.state === 'running') {
        this.st.prefetchWasted++;
      }
      if (this.tasks.get(t.key) === t) this.tasks.delete(t.key);
      t.state = t.state === 'running' ? 'dropped' : 'dropped';
      t.result = null;
    }
    this.pump();
  }

  stats(): PoolStats {
    return { ...this.st };
  }

  private stopIfIdle(slot: Slot) {
    if (slot.exited || slot.stopping || !slot.ready || slot.inflight.length > 0) return;
    slot.stopping = true;
    slot.worker.postMessage({ stop: true });
  }

  /**
   * Stop the workers. Each leaves on its own once started and idle (terminating a thread in the middle
   * of loading or calling the native parser can abort the process); a worker still busy after a grace
   * period is terminated.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = this.fatal ?? new Error('analysis pool is closed');
    for (const t of this.tasks.values()) for (const w of t.waiters) w.reject(err);
    this.tasks.clear();
    this.groups.clear();
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.exited) return resolve();
            if (slot.timer) clearTimeout(slot.timer);
            slot.timer = null;
            const grace = setTimeout(() => void slot.worker.terminate(), 10_000);
            slot.onExit = () => {
              clearTimeout(grace);
              resolve();
            };
            this.stopIfIdle(slot);
          }),
      ),
    );
  }
}
