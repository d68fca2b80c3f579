// The file-system facts a workspace scan's result rests on, for the workspace cache entry
// (scan/workspace-cache.ts). While the project is loaded and its sources are located, every check the
// loader and the source providers make is recorded here as a fact, valued just BEFORE the access it
// describes: a file's stat fingerprint (dev, ino, mode, uid, gid, size, mtime and ctime in ns, as git's
// index keeps them) when its bytes are read, a path's type when only its existence or kind matters, a
// directory's entry names, a symlink resolution. A content-keyed crate is one `tree` fact: the names and
// fingerprints of everything its content hash covers. A later run re-evaluates every fact and uses the
// stored result only when all are unchanged.
//
// Recording is ambient (AsyncLocalStorage): the reads are spread over a dozen helpers of project/ and
// sources/ that know nothing of the cache. Outside `withTrace` every trace function only does the access.

import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { sep } from 'node:path';

/**
 * stat: fingerprint of a file whose bytes count (follows symlinks); type / ltype: what a path is,
 * following symlinks or not; list: a directory's entries (names and kinds); real: a symlink resolution;
 * tree: a content-keyed crate directory.
 */
export type FactKind = 'stat' | 'type' | 'ltype' | 'list' | 'real' | 'tree';
export type Fact = [kind: FactKind, path: string, value: string];

/** Top-level directories a crate's content hash leaves out (build output, VCS data): the tree fact too. */
export const SKIP_TOP = new Set(['target', '.git']);

/** A fact's value, with the newest file time it rests on (see WorkspaceRecorder's "racily clean" rule). */
export interface Evaluated {
  value: string;
  /** The newest mtime or ctime among the fingerprints (ms), widened for coarse file systems; -1 when none. */
  newest: number;
}

const NONE = -1;
/** Timestamps with no sub-second part come from a file system that keeps whole (FAT: even) seconds. */
const COARSE_MS = 2000;

function missing(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : `error:${code ?? 'unknown'}`;
}

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'other';
}

function newestOf(st: fs.Stats): number {
  const t = st.mtimeMs > st.ctimeMs ? st.mtimeMs : st.ctimeMs;
  return st.mtimeMs % 1000 === 0 && st.ctimeMs % 1000 === 0 ? t + COARSE_MS : t;
}

/**
 * What git's index keeps of a file: device, inode, mode (type and permissions), owner, size, and the
 * modification and change times. Times are ms as doubles (a quarter of a microsecond at today's dates):
 * two writes within one of those have the same time on every file system clock anyway.
 */
function fingerprint(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.mode}:${st.uid}:${st.gid}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function statOf(path: string, follow: boolean): fs.Stats | string {
  try {
    return (follow ? fs.statSync(path, { throwIfNoEntry: false }) : fs.lstatSync(path, { throwIfNoEntry: false })) ?? 'absent';
  } catch (e) {
    return missing(e);
  }
}

function sortedEntries(dir: string): fs.Dirent[] | string {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    return missing(e);
  }
}

/** A directory's entries by name; an absent directory is a value, not an exception (most listed ones are). */
function listing(dir: string): fs.Dirent[] | string {
  const st = statOf(dir, true);
  if (typeof st === 'string') return st;
  return st.isDirectory() ? sortedEntries(dir) : 'not-a-directory';
}

/**
 * Bound on the entries of one tree fact, as on a crate's content hash (result-cache.ts MAX_HASHED_FILES):
 * a bigger crate is never cached, so it never needs a fact.
 */
export const MAX_TREE_ENTRIES = 50_000;

/**
 * Names and kinds of everything in a crate directory, and the fingerprint of everything but directories
 * (whose times change with every temporary file made in them: their names are the fact), in content-hash
 * order, without top-level target/ and .git/. The fingerprints are hashed as the doubles they are (no
 * number is printed: a third of the time on the real workspace's 2,400 files).
 */
