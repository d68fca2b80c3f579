// Real-world check on Debian's packaged crate sources (/usr/share/cargo/registry).
// Enable with: scripts/setup-corpus.sh   (installs librust-*-dev for ten popular crates)
//
// beforeAll builds the corpus workspace in a temp dir with that script; the helpers below read its
// Cargo.lock and locate packages. Later stages (full scan) extend this describe block.

import { execFileSync, spawnSync } from 'node:child_process';
import type { ScanResult } from '../src/types.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import TOML from '@iarna/toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviders, locateSource } from '../src/sources/index.js';
import type { SourceContext, SourceRequest } from '../src/types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SETUP = path.join(REPO, 'scripts/setup-corpus.sh');
const REGISTRY = '/usr/share/cargo/registry';
/** Directory-name prefixes of the ten crates the corpus workspace depends on. */
const TOP_CRATES = ['reqwest', 'tokio', 'clap', 'git2', 'tempfile', 'walkdir', 'which', 'rayon', 'regex', 'serde_json'];

// ---------------------------------------------------------------- corpus location

/** Why the corpus test cannot run here, or null when it can. */
function corpusMissing(): string | null {
  if (!existsSync(REGISTRY)) return `${REGISTRY} is absent`;
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0) return 'cargo is not on PATH';
  const dirs = readdirSync(REGISTRY);
  const absent = TOP_CRATES.filter((c) => !dirs.some((d) => d.startsWith(`${c}-`) && /^\d/.test(d.slice(c.length + 1))));
  if (absent.length > 0) return `${REGISTRY} lacks ${absent.join(', ')}`;
  return null;
}

interface Corpus {
  /** Workspace root (holds Cargo.toml, Cargo.lock, .cargo/config.toml). */
  dir: string;
  /** An empty CARGO_HOME, so only the workspace's source replacement can locate packages. */
  cargoHome: string;
  /** The package count printed by the setup script. */
  reportedCount: number;
}

