#!/usr/bin/env node
// Behaviour snapshot: `node scripts/json-snapshot.mjs <out-dir>` writes the `--format json --no-cache`
// output of the real workspace, of the demo, and of `crate <dir>` for every crate directory under
// /usr/share/cargo/registry (two processes at a time), one file each, plus `<name>.status` with the exit
// code and stderr. `diff -r before/ after/` of two snapshot dirs is the check that a refactor changed no
// output. Uses the built CLI (bin/cap-scan.js → dist/), so run `npm run build` first.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'cap-scan.js');
const outDir = process.argv[2];
if (!outDir) {
  process.stderr.write('usage: node scripts/json-snapshot.mjs <out-dir>\n');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const REALWORLD = '/tmp/cap-scan-realworld/Cargo.toml';
const REGISTRY = '/usr/share/cargo/registry';
const common = ['--format', 'json', '--no-cache'];

/** [snapshot name, argv] */
const jobs = [];
if (existsSync(REALWORLD)) jobs.push(['realworld', ['--manifest-path', REALWORLD, '--offline', ...common]]);
else process.stderr.write(`warning: ${REALWORLD} is missing, skipped\n`);
jobs.push(['demo', ['--manifest-path', join(root, 'fixtures', 'demo', 'Cargo.toml'), ...common]]);
if (existsSync(REGISTRY)) {
  for (const name of readdirSync(REGISTRY).sort()) {
    const dir = join(REGISTRY, name);
    if (statSync(dir).isDirectory()) jobs.push([`crate-${name}`, ['crate', dir, ...common]]);
  }
}

function runOne([name, args]) {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('close', (code, signal) => {
      writeFileSync(join(outDir, `${name}.json`), Buffer.concat(out));
      writeFileSync(join(outDir, `${name}.status`), `exit ${code ?? signal}\n${Buffer.concat(err).toString('utf8')}`);
      done();
    });
  });
}

const started = Date.now();
let next = 0;
const worker = async () => {
  while (next < jobs.length) await runOne(jobs[next++]);
};
await Promise.all([worker(), worker()]);
process.stderr.write(`${jobs.length} snapshots in ${outDir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
