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
import { MAX_CRATE_FILE_BYTES, readRegularText } from '../util/fs-safe.js';
import type { BatchJobData } from './jobs.js';

/** One stored result: exactly the crates and unscanned entries `cap-scan crate DIR --format json` prints. */
export interface StoredResult {
  /** Format of the entry (bumped on an incompatible change). */
  entry: 1;
  id: string;
  job: BatchJobData;
  /** `crate --format json`'s `crates` (normally one). */
  crates: Record<string, unknown>[];
  unscanned: Record<string, unknown>[];
  /**
   * ISSUE 14 HOOK: the crate's export table (src/link/), for the report's cross-crate linking step.
   * Null until the link work lands: `exportTableOf` in src/batch/link.ts returns null today.
   */
  exportTable: unknown;
}

export interface ResultStore {
  readonly kind: 'dir' | 'redis';
  put(r: StoredResult): Promise<void>;
  /** Every stored entry, sorted by id (deterministic). */
  all(): Promise<StoredResult[]>;
}

/** A job id as a file name: `name@version` (+`-` and the checksum); names and versions are checked safe. */
export function resultFileName(id: string): string {
  const safe = id.replace('#', '-');
  if (!/^[A-Za-z0-9_.+@-]+$/.test(safe) || safe.startsWith('.')) throw new UserError(`job id ${JSON.stringify(id)} cannot name a result file`);
  return `${safe}.json`;
}

function parseEntry(text: string, where: string): StoredResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UserError(`${where}: result entry is not valid JSON`);
  }
  const r = v as Partial<StoredResult> | null;
  if (!r || r.entry !== 1 || typeof r.id !== 'string' || !Array.isArray(r.crates) || !Array.isArray(r.unscanned) || typeof r.job !== 'object') {
    throw new UserError(`${where}: not a cap-scan batch result entry`);
  }
  return r as StoredResult;
}

export function dirStore(dir: string): ResultStore {
  const root = path.resolve(dir);
  return {
    kind: 'dir',
    async put(r) {
      await mkdir(root, { recursive: true });
      const file = path.join(root, resultFileName(r.id));
      const tmp = path.join(root, `.${resultFileName(r.id)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await writeFile(tmp, `${JSON.stringify(r)}\n`, { flag: 'wx' });
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    },
    async all() {
      let names: string[];
      try {
        names = (await readdir(root)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort(cmp);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new UserError(`--results ${dir}: cannot read the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const out: StoredResult[] = [];
      for (const n of names) {
        const file = path.join(root, n);
        out.push(parseEntry(await readRegularText(file, { maxBytes: MAX_CRATE_FILE_BYTES }), file));
      }
      return out.sort((a, b) => cmp(a.id, b.id));
    },
  };
}

/** The Redis hash holding the results of queue `name` (under BullMQ's default `bull` prefix). */
export function resultsKey(queueName: string): string {
  return `bull:${queueName}:cap-scan-results`;
}

export function redisStore(client: Redis, queueName: string): ResultStore {
  const key = resultsKey(queueName);
  return {
    kind: 'redis',
    async put(r) {
      await client.hset(key, r.id, JSON.stringify(r));
    },
    async all() {
      const out: StoredResult[] = [];
      let cursor = '0';
      // HSCAN in pages: a registry-sized hash is never fetched in one reply
      do {
        const [next, flat] = await client.hscan(key, cursor, 'COUNT', 500);
        for (let i = 0; i + 1 < flat.length; i += 2) out.push(parseEntry(flat[i + 1]!, `redis ${key} ${flat[i]}`));
        cursor = next;
      } while (cursor !== '0');
      const byId = new Map(out.map((r) => [r.id, r]));
      return [...byId.values()].sort((a, b) => cmp(a.id, b.id));
    },
  };
}
