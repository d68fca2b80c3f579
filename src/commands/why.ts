// `cap-scan why CRATE [CAPABILITY]`: how a crate is reached from the workspace members and why it has a
// capability (like `cargo tree -i`, plus the evidence). CRATE is NAME or NAME@VERSION; CAPABILITY an id
// (net) or a kind (net.connect). A crate that is not in the lockfile is an error (exit 2) naming close
// names, checked before the scan. Formats: human, json.

import * as nodePath from 'node:path';
import type { CommandOutput, CommonOptions } from '../options.js';
import type { WhyCrate } from '../report/why.js';
import { scanWorkspace } from './lazy.js';
import { CAPABILITIES, CAPABILITY_KINDS, UserError } from '../types.js';
import { cmp } from '../util/compare.js';
import { defineCommand } from './command.js';
import { editDistance } from '../util/edit-distance.js';

export interface WhyOptions extends CommonOptions {
  crate: string;
  capability: string | null;
}

/** Up to five names of the lockfile close to `name` (`-`/`_` and case ignored, or two edits away, or containing it). */
export function closeNames(name: string, names: Iterable<string>): string[] {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, '_');
  const n = norm(name).slice(0, 64);
  const scored: Array<[string, number]> = [];
  for (const x of new Set(names)) {
    const m = norm(x);
    const d = m === n ? 0 : editDistance(n, m.slice(0, 64));
    if (d <= 2 || (n.length >= 3 && m.includes(n))) scored.push([x, d]);
  }
  return scored.sort((a, b) => a[1] - b[1] || cmp(a[0], b[0])).slice(0, 5).map(([x]) => x);
}

/** NAME or NAME@VERSION. */
export function parseCrateArg(spec: string): { name: string; version: string | null } {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const version = at < 0 ? null : spec.slice(at + 1);
  if (!name || version === '') throw new UserError(`why expects CRATE as NAME or NAME@VERSION, got '${spec}'`);
  return { name, version };
}

function notInLock(spec: string, name: string, version: string | null, names: string[], versions: string[]): UserError {
  if (version !== null && versions.length > 0) return new UserError(`${spec}: not in the lockfile (it has ${name} ${versions.join(', ')})`);
  const near = closeNames(name, names);
  return new UserError(`${spec}: no such crate in the lockfile${near.length ? `; did you mean ${near.join(', ')}?` : ''}`);
}

export async function runWhy(opts: WhyOptions): Promise<CommandOutput> {
  if (opts.format !== 'human' && opts.format !== 'json') throw new UserError(`--format ${opts.format} cannot report why (use human or json)`);
  const { name, version } = parseCrateArg(opts.crate);
  const cap = opts.capability;
  if (cap !== null && !(CAPABILITIES as string[]).includes(cap) && !Object.values(CAPABILITY_KINDS).some((ks) => (ks as readonly string[]).includes(cap))) {
    throw new UserError(`unknown capability '${cap}' (expected an id: ${CAPABILITIES.join(', ')}; or a kind such as net.connect, see cap-scan rules)`);
  }
  // the lockfile answers "is it there at all" before a scan that may take a while
  const [{ findWorkspaceRoot, resolveManifestPath }, { readLockfile }, { readManifest }] = await Promise.all([
    import('../project/load-project.js'),
    import('../project/lockfile.js'),
    import('../project/manifest.js'),
  ]);
  const start = await readManifest(await resolveManifestPath(opts.manifestPath));
  const root = await findWorkspaceRoot(start);
  const lock = await readLockfile(opts.lockfilePath ? nodePath.resolve(opts.lockfilePath) : nodePath.join(root.dir, 'Cargo.lock'));
  const inLock = lock.packages.filter((p) => p.name === name && (version === null || p.version === version));
  if (inLock.length === 0) {
    throw notInLock(opts.crate, name, version, lock.packages.map((p) => p.name), lock.packages.filter((p) => p.name === name).map((p) => p.version));
  }

  const { project, result } = await scanWorkspace(opts);
  const pkgs = project.packages.filter((p) => p.name === name && (version === null || p.version === version));
  if (pkgs.length === 0) {
    // in the lockfile, but left out of the scan: dev-only (without --include-dev) or not built for --target
    const why = project.excluded?.some((x) => x.name === name) ? `not built for ${project.targets?.join(', ')}` : 'reached only through dev-dependencies (--include-dev scans them)';
    throw new UserError(`${opts.crate}: in the lockfile but not scanned: ${why}`);
  }
  const [{ dependencyPaths }, { renderWhyHuman, renderWhyJson }] = await Promise.all([import('../project/provenance.js'), import('../report/why.js')]);
  const paths = dependencyPaths(project, opts.includeDev);
  const crates: WhyCrate[] = pkgs.map((pkg) => {
    const report = result.crates.find((c) => c.name === pkg.name && c.version === pkg.version && c.source === pkg.source) ?? null;
    const un = result.unscanned.find((u) => u.name === pkg.name && u.version === pkg.version);
    return { pkg, report, unscanned: pkg.member ? null : report ? null : un?.reason ?? pkg.unscannedReason ?? 'not scanned', dependencyPaths: paths.get(pkg.id) ?? [] };
  });
  const input = { project, result, crates, capability: opts.capability, includeDev: opts.includeDev, verbose: opts.verbose, color: opts.color };
  return { text: opts.format === 'json' ? renderWhyJson(input) : renderWhyHuman(input), exitCode: 0 };
}

export const whyCommand = defineCommand({
  name: 'why <crate> [capability]',
  description: 'how a crate is reached from the workspace members (as cargo tree -i) and why it has a capability (its evidence per phase)',
  formats: ['human', 'json'],
  options: (common, args): WhyOptions => ({ ...common, crate: args[0]!, capability: args[1] ?? null }),
  run: runWhy,
});
