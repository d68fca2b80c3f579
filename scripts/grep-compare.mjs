#!/usr/bin/env node
// Side-by-side: cap-scan's capabilities of a crate vs. a plain text search (grep) of the same files.
//
//   npx tsc -p tsconfig.json && node scripts/grep-compare.mjs [CRATE…]
//
// CRATE is a name (newest version in /usr/share/cargo/registry, or CAP_SCAN_CORPUS_REGISTRY) or a
// directory. The grep side searches exactly the files cap-scan analysed for the crate (its module trees
// and unreferenced files; no tests/ or examples/), line by line, comments and strings included — which is
// what a text search does. Prints a Markdown table.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REGISTRY = process.env.CAP_SCAN_CORPUS_REGISTRY || '/usr/share/cargo/registry';
const DEFAULT = ['regex', 'aho-corasick', 'memchr', 'itoa', 'base64', 'byteorder', 'humantime', 'serde_json', 'clap_derive', 'tempfile', 'tokio', 'cc', 'libc'];

/** What a reviewer would grep for, per capability. */
const GREP = {
  fs: /std::fs|\bfs::|File::(open|create)|OpenOptions/,
  net: /TcpStream|TcpListener|UdpSocket|\bnet::|ToSocketAddrs/,
  process: /Command::new|\bprocess::/,
  env: /env::(var|vars|set_var|remove_var|temp_dir|home_dir)\b|\benv!\(|option_env!\(/,
  ffi: /extern\s*("C"\s*)?\{|#\[link\(/,
  unsafe: /\bunsafe\b/,
};

function crateDir(spec) {
  if (existsSync(spec)) return path.resolve(spec);
  const re = new RegExp(`^${spec.replace(/-/g, '\\-')}-(\\d+)\\.(\\d+)\\.(\\d+)`);
  const dirs = readdirSync(REGISTRY)
    .map((d) => ({ d, m: re.exec(d) }))
    .filter((x) => x.m)
    .sort((a, b) => b.m[1] - a.m[1] || b.m[2] - a.m[2] || b.m[3] - a.m[3]);
  return dirs[0] ? path.join(REGISTRY, dirs[0].d) : null;
}

async function main() {
  const { readManifest } = await import(path.join(REPO, 'dist/project/manifest.js'));
  const { scanCrate } = await import(path.join(REPO, 'dist/scan/crate-scan.js'));
  const { ruleIndex, localAnalyzer, crateReport } = await import(path.join(REPO, 'dist/scan/session.js'));
  const index = ruleIndex();
  const names = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT;
  const out = ['| crate | cap-scan runtime | cap-scan build | grep (same files) | grep only | cap-scan only |', '|---|---|---|---|---|---|'];
  for (const name of names) {
    const dir = crateDir(name);
    if (!dir) {
      out.push(`| ${name} | (not installed) | | | | |`);
      continue;
    }
    const manifest = existsSync(path.join(dir, 'Cargo.toml')) ? await readManifest(path.join(dir, 'Cargo.toml')) : null;
    const externs = new Map();
    for (const d of manifest?.dependencies ?? []) externs.set(d.key.replace(/-/g, '_'), d.package.replace(/-/g, '_'));
    const procMacro = manifest?.lib?.procMacro ?? false;
    const scan = await scanCrate(
      { name, dir, manifest, libPhase: procMacro ? 'build' : 'runtime', externs, allTargets: false },
      index,
      localAnalyzer(index),
    );
    const rep = crateReport({ name, version: '', source: null, checksum: null, reachedAs: ['normal'], manifest }, scan);
    const grepCaps = new Set();
    for (const f of scan.files) {
      const text = readFileSync(path.join(dir, f.rel), 'utf8');
      for (const [cap, re] of Object.entries(GREP)) if (re.test(text)) grepCaps.add(cap);
    }
    const grep = Object.keys(GREP).filter((c) => grepCaps.has(c));
    const capsOnly = (xs) => xs.filter((c) => c in GREP);
    const all = new Set(capsOnly(rep.capabilities));
    const grepOnly = grep.filter((c) => !all.has(c));
    const scanOnly = [...all].filter((c) => !grepCaps.has(c)).sort();
    const label = `${path.basename(dir)}`;
    out.push(`| ${label} | ${rep.phases.runtime.join(', ') || '-'} | ${rep.phases.build.join(', ') || '-'} | ${grep.join(', ') || '-'} | ${grepOnly.join(', ') || '-'} | ${scanOnly.join(', ') || '-'} |`);
  }
  console.log(out.join('\n'));
}

await main();
