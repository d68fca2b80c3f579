// `cap-scan allow`: generate the allowlist from the current findings; `--write` updates Cargo.toml in place.

import { writeFile } from 'node:fs/promises';
import type { CommandOutput, CommonOptions } from '../options.js';
import type { AllowEntry } from '../policy/allowlist.js';
import { splitEntryKey } from '../policy/entry-key.js';
import { plural } from '../report/common.js';
import { scanWorkspace } from './lazy.js';
import { setTableEntries, tomlKey, tomlStringArray, type TableEntry } from '../policy/toml-edit.js';
import type { Capability, Phase, Project, ScanResult } from '../types.js';
import { UserError } from '../types.js';
import { readPolicy, shownPath } from './check.js';
import { filterScan } from '../report/filter.js';
import { defineCommand } from './command.js';

export interface AllowOptions extends CommonOptions {
  write: boolean;
  dryRun: boolean;
}

interface Gathered {
  runtime: Set<Capability>;
  build: Set<Capability>;
  urls: Set<string>;
  phases: Set<Phase>;
  /** Ids of the supply-chain indicators of any of its versions. */
  indicators: Set<string>;
}

/**
 * The review note of a crate with indicators, a TOML comment after its entry. Only ids and counts (our
 * own words), never text taken from the crate.
 */
function reviewComment(indicators: string[], urlCount: number): string {
  const urls = urlCount > 0 ? `; ${urlCount} URL${urlCount === 1 ? '' : 's'}/host${urlCount === 1 ? '' : 's'} not recorded` : '';
  return `# REVIEW: indicators ${indicators.join(', ')} fail check until reviewed and accepted with indicators = [...]${urls}`;
}

/**
 * Allowlist entries (key = crate name, value = TOML) for the non-member crates of a scan, sorted by
 * name. Several versions of one crate share one entry (the union). The value is a plain list when
 * both phases need the same capabilities, or when only one phase needs any and the crate runs only
 * in that phase; otherwise a `{ runtime = [...], build = [...] }` table. URLs and hosts the crate
 * contains go in `urls` — unless the crate has supply-chain indicators: then nothing of what it
 * contains is blessed (no `urls`, never `indicators`), and a trailing comment says what to review.
 */
export function generateAllowlist(result: ScanResult, project: Project | null, only: string | readonly string[] | null = null): TableEntry[] {
  const names = only === null ? null : new Set(typeof only === 'string' ? [only] : only);
  const members = new Set((project?.packages ?? []).filter((p) => p.member).map((p) => `${p.name}@${p.version}`));
  const byName = new Map<string, Gathered>();
  for (const c of result.crates) {
    if (members.has(`${c.name}@${c.version}`)) continue;
    if (names !== null && !names.has(c.name)) continue;
    let g = byName.get(c.name);
    if (!g) byName.set(c.name, (g = { runtime: new Set(), build: new Set(), urls: new Set(), phases: new Set(), indicators: new Set() }));
    for (const i of c.indicators) g.indicators.add(i.id);
    for (const x of c.phases.runtime) g.runtime.add(x);
    for (const x of c.phases.build) g.build.add(x);
    for (const u of [...c.urls, ...c.hosts]) g.urls.add(u);
    const pkg = project?.packages.find((p) => p.name === c.name && p.version === c.version);
    for (const ph of pkg?.phases ?? []) g.phases.add(ph);
  }
  const out: TableEntry[] = [];
  for (const name of [...byName.keys()].sort()) {
    const g = byName.get(name)!;
    const rt = [...g.runtime].sort();
    const bd = [...g.build].sort();
    const flagged = [...g.indicators].sort();
    const found = [...g.urls].sort();
    const urls = flagged.length ? [] : found;
    if (rt.length === 0 && bd.length === 0 && urls.length === 0 && flagged.length === 0) continue;
    const same = rt.length === bd.length && rt.every((x, i) => x === bd[i]);
    const onlyPhase: Phase | null = g.phases.size === 1 ? [...g.phases][0]! : g.phases.size === 0 ? (rt.length ? 'runtime' : 'build') : null;
    const single = (bd.length === 0 && onlyPhase === 'runtime') || (rt.length === 0 && onlyPhase === 'build');
    let value: string;
    // a flagged crate gets a table, where the reviewer adds `indicators = [...]`
    if (urls.length === 0 && (same || single) && flagged.length === 0) {
      value = tomlStringArray(rt.length ? rt : bd);
    } else {
      const parts: string[] = [];
      if (rt.length) parts.push(`runtime = ${tomlStringArray(rt)}`);
      if (bd.length) parts.push(`build = ${tomlStringArray(bd)}`);
      if (urls.length) parts.push(`urls = ${tomlStringArray(urls)}`);
      value = parts.length ? `{ ${parts.join(', ')} }` : '{}';
    }
    if (flagged.length) value += `  ${reviewComment(flagged, found.length)}`;
    out.push({ key: name, value });
  }
  return out;
}

