// Cargo configuration that decides where crate sources come from: `[source.*]` replacement and
// `[registries.*]`, read the way cargo reads `.cargo/config.toml`.
//
// Files, highest precedence first: `<startDir>/.cargo/config[.toml]`, then each parent directory up to
// the filesystem root, then `$CARGO_HOME/config[.toml]`. When a directory holds both `config` and
// `config.toml`, cargo uses `config` (and warns); so do we. Tables merge key by key; a deeper file wins
// per key. Relative `directory` / `local-registry` paths are resolved against the parent of the
// `.cargo` directory (for `$CARGO_HOME/config.toml`: the parent of CARGO_HOME), as cargo does.
//
// Not read: `--config` arguments and `CARGO_*` environment overrides.

import { MAX_TOML_BYTES, NotRegularFileError, readRegularText, refusal } from '../util/fs-safe.js';
import path from 'node:path';
import { UserError } from '../types.js';
import { traceContent } from '../util/fs-trace.js';
import { isTable, parseToml } from '../util/toml.js';

export interface SourceEntry {
  /** Index URL as written (`https://…` git index or `sparse+https://…`). */
  registry?: string;
  replaceWith?: string;
  /** Absolute path of a directory source. */
  directory?: string;
  /** Absolute path of a local registry. */
  localRegistry?: string;
  git?: string;
  branch?: string;
  tag?: string;
  rev?: string;
  /** Config file that defined `replace-with` (or, failing that, the entry), for messages. */
  definedIn?: string;
}

export interface CargoConfig {
  sources: Record<string, SourceEntry>;
  registries: Record<string, { index: string; definedIn?: string }>;
  /** Config files that were read, highest precedence first. */
  files?: string[];
}

export const CRATES_IO_NAME = 'crates-io';
export const CRATES_IO_GIT_INDEX = 'https://github.com/rust-lang/crates.io-index';
export const CRATES_IO_SPARSE_INDEX = 'https://index.crates.io/';

export { defaultCargoHome } from '../util/cargo-home.js';

/** Config file of one `.cargo`-like directory, or null. `config` wins over `config.toml`, as in cargo. */
async function readConfigIn(dir: string): Promise<{ file: string; text: string } | null> {
  for (const base of ['config', 'config.toml']) {
    const file = path.join(dir, base);
    try {
      const text = await readRegularText(file, { maxBytes: MAX_TOML_BYTES });
      traceContent(file);
      return { file, text };
    } catch (err) {
      if (err instanceof NotRegularFileError && err.kind === 'directory') continue;
      const refused = refusal(err);
      if (refused) throw new UserError(`${file}: ${refused}`);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') continue;
      throw new UserError(`${file}: cannot read cargo config (${code ?? String(err)})`);
    }
  }
  return null;
}

function str(file: string, where: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UserError(`${file}: \`${where}\` must be a string`);
  return v;
}

/** Merge one file's `[source]`/`[registries]` into `cfg` without overriding keys already set (deeper first). */
function mergeFile(cfg: CargoConfig, file: string, doc: Record<string, unknown>): void {
  // Relative paths are relative to the directory that contains the `.cargo` dir (or CARGO_HOME).
  const root = path.dirname(path.dirname(file));
  const source = doc.source;
  if (source !== undefined) {
    if (!isTable(source)) throw new UserError(`${file}: \`source\` must be a table`);
    for (const name of Object.keys(source)) {
      const t = source[name];
      if (!isTable(t)) throw new UserError(`${file}: \`source.${name}\` must be a table`);
      const entry = (cfg.sources[name] ??= {});
      const hadReplaceWith = entry.replaceWith !== undefined;
      const set = <K extends keyof SourceEntry>(key: K, value: SourceEntry[K] | undefined): void => {
        if (value !== undefined && entry[key] === undefined) entry[key] = value;
      };
      const directory = str(file, `source.${name}.directory`, t.directory);
      const localRegistry = str(file, `source.${name}.local-registry`, t['local-registry']);
      const replaceWith = str(file, `source.${name}.replace-with`, t['replace-with']);
      set('registry', str(file, `source.${name}.registry`, t.registry));
      set('replaceWith', replaceWith);
      set('directory', directory === undefined ? undefined : path.resolve(root, directory));
      set('localRegistry', localRegistry === undefined ? undefined : path.resolve(root, localRegistry));
      set('git', str(file, `source.${name}.git`, t.git));
      set('branch', str(file, `source.${name}.branch`, t.branch));
      set('tag', str(file, `source.${name}.tag`, t.tag));
      set('rev', str(file, `source.${name}.rev`, t.rev));
      // Messages name the file that set `replace-with`, else the highest-precedence file defining the entry.
      if (!hadReplaceWith && entry.replaceWith !== undefined) entry.definedIn = file;
      else entry.definedIn ??= file;
    }
  }
  const registries = doc.registries;
  if (registries !== undefined) {
    if (!isTable(registries)) throw new UserError(`${file}: \`registries\` must be a table`);
    for (const name of Object.keys(registries)) {
      const t = registries[name];
      if (!isTable(t)) throw new UserError(`${file}: \`registries.${name}\` must be a table`);
      const index = str(file, `registries.${name}.index`, t.index);
      if (index !== undefined && cfg.registries[name] === undefined) {
        cfg.registries[name] = { index, definedIn: file };
      }
    }
  }
}

