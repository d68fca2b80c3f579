// `cap-scan crate SPEC [--deps]`: scan one crate before adding it.
// SPEC: a directory, a `.crate` file, or NAME@VERSION (VERSION may be a semver requirement) from the
// registry (crates.io, its cargo-config replacement, or --registry-url / CAP_SCAN_REGISTRY).
// --deps: resolve what the crate pulls in with `cargo generate-lockfile` in a temporary project (cargo's
// own resolver; it runs no build scripts and compiles nothing), then scan that workspace.

import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CommandOutput, CommonOptions, ScanOptions } from '../options.js';
import { filterScan } from '../report/filter.js';
import type { ResolvedCrate } from '../sources/crate-spec.js';
import type { DownloadProvider } from '../sources/registry.js';
import { addCrateTyposquats, downloadProvider, normalizeIndexUrl, render, resolveCrateSpecWith, scanCrateDir, scanWorkspace, sourceContext } from './lazy.js';
import type { ScanHooks } from '../scan/session.js';
import type { ScanResult } from '../types.js';
import { UserError } from '../types.js';
import { defineCommand } from './command.js';

export type CrateSpecOptions = ScanOptions & {
  /** Directory relative specs and the cargo config are resolved from (default: process.cwd()). */
  cwd?: string;
  /** Share a provider (and its HTTP client, cache hits, progress) with the caller. */
  provider?: DownloadProvider;
};

/** Resolve `NAME@VERSION`, a `.crate` file or a directory to an unpacked crate directory. */
export async function resolveCrateSpec(spec: string, opts: CrateSpecOptions): Promise<ResolvedCrate> {
  const cwd = opts.cwd ?? process.cwd();
  const ctx = await sourceContext(opts, cwd);
  return resolveCrateSpecWith(spec, ctx, opts.provider ?? (await downloadProvider()), cwd);
}

/** Name of the package of the temporary `--deps` project (filter it out of reports). */
export const PROBE_PACKAGE = 'cap-scan-probe';

export interface DepsWorkspace {
  /** Temporary workspace root (holds Cargo.toml, Cargo.lock, lib.rs and maybe .cargo/config.toml). */
  root: string;
  manifestPath: string;
  /** Remove the temporary workspace. */
  cleanup(): Promise<void>;
}

function runCargo(args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('cargo', args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: process.env }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') {
        reject(new UserError('--deps needs cargo on PATH (it resolves dependencies with `cargo generate-lockfile`); cargo was not found'));
      } else if (e.killed) {
        reject(new UserError(`cargo generate-lockfile timed out after ${timeoutMs / 1000} s`));
      } else {
        const lines = String(stderr).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('error'));
        reject(new UserError(`cargo generate-lockfile failed: ${lines[0] ?? String(stderr).trim().split('\n').pop() ?? e.message}`));
      }
    });
  });
}

/**
 * A temporary project depending on exactly `name = "=version"`, with a Cargo.lock from cargo's resolver.
 * With a registry override, crates-io is replaced by that sparse index in the project's
 * `.cargo/config.toml` (Cargo.lock keeps the crates-io source, which the download provider maps back).
 */
