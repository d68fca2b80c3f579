// Bounded reads of regular files only. Every file cap-scan reads is hostile input (a crate's sources, its
// manifest, an include_bytes! target) or may be (the user's Cargo.toml and Cargo.lock): a FIFO would block
// a plain read forever, `/dev/zero` never ends, a socket or a device can do anything on open. So:
//
// 1. stat the path (following symlinks) and refuse anything but a regular file before opening it, so a
//    device is never opened in the ordinary case;
// 2. open with O_NONBLOCK (a FIFO swapped in after the stat opens at once instead of waiting for a
//    writer) and O_NOCTTY, fstat the opened descriptor and refuse anything but a regular file — this
//    check is on what was opened, so no swap between check and read gets past it;
// 3. refuse a size over the caller's limit before reading, then read at most the fstat size (a file that
//    grows meanwhile is read as it was; /proc files, which report size 0, read as empty);
// 4. refuse paths that resolve into /dev, /proc or /sys (a regular file there is still not source code).
//
// Inside a traced project load (util/fs-trace.ts) the path's fingerprint is recorded before it is read:
// the workspace cache entry is keyed on what the load read.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import { traceStat } from './fs-trace.js';

/** Largest Cargo.toml, Cargo.lock or cargo config read (bytes); bigger ones are refused before parsing. */
export const MAX_TOML_BYTES = 32 * 1024 * 1024;

/** Largest `.crate` tarball read from disk (cargo's own limit on the unpacked size is 512 MiB). */
export const MAX_CRATE_FILE_BYTES = 512 * 1024 * 1024;

export type FileKind = 'file' | 'directory' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'symlink' | 'unknown';

export function fileKind(st: fs.Stats): FileKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isSymbolicLink()) return 'symlink';
  return 'unknown';
}

/** A path that is not a regular file (or resolves into /dev, /proc, /sys). `reason` is the unanalyzed text. */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  readonly reason: string;
  constructor(
    readonly path: string,
    /** File kind, or the special directory (`/dev`) a regular file was found in. */
    readonly kind: string,
  ) {
    super(`${path}: not a regular file (${kind})`);
    this.name = 'NotRegularFileError';
    this.reason = `not-a-regular-file (${kind})`;
  }
}

/** A file over the caller's size limit. */
export class FileTooLargeError extends Error {
  readonly code = 'EFBIG';
  readonly reason: string;
  constructor(
    readonly path: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${path}: ${size} bytes, over the ${formatBytes(limit)} limit`);
    this.name = 'FileTooLargeError';
    this.reason = `file-too-large (${size} bytes)`;
  }
}

export function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);
const SPECIAL_DIRS = ['/dev', '/proc', '/sys'];

function specialDir(real: string): string | null {
  for (const d of SPECIAL_DIRS) if (real === d || real.startsWith(d + '/')) return d;
  return null;
}

function checkStat(path: string, st: fs.Stats): void {
  if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
}

function checkSpecialSync(path: string): void {
  if (process.platform === 'win32') return;
  let real: string;
  try {
    real = fs.realpathSync.native(path);
  } catch {
    return; // the open reports it
  }
  const d = specialDir(real);
  if (d) throw new NotRegularFileError(path, `in ${d}`);
}

async function checkSpecial(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  let real: string;
  try {
    real = await fsp.realpath(path);
  } catch {
    return;
  }
  const d = specialDir(real);
  if (d) throw new NotRegularFileError(path, `in ${d}`);
}

export interface ReadLimit {
  /** Refuse files larger than this (bytes); default: no limit beyond memory. */
  maxBytes?: number;
}

/**
 * Reads a regular file (see the module comment). Throws NotRegularFileError, FileTooLargeError, or the
 * ordinary fs errors (ENOENT, EACCES, …) unchanged.
 */
export function readRegularFileSync(path: string, limit: ReadLimit = {}): Buffer {
  return withRegularFd(path, (fd, st) => {
    if (limit.maxBytes !== undefined && st.size > limit.maxBytes) throw new FileTooLargeError(path, st.size, limit.maxBytes);
    return readInto(fd, Buffer.allocUnsafe(st.size));
  });
}

/**
 * Opens a regular file (stat, special-directory check, open without blocking, fstat of the open file, so
 * a file swapped in between is refused too), runs `use` on the descriptor and closes it.
 */
function withRegularFd<T>(path: string, use: (fd: number, st: fs.Stats) => T): T {
  traceStat(path);
  checkStat(path, fs.statSync(path));
  checkSpecialSync(path);
  const fd = fs.openSync(path, OPEN_FLAGS);
  try {
    const st = fs.fstatSync(fd);
    checkStat(path, st);
    return use(fd, st);
  } finally {
    fs.closeSync(fd);
  }
}

/** Fills `buf` from the start of the file (less at end of file); the bytes read. */
function readInto(fd: number, buf: Buffer): Buffer {
  let off = 0;
  while (off < buf.length) {
    const n = fs.readSync(fd, buf, off, buf.length - off, off);
    if (n === 0) break;
    off += n;
  }
  return off === buf.length ? buf : buf.subarray(0, off);
}

/** Async readRegularFileSync. */
export async function readRegularFile(path: string, limit: ReadLimit = {}): Promise<Buffer> {
  traceStat(path);
  checkStat(path, await fsp.stat(path));
  await checkSpecial(path);
  const fh = await fsp.open(path, OPEN_FLAGS);
  try {
    const st = await fh.stat();
    checkStat(path, st);
    if (limit.maxBytes !== undefined && st.size > limit.maxBytes) throw new FileTooLargeError(path, st.size, limit.maxBytes);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === buf.length ? buf : buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

/** readRegularFile as UTF-8 text. */
export async function readRegularText(path: string, limit: ReadLimit = {}): Promise<string> {
  return (await readRegularFile(path, limit)).toString('utf8');
}

/** The first `bytes` bytes of a regular file (fewer when it is shorter). */
export function readHeadSync(path: string, bytes: number): Buffer {
  return withRegularFd(path, (fd, st) => readInto(fd, Buffer.alloc(Math.min(bytes, st.size))));
}

const HASH_CHUNK = 1024 * 1024;

/**
 * Feeds a regular file's bytes into `hash` in chunks (memory bounded whatever the size) and returns the
 * number of bytes hashed (at most the fstat size).
 */
export function hashRegularFileSync(path: string, hash: Hash): number {
  return withRegularFd(path, (fd, st) => {
    const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(st.size, 1)));
    let off = 0;
    while (off < st.size) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, st.size - off), off);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      off += n;
    }
    return off;
  });
}

/** `refused: …` for a read refused by kind or size (the tail of a one-line error), else null. */
export function refusal(e: unknown): string | null {
  if (e instanceof NotRegularFileError) return `refused: not a regular file (${e.kind})`;
  if (e instanceof FileTooLargeError) return `refused: ${e.size} bytes, over the ${formatBytes(e.limit)} limit`;
  return null;
}

/** The one-line reason a read failed, for `unanalyzed` entries. */
export function readFailureReason(e: unknown): string {
  if (e instanceof NotRegularFileError || e instanceof FileTooLargeError) return e.reason;
  return `read-failed (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
}
