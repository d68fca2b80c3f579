// The Debian corpus served by the local registry: the ~117-package workspace of scripts/setup-corpus.sh,
// with .crate tarballs built (node-tar) from /usr/share/cargo/registry and Cargo.lock checksums rewritten
// to those tarballs' sha256. Nothing is local (no source replacement, empty CARGO_HOME): every package is
// downloaded, verified, unpacked and cached; a second run does no network I/O at all.
// Skipped, with the reason, when the corpus is absent (install it with scripts/setup-corpus.sh).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadProject } from '../src/project.js';
import { defaultProviders } from '../src/sources/index.js';
import { downloadProvider } from '../src/sources/registry.js';
import type { SourceContext } from '../src/types.js';
import { RegistryServer, buildCrate, sha256 } from './helpers/registry-server.js';

const REPO = path.resolve(__dirname, '..');
const REGISTRY = '/usr/share/cargo/registry';
const TOP = ['reqwest', 'tokio', 'clap', 'git2', 'tempfile', 'walkdir', 'which', 'rayon', 'regex', 'serde_json'];

function missing(): string | null {
  if (!existsSync(REGISTRY)) return `${REGISTRY} is absent`;
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0) return 'cargo is not on PATH';
  const dirs = readdirSync(REGISTRY);
  const absent = TOP.filter((c) => !dirs.some((d) => d.startsWith(`${c}-`) && /^\d/.test(d.slice(c.length + 1))));
  return absent.length > 0 ? `${REGISTRY} lacks ${absent.join(', ')}` : null;
}

const why = missing();
if (why !== null) console.warn(`registry-corpus: skipped (${why}); run scripts/setup-corpus.sh`);

let server: RegistryServer;
let base: string;
let ws: string;
let registryPackages: { name: string; version: string }[];

async function mapLimit<T>(xs: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < xs.length) await f(xs[i++]);
  }));
}

describe.skipIf(why !== null)('Debian corpus through the local registry', () => {
  beforeAll(async () => {
    base = mkdtempSync(path.join(os.tmpdir(), 'cs-corpus-'));
    ws = path.join(base, 'ws');
    execFileSync('bash', [path.join(REPO, 'scripts/setup-corpus.sh'), ws], { stdio: ['ignore', 'pipe', 'pipe'] });
    rmSync(path.join(ws, '.cargo'), { recursive: true, force: true }); // nothing local: no directory source
    server = await RegistryServer.start();
    let lock = readFileSync(path.join(ws, 'Cargo.lock'), 'utf8');
    const blocks = lock.split('\n[[package]]\n');
    registryPackages = [];
    const sums = new Map<string, string>();
    const todo: { name: string; version: string }[] = [];
    for (const b of blocks) {
      const name = /^name = "([^"]+)"/m.exec(b)?.[1];
      const version = /^version = "([^"]+)"/m.exec(b)?.[1];
      if (name && version && /^source = "registry\+/m.test(b)) todo.push({ name, version });
    }
    await mapLimit(todo, 8, async ({ name, version }) => {
      // Debian drops semver build metadata from directory names.
      const dir = path.join(REGISTRY, `${name}-${version.split('+')[0]}`);
      const tarball = await buildCrate(dir, name, version);
      sums.set(`${name} ${version}`, sha256(tarball));
      server.publish({ name, version, tarball });
    });
    registryPackages = todo;
    lock = blocks
      .map((b) => {
        const name = /^name = "([^"]+)"/m.exec(b)?.[1];
        const version = /^version = "([^"]+)"/m.exec(b)?.[1];
        const sum = sums.get(`${name} ${version}`);
        if (!sum) return b;
        return /^checksum = /m.test(b) ? b.replace(/^checksum = "[^"]*"/m, `checksum = "${sum}"`) : `${b.trimEnd()}\nchecksum = "${sum}"\n`;
      })
      .join('\n[[package]]\n');
    writeFileSync(path.join(ws, 'Cargo.lock'), lock);
    mkdirSync(path.join(base, 'cargo-home'));
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (base) rmSync(base, { recursive: true, force: true });
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
