import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLockDependency, parseLockfile, readLockfile, resolveLockDep } from '../src/project/lockfile.js';
import { UserError, type LockPackage } from '../src/types.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'lockfile');
const fx = (name: string): string => path.join(dir, name);

const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';
const SUM_BAR = 'eac7c02bc1d61cdb2750f18308c642ece8a503c8926ed867720048017fd08d1e';
const SUM_FOO1 = 'e59620ff2d81af129d97418bc658f41792b7acfc4cfa2d814935a22c41f94757';
const SUM_FOO2 = 'e9ca878ffcedd0058a75189a6b1903c39870116a2cf0b0095c62e234a5db552e';

/** The same graph, as cargo wrote it (v3, v4) or as the older formats encode it (v1, v2). */
function expectedPackages(lines: number[], full: boolean): LockPackage[] {
  const reg = full ? { source: CRATES_IO } : {};
  return [
    {
      name: 'app',
      version: '0.1.0',
      source: null,
      checksum: null,
      dependencies: full
        ? [
            { name: 'bar', version: '0.5.0', source: CRATES_IO },
            { name: 'foo', version: '1.0.0', source: CRATES_IO },
            { name: 'foo', version: '2.0.0', source: CRATES_IO },
            { name: 'local', version: '0.1.0' },
          ]
        : [{ name: 'bar' }, { name: 'foo', version: '1.0.0' }, { name: 'foo', version: '2.0.0' }, { name: 'local' }],
      line: lines[0]!,
    },
    {
      name: 'bar',
      version: '0.5.0',
      source: CRATES_IO,
      checksum: SUM_BAR,
      dependencies: [{ name: 'foo', version: '2.0.0', ...reg }],
      line: lines[1]!,
    },
    { name: 'foo', version: '1.0.0', source: CRATES_IO, checksum: SUM_FOO1, dependencies: [], line: lines[2]! },
    { name: 'foo', version: '2.0.0', source: CRATES_IO, checksum: SUM_FOO2, dependencies: [], line: lines[3]! },
    { name: 'local', version: '0.1.0', source: null, checksum: null, dependencies: [], line: lines[4]! },
  ];
}

