// Defensive extraction of `.crate` tarballs (gzip'd tar with a `name-version/` top-level directory).
//
// Every tarball is hostile input. Extraction is done in two passes over the in-memory archive:
//  1. a validation pass (node-tar's Parser, strict) that writes nothing: entry paths, link targets,
//     entry types, the file count and the unpacked size (header sizes *and* bytes actually streamed)
//     are checked, so a bomb or a 200k-file archive is rejected before a single file is created;
//  2. a write pass that creates the entries itself (no node-tar Unpack: we never let it follow links,
//     chmod, chown or set times), under a destination directory the caller owns (a temp dir inside
//     the cache), again counting bytes as they stream.
// A rejection is an UnpackError naming the crate and the reason.

import { createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, realpath, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { UserError } from '../types.js';

export interface UnpackLimits {
  /** Maximum total size of the unpacked files, in bytes (cargo's limit: 512 MiB). */
  maxBytes: number;
  /** Maximum number of entries (files, directories, links). */
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: Readonly<UnpackLimits> = Object.freeze({
  maxBytes: 512 * 1024 * 1024,
  maxEntries: 100_000,
});

/** A tarball that was refused (or could not be read). `reason` is one short phrase. */
export class UnpackError extends UserError {
  constructor(
    readonly crate: string,
    readonly reason: string,
  ) {
    super(`refusing to unpack ${crate}: ${reason}`);
    this.name = 'UnpackError';
  }
}

export interface UnpackResult {
  /** The package directory: `<destParent>/<name>-<version>`. */
  dir: string;
  files: number;
  bytes: number;
  /** Entries skipped on purpose (devices, FIFOs), as archive paths. */
  skipped: string[];
}

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'skip';

interface PlannedEntry {
  kind: Kind;
  /** Path relative to the package root, `/`-separated, normalised; '' for the root itself. */
  rel: string;
  linkTarget?: string;
  executable: boolean;
}

function fmtBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  return `${n} bytes`;
}

function entryKind(type: string): Kind | null {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'dir';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      return 'skip';
    default:
      return null;
  }
}

/**
 * Normalise an archive path: reject absolute paths and `..`, drop `.` and empty segments.
 * Returns the segments, or a rejection reason.
 */
function archiveSegments(p: string): string[] | string {
  if (p.includes('\0')) return `NUL byte in entry path`;
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\')) return `absolute path ${JSON.stringify(p)}`;
  const segs = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) return `path traversal (..) in ${JSON.stringify(p)}`;
  return segs;
}

/** Lexically resolve a symlink target relative to the link's directory; null when it leaves the root. */
function resolveInside(linkRel: string, target: string): string | null {
  if (target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target)) return null;
  const parts = linkRel === '' ? [] : linkRel.split('/');
  parts.pop();
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join('/');
}

/** Feed `data` to a strict node-tar Parser, calling `onEntry` for each entry; resolves at the end. */
function parseArchive(
  data: Buffer,
  crate: string,
  onEntry: (entry: ReadEntry) => void,
): { done: Promise<void>; parser: Parser } {
  const parser = new Parser({
    strict: true,
    // Our own size cap applies (cargo's rule); the ratio heuristic would reject legitimate crates that
    // ship large zero-filled data and give a less precise reason.
    maxDecompressionRatio: Number.POSITIVE_INFINITY,
  });
  const done = new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      reject(err instanceof UnpackError ? err : new UnpackError(crate, describeTarError(err)));
    };
    parser.on('error', fail);
    parser.on('abort', fail);
    parser.on('warn', (code: string, message: string) => fail(new UnpackError(crate, describeTarError({ code, message }))));
    parser.on('entry', (entry: ReadEntry) => {
      if (failed) {
        entry.resume();
        return;
      }
      try {
        onEntry(entry);
      } catch (err) {
        entry.resume();
        fail(err);
        parser.abort(err instanceof Error ? err : new Error(String(err)));
      }
    });
    // cargo (tar-rs) and node-tar both end archives with zero blocks; without one the archive was cut.
    let sawEnd = false;
    parser.on('nullBlock', () => (sawEnd = true));
    parser.on('eof', () => (sawEnd = true));
    parser.on('end', () => {
      if (failed) return;
      if (!sawEnd) fail(new UnpackError(crate, 'truncated tar archive (no end-of-archive marker)'));
      else resolve();
    });
  });
  // Sniffing needs at least a few bytes; an empty input never ends otherwise.
  if (data.length === 0) {
    return { done: Promise.reject(new UnpackError(crate, 'empty archive')), parser };
  }
  void feed(parser, data);
  return { done, parser };
}