export async function loadCargoConfig(startDir: string, cargoHome: string): Promise<CargoConfig> {
  const dirs: string[] = [];
  let dir = path.resolve(startDir);
  for (;;) {
    dirs.push(path.join(dir, '.cargo'));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const home = path.resolve(cargoHome);
  if (!dirs.includes(home)) dirs.push(home);

  const cfg: CargoConfig = { sources: {}, registries: {}, files: [] };
  for (const d of dirs) {
    const found = await readConfigIn(d);
    if (!found) continue;
    cfg.files!.push(found.file);
    mergeFile(cfg, found.file, parseToml(found.text, found.file, ' in cargo config'));
  }
  return cfg;
}

// ---------------------------------------------------------------- source ids

function canonHost(u: URL): string {
  return `${u.protocol}//${u.host.toLowerCase()}`;
}

/** Canonical form of a git / git-index URL: lower-case scheme and host, no trailing `/` or `.git`. */
function canonGitUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw.replace(/\/+$/, '').replace(/\.git$/, '');
  }
  let p = u.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (u.host.toLowerCase() === 'github.com') p = p.toLowerCase();
  return canonHost(u) + p;
}

/** Canonical sparse index URL: lower-case scheme and host, exactly one trailing `/`. */
function canonSparseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw.replace(/\/*$/, '/');
  }
  return canonHost(u) + u.pathname.replace(/\/*$/, '/');
}

/** Registry index (as written in config: `https://…` or `sparse+https://…`) to a source id. */
function registryIdOf(index: string): string {
  if (index.startsWith('sparse+')) return normalizeRegistry('sparse', index.slice('sparse+'.length));
  if (index.startsWith('registry+')) return normalizeRegistry('registry', index.slice('registry+'.length));
  return normalizeRegistry('registry', index);
}

function normalizeRegistry(kind: 'registry' | 'sparse', url: string): string {
  const id = kind === 'sparse' ? `sparse+${canonSparseUrl(url)}` : `registry+${canonGitUrl(url)}`;
  if (id === `registry+${canonGitUrl(CRATES_IO_GIT_INDEX)}` || id === `sparse+${canonSparseUrl(CRATES_IO_SPARSE_INDEX)}`) {
    return CRATES_IO_NAME;
  }
  return id;
}

function gitIdOf(url: string, ref: { branch?: string; tag?: string; rev?: string }): string {
  let id = `git+${canonGitUrl(url)}`;
  if (ref.branch !== undefined) id += `?branch=${ref.branch}`;
  else if (ref.tag !== undefined) id += `?tag=${ref.tag}`;
  else if (ref.rev !== undefined) id += `?rev=${ref.rev}`;
  return id;
}

/**
 * Normalize a Cargo.lock `source` to a comparable id:
 * - crates.io, as `registry+https://github.com/rust-lang/crates.io-index` or `sparse+https://index.crates.io/`,
 *   → `crates-io`;
 * - `registry+URL` → `registry+<URL, lower-case scheme/host, no trailing / or .git>`;
 * - `sparse+URL` → `sparse+<URL, lower-case scheme/host, one trailing />`;
 * - `git+URL?branch=b#sha` → `git+<canonical URL>?branch=b` (also `tag=`/`rev=`; the locked commit is dropped);
 * - anything else is returned trimmed.
 */
export function sourceIdOf(lockSource: string): string {
  const s = lockSource.trim();
  if (s.startsWith('registry+')) return normalizeRegistry('registry', s.slice('registry+'.length));
  if (s.startsWith('sparse+')) return normalizeRegistry('sparse', s.slice('sparse+'.length));
  if (s.startsWith('git+')) {
    const g = parseGitSource(s);
    return gitIdOf(g.url, g);
  }
  return s;
}

export interface GitSource {
  url: string;
  branch?: string;
  tag?: string;
  rev?: string;
  /** The locked commit (fragment), when present. */
  commit?: string;
}

/** Split `git+URL?branch=..#sha`. */
export function parseGitSource(lockSource: string): GitSource {
  let s = lockSource.startsWith('git+') ? lockSource.slice(4) : lockSource;
  const out: GitSource = { url: '' };
  const hash = s.indexOf('#');
  if (hash >= 0) {
    const commit = s.slice(hash + 1);
    if (commit !== '') out.commit = commit;
    s = s.slice(0, hash);
  }
  const q = s.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(s.slice(q + 1));
    for (const key of ['branch', 'tag', 'rev'] as const) {
      const v = params.get(key);
      if (v !== null) out[key] = v;
    }
    s = s.slice(0, q);
  }
  out.url = s;
  return out;
}