async function userError(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('readLockfile', () => {
  it('reads v1 (full references, [metadata] checksums)', async () => {
    const lock = await readLockfile(fx('v1.lock'));
    expect(lock.version).toBe(1);
    expect(lock.path).toBe(fx('v1.lock'));
    expect(lock.packages).toEqual(expectedPackages([1, 11, 19, 24, 29], true));
  });

  it('reads v2 (no version key, inline checksums, short references)', async () => {
    const lock = await readLockfile(fx('v2.lock'));
    expect(lock.version).toBe(2);
    expect(lock.packages).toEqual(expectedPackages([4, 14, 23, 29, 35], false));
  });

  it('reads v3', async () => {
    const lock = await readLockfile(fx('v3.lock'));
    expect(lock.version).toBe(3);
    expect(lock.packages).toEqual(expectedPackages([5, 15, 24, 30, 36], false));
  });

  it('reads v4', async () => {
    const lock = await readLockfile(fx('v4.lock'));
    expect(lock.version).toBe(4);
    expect(lock.packages).toEqual(expectedPackages([5, 15, 24, 30, 36], false));
  });

  it('reports a missing file with the command that creates it', async () => {
    const p = fx('nope/Cargo.lock');
    expect(await userError(readLockfile(p))).toBe(`Cargo.lock not found at ${p}; run \`cargo generate-lockfile\``);
  });

  it('reports invalid TOML with file and line', async () => {
    expect(await userError(readLockfile(fx('bad-syntax.lock')))).toMatch(
      new RegExp(`^${fx('bad-syntax.lock').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:9: invalid TOML: `),
    );
  });

  it('gives the 1-based line in the text form too', async () => {
    expect(await userError(() => parseLockfile('version = 3\n\n[[package]]\nname = \n', 'Cargo.lock'))).toMatch(
      /^Cargo\.lock:4: invalid TOML: [^\n]+$/,
    );
  });

  it('rejects an unsupported version, naming its line', async () => {
    expect(await userError(readLockfile(fx('bad-version.lock')))).toBe(
      `${fx('bad-version.lock')}:2: unsupported lock file version 7 (cap-scan reads versions 1 to 4)`,
    );
    expect(await userError(() => parseLockfile('version = "4"\n', 'Cargo.lock'))).toBe(
      'Cargo.lock:1: unsupported lock file version "4" (cap-scan reads versions 1 to 4)',
    );
  });

  it('rejects a package without a name', async () => {
    expect(await userError(readLockfile(fx('missing-name.lock')))).toBe(`${fx('missing-name.lock')}:7: package #2 has no \`name\``);
  });

  it('rejects a dependency that is not in the lock file', async () => {
    expect(await userError(readLockfile(fx('dangling-dep.lock')))).toBe(
      `${fx('dangling-dep.lock')}:3: app 0.1.0 depends on \`nope\`, which is not in the lock file or is ambiguous`,
    );
  });

  it('rejects wrong types', async () => {
    expect(await userError(() => parseLockfile('package = 3\n', 'L'))).toBe('L:1: `package` must be an array of tables');
    expect(await userError(() => parseLockfile('[[package]]\nname = "a"\nversion = 1\n', 'L'))).toBe(
      'L:1: package #1: `version` must be a string',
    );
    expect(await userError(() => parseLockfile('[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = "b"\n', 'L'))).toBe(
      'L:1: a 1.0.0: `dependencies` must be an array',
    );
    expect(await userError(() => parseLockfile('[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = [3]\n', 'L'))).toBe(
      'L:1: a 1.0.0: malformed dependency 3',
    );
  });

  it('rejects a package listed twice', async () => {
    const text = '[[package]]\nname = "a"\nversion = "1.0.0"\n\n[[package]]\nname = "a"\nversion = "1.0.0"\n';
    expect(await userError(() => parseLockfile(text, 'L'))).toBe('L:5: package a 1.0.0 is listed twice (first at line 1)');
  });
});

describe('parseLockDependency', () => {
  it('parses the three forms', () => {
    expect(parseLockDependency('foo')).toEqual({ name: 'foo' });
    expect(parseLockDependency('foo 1.2.3')).toEqual({ name: 'foo', version: '1.2.3' });
    expect(parseLockDependency('foo 1.2.3 (registry+https://x/y)')).toEqual({
      name: 'foo',
      version: '1.2.3',
      source: 'registry+https://x/y',
    });
    expect(parseLockDependency('foo 1 2 3')).toBeNull();
    expect(parseLockDependency('')).toBeNull();
  });
});

describe('resolveLockDep', () => {
  it('keeps two versions of one crate apart', async () => {
    const lock = await readLockfile(fx('v4.lock'));
    expect(resolveLockDep(lock, { name: 'foo' })).toBeUndefined();
    expect(resolveLockDep(lock, { name: 'foo', version: '1.0.0' })?.checksum).toBe(SUM_FOO1);
    expect(resolveLockDep(lock, { name: 'foo', version: '2.0.0' })?.checksum).toBe(SUM_FOO2);
    expect(resolveLockDep(lock, { name: 'bar' })?.version).toBe('0.5.0');
    expect(resolveLockDep(lock, { name: 'foo', version: '3.0.0' })).toBeUndefined();
    expect(resolveLockDep(lock, { name: 'missing' })).toBeUndefined();
  });

  it('uses the source when one version comes from two sources', async () => {
    const lock = await readLockfile(fx('git-source.lock'));
    const git = 'git+https://example.com/foo.git?branch=main#0123456789abcdef0123456789abcdef01234567';
    expect(lock.packages.map((p) => [p.name, p.source, p.line])).toEqual([
      ['app', null, 4],
      ['foo', git, 12],
      ['foo', CRATES_IO, 17],
    ]);
    expect(resolveLockDep(lock, { name: 'foo', version: '1.0.0', source: git })?.line).toBe(12);
    expect(resolveLockDep(lock, { name: 'foo', version: '1.0.0', source: CRATES_IO })?.line).toBe(17);
    expect(resolveLockDep(lock, { name: 'foo', version: '1.0.0' })).toBeUndefined();
  });

  it('resolves v1 path references (no source) to the path package', async () => {
    const lock = await readLockfile(fx('v1.lock'));
    expect(resolveLockDep(lock, { name: 'local', version: '0.1.0' })?.line).toBe(29);
  });
});

describe('names, versions and sources are validated as cargo does', () => {
  const lock = (name: string, version = '1.0.0', source = 'registry+https://github.com/rust-lang/crates.io-index') =>
    `version = 3\n\n[[package]]\nname = "a"\nversion = "0.1.0"\n\n[[package]]\nname = ${JSON.stringify(name)}\nversion = ${JSON.stringify(version)}\nsource = ${JSON.stringify(source)}\n`;

  it('refuses a name that is a path, at the line of the name', async () => {
    expect(await userError(() => parseLockfile(lock('../../../../tmp/x/which'), 'Cargo.lock'))).toBe('Cargo.lock:8: invalid package name "../../../../tmp/x/which"');
    for (const bad of ['..', '.', 'a/b', 'a\\b', 'a.b', 'a\u0000b', '', '_', '1abc', 'a b']) {
      expect(await userError(() => parseLockfile(lock(bad), 'L'))).toBe(`L:8: invalid package name ${JSON.stringify(bad)}`);
    }
  });

  it('refuses a version that is not semver, at its line', async () => {
    for (const bad of ['1', '1.0', 'v1.0.0', '1.0.0/../x', '../1.0.0', '01.0.0', '1.0.0 ', '1.0.0-', '1.0.0+']) {
      expect(await userError(() => parseLockfile(lock('b', bad), 'L'))).toBe(`L:9: invalid version ${JSON.stringify(bad)} of package b (not semver)`);
    }
  });

  it('refuses a source of an unknown kind, at its line', async () => {
    for (const bad of ['https://example.com', 'registry+', 'registry+not a url', 'file+/tmp/x', 'directory+/tmp']) {
      expect(await userError(() => parseLockfile(lock('b', '1.0.0', bad), 'L'))).toBe(`L:10: invalid source ${JSON.stringify(bad)} of package b 1.0.0`);
    }
  });

  it('accepts what cargo writes', () => {
    const ok: Array<[string, string, string]> = [
      ['serde_json', '1.0.140', 'registry+https://github.com/rust-lang/crates.io-index'],
      ['windows-sys', '0.59.0-rc.1+build.01', 'sparse+https://index.crates.io/'],
      ['_priv', '0.0.0-alpha', 'git+https://github.com/a/b?branch=main#0123456789abcdef'],
      ['naïve', '2.0.0', 'registry+https://my.registry/index'],
    ];
    for (const [name, version, source] of ok) expect(parseLockfile(lock(name, version, source), 'L').packages[1]).toMatchObject({ name, version, source });
  });
});
