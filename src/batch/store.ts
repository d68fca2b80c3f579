// Where `batch worker` keeps each crate's result and `batch report` reads them back: a directory
// (`--results DIR`, one file per job, written atomically: a temporary file renamed into place, so a
// reader never sees half an entry and two workers finishing the same job leave one whole file), or
// Redis itself (a hash next to the queue's keys).

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { UserError } from '../types.js';
import { cmp } from '../util/compare.js';
import { MAX_CRATE_FILE_BYTES, readHeadSync, readRegularText } from '../util/fs-safe.js';
import { exportTableHash, isExportTable, type ExportTable } from '../link/exports.js';
import { MIN_KEY_LENGTH, openEntry, sealEntry, type SealKind } from '../scan/remote-cache.js';
import type { BatchJobData } from './jobs.js';

/** A dependency the crate was linked against: code name, the dependency's job id, its export table's hash. */
export type LinkedDep = [codeName: string, id: string, tableHash: string];

/** One stored result: the crates and unscanned entries `cap-scan crate DIR --format json` prints, linked. */
export interface StoredResult {
  /** Format of the entry (bumped on an incompatible change; 1: unlinked, unsigned). */
  entry: 2;
  id: string;
  job: BatchJobData;
  /** `crate --format json`'s `crates` (normally one). */
  crates: Record<string, unknown>[];
  unscanned: Record<string, unknown>[];
  /** The name dependents' code uses for the crate when they do not rename it (its lib name, `-` → `_`). */
  lib: string;
  /** The crate's export table (src/link/exports.ts), for its dependents; null without a library target. */
  exportTable: ExportTable | null;
  /** Its hash (exportTableHash; `none` without a table), what dependents record in `linked`. */
  exportTableHash: string;
  /** The dependencies whose tables the scan resolved through (the job's `deps` that had a result), sorted. */
  linked: LinkedDep[];
  /** The job's dependencies that were not linked, and why (their job failed, or is not on the queue). */
  unlinked: { id: string; reason: string }[];
}

/** A stored entry that is not trusted (not signed, signed with another key, edited, malformed), and why. */
export interface RejectedEntry {
  id: string;
  reason: string;
}

export interface ResultStore {
  readonly kind: 'dir' | 'redis';
  /** Signs and stores an entry (throws without a key: an unsigned entry would never be trusted). */
  put(r: StoredResult): Promise<void>;
  /** One entry by job id: verified, rejected with the reason, or null when there is none. */
  get(id: string): Promise<StoredResult | RejectedEntry | null>;
  /** Every stored entry, verified ones and rejected ones, each sorted by id (deterministic). */
  all(): Promise<{ entries: StoredResult[]; rejected: RejectedEntry[] }>;
}

/** Batch results are sealed like remote cache entries, as their own kind (one never verifies as the other). */
export const BATCH_ENTRY: SealKind = { magic: 'cap-scan-batch 2', domain: 'cap-scan batch result v2\n', what: 'signed cap-scan batch result (v2)' };

/** The HMAC key of batch results (CAP_SCAN_CACHE_KEY), or null when none is set; a short one is a UserError. */
export function batchKey(env: NodeJS.ProcessEnv = process.env): string | null {
  const key = env.CAP_SCAN_CACHE_KEY ?? '';
  if (key === '') return null;
  if (key.length < MIN_KEY_LENGTH) throw new UserError(`CAP_SCAN_CACHE_KEY must be at least ${MIN_KEY_LENGTH} characters (for example: openssl rand -hex 32)`);
  return key;
}

export function isRejected(r: StoredResult | RejectedEntry): r is RejectedEntry {
  return 'reason' in r;
}

/** A job id as a file name: `name@version` (+`-` and the checksum); names and versions are checked safe. */
export function resultFileName(id: string): string {
  const safe = id.replace('#', '-');
  if (!/^[A-Za-z0-9_.+@-]+$/.test(safe) || safe.startsWith('.')) throw new UserError(`job id ${JSON.stringify(id)} cannot name a result file`);
  return `${safe}.json`;
}

