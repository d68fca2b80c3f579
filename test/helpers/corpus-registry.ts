// The Debian corpus as a remote registry: the ~117-package workspace of scripts/setup-corpus.sh, with
// .crate tarballs built (node-tar) from /usr/share/cargo/registry/<name>-<version>/, published on a local
// RegistryServer, and Cargo.lock checksums rewritten to those tarballs' sha256 (Debian's lock may hold
// "Could not get crate checksum"). The workspace's `.cargo` (directory source replacement) is removed,
// so nothing is local.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mapLimit } from '../../src/util/async.js';
import { RegistryServer, buildCrate, sha256 } from './registry-server.js';

export const DEBIAN_REGISTRY = '/usr/share/cargo/registry';
const REPO = path.resolve(__dirname, '../..');
const TOP = ['reqwest', 'tokio', 'clap', 'git2', 'tempfile', 'walkdir', 'which', 'rayon', 'regex', 'serde_json'];

/** Why the corpus cannot be used here (null when it can). */
export function corpusMissing(): string | null {
  if (!existsSync(DEBIAN_REGISTRY)) return `${DEBIAN_REGISTRY} is absent`;
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0) return 'cargo is not on PATH';
  const dirs = readdirSync(DEBIAN_REGISTRY);
  const absent = TOP.filter((c) => !dirs.some((d) => d.startsWith(`${c}-`) && /^\d/.test(d.slice(c.length + 1))));
  return absent.length > 0 ? `${DEBIAN_REGISTRY} lacks ${absent.join(', ')}` : null;
}

export interface CorpusRegistry {
  /** Temporary directory holding everything (remove with `close`). */
  base: string;
  /** The workspace (Cargo.toml, src/lib.rs, Cargo.lock with real checksums, no .cargo). */
  ws: string;
  server: RegistryServer;
  /** Every registry package of the lock, as published. */
  packages: { name: string; version: string; checksum: string }[];
  /** Total bytes of the published tarballs. */
  bytes: number;
  close(): Promise<void>;
}

const field = (block: string, key: string): string | undefined => new RegExp(`^${key} = "([^"]+)"`, 'm').exec(block)?.[1];

export async function serveCorpus(): Promise<CorpusRegistry> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'cs-corpus-'));
  const ws = path.join(base, 'ws');
  execFileSync('bash', [path.join(REPO, 'scripts/setup-corpus.sh'), ws], { stdio: ['ignore', 'pipe', 'pipe'] });
  rmSync(path.join(ws, '.cargo'), { recursive: true, force: true }); // nothing local: no directory source
  const server = await RegistryServer.start();
  const blocks = readFileSync(path.join(ws, 'Cargo.lock'), 'utf8').split('\n[[package]]\n');
  const todo = blocks
    .filter((b) => /^source = "registry\+/m.test(b))
    .map((b) => ({ name: field(b, 'name')!, version: field(b, 'version')!, checksum: '' }));
  let bytes = 0;
  await mapLimit(todo, 8, async (p) => {
    // Debian drops semver build metadata from directory names.
    const tarball = await buildCrate(path.join(DEBIAN_REGISTRY, `${p.name}-${p.version.split('+')[0]}`), p.name, p.version);
    p.checksum = sha256(tarball);
    bytes += tarball.length;
    server.publish({ name: p.name, version: p.version, tarball });
  });
  const sums = new Map(todo.map((p) => [`${p.name} ${p.version}`, p.checksum]));
  const lock = blocks
    .map((b) => {
      const sum = sums.get(`${field(b, 'name')} ${field(b, 'version')}`);
      if (!sum) return b;
      return /^checksum = /m.test(b) ? b.replace(/^checksum = "[^"]*"/m, `checksum = "${sum}"`) : `${b.trimEnd()}\nchecksum = "${sum}"\n`;
    })
    .join('\n[[package]]\n');
  writeFileSync(path.join(ws, 'Cargo.lock'), lock);
  let closed = false;
  return {
    base,
    ws,
    server,
    packages: todo,
    bytes,
    async close() {
      if (!closed) {
        closed = true;
        await server.close();
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
