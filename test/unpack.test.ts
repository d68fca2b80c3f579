// Hostile tarball suite: every archive is refused with a named reason, and nothing is written outside
// the cache (the sentinel directory next to the cache stays empty; the cache keeps no trace either).

import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ChecksumMismatchError, SourceCache, sha256Hex } from '../src/sources/download-cache.js';
import { UnpackError, unpackCrate } from '../src/sources/unpack.js';
import { buildCrate, gz, manyFilesCrate, rawTar, zeroBombCrate, type RawEntry } from './helpers/registry-server.js';

const FIXTURES = path.resolve(__dirname, '../fixtures/registry/crates');

let work: string;
let sentinel: string;
let cacheRoot: string;
let cache: SourceCache;

beforeAll(() => {
  // Short path: hand-written ustar headers hold at most 100 bytes of path.
  work = mkdtempSync(path.join(os.tmpdir(), 'cs-unpack-'));
  sentinel = path.join(work, 'sentinel');
  cacheRoot = path.join(work, 'cache');
  cache = new SourceCache(cacheRoot);
  rmSync(sentinel, { recursive: true, force: true });
  require('node:fs').mkdirSync(sentinel);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function listTree(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
  } catch {
    return [];
  }
}

/** Install through the cache (checksum = the data's own, so only the unpacker can refuse it). */
async function refuse(data: Buffer, name = 'evil', version = '1.0.0'): Promise<string> {
  const err = await cache.install(data, { name, version, expected: sha256Hex(data) }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnpackError);
  expect(listTree(sentinel)).toEqual([]);
  expect(listTree(path.join(cacheRoot, 'src'))).toEqual([]);
  expect(listTree(path.join(cacheRoot, 'tmp'))).toEqual([]);
  return (err as UnpackError).message;
}

const tgz = (entries: RawEntry[]): Buffer => gz(rawTar(entries));
const dir = (p: string): RawEntry => ({ path: p, type: 'dir' });

describe('hostile tarballs are refused, nothing escapes', () => {
  test('../ entry', async () => {
    const msg = await refuse(
      tgz([dir('evil-1.0.0/'), { path: 'evil-1.0.0/../../../../sentinel/pwned', data: 'x' }]),
    );
    expect(msg).toBe('refusing to unpack evil 1.0.0: path traversal (..) in "evil-1.0.0/../../../../sentinel/pwned"');
  });

  test('absolute path', async () => {
    const abs = path.join(sentinel, 'pwned');
    const msg = await refuse(tgz([dir('evil-1.0.0/'), { path: abs, data: 'x' }]));
    expect(msg).toBe(`refusing to unpack evil 1.0.0: absolute path ${JSON.stringify(abs)}`);
  });

  test('symlink to /etc, then a file through it', async () => {
    const msg = await refuse(
      tgz([
        dir('evil-1.0.0/'),
        { path: 'evil-1.0.0/etc', type: 'symlink', linkpath: '/etc' },
        { path: 'evil-1.0.0/etc/pwned', data: 'x' },
      ]),
    );
    expect(msg).toBe('refusing to unpack evil 1.0.0: symlink "evil-1.0.0/etc" points outside the package (/etc)');
  });

  test('relative symlink climbing out', async () => {
    const msg = await refuse(
      tgz([dir('evil-1.0.0/'), { path: 'evil-1.0.0/s', type: 'symlink', linkpath: '../../../sentinel' }]),
    );
    expect(msg).toBe('refusing to unpack evil 1.0.0: symlink "evil-1.0.0/s" points outside the package (../../../sentinel)');
  });

  test('chained symlinks that only escape when resolved for real', async () => {
    // sub/up -> .. (the package root: inside), esc -> sub/up/.. (lexically "sub", really the parent of the root)
    const msg = await refuse(
      tgz([
        dir('evil-1.0.0/'),
        dir('evil-1.0.0/sub/'),
        { path: 'evil-1.0.0/sub/up', type: 'symlink', linkpath: '..' },
        { path: 'evil-1.0.0/esc', type: 'symlink', linkpath: 'sub/up/..' },
      ]),
    );
    expect(msg).toBe('refusing to unpack evil 1.0.0: symlink "evil-1.0.0/esc" points outside the package (sub/up/..)');
  });

  test('entry written through an (inside) symlink', async () => {
    const msg = await refuse(
      tgz([
        dir('evil-1.0.0/'),
        dir('evil-1.0.0/real/'),
        { path: 'evil-1.0.0/l', type: 'symlink', linkpath: 'real' },
        { path: 'evil-1.0.0/l/f', data: 'x' },
      ]),
    );
    expect(msg).toBe('refusing to unpack evil 1.0.0: entry "evil-1.0.0/l/f" goes through symlink evil-1.0.0/l');
  });

  test('hardlink out (absolute and relative)', async () => {
    expect(
      await refuse(tgz([dir('evil-1.0.0/'), { path: 'evil-1.0.0/passwd', type: 'hardlink', linkpath: '/etc/passwd' }])),
    ).toBe('refusing to unpack evil 1.0.0: hardlink "evil-1.0.0/passwd" points outside the package (/etc/passwd)');
    expect(
      await refuse(
        tgz([dir('evil-1.0.0/'), { path: 'evil-1.0.0/h', type: 'hardlink', linkpath: 'evil-1.0.0/../../sentinel/x' }]),
      ),
    ).toBe('refusing to unpack evil 1.0.0: hardlink "evil-1.0.0/h" points outside the package (evil-1.0.0/../../sentinel/x)');
  });

  test('1 GiB zero-filled file (decompression bomb)', async () => {
    const bomb = zeroBombCrate('evil', '1.0.0', 1024 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(4 * 1024 * 1024);
    const t0 = Date.now();
    expect(await refuse(bomb)).toBe('refusing to unpack evil 1.0.0: unpacked size exceeds 512 MiB');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('bytes are counted as they stream, across files (lower cap)', async () => {
    // Two 600-byte files against a 1000-byte cap: each file alone fits.
    const data = tgz([dir('evil-1.0.0/'), { path: 'evil-1.0.0/a', data: 'a'.repeat(600) }, { path: 'evil-1.0.0/b', data: 'b'.repeat(600) }]);
    const dest = mkdtempSync(path.join(work, 'dest-'));
    await expect(unpackCrate(data, { name: 'evil', version: '1.0.0', destParent: dest, limits: { maxBytes: 1000 } })).rejects.toThrow(
      'refusing to unpack evil 1.0.0: unpacked size exceeds 1000 bytes',
    );
    expect(listTree(dest)).toEqual([]);
  });

  test('200k tiny files', async () => {
    const data = manyFilesCrate('evil', '1.0.0', 200_000);
    expect(await refuse(data)).toBe('refusing to unpack evil 1.0.0: more than 100000 entries');
  }, 30_000);

  test('wrong top-level directory', async () => {
    const msg = await refuse(tgz([dir('other-1.0.0/'), { path: 'other-1.0.0/src/lib.rs', data: 'fn f() {}' }]));
    expect(msg).toBe('refusing to unpack evil 1.0.0: entry "other-1.0.0/" is outside evil-1.0.0/');
    // A crate whose later entry leaves the top-level directory is refused as a whole.
    const msg2 = await refuse(tgz([dir('evil-1.0.0/'), { path: 'evil-1.0.0/ok.rs', data: '' }, { path: 'Cargo.toml', data: '' }]));
    expect(msg2).toBe('refusing to unpack evil 1.0.0: entry "Cargo.toml" is outside evil-1.0.0/');
  });

  test('truncated gzip', async () => {
    const full = tgz([dir('evil-1.0.0/'), { path: 'evil-1.0.0/src/lib.rs', data: 'pub fn f() {}\n'.repeat(50) }]);
    expect(await refuse(full.subarray(0, full.length - 16))).toBe(
      'refusing to unpack evil 1.0.0: truncated or corrupt gzip stream',
    );
    expect(await refuse(full.subarray(0, 20))).toBe('refusing to unpack evil 1.0.0: truncated or corrupt gzip stream');
  });

  test('truncated tar inside a complete gzip; not a tarball; empty', async () => {
    const tar = rawTar([dir('evil-1.0.0/'), { path: 'evil-1.0.0/src/lib.rs', data: 'x' }]);
    expect(await refuse(gz(tar.subarray(0, 600)))).toBe(
      'refusing to unpack evil 1.0.0: truncated tar archive (no end-of-archive marker)',
    );
    expect(await refuse(gz(Buffer.from('<html>not found</html>'.repeat(40))))).toBe(
      'refusing to unpack evil 1.0.0: corrupt tar header (checksum failure)',
    );
    expect(await refuse(Buffer.alloc(0))).toBe('refusing to unpack evil 1.0.0: empty archive');
  });

  test('device files and FIFOs are skipped, not created', async () => {
    const data = tgz([
      dir('dev-1.0.0/'),
      { path: 'dev-1.0.0/fifo', type: 'fifo' },
      { path: 'dev-1.0.0/tty', type: 'chardev' },
      { path: 'dev-1.0.0/lib.rs', data: 'x' },
    ]);
    const dest = mkdtempSync(path.join(work, 'dest-'));
    const r = await unpackCrate(data, { name: 'dev', version: '1.0.0', destParent: dest });
    expect(r.skipped).toEqual(['dev-1.0.0/fifo', 'dev-1.0.0/tty']);
    expect(listTree(dest)).toEqual(['dev-1.0.0', 'dev-1.0.0/lib.rs'].map((p) => p.split('/').join(path.sep)));
  });
});

describe('well-formed crates', () => {
  test('a node-tar built crate unpacks into the cache, content-addressed', async () => {
    const data = await buildCrate(path.join(FIXTURES, 'alpha-1.0.0'), 'alpha', '1.0.0');
    const sum = sha256Hex(data);
    const dir = await cache.install(data, { name: 'alpha', version: '1.0.0', expected: sum });
    expect(dir).toBe(path.join(cacheRoot, 'src', sum, 'alpha-1.0.0'));
    expect(listTree(dir)).toEqual(['Cargo.toml', 'src', path.join('src', 'lib.rs')]);
    expect(readFileSync(path.join(dir, 'src/lib.rs'), 'utf8')).toBe(
      readFileSync(path.join(FIXTURES, 'alpha-1.0.0/src/lib.rs'), 'utf8'),
    );
    expect(await cache.lookup(sum, 'alpha', '1.0.0')).toBe(dir);
    expect(listTree(path.join(cacheRoot, 'tmp'))).toEqual([]);
  });

  test('inside links: symlink kept, hardlink copied, executable bit kept', async () => {
    const data = tgz([
      dir('links-1.0.0/'),
      { path: 'links-1.0.0/src/lib.rs', data: 'pub fn f() {}\n' },
      { path: 'links-1.0.0/run.sh', data: '#!/bin/sh\n', mode: 0o755 },
      { path: 'links-1.0.0/alias.rs', type: 'symlink', linkpath: 'src/lib.rs' },
      { path: 'links-1.0.0/copy.rs', type: 'hardlink', linkpath: 'links-1.0.0/src/lib.rs' },
    ]);
    const dest = mkdtempSync(path.join(work, 'dest-'));
    const r = await unpackCrate(data, { name: 'links', version: '1.0.0', destParent: dest });
    expect(r.files).toBe(3);
    expect(readlinkSync(path.join(r.dir, 'alias.rs'))).toBe('src/lib.rs');
    expect(lstatSync(path.join(r.dir, 'copy.rs')).nlink).toBe(1);
    expect(readFileSync(path.join(r.dir, 'copy.rs'), 'utf8')).toBe('pub fn f() {}\n');
    expect(lstatSync(path.join(r.dir, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(lstatSync(path.join(r.dir, 'src/lib.rs')).mode & 0o777).toBe(0o644);
  });

  test('checksum mismatch: refused before unpacking, nothing cached', async () => {
    const data = await buildCrate(path.join(FIXTURES, 'gamma-0.1.0'), 'gamma', '0.1.0');
    const wrong = 'f'.repeat(64);
    const err = await cache.install(data, { name: 'gamma', version: '0.1.0', expected: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect((err as Error).message).toBe(
      `checksum mismatch for gamma 0.1.0: Cargo.lock has ${wrong}, the downloaded .crate is ${sha256Hex(data)}`,
    );
    expect(listTree(path.join(cacheRoot, 'src')).filter((p) => p.includes('gamma'))).toEqual([]);
  });

  test('unsafe names and checksums never become paths', async () => {
    const data = tgz([dir('x-1.0.0/')]);
    await expect(cache.install(data, { name: '../x', version: '1.0.0', expected: null })).rejects.toThrow(
      'invalid crate name "../x"',
    );
    await expect(cache.lookup('../../etc', 'x', '1.0.0')).rejects.toThrow('invalid sha256 checksum "../../etc" for x 1.0.0');
  });

  test('concurrent installs of the same crate into one cache both succeed', async () => {
    const data = await buildCrate(path.join(FIXTURES, 'beta-1.2.0'), 'beta', '1.2.0');
    const sum = sha256Hex(data);
    const racers = Array.from({ length: 6 }, () => new SourceCache(cacheRoot).install(data, { name: 'beta', version: '1.2.0', expected: sum }));
    const dirs = await Promise.all(racers);
    expect(new Set(dirs)).toEqual(new Set([path.join(cacheRoot, 'src', sum, 'beta-1.2.0')]));
    expect(listTree(dirs[0])).toEqual(['Cargo.toml', 'src', path.join('src', 'lib.rs')]);
    expect(listTree(path.join(cacheRoot, 'tmp'))).toEqual([]);
  });
});
