// `cap-scan crate SPEC` resolution against the local registry: NAME@REQ through the sparse index,
// .crate files, directories, and --deps through `cargo generate-lockfile`.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDepsWorkspace, resolveCrateSpec } from '../src/commands/crate.js';
import { defaultScanOptions } from '../src/options.js';
import { parseCrateSpec, pickVersion } from '../src/sources/crate-spec.js';
import { cargoReqToRange } from '../src/util/semver.js';
import { downloadProvider, type IndexEntry } from '../src/sources/registry.js';
import { RegistryServer, buildCrate, sha256 } from './helpers/registry-server.js';

const FIXTURES = path.resolve(__dirname, '../fixtures/registry/crates');
const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

let server: RegistryServer;
let work: string;
const tarballs = new Map<string, Buffer>();
const sum = (nv: string): string => sha256(tarballs.get(nv)!);

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'cs-crate-'));
  for (const dir of readdirSync(FIXTURES).sort()) {
    const [, name, version] = /^(.+)-(\d+\.\d+\.\d+)$/.exec(dir)!;
    tarballs.set(dir, await buildCrate(path.join(FIXTURES, dir), name, version));
  }
  server = await RegistryServer.start();
  const deps: Record<string, { name: string; req: string }[]> = {
    'alpha-1.0.0': [
      { name: 'beta', req: '^1' },
      { name: 'gamma', req: '^0.1' },
    ],
  };
  for (const [nv, tarball] of tarballs) {
    const [, name, version] = /^(.+)-(\d+\.\d+\.\d+)$/.exec(nv)!;
    server.publish({ name, version, tarball, yanked: nv === 'beta-1.3.0', deps: deps[nv] });
  }
});

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

function opts(over: Record<string, unknown> = {}) {
  const cwd = mkdtempSync(path.join(work, 'cwd-'));
  const cacheDir = path.join(cwd, '.cache');
  return {
    ...defaultScanOptions({ cacheDir, registryUrl: server.indexUrl }),
    cacheDir,
    cwd,
    provider: downloadProvider({ progress: false, http: { backoffMs: 5 } }),
    ...over,
  };
}

const entry = (vers: string, yanked = false): IndexEntry => ({ name: 'x', vers, cksum: '', yanked, deps: [] });

describe('version requirements', () => {
  test('cargo syntax to semver ranges', () => {
    expect(['1', '1.2', '^1', '~1.2', '>= 1.2, < 2', '*', '=1.2.3'].map(cargoReqToRange)).toEqual([
      '^1',
      '^1.2',
      '^1',
      '~1.2',
      '>=1.2 <2',
      '*',
      '=1.2.3',
    ]);
    expect(() => cargoReqToRange('banana')).toThrow('invalid version requirement "banana"');
  });

  test('newest matching non-yanked; a full version is exact, even yanked', () => {
    const es = [entry('1.0.0'), entry('1.2.0'), entry('1.3.0', true), entry('2.0.0'), entry('2.1.0-rc.1')];
    expect(pickVersion(es, '^1')?.vers).toBe('1.2.0');
    expect(pickVersion(es, '*')?.vers).toBe('2.0.0');
    expect(pickVersion(es, '1.3.0')?.vers).toBe('1.3.0');
    expect(pickVersion(es, '=1.0.0')?.vers).toBe('1.0.0');
    expect(pickVersion(es, '^3')).toBeNull();
  });

  test('spec kinds', () => {
    expect(parseCrateSpec('serde@^1', work)).toEqual({ kind: 'registry', name: 'serde', req: '^1' });
    expect(parseCrateSpec('serde', work)).toEqual({ kind: 'registry', name: 'serde', req: '*' });
    expect(parseCrateSpec(FIXTURES, work)).toEqual({ kind: 'dir', path: FIXTURES });
    expect(() => parseCrateSpec('nope.crate', work)).toThrow('no such .crate file: nope.crate');
    expect(() => parseCrateSpec('../etc/passwd@1', work)).toThrow('not a directory, .crate file or NAME@VERSION: ../etc/passwd@1');
  });
});

