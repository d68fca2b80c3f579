// The bundled demo workspace: every registry package of its Cargo.lock is found in the vendored
// directory source, and the vendored checksums are consistent (so cargo itself accepts the fixture).

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import TOML from '@iarna/toml';
import { describe, expect, it } from 'vitest';
import { defaultProviders, locateSource } from '../src/sources/index.js';
import type { SourceContext } from '../src/types.js';

const DEMO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/demo');
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

interface LockPkg {
  name: string;
  version: string;
  source?: string;
  checksum?: string;
}

function lockPackages(): LockPkg[] {
  const doc = TOML.parse(readFileSync(path.join(DEMO, 'Cargo.lock'), 'utf8')) as unknown as { package: LockPkg[] };
  return doc.package;
}

function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, r)).isDirectory()) out.push(...filesUnder(dir, r));
    else if (r !== '.cargo-checksum.json') out.push(r);
  }
  return out;
}

describe('demo workspace sources', () => {
  it('locates every vendored package through the directory source replacement', async () => {
    const ctx: SourceContext = {
      workspaceRoot: DEMO,
      cargoHome: path.join(DEMO, 'no-such-cargo-home'),
      offline: true,
      cacheDir: path.join(DEMO, 'no-such-cache'),
      allowUnverified: false,
      registryUrl: null,
    };
    const providers = await defaultProviders(ctx);
    const located: string[] = [];
    for (const p of lockPackages()) {
      if (!p.source) continue;
      const r = await locateSource(
        providers,
        { name: p.name, version: p.version, source: p.source, checksum: p.checksum ?? null },
        ctx,
      );
      located.push(`${p.name} ${p.version} ${'dir' in r ? path.relative(DEMO, r.dir) : `UNAVAILABLE ${r.unavailable}`}`);
    }
    expect(located).toEqual([
      'cfg-probe 0.1.0 vendor/cfg-probe',
      'demo-fetch 0.2.0 vendor/demo-fetch',
      'derive-hello 0.1.0 vendor/derive-hello',
      'envlogger 0.3.0 vendor/envlogger',
      'ffi-shim 0.5.0 vendor/ffi-shim',
      'filekeep 1.0.2 vendor/filekeep',
      'shellout 0.4.0 vendor/shellout',
      'testkit-lite 0.2.0 vendor/testkit-lite',
      'tiny-json 0.2.4 vendor/tiny-json-0.2.4',
      'tiny-json 0.3.1 vendor/tiny-json',
      'zlink-sys 0.1.3 vendor/zlink-sys',
    ]);
  });

  it('has consistent .cargo-checksum.json files (documented package checksum, real file hashes)', () => {
    const lock = new Map(lockPackages().map((p) => [`${p.name}@${p.version}`, p.checksum]));
    const vendor = path.join(DEMO, 'vendor');
    for (const crate of readdirSync(vendor).sort()) {
      const dir = path.join(vendor, crate);
      const manifest = TOML.parse(readFileSync(path.join(dir, 'Cargo.toml'), 'utf8')) as {
        package: { name: string; version: string };
      };
      const { name, version } = manifest.package;
      const sums = JSON.parse(readFileSync(path.join(dir, '.cargo-checksum.json'), 'utf8')) as {
        files: Record<string, string>;
        package: string;
      };
      expect(sums.package, crate).toBe(sha256(`cap-scan-demo:${name}@${version}`));
      expect(lock.get(`${name}@${version}`), crate).toBe(sums.package);
      const actual = Object.fromEntries(filesUnder(dir).map((f) => [f, sha256(readFileSync(path.join(dir, f)))]));
      expect(sums.files, crate).toEqual(actual);
    }
  });
});