export async function createDepsWorkspace(
  name: string,
  version: string,
  opts: { registryUrl: string | null; offline: boolean; timeoutMs?: number },
): Promise<DepsWorkspace> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cap-scan-deps-'));
  const cleanup = (): Promise<void> => rm(root, { recursive: true, force: true });
  try {
    const manifest = [
      '[package]',
      `name = "${PROBE_PACKAGE}"`,
      'version = "0.0.0"',
      'edition = "2021"',
      'publish = false',
      '',
      '[lib]',
      'path = "lib.rs"',
      '',
      '[dependencies]',
      `${name} = "=${version}"`,
      '',
      '[workspace]',
      '',
    ].join('\n');
    await writeFile(path.join(root, 'Cargo.toml'), manifest);
    await writeFile(path.join(root, 'lib.rs'), '');
    if (opts.registryUrl) {
      await mkdir(path.join(root, '.cargo'));
      const url = await normalizeIndexUrl(opts.registryUrl);
      await writeFile(
        path.join(root, '.cargo', 'config.toml'),
        ['[source.crates-io]', 'replace-with = "cap-scan-registry"', '', '[source.cap-scan-registry]', `registry = "sparse+${url}"`, ''].join('\n'),
      );
    }
    await runCargo(['generate-lockfile', ...(opts.offline ? ['--offline'] : [])], root, opts.timeoutMs ?? 300_000);
    return { root, manifestPath: path.join(root, 'Cargo.toml'), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export interface CrateOptions extends CommonOptions {
  spec: string;
  deps: boolean;
}

/**
 * Refuses a directory that is not a crate: no Cargo.toml (a docs folder, an empty directory, a crate's
 * `src/`), or a Cargo.toml without [package]. Scanning it would print an empty report that reads as "safe".
 */
export async function requireCrateDir(dir: string, shown: string = dir): Promise<void> {
  const manifestPath = path.join(dir, 'Cargo.toml');
  let exists = false;
  try {
    statSync(manifestPath);
    exists = true; // a FIFO or a directory is refused by readManifest, with what it is
  } catch {
    // missing
  }
  if (!exists) throw new UserError(`${shown}: not a crate (no Cargo.toml in the directory)`);
  const m = await (await import('../project/manifest.js')).readManifest(manifestPath);
  if (!m.package) {
    throw new UserError(
      m.workspace
        ? `${shown}: Cargo.toml is a workspace without [package], not a crate (scan it with --manifest-path, or pass a member's directory)`
        : `${shown}: Cargo.toml has no [package], not a crate`,
    );
  }
}

/**
 * The `crate` command's scan of one located crate (without --deps): refuses a directory that is not a
 * crate, scans it, adds typosquat indicators, and for a resolved crate records its source and checksum.
 * `batch worker` calls this too (with `hooks.link`: its dependencies' export tables), so a batch result is
 * what `crate DIR --format json` reports, linked.
 */
export async function scanLocatedCrate(crate: ResolvedCrate, o: ScanOptions, shown: string = crate.dir, hooks?: ScanHooks): Promise<ScanResult> {
  await requireCrateDir(crate.dir, shown);
  const result = await scanCrateDir(crate.dir, o, hooks);
  await addCrateTyposquats(result.crates, crate.dir);
  // (a directory given as it is has name '' here: its report keeps what the scan found)
  for (const c of result.crates) {
    if (c.name === crate.name && c.version === crate.version) {
      c.source = crate.source;
      c.checksum = crate.checksum;
    }
  }
  return result;
}

/** The `crate` command: resolve, scan (with --deps: the resolved graph), report. */
export async function runCrate(o: CrateOptions): Promise<CommandOutput> {
  const report = async (result: ScanResult): Promise<CommandOutput> => ({
    text: await render(o.format, { command: 'scan', result: filterScan(result, o.filter), project: null, verbose: o.verbose, color: o.color, workspaceRoot: null }),
    exitCode: 0,
  });
  // an unpacked crate directory is scanned as it is (no manifest lookup, no download provider)
  if (!o.deps && existsSync(o.spec) && statSync(o.spec).isDirectory()) {
    return report(await scanLocatedCrate({ dir: o.spec, name: '', version: '', checksum: null, source: null }, o));
  }
  const provider = await downloadProvider();
  const crate = await resolveCrateSpec(o.spec, { ...o, provider });
  let result: ScanResult;
  if (!o.deps) {
    result = await scanLocatedCrate(crate, o, o.spec);
  } else {
    if (crate.source === null) throw new UserError('--deps needs NAME@VERSION (a registry crate): a directory or .crate file has no resolvable dependencies');
    const ws = await createDepsWorkspace(crate.name, crate.version, { registryUrl: o.registryUrl ?? (process.env.CAP_SCAN_REGISTRY || null), offline: o.offline });
    try {
      // a temporary project: its crates are cached, a workspace entry would never be read
      ({ result } = await scanWorkspace({ ...o, manifestPath: ws.manifestPath, workspaceEntry: false }));
    } finally {
      await ws.cleanup();
    }
    // the probe project is an artifact: paths start at the crate asked about, and there is no member roll-up
    const { members: _probe, ...rest } = result;
    void _probe;
    const crates = result.crates
      .filter((c) => c.name !== PROBE_PACKAGE)
      .map((c) => {
        const { dependencyPaths, ...report } = c;
        if (c.name === crate.name && c.version === crate.version) return report;
        return { ...report, dependencyPaths: (dependencyPaths ?? []).map((p) => ({ ...p, path: p.path.slice(1) })).filter((p) => p.path.length > 1) };
      });
    result = { ...rest, crates };
  }
  return report(result);
}

export const crateCommand = defineCommand({
  name: 'crate <spec>',
  description: 'scan one crate: a directory, a .crate file, or NAME@VERSION (a semver requirement) from the registry, or from the directory source that replaces crates-io in the cargo config',
  configure: (cmd) => cmd.option('--deps', 'also scan what the crate pulls in (resolved with cargo generate-lockfile; runs no build scripts)'),
  options: (common, args, flags): CrateOptions => ({ ...common, spec: args[0]!, deps: !!flags.deps }),
  run: runCrate,
});