/** Runs scripts/setup-corpus.sh into a fresh temp dir. */
function prepareCorpus(): Corpus {
  const base = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-realworld-'));
  const dir = path.join(base, 'ws');
  const cargoHome = path.join(base, 'cargo-home');
  const out = execFileSync('bash', [SETUP, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = /^(\d+) packages in /m.exec(out);
  if (!m) throw new Error(`unexpected setup-corpus.sh output: ${out}`);
  return { dir, cargoHome, reportedCount: Number(m[1]) };
}

interface LockEntry {
  name: string;
  version: string;
  source?: string;
  checksum?: string;
}

function lockEntries(corpus: Corpus): LockEntry[] {
  const doc = TOML.parse(readFileSync(path.join(corpus.dir, 'Cargo.lock'), 'utf8')) as unknown as { package: LockEntry[] };
  return doc.package;
}

function sourceContext(corpus: Corpus): SourceContext {
  return {
    workspaceRoot: corpus.dir,
    cargoHome: corpus.cargoHome,
    offline: true,
    cacheDir: path.join(corpus.cargoHome, 'no-cache'),
    allowUnverified: false,
    registryUrl: null,
  };
}

/** Locate every non-path package of the corpus lockfile: `name version -> dir | unavailable reason`. */
async function locateAll(corpus: Corpus): Promise<{ located: Map<string, string>; unavailable: string[] }> {
  const ctx = sourceContext(corpus);
  const providers = await defaultProviders(ctx);
  const located = new Map<string, string>();
  const unavailable: string[] = [];
  for (const p of lockEntries(corpus)) {
    if (!p.source) continue;
    const req: SourceRequest = { name: p.name, version: p.version, source: p.source, checksum: p.checksum ?? null };
    const r = await locateSource(providers, req, ctx);
    if ('dir' in r) located.set(`${p.name} ${p.version}`, r.dir);
    else unavailable.push(`${p.name} ${p.version}: ${r.unavailable}`);
  }
  return { located, unavailable };
}

// ---------------------------------------------------------------- tests

const missing = corpusMissing();
if (missing !== null) {
  console.log(`realworld test skipped: ${missing}. Enable it with scripts/setup-corpus.sh (needs apt and cargo).`);
}

describe.skipIf(missing !== null)('real-world corpus (Debian crate sources)', () => {
  let corpus: Corpus;

  beforeAll(() => {
    corpus = prepareCorpus();
  });

  afterAll(() => {
    if (corpus) rmSync(path.dirname(corpus.dir), { recursive: true, force: true });
  });

  it('cargo resolves the ten crates offline into a lockfile of about 117 packages', () => {
    const entries = lockEntries(corpus);
    expect(entries.length).toBe(corpus.reportedCount);
    expect(entries.length).toBeGreaterThan(90);
    for (const top of TOP_CRATES) expect(entries.some((e) => e.name === top)).toBe(true);
  });

  it('the full scan locates and scans every package without network (0 unscanned)', () => {
    const env = { ...process.env, HOME: corpus.cargoHome, CARGO_HOME: corpus.cargoHome, XDG_CACHE_HOME: path.join(corpus.cargoHome, 'cache'), NO_COLOR: '1' };
    const out = execFileSync(process.execPath, [path.join(REPO, 'bin/cap-scan.js'), '--manifest-path', corpus.dir, '--offline', '--format', 'json'], {
      encoding: 'utf8',
      env,
      maxBuffer: 256 * 1024 * 1024,
    });
    const result = JSON.parse(out) as ScanResult;
    expect(result.unscanned).toEqual([]);
    expect(result.crates.length).toBe(lockEntries(corpus).length - 1); // all but the workspace member
    const crate = (name: string) => {
      const c = result.crates.find((x) => x.name === name);
      if (!c) throw new Error(`${name} not in the report`);
      return c;
    };
    const tokio = crate('tokio');
    for (const cap of ['fs', 'net', 'process', 'unsafe'] as const) expect(tokio.phases.runtime, `tokio ${cap}`).toContain(cap);
    const json = crate('serde_json');
    for (const cap of ['fs', 'net', 'process', 'env'] as const) expect(json.phases.runtime, `serde_json ${cap}`).not.toContain(cap);
    const libc = crate('libc');
    expect(libc.phases.runtime).toEqual(expect.arrayContaining(['ffi', 'unsafe']));
    expect(libc.phases.build).toEqual(expect.arrayContaining(['build-script', 'process', 'env']));
    const osys = crate('openssl-sys');
    expect(osys.buildScript).toBe('build/main.rs');
    expect(osys.phases.runtime).toEqual(expect.arrayContaining(['ffi', 'unsafe']));
    expect(osys.phases.build).toEqual(expect.arrayContaining(['build-script', 'env', 'process']));
    const cc = crate('cc');
    expect(cc.reachedAs).toEqual(['build']);
    expect(cc.phases.runtime).toEqual([]);
    expect(cc.phases.build).toEqual(expect.arrayContaining(['process', 'env', 'fs']));
    for (const name of ['tokio-macros', 'clap_derive', 'openssl-macros']) expect(crate(name).procMacro, name).toBe(true);
  }, 240_000);

  it('every package of the lockfile is located in the Debian directory source (0 unavailable)', async () => {
    const { located, unavailable } = await locateAll(corpus);
    expect(unavailable).toEqual([]);
    // Everything except the workspace member itself, and only from the Debian directory.
    expect(located.size).toBe(lockEntries(corpus).length - 1);
    for (const [key, dir] of located) {
      const [name, version] = key.split(' ');
      expect(path.dirname(dir), key).toBe(REGISTRY);
      // Debian drops semver build metadata (`libgit2-sys-0.14.1` holds 0.14.1+1.5.0).
      expect(path.basename(dir), key).toBe(`${name}-${version.split('+')[0]}`);
    }
  });
});