/** A stored value: verified against `secret` under `id`, then checked for shape; or why it is not trusted. */
export function openStored(secret: string | null, id: string, text: string): StoredResult | RejectedEntry {
  if (secret === null) return { id, reason: 'CAP_SCAN_CACHE_KEY is not set, so its signature cannot be verified' };
  const opened = openEntry(secret, id, text, BATCH_ENTRY);
  if ('rejected' in opened) return { id, reason: opened.rejected };
  let v: unknown;
  try {
    v = JSON.parse(opened.entry);
  } catch {
    return { id, reason: 'signed, but not valid JSON' };
  }
  const r = v as Partial<StoredResult> | null;
  const ok =
    !!r &&
    r.entry === 2 &&
    r.id === id &&
    typeof r.job === 'object' &&
    r.job !== null &&
    Array.isArray(r.crates) &&
    Array.isArray(r.unscanned) &&
    typeof r.lib === 'string' &&
    (r.exportTable === null || isExportTable(r.exportTable)) &&
    typeof r.exportTableHash === 'string' &&
    Array.isArray(r.linked) &&
    Array.isArray(r.unlinked);
  if (!ok) return { id, reason: 'signed, but not a cap-scan batch result entry for this job' };
  // the table a dependent will resolve through is the one whose hash the entry names
  if (exportTableHash(r.exportTable ?? null) !== r.exportTableHash) return { id, reason: 'signed, but its export table does not have the hash it names' };
  return r as StoredResult;
}

/**
 * Verified entries a store's get() keeps, by id, so that a worker reading libc's result for each of its
 * dependents does not verify and parse megabytes again (227 corpus jobs read 5,199 entries, 593 MB: 11 s).
 * A value whose signature line is the one verified before is that same authentic entry (another body
 * under that MAC would be a forgery), so the kept one is returned. Bounded by the values' total size.
 */
export class VerifiedMemo {
  private readonly kept = new Map<string, { head: string; entry: StoredResult; bytes: number }>();
  private bytes = 0;
  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  /** The entry verified before under this signature line (`cap-scan-batch 2 <hmac>`), if kept. */
  peek(id: string, head: string): StoredResult | undefined {
    const k = this.kept.get(id);
    if (!k || head === '' || k.head !== head) return undefined;
    this.kept.delete(id);
    this.kept.set(id, k); // most recently used last
    return k.entry;
  }

  open(secret: string | null, id: string, text: string): StoredResult | RejectedEntry {
    const head = text.slice(0, Math.max(0, text.indexOf('\n')));
    const seen = this.peek(id, head);
    if (seen) return seen;
    const k = this.kept.get(id);
    const r = openStored(secret, id, text);
    if (k) this.drop(id, k.bytes);
    if (!isRejected(r) && text.length <= this.maxBytes) {
      this.kept.set(id, { head, entry: r, bytes: text.length });
      this.bytes += text.length;
      for (const [old, v] of this.kept) {
        if (this.bytes <= this.maxBytes) break;
        this.drop(old, v.bytes);
      }
    }
    return r;
  }

  private drop(id: string, bytes: number): void {
    this.kept.delete(id);
    this.bytes -= bytes;
  }
}

function sealStored(secret: string | null, r: StoredResult): string {
  if (secret === null) throw new UserError('storing a batch result needs CAP_SCAN_CACHE_KEY (results are signed with it)');
  return sealEntry(secret, r.id, JSON.stringify(r), BATCH_ENTRY);
}

/** Sorted lists of the verified and the rejected entries. */
function split(all: (StoredResult | RejectedEntry)[]): { entries: StoredResult[]; rejected: RejectedEntry[] } {
  const entries: StoredResult[] = [];
  const rejected: RejectedEntry[] = [];
  for (const r of all) (isRejected(r) ? rejected : entries).push(r as never);
  return { entries: entries.sort((a, b) => cmp(a.id, b.id)), rejected: rejected.sort((a, b) => cmp(a.id, b.id)) };
}