/**
 * Write the archive in small slices, honouring backpressure: a compressed slice of a bomb expands
 * ~1000x, so slices are kept small and the decompressed data never piles up in memory.
 */
async function feed(parser: Parser, data: Buffer): Promise<void> {
  const SLICE = 8 * 1024;
  let aborted = false;
  parser.on('abort', () => (aborted = true));
  parser.on('error', () => (aborted = true));
  for (let off = 0; off < data.length && !aborted; off += SLICE) {
    if (!parser.write(data.subarray(off, off + SLICE))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          parser.off('drain', done);
          parser.off('abort', done);
          parser.off('error', done);
          resolve();
        };
        parser.on('drain', done);
        parser.on('abort', done);
        parser.on('error', done);
      });
    }
  }
  if (!aborted) parser.end();
}

function describeTarError(err: unknown): string {
  const e = err as { code?: string; message?: string; errno?: number };
  const msg = String(e?.message ?? err);
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(msg)) return 'truncated or corrupt gzip stream';
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) return `corrupt gzip stream (${msg})`;
  if (/Truncated input/.test(msg)) return 'truncated tar archive';
  if (/Unrecognized archive format/.test(msg)) return 'not a tar archive';
  if (/checksum failure/.test(msg)) return 'corrupt tar header (checksum failure)';
  return msg.replace(/^TAR_[A-Z_]+: /, '');
}

/**
 * Validate the archive without writing anything. Returns the planned entries in archive order.
 */
async function validate(
  data: Buffer,
  crate: string,
  root: string,
  limits: UnpackLimits,
): Promise<{ entries: PlannedEntry[]; bytes: number }> {
  const entries: PlannedEntry[] = [];
  const files = new Set<string>();
  const symlinks = new Set<string>();
  let declared = 0;
  let streamed = 0;
  const reject = (reason: string): never => {
    throw new UnpackError(crate, reason);
  };
  const { done, parser } = parseArchive(data, crate, (entry) => {
    if (entries.length + 1 > limits.maxEntries) reject(`more than ${limits.maxEntries} entries`);
    const kind = entryKind(entry.type);
    if (kind === null) reject(`unsupported entry type ${entry.type} (${JSON.stringify(entry.path)})`);
    const segs = archiveSegments(entry.path);
    if (typeof segs === 'string') reject(segs);
    const s = segs as string[];
    if (s.length === 0 || s[0] !== root) reject(`entry ${JSON.stringify(entry.path)} is outside ${root}/`);
    const rel = s.slice(1).join('/');
    // Never create anything through a link created earlier in the archive.
    for (let i = 1; i < s.length; i++) {
      const prefix = s.slice(1, i).join('/');
      if (prefix !== '' && symlinks.has(prefix)) reject(`entry ${JSON.stringify(entry.path)} goes through symlink ${root}/${prefix}`);
    }
    const planned: PlannedEntry = { kind: kind as Kind, rel, executable: ((entry.mode ?? 0) & 0o111) !== 0 };
    if (kind === 'symlink') {
      const target = entry.linkpath ?? '';
      if (resolveInside(rel, target) === null) reject(`symlink ${JSON.stringify(entry.path)} points outside the package (${target})`);
      planned.linkTarget = target;
      symlinks.add(rel);
    } else if (kind === 'hardlink') {
      const t = archiveSegments(entry.linkpath ?? '');
      const target = entry.linkpath ?? '';
      if (typeof t === 'string' || t.length < 2 || t[0] !== root) {
        reject(`hardlink ${JSON.stringify(entry.path)} points outside the package (${target})`);
      }
      const targetRel = (t as string[]).slice(1).join('/');
      if (!files.has(targetRel)) reject(`hardlink ${JSON.stringify(entry.path)} points to ${target}, which is not a file of the package`);
      planned.linkTarget = targetRel;
      files.add(rel);
    } else if (kind === 'file') {
      files.add(rel);
      symlinks.delete(rel);
    }
    if (rel === '' && kind !== 'dir') reject(`top-level entry ${root} is not a directory`);
    if (kind === 'file') {
      declared += entry.size ?? 0;
      if (declared > limits.maxBytes) reject(`unpacked size exceeds ${fmtBytes(limits.maxBytes)}`);
      entry.on('data', (chunk: Buffer) => {
        streamed += chunk.length;
        if (streamed > limits.maxBytes) {
          parser.abort(new UnpackError(crate, `unpacked size exceeds ${fmtBytes(limits.maxBytes)}`));
        }
      });
    } else {
      entry.resume();
    }
    entries.push(planned);
  });
  await done;
  if (entries.length === 0) throw new UnpackError(crate, 'empty archive');
  return { entries, bytes: Math.max(declared, streamed) };
}