describe('resolveCrateSpec', () => {
  test('crate name@^1 picks the newest non-yanked version, downloads and verifies it', async () => {
    const o = opts();
    const r = await resolveCrateSpec('beta@^1', o);
    expect(r).toEqual({
      dir: path.join(o.cacheDir, 'src', sum('beta-1.2.0'), 'beta-1.2.0'),
      name: 'beta',
      version: '1.2.0',
      checksum: sum('beta-1.2.0'),
      source: CRATES_IO,
    });
    expect(readFileSync(path.join(r.dir, 'Cargo.toml'), 'utf8')).toContain('version = "1.2.0"');
  });

  test('unknown crate, unmatched requirement, offline', async () => {
    await expect(resolveCrateSpec('nosuch@1', opts())).rejects.toThrow('crate nosuch not found in the registry');
    await expect(resolveCrateSpec('beta@^3', opts())).rejects.toThrow(
      'no version of beta matches ^3 (available: 1.0.0, 1.2.0, 2.0.0)',
    );
    await expect(resolveCrateSpec('beta@^1', opts({ offline: true }))).rejects.toThrow(
      'offline: cannot resolve beta without the registry index (give a .crate file or a directory)',
    );
  });

  test('a .crate file is unpacked defensively into the cache; a directory is used as is', async () => {
    const o = opts();
    const file = path.join(o.cwd, 'renamed.crate');
    writeFileSync(file, tarballs.get('gamma-0.1.0')!);
    expect(await resolveCrateSpec('renamed.crate', o)).toEqual({
      dir: path.join(o.cacheDir, 'src', sum('gamma-0.1.0'), 'gamma-0.1.0'),
      name: 'gamma',
      version: '0.1.0',
      checksum: sum('gamma-0.1.0'),
      source: null,
    });
    const dir = path.join(FIXTURES, 'alpha-1.0.0');
    expect(await resolveCrateSpec(dir, o)).toEqual({ dir, name: 'alpha', version: '1.0.0', checksum: null, source: null });
    writeFileSync(file, 'not a crate');
    await expect(resolveCrateSpec(file, o)).rejects.toThrow(`${file}: not a .crate archive (no name-version/ top-level directory)`);
  });
});

const hasCargo = (() => {
  try {
    execFileSync('cargo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('--deps', () => {
  test.skipIf(!hasCargo)('cargo generate-lockfile resolves the graph from the local registry', async () => {
    const ws = await createDepsWorkspace('alpha', '1.0.0', { registryUrl: server.indexUrl, offline: false });
    try {
      const lock = readFileSync(path.join(ws.root, 'Cargo.lock'), 'utf8');
      const pkgs = [...lock.matchAll(/name = "([^"]+)"\nversion = "([^"]+)"(?:\nsource = "([^"]+)")?(?:\nchecksum = "([^"]+)")?/g)].map(
        (m) => [m[1], m[2], m[3] ?? null, m[4] ?? null],
      );
      expect(pkgs).toEqual([
        ['alpha', '1.0.0', CRATES_IO, sum('alpha-1.0.0')],
        ['beta', '1.2.0', CRATES_IO, sum('beta-1.2.0')],
        ['cap-scan-probe', '0.0.0', null, null],
        ['gamma', '0.1.0', CRATES_IO, sum('gamma-0.1.0')],
      ]);
    } finally {
      await ws.cleanup();
    }
    expect(existsSync(ws.root)).toBe(false);
  }, 60_000);

  test('without cargo on PATH: a clear error', async () => {
    const saved = process.env.PATH;
    process.env.PATH = mkdtempSync(path.join(work, 'nopath-'));
    mkdirSync(path.join(process.env.PATH, 'x'));
    try {
      await expect(createDepsWorkspace('alpha', '1.0.0', { registryUrl: server.indexUrl, offline: false })).rejects.toThrow(
        '--deps needs cargo on PATH (it resolves dependencies with `cargo generate-lockfile`); cargo was not found',
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});
