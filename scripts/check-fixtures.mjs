#!/usr/bin/env node
// Compile-checks the fixture crates under fixtures/crates/ with `cargo check --offline --all-targets`
// against the Debian crate registry (/usr/share/cargo/registry, or CAP_SCAN_CORPUS_REGISTRY).
//
//   node scripts/check-fixtures.mjs [NAME…]
//
// Each crate is copied to a temporary directory with a .cargo/config.toml that replaces crates-io by that
// directory source (nothing is written into the repository; target/ lives in a temporary dir shared by
// all crates). Crates listed in NOT_RUST below are meant to be broken input and are skipped.
// Prints one line per crate and exits 1 if any failed, 2 if cargo or the registry is missing.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(REPO, 'fixtures', 'crates');
const REGISTRY = process.env.CAP_SCAN_CORPUS_REGISTRY || '/usr/share/cargo/registry';

/** Fixtures that are deliberately not valid Rust packages (what they test is the scanner's refusal). */
export const NOT_RUST = new Map([
  ['invalid-utf8', 'a source file that is not UTF-8'],
  ['missing-module', 'a `mod` whose file does not exist'],
  ['path-outside', '#[path] pointing outside the package'],
]);

function main() {
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error('check-fixtures: cargo is not on PATH');
    process.exit(2);
  }
  if (!existsSync(REGISTRY)) {
    console.error(`check-fixtures: ${REGISTRY} is absent (run scripts/setup-corpus.sh)`);
    process.exit(2);
  }
  const wanted = process.argv.slice(2);
  const names = readdirSync(FIXTURES)
    .filter((n) => existsSync(path.join(FIXTURES, n, 'Cargo.toml')))
    .filter((n) => wanted.length === 0 || wanted.includes(n))
    .sort();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-fixture-check-'));
  const cargoHome = path.join(tmp, 'cargo-home');
  const targetDir = path.join(tmp, 'target');
  mkdirSync(cargoHome);
  let failed = 0;
  try {
    for (const name of names) {
      if (NOT_RUST.has(name)) {
        console.log(`skip  ${name}  (${NOT_RUST.get(name)})`);
        continue;
      }
      const dir = path.join(tmp, 'crates', name);
      cpSync(path.join(FIXTURES, name), dir, { recursive: true });
      mkdirSync(path.join(dir, '.cargo'), { recursive: true });
      // a fixture workspace with its own directory source (vendor/, e.g. link-ws) keeps its config
      if (!existsSync(path.join(dir, '.cargo', 'config.toml'))) writeFileSync(
        path.join(dir, '.cargo', 'config.toml'),
        `[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = ${JSON.stringify(REGISTRY)}\n`,
      );
      const r = spawnSync('cargo', ['check', '--offline', '--quiet', '--all-targets'], {
        cwd: dir,
        env: { ...process.env, CARGO_HOME: cargoHome, CARGO_TARGET_DIR: targetDir, RUSTFLAGS: '--cap-lints=allow' },
        encoding: 'utf8',
      });
      if (r.status === 0) console.log(`ok    ${name}`);
      else {
        failed++;
        console.log(`FAIL  ${name}\n${(r.stderr || '').trim().split('\n').slice(0, 30).map((l) => '      ' + l).join('\n')}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.exit(failed > 0 ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