// ---------------------------------------------------------------- replacement

export interface Replacement {
  kind: 'directory' | 'local-registry' | 'registry' | 'sparse' | 'none';
  /** Absolute directory of a `directory` or `local-registry` replacement. */
  path?: string;
  /** Index URL of a `registry`/`sparse` replacement, without the `sparse+`/`registry+` prefix. */
  url?: string;
  /** Name of the source at the end of the chain (`crates-io` for crates.io). */
  name?: string;
}

/** The configured source name for a lock source, or null when no config entry describes it. */
function nameOf(cfg: CargoConfig, id: string): string | null {
  if (id === CRATES_IO_NAME) return CRATES_IO_NAME;
  for (const name of Object.keys(cfg.sources).sort()) {
    const e = cfg.sources[name];
    if (e.registry !== undefined && registryIdOf(e.registry) === id) return name;
    if (e.git !== undefined && gitIdOf(e.git, e) === id) return name;
  }
  for (const name of Object.keys(cfg.registries).sort()) {
    if (registryIdOf(cfg.registries[name].index) === id) return name;
  }
  return null;
}

function urlReplacement(index: string, name: string): Replacement {
  if (index.startsWith('sparse+')) return { kind: 'sparse', url: index.slice('sparse+'.length), name };
  if (index.startsWith('registry+')) return { kind: 'registry', url: index.slice('registry+'.length), name };
  return { kind: 'registry', url: index, name };
}

/**
 * Where cargo would take a lock source from, after following `replace-with` chains.
 * `none`: no replacement applies (the original source is used).
 * Throws UserError for a cycle or a `replace-with` naming an undefined source.
 */
export function resolveReplacement(cfg: CargoConfig, lockSource: string): Replacement {
  const start = nameOf(cfg, sourceIdOf(lockSource));
  if (start === null) return { kind: 'none' };
  const first = cfg.sources[start];
  if (first?.replaceWith === undefined) return { kind: 'none', name: start };

  const chain = [start];
  let name = start;
  for (;;) {
    const entry = cfg.sources[name];
    if (entry?.replaceWith === undefined) break;
    const next = entry.replaceWith;
    if (chain.includes(next)) {
      const where = entry.definedIn ? ` (${entry.definedIn})` : '';
      throw new UserError(`cargo config: cycle in source replacement: ${[...chain, next].join(' -> ')}${where}`);
    }
    if (cfg.sources[next] === undefined && cfg.registries[next] === undefined && next !== CRATES_IO_NAME) {
      const where = entry.definedIn ? ` (${entry.definedIn})` : '';
      throw new UserError(
        `cargo config: source \`${name}\` is replaced with \`${next}\`, which is not defined in [source] or [registries]${where}`,
      );
    }
    chain.push(next);
    name = next;
  }

  const end = cfg.sources[name];
  if (end?.directory !== undefined) return { kind: 'directory', path: end.directory, name };
  if (end?.localRegistry !== undefined) return { kind: 'local-registry', path: end.localRegistry, name };
  if (end?.registry !== undefined) return urlReplacement(end.registry, name);
  const reg = cfg.registries[name];
  if (reg !== undefined) return urlReplacement(reg.index, name);
  if (name === CRATES_IO_NAME) return { kind: 'sparse', url: CRATES_IO_SPARSE_INDEX, name };
  const where = end?.definedIn ? ` (${end.definedIn})` : '';
  throw new UserError(
    `cargo config: source \`${name}\` has no \`directory\`, \`local-registry\` or \`registry\`${where}`,
  );
}
