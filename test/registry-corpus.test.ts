// The Debian corpus served by the local registry: the ~117-package workspace of scripts/setup-corpus.sh,
// with .crate tarballs built (node-tar) from /usr/share/cargo/registry and Cargo.lock checksums rewritten
// to those tarballs' sha256. Nothing is local (no source replacement, empty CARGO_HOME): every package is
// downloaded, verified, unpacked and cached; a second run does no network I/O at all.
// Skipped, with the reason, when the corpus is absent (install it with scripts/setup-corpus.sh).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadProject } from '../src/project/load-project.js';
import { defaultProviders } from '../src/sources/index.js';
import { downloadProvider } from '../src/sources/registry.js';
import type { SourceContext } from '../src/types.js';
import { type CorpusRegistry, corpusMissing, serveCorpus } from './helpers/corpus-registry.js';

const why = corpusMissing();
if (why !== null) console.warn(`registry-corpus: skipped (${why}); run scripts/setup-corpus.sh`);

let corpus: CorpusRegistry;
let server: CorpusRegistry['server'];
let base: string;
let ws: string;
let registryPackages: CorpusRegistry['packages'];

describe.skipIf(why !== null)('Debian corpus through the local registry', () => {
  beforeAll(async () => {
    corpus = await serveCorpus();
    ({ server, base, ws, packages: registryPackages } = corpus);
    mkdirSync(path.join(base, 'cargo-home'));
  }, 120_000);

  afterAll(async () => {
    await corpus?.close();
  });

  test('every package downloaded, verified and cached; the second run does no network I/O', async () => {
    expect(registryPackages.length).toBeGreaterThan(100);
    const ctx: SourceContext = {
      workspaceRoot: ws,
      cargoHome: path.join(base, 'cargo-home'),
      offline: false,
      cacheDir: path.join(base, 'cache'),
      allowUnverified: false,
      registryUrl: server.indexUrl,
    };
    const run = async () => {
      const dl = downloadProvider({ progress: false });
      const providers = [...(await defaultProviders(ctx)), dl];
      const t0 = performance.now();
      const project = await loadProject({ manifestPath: ws, includeDev: false, providers, ctx });
      const ms = Math.round(performance.now() - t0);
      const deps = project.packages.filter((p) => !p.member);
      return { project, deps, dl, ms };
    };

    const first = await run();
    expect(first.deps.filter((p) => p.dir === null).map((p) => `${p.name} ${p.version}: ${p.unscannedReason}`)).toEqual([]);
    expect(first.deps.every((p) => p.dir!.startsWith(path.join(ctx.cacheDir, 'src') + path.sep))).toBe(true);
    expect(first.dl.stats.downloaded).toBe(registryPackages.length);
    expect(server.count()).toBe(registryPackages.length + 1); // + config.json

    const requests = server.count();
    const second = await run();
    expect(second.deps.map((p) => p.dir)).toEqual(first.deps.map((p) => p.dir));
    expect(server.count()).toBe(requests);
    expect(second.dl.http.stats.requests).toBe(0);
    expect(second.dl.stats.cacheHits).toBe(registryPackages.length);
    console.log(
      `registry-corpus: ${registryPackages.length} crates, ${(first.dl.http.stats.bytes / 1048576).toFixed(1)} MiB: ` +
        `first run (download+verify+unpack) ${first.ms} ms, second run (cache only) ${second.ms} ms`,
    );
  }, 120_000);
});