async function isSymlinkOrMissing(p: string): Promise<'symlink' | 'missing' | 'dir' | 'other'> {
  try {
    const st = await lstat(p);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Unpack a `.crate` archive held in memory into `<destParent>/<name>-<version>/`.
 * `destParent` must be a fresh directory owned by the caller (e.g. a temp dir inside the cache):
 * nothing is ever written outside it. On rejection, whatever was written is removed and an UnpackError
 * is thrown.
 */
export async function unpackCrate(
  data: Buffer,
  opts: { name: string; version: string; destParent: string; limits?: Partial<UnpackLimits> },
): Promise<UnpackResult> {
  const limits: UnpackLimits = { ...DEFAULT_UNPACK_LIMITS, ...(opts.limits ?? {}) };
  const root = `${opts.name}-${opts.version}`;
  const crate = `${opts.name} ${opts.version}`;
  const { entries, bytes } = await validate(data, crate, root, limits);

  const pkgDir = path.join(opts.destParent, root);
  const skipped: string[] = [];
  try {
    await mkdir(pkgDir, { recursive: true, mode: 0o755 });
    // Pass 2: write. Files' data comes from a second parse; links are created after all files.
    let index = 0;
    let written = 0;
    let files = 0;
    const madeDirs = new Set<string>(['']);
    const ensureDir = async (rel: string): Promise<void> => {
      if (madeDirs.has(rel)) return;
      const abs = path.join(pkgDir, rel);
      const state = await isSymlinkOrMissing(abs);
      if (state === 'symlink' || state === 'other') throw new UnpackError(crate, `entry ${root}/${rel} conflicts with another entry`);
      await mkdir(abs, { recursive: true, mode: 0o755 });
      madeDirs.add(rel);
    };
    const writeFile = async (plan: PlannedEntry, entry: ReadEntry): Promise<void> => {
      const abs = path.join(pkgDir, plan.rel);
      const parent = path.posix.dirname(plan.rel);
      await ensureDir(parent === '.' ? '' : parent);
      const state = await isSymlinkOrMissing(abs);
      if (state === 'dir') throw new UnpackError(crate, `entry ${root}/${plan.rel} conflicts with a directory`);
      if (state !== 'missing') await unlink(abs); // a later duplicate entry replaces the earlier one
      await new Promise<void>((resolve, reject) => {
        // 'wx' = O_CREAT|O_EXCL: never follows or reuses an existing path.
        const ws = createWriteStream(abs, { flags: 'wx', mode: plan.executable ? 0o755 : 0o644 });
        let stopped = false;
        const stop = (err: unknown): void => {
          if (stopped) return;
          stopped = true;
          entry.resume();
          ws.destroy();
          reject(err);
        };
        ws.on('error', stop);
        ws.on('close', () => {
          if (!stopped) resolve();
        });
        // One listener does both the counting and the writing (with backpressure), so no chunk can
        // reach one and not the other.
        entry.on('data', (chunk: Buffer) => {
          if (stopped) return;
          written += chunk.length;
          if (written > limits.maxBytes) return stop(new UnpackError(crate, `unpacked size exceeds ${fmtBytes(limits.maxBytes)}`));
          if (!ws.write(chunk)) {
            entry.pause();
            ws.once('drain', () => entry.resume());
          }
        });
        entry.on('end', () => {
          if (!stopped) ws.end();
        });
      });
      files++;
    };
    // Directories and files are written in archive order; the parse pauses on each entry until its
    // stream is consumed, so ordering (parents before children) is preserved.
    // A failed step records the error; later entries are drained so the parse always completes.
    let chain: Promise<void> = Promise.resolve();
    let writeErr: unknown = null;
    const step = (entry: ReadEntry, work: () => Promise<void>): void => {
      chain = chain.then(async () => {
        if (writeErr !== null) {
          entry.resume();
          return;
        }
        try {
          await work();
        } catch (err) {
          writeErr = err;
          entry.resume();
        }
      });
    };
    const { done } = parseArchive(data, crate, (entry) => {
      const plan = entries[index++];
      if (!plan) throw new UnpackError(crate, 'archive changed between passes');
      if (plan.kind === 'file') {
        entry.pause();
        step(entry, () => writeFile(plan, entry));
      } else {
        entry.resume();
        if (plan.kind === 'dir') step(entry, () => ensureDir(plan.rel));
        else if (plan.kind === 'skip') skipped.push(plan.rel === '' ? root : `${root}/${plan.rel}`);
      }
    });
    await done;
    await chain;
    if (writeErr !== null) throw writeErr;

    // Links, in archive order, after every file exists.
    for (const plan of entries) {
      if (plan.kind !== 'symlink' && plan.kind !== 'hardlink') continue;
      const abs = path.join(pkgDir, plan.rel);
      const parent = path.posix.dirname(plan.rel);
      await ensureDir(parent === '.' ? '' : parent);
      const state = await isSymlinkOrMissing(abs);
      if (state === 'dir') throw new UnpackError(crate, `entry ${root}/${plan.rel} conflicts with a directory`);
      if (state !== 'missing') await unlink(abs);
      if (plan.kind === 'hardlink') {
        // A copy, not a link: the cache never shares inodes with anything.
        await copyFile(path.join(pkgDir, plan.linkTarget!), abs);
        files++;
      } else {
        await symlink(plan.linkTarget!, abs);
      }
    }
    // Final check on symlinks: resolve them for real (chains of links can escape even when each one
    // stays inside lexically).
    const realRoot = await realpath(pkgDir);
    for (const plan of entries) {
      if (plan.kind !== 'symlink') continue;
      let real: string;
      try {
        real = await realpath(path.join(pkgDir, plan.rel));
      } catch {
        continue; // dangling: points at nothing, harmless
      }
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
        throw new UnpackError(crate, `symlink ${JSON.stringify(`${root}/${plan.rel}`)} points outside the package (${plan.linkTarget})`);
      }
    }
    return { dir: pkgDir, files, bytes: Math.max(bytes, written), skipped };
  } catch (err) {
    await rm(pkgDir, { recursive: true, force: true });
    if (err instanceof UnpackError) throw err;
    throw new UnpackError(crate, `cannot write entry (${(err as Error).message})`);
  }
}
