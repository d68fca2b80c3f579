// Content-addressed cache of unpacked crate sources:
//   <cache>/src/<sha256 of the .crate>/<name>-<version>/
// A crate is unpacked into <cache>/tmp/<random>/ and that directory is renamed to <cache>/src/<sha256>
// in one step, so a crate directory either exists complete or not at all; two processes racing on the
// same crate both succeed (the loser of the rename uses the winner's copy).

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../types.js';
import { unpackCrate, type UnpackLimits } from './unpack.js';
import { traceType } from '../util/fs-trace.js';

const SHA256_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const VERSION_RE = /^[0-9A-Za-z.+-]{1,128}$/;

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Crate names and versions become path components: accept only what cargo accepts. */
export function assertSafeNameVersion(name: string, version: string): void {
  if (!NAME_RE.test(name)) throw new UserError(`invalid crate name ${JSON.stringify(name)}`);
  if (!VERSION_RE.test(version) || version.startsWith('.')) {
    throw new UserError(`invalid version ${JSON.stringify(version)} for crate ${name}`);
  }
}

export function isSha256(s: string | null | undefined): s is string {
  return typeof s === 'string' && SHA256_RE.test(s);
}

export class ChecksumMismatchError extends UserError {
  constructor(
    readonly crate: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`checksum mismatch for ${crate}: Cargo.lock has ${expected}, the downloaded .crate is ${actual}`);
    this.name = 'ChecksumMismatchError';
  }
}

async function isDir(p: string): Promise<boolean> {
  traceType(p);
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export class SourceCache {
  constructor(readonly root: string) {}

  /** Where a crate with this checksum lives once unpacked. */
  crateDir(checksum: string, name: string, version: string): string {
    if (!isSha256(checksum)) throw new UserError(`invalid sha256 checksum ${JSON.stringify(checksum)} for ${name} ${version}`);
    assertSafeNameVersion(name, version);
    return path.join(this.root, 'src', checksum, `${name}-${version}`);
  }

  /** The unpacked directory if it is already cached (no I/O beyond one stat). */
  async lookup(checksum: string, name: string, version: string): Promise<string | null> {
    const dir = this.crateDir(checksum, name, version);
    return (await isDir(dir)) ? dir : null;
  }

  /**
   * Verify `data` (a .crate) against `expected` (when given), unpack it defensively and publish it in
   * the cache. Returns the crate directory. Without `expected`, the data's own sha256 is the key (the
   * caller decides whether unverified crates are acceptable).
   * Nothing is left in the cache when verification or unpacking fails.
   */
  async install(
    data: Buffer,
    opts: { name: string; version: string; expected: string | null; limits?: Partial<UnpackLimits> },
  ): Promise<string> {
    const { name, version } = opts;
    assertSafeNameVersion(name, version);
    const actual = sha256Hex(data);
    if (opts.expected !== null && opts.expected !== actual) {
      throw new ChecksumMismatchError(`${name} ${version}`, opts.expected, actual);
    }
    const finalDir = this.crateDir(actual, name, version);
    if (await isDir(finalDir)) return finalDir;
    const tmpRoot = path.join(this.root, 'tmp');
    await mkdir(tmpRoot, { recursive: true });
    await mkdir(path.join(this.root, 'src'), { recursive: true });
    const tmp = await mkdtemp(path.join(tmpRoot, `${name}-${version}-`));
    try {
      await unpackCrate(data, { name, version, destParent: tmp, limits: opts.limits });
      try {
        await rename(tmp, path.dirname(finalDir));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Another process published the same content first: use theirs.
        if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await isDir(finalDir))) return finalDir;
        throw err;
      }
      return finalDir;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