function tree(root: string): Evaluated {
  // names end in `/` for a directory and are separated by NUL, which no name holds
  const names: string[] = [];
  const numbers: number[] = [];
  let newest = NONE;
  let total = 0;
  const walk = (abs: string, rel: string): string | null => {
    // below the root, a directory is one by its entry's kind: listed without a stat of its own
    const list = rel === '' ? listing(abs) : sortedEntries(abs);
    if (typeof list === 'string') return `${rel}:${list}`;
    for (const e of list) {
      if (rel === '' && SKIP_TOP.has(e.name)) continue;
      if (++total > MAX_TREE_ENTRIES) return 'too-many';
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const p = `${abs}${sep}${e.name}`;
      if (e.isDirectory()) {
        names.push(`${r}/`);
        const bad = walk(p, r);
        if (bad !== null) return bad;
        continue;
      }
      const st = statOf(p, false);
      if (typeof st === 'string') return `${r}:${st}`;
      const t = newestOf(st);
      if (t > newest) newest = t;
      names.push(r);
      numbers.push(st.dev, st.ino, st.mode, st.uid, st.gid, st.size, st.mtimeMs, st.ctimeMs);
    }
    return null;
  };
  const bad = walk(root, '');
  return { value: bad ?? createHash('sha256').update(names.join('\0')).update(new Float64Array(numbers)).digest('hex'), newest };
}

/** A fact's value now. */
export function evaluate(kind: FactKind, path: string): Evaluated {
  switch (kind) {
    case 'stat': {
      const st = statOf(path, true);
      return typeof st === 'string' ? { value: st, newest: NONE } : { value: `${kindOf(st)}:${fingerprint(st)}`, newest: newestOf(st) };
    }
    case 'type':
    case 'ltype': {
      const st = statOf(path, kind === 'type');
      return { value: typeof st === 'string' ? st : kindOf(st), newest: NONE };
    }
    case 'list': {
      const list = listing(path);
      return { value: typeof list === 'string' ? list : createHash('sha256').update(list.map((e) => `${e.name}\0${kindOf(e)}`).join('\n')).digest('hex'), newest: NONE };
    }
    case 'real':
      try {
        return { value: fs.realpathSync.native(path), newest: NONE };
      } catch (e) {
        return { value: missing(e), newest: NONE };
      }
    case 'tree':
      return tree(path);
  }
}

/** What one traced scan read. */
export class FsTrace {
  private readonly recorded = new Map<string, Fact>();
  private readonly read = new Set<string>();
  /** Set when the result rests on something no fact describes (the network, a crate too big to fingerprint). */
  untraceable: string | null = null;

  /** Records a fact valued now (the first value of a kind and path stays). */
  note(kind: FactKind, path: string): void {
    const k = `${kind}\0${path}`;
    if (!this.recorded.has(k)) this.recorded.set(k, [kind, path, evaluate(kind, path).value]);
  }

  /** Records a fact with the value the caller itself observed. */
  keep(kind: FactKind, path: string, value: string): void {
    const k = `${kind}\0${path}`;
    if (!this.recorded.has(k)) this.recorded.set(k, [kind, path, value]);
  }

  /** A file whose bytes, not only its fingerprint, key the entry (Cargo.lock, manifests, cargo config). */
  content(path: string): void {
    this.read.add(path);
  }

  facts(): Fact[] {
    return [...this.recorded.values()];
  }

  contentPaths(): string[] {
    return [...this.read].sort();
  }

  /** The result rests on something no fact describes: no workspace entry for this run. */
  refuse(reason: string): void {
    this.untraceable ??= reason;
  }
}

const current = new AsyncLocalStorage<FsTrace>();

/** Runs `fn` with every trace function below recording into `trace`. */
export function withTrace<T>(trace: FsTrace, fn: () => Promise<T>): Promise<T> {
  return current.run(trace, fn);
}

/** The trace of the running traced call, if any. */
export function activeTrace(): FsTrace | undefined {
  return current.getStore();
}

/** Before reading a file's bytes. */
export function traceStat(path: string): void {
  current.getStore()?.note('stat', path);
}

/** Before a check of what a path is (exists, is a file, is a directory), following symlinks or not. */
export function traceType(path: string, follow = true): void {
  current.getStore()?.note(follow ? 'type' : 'ltype', path);
}

/** Before listing a directory. */
export function traceList(dir: string): void {
  current.getStore()?.note('list', dir);
}

/** The result rests on something no fact describes (a download): the run stores no workspace entry. */
export function traceRefuse(reason: string): void {
  current.getStore()?.refuse(reason);
}

/** A file whose bytes key the workspace entry. */
export function traceContent(path: string): void {
  current.getStore()?.content(path);
}

/** realpathSync.native, recorded with the value returned (or the error thrown), so both are the same. */
export function realpathTraced(path: string, trace: FsTrace | undefined = current.getStore()): string {
  try {
    const real = fs.realpathSync.native(path);
    trace?.keep('real', path, real);
    return real;
  } catch (e) {
    trace?.keep('real', path, missing(e));
    throw e;
  }
}