export async function runAllow(opts: AllowOptions): Promise<CommandOutput> {
  // allow prints TOML for Cargo.toml (or a one-line summary with --write); it used to ignore -f sarif
  if (opts.format !== 'human') throw new UserError(`allow writes TOML for Cargo.toml and has no --format ${opts.format} (run it without --format)`);
  // --crate (repeatable) picks the entries; --capability only narrows what is printed: written
  // entries without the other capabilities would make check fail on them
  const only = opts.filter?.crates.length ? [...new Set(opts.filter.crates.map((c) => c.name))].sort() : null;
  if (opts.write && !opts.dryRun && opts.filter?.capabilities.length) {
    throw new UserError('allow --write cannot take --capability: the entries would lose the other capabilities (use --crate, or print without --write)');
  }
  const { project, result: full } = await scanWorkspace(opts);
  for (const name of only ?? []) {
    const unscanned = full.unscanned.find((u) => u.name === name);
    if (unscanned) throw new UserError(`crate '${name}' could not be scanned: ${unscanned.reason}`);
    if (!full.crates.some((c) => c.name === name)) throw new UserError(`no crate named '${name}' in the lockfile`);
  }
  const result = opts.filter?.capabilities.length ? filterScan(full, { crates: [], capabilities: opts.filter.capabilities }) : full;
  const entries = generateAllowlist(result, project, only);
  const { policy, text } = await readPolicy(project);
  const basePath = [policy.section, 'metadata', 'cap-scan'];
  const tablePath = [...basePath, 'allow'];
  const header = `[${tablePath.map(tomlKey).join('.')}]`;
  // a policy allow creates denies indicators: CI fails on them until a reviewer accepts each one
  const baseEntries: TableEntry[] = policy.present ? [] : [{ key: 'deny-indicators', value: 'true' }];
  const baseToml = baseEntries.length ? `[${basePath.map(tomlKey).join('.')}]\n${baseEntries.map((e) => `${e.key} = ${e.value}\n`).join('')}\n` : '';
  const toml = `${baseToml}${header}\n${entries.map((e) => `${tomlKey(e.key)} = ${e.value}\n`).join('')}`;
  // allowing records what crates do today; a crate that looks like an attack deserves a look first
  const members = new Set(project.packages.filter((p) => p.member).map((p) => `${p.name}@${p.version}`));
  const flagged = [
    ...new Set(
      result.crates
        .filter((c) => c.indicators.length > 0 && !members.has(`${c.name}@${c.version}`) && (only === null || only.includes(c.name)))
        .map((c) => c.name),
    ),
  ];
  const review = flagged.length
    ? `Review before committing: ${flagged.join(', ')} ${flagged.length === 1 ? 'has' : 'have'} supply-chain indicators; nothing of ${flagged.length === 1 ? 'it' : 'them'} is accepted (cap-scan check --deny-indicators lists them; accept each reviewed one with indicators = [...] in the entry)\n`
    : '';
  if (!opts.write || opts.dryRun) return { text: toml + (review ? `# ${review}` : ''), exitCode: 0 };

  const unscannedNames = new Set(result.unscanned.map((u) => u.name));
  const generated = new Set(entries.map((e) => e.key));
  // --crate: only that crate's keys change; otherwise the table becomes the generated one, keeping
  // entries of crates that could not be scanned (their needs are unknown)
  const remove =
    only !== null
      ? (k: string) => only.includes(splitEntryKey(k).name) && !generated.has(k)
      : (k: string) => !generated.has(k) && !unscannedNames.has(splitEntryKey(k).name);
  const manifest = project.rootManifest.path;
  const withBase = baseEntries.length ? setTableEntries(text, basePath, baseEntries, { path: shownPath(manifest) }) : text;
  const updated = setTableEntries(withBase, tablePath, entries, { path: shownPath(manifest), remove });
  if (updated !== text) await writeFile(manifest, updated);
  // what really changed, entry by entry (it said "Updated … 97 allow entries" when one changed)
  const after = (await import('../policy/allowlist.js')).parsePolicy(updated, shownPath(manifest)).entries;
  const sig = (e: AllowEntry) => JSON.stringify([e.runtime, e.build, e.plain, e.urls]);
  const beforeBy = new Map(policy.entries.map((e) => [e.key, sig(e)]));
  const afterBy = new Map(after.map((e) => [e.key, sig(e)]));
  const added = after.filter((e) => !beforeBy.has(e.key)).length;
  const changed = after.filter((e) => beforeBy.has(e.key) && beforeBy.get(e.key) !== sig(e)).length;
  const removed = policy.entries.filter((e) => !afterBy.has(e.key)).length;
  const parts = [added && `${added} added`, changed && `${changed} changed`, removed && `${removed} removed`].filter(Boolean);
  const scope = only !== null ? ` (${only.join(', ')})` : '';
  const what = `${parts.length ? parts.join(', ') : 'no entry changed'}${scope} (${plural(after.length, 'allow entry', 'allow entries')} in the table)`;
  return { text: `${updated !== text ? 'Updated' : 'Unchanged'} ${header} in ${shownPath(manifest)}: ${what}\n${review}`, exitCode: 0 };
}

export const allowCommand = defineCommand({
  name: 'allow',
  description: 'generate the allowlist from current findings (prints TOML; --write updates Cargo.toml in place)',
  configure: (cmd) =>
    cmd
      .option('--write', 'update the allow table in Cargo.toml, keeping every other byte')
      .option('--dry-run', 'print the TOML that --write would write'),
  // --crate (repeatable, a common option) limits the entries generated and written
  options: (common, _args, flags): AllowOptions => ({ ...common, write: !!flags.write, dryRun: !!flags.dryRun }),
  run: runAllow,
});
