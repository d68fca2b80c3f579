// Corpus acceptance through the built CLI (`node bin/cap-scan.js`): the Debian corpus workspace (~117
// packages, scripts/setup-corpus.sh) served by a local sparse registry (test/helpers/corpus-registry.ts),
// nothing local (fresh HOME / CARGO_HOME / XDG_CACHE_HOME, no source replacement), real checksums.
//  1. empty cache: every crate is downloaded, verified, cached and scanned (0 unscanned), one request per
//     crate plus config.json;
//  2. the registry is then shut down: a second run makes no request at all and prints the same report.
// Both timings are printed. Skipped, with the reason, when the corpus or cargo is absent.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ScanResult } from '../src/types.js';
import { type CorpusRegistry, corpusMissing, serveCorpus } from './helpers/corpus-registry.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'cap-scan.js');
const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

const why = corpusMissing();
if (why !== null) console.warn(`e2e-registry-corpus: skipped (${why}); run scripts/setup-corpus.sh`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  const t0 = performance.now();
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      const sig = e && code === -1 ? `[${e.signal ?? String(e.code ?? e.message)}] ` : '';
      done({ code, stdout, stderr: sig + stderr, ms: Math.round(performance.now() - t0) });
    });
  });
}

let corpus: CorpusRegistry;

describe.skipIf(why !== null)('Debian corpus downloaded through the CLI', () => {
  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npx tsc -p tsconfig.json` first');
    corpus = await serveCorpus();
  }, 120_000);

  afterAll(async () => {
    await corpus?.close();
  });

  test('empty cache: everything downloaded, verified, cached and scanned; second run: no network I/O at all', async () => {
    const { base, ws, server, packages } = corpus;
    expect(packages.length).toBeGreaterThan(100);
    const home = path.join(base, 'home');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      CARGO_HOME: path.join(home, '.cargo'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      CAP_SCAN_REGISTRY: server.indexUrl,
      NO_COLOR: '1',
    };
    const cache = path.join(home, '.cache', 'cap-scan');
    const args = ['--manifest-path', ws, '--format', 'json'];

    const first = await cli(args, env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout) as ScanResult;
    expect(a.unscanned).toEqual([]);
    const byKey = new Map(packages.map((p) => [`${p.name} ${p.version}`, p.checksum]));
    expect(a.crates.map((c) => `${c.name} ${c.version}`).sort()).toEqual([...byKey.keys()].sort());
    for (const c of a.crates) {
      expect(c.source, c.name).toBe(CRATES_IO);
      expect(c.checksum, c.name).toBe(byKey.get(`${c.name} ${c.version}`));
    }
    // One download per crate and config.json; every crate unpacked in the cache under its checksum.
    expect(server.count(/^\/dl\//)).toBe(packages.length);
    expect(server.count()).toBe(packages.length + 1);
    expect(server.requests.every((r) => r.status === 200)).toBe(true);
    const src = path.join(cache, 'src');
    expect(readdirSync(src).sort()).toEqual(packages.map((p) => p.checksum).sort());
    for (const p of packages) expect(existsSync(path.join(src, p.checksum, `${p.name}-${p.version}`, 'Cargo.toml')), p.name).toBe(true);
    expect(readdirSync(path.join(cache, 'tmp'))).toEqual([]);
    // Sanity: the scan saw real code (tokio opens sockets, files and processes).
    const tokio = a.crates.find((c) => c.name === 'tokio')!;
    expect(tokio.phases.runtime).toEqual(expect.arrayContaining(['fs', 'net', 'process']));

    // Second run with the registry shut down: any request would fail (and show as unscanned).
    const requests = server.count();
    await server.close();
    const second = await cli(args, env);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(server.count()).toBe(requests);
    expect(second.stdout).toBe(first.stdout);

    console.log(
      `e2e-registry-corpus: ${packages.length} crates, ${(corpus.bytes / 1048576).toFixed(1)} MiB of .crate files: ` +
        `first CLI scan (download+verify+unpack+scan, empty cache) ${first.ms} ms, second CLI scan (cache only, registry down) ${second.ms} ms`,
    );
  }, 120_000);
});