/** The job id a result file is named after (resultFileName reversed); null for a name it never gives. */
export function idOfResultFile(name: string): string | null {
  const m = /^(.+?)(?:-([0-9a-f]{64}))?\.json$/.exec(name);
  if (!m || name.startsWith('.')) return null;
  return m[2] ? `${m[1]}#${m[2]}` : m[1]!;
}

/** The first line of a regular file (up to 256 bytes), or '' when there is none (fs-safe: no FIFO, no device). */
function headLine(file: string): string {
  try {
    const text = readHeadSync(file, 256).toString('utf8');
    const nl = text.indexOf('\n');
    return nl < 0 ? '' : text.slice(0, nl);
  } catch {
    return '';
  }
}

/** `--results DIR`: one signed file per job, written atomically. `secret`: CAP_SCAN_CACHE_KEY (null: nothing verifies). */
export function dirStore(dir: string, secret: string | null): ResultStore {
  const root = path.resolve(dir);
  const memo = new VerifiedMemo();
  const read = async (id: string, file: string, open: (id: string, text: string) => StoredResult | RejectedEntry = (i, t) => openStored(secret, i, t)): Promise<StoredResult | RejectedEntry | null> => {
    let text: string;
    try {
      text = await readRegularText(file, { maxBytes: MAX_CRATE_FILE_BYTES });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return { id, reason: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
    // the file ends with the newline put() adds after the sealed entry
    return open(id, text.endsWith('\n') ? text.slice(0, -1) : text);
  };
  return {
    kind: 'dir',
    async put(r) {
      const text = sealStored(secret, r);
      await mkdir(root, { recursive: true });
      const file = path.join(root, resultFileName(r.id));
      const tmp = path.join(root, `.${resultFileName(r.id)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await writeFile(tmp, `${text}\n`, { flag: 'wx' });
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    },
    async get(id) {
      const file = path.join(root, resultFileName(id));
      // the signature line alone tells an entry verified before (no need to read megabytes again)
      const kept = memo.peek(id, headLine(file));
      return kept ?? read(id, file, (i, t) => memo.open(secret, i, t));
    },
    async all() {
      let names: string[];
      try {
        names = (await readdir(root)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort(cmp);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], rejected: [] };
        throw new UserError(`--results ${dir}: cannot read the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const out: (StoredResult | RejectedEntry)[] = [];
      for (const n of names) {
        const id = idOfResultFile(n);
        // a file named after no job id: no entry of ours (listed, never silently taken or dropped)
        const r = id === null ? { id: n, reason: 'not named after a job id' } : await read(id, path.join(root, n));
        if (r) out.push(r);
      }
      return split(out);
    },
  };
}

/** The Redis hash holding the results of queue `name` (under BullMQ's default `bull` prefix). */
export function resultsKey(queueName: string): string {
  return `bull:${queueName}:cap-scan-results`;
}

/** Results in a Redis hash next to the queue (field: job id, value: the signed entry). */
export function redisStore(client: Redis, queueName: string, secret: string | null): ResultStore {
  const key = resultsKey(queueName);
  const memo = new VerifiedMemo();
  return {
    kind: 'redis',
    async put(r) {
      await client.hset(key, r.id, sealStored(secret, r));
    },
    async get(id) {
      const text = await client.hget(key, id);
      return text === null ? null : memo.open(secret, id, text);
    },
    async all() {
      const byId = new Map<string, StoredResult | RejectedEntry>();
      let cursor = '0';
      // HSCAN in pages: a registry-sized hash is never fetched in one reply (a field seen twice counts once)
      do {
        const [next, flat] = await client.hscan(key, cursor, 'COUNT', 500);
        for (let i = 0; i + 1 < flat.length; i += 2) byId.set(flat[i]!, openStored(secret, flat[i]!, flat[i + 1]!));
        cursor = next;
      } while (cursor !== '0');
      return split([...byId.values()]);
    },
  };
}
