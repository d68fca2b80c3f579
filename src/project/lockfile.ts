// Cargo.lock reading, formats v1 to v4.
//
// v1: no `version` key; dependencies are always `name version (source)` (no source for path packages);
//     checksums live in `[metadata]` as `"checksum name version (source)" = "hex"`. Very old files also
//     have a `[root]` table for the root package.
// v2: no `version` key; checksums inline; dependencies are `name`, or `name version` / `name version
//     (source)` only when the shorter form is ambiguous.
// v3: `version = 3`, same encoding as v2.  v4: `version = 4` (only git source URL encoding changed).

import * as nodePath from 'node:path';
import { readTomlFile, scanTomlKeys, TomlLineIndex } from './manifest.js';
import { isTable, parseToml, type TomlTable } from '../util/toml.js';
import { UserError, type LockDependencyRef, type Lockfile, type LockPackage } from '../types.js';

const SUPPORTED = [1, 2, 3, 4];

/** Parses `name`, `name version` or `name version (source)`; null when malformed. */
export function parseLockDependency(s: string): LockDependencyRef | null {
  const m = /^(\S+)(?: (\S+))?(?: \((\S+)\))?$/.exec(s.trim());
  if (!m) return null;
  const ref: LockDependencyRef = { name: m[1]! };
  if (m[2] !== undefined) ref.version = m[2];
  if (m[3] !== undefined) ref.source = m[3];
  return ref;
}

/**
 * A package name as cargo accepts it: a Unicode identifier start or `_`, then identifier characters or
 * `-` (never `/`, `.`, NUL or whitespace), and not `_` alone. Capped at 256 characters (a path component).
 */
export function isValidCrateName(name: string): boolean {
  return name.length <= 256 && name !== '_' && /^[\p{XID_Start}_][\p{XID_Continue}-]*$/u.test(name);
}

// semver 2.0: numeric identifiers without leading zeros, pre-release and build identifiers [0-9A-Za-z-].
const NUM = '(?:0|[1-9][0-9]*)';
const PRE_ID = `(?:${NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const SEMVER_RE = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}(?:-${PRE_ID}(?:\\.${PRE_ID})*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`);

/** A semver version as cargo writes it in Cargo.lock (no `v` prefix, no spaces). */
export function isValidVersion(v: string): boolean {
  return v.length <= 256 && SEMVER_RE.test(v);
}

/** `registry+URL`, `sparse+URL`, `git+URL[?query]#rev` or `path+URL`: the source kinds cargo reads. */
export function isValidSource(s: string): boolean {
  // a lock file names a handful of sources thousands of times: URL parsing once per distinct source
  let ok = validSources.get(s);
  if (ok === undefined) {
    ok = checkSource(s);
    if (validSources.size > 10_000) validSources.clear();
    validSources.set(s, ok);
  }
  return ok;
}

const validSources = new Map<string, boolean>();

function checkSource(s: string): boolean {
  const m = /^(registry|sparse|git|path)\+(\S+)$/.exec(s);
  if (!m || s.length > 4096 || /[\u0000-\u001f\u007f]/.test(s)) return false;
  try {
    new URL(m[2]!);
    return true;
  } catch {
    return false;
  }
}

function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

function fail(path: string, line: number | null, msg: string): never {
  throw new UserError(`${path}${line ? `:${line}` : ''}: ${msg}`);
}

export function parseLockfile(text: string, path: string): Lockfile {
  const doc = parseToml(text, path);
  // key lines are needed only for messages: indexed on first use (a lock file has 100k keys or more)
  let lineIndex: TomlLineIndex | null = null;
  const lines = {
    exact: (p: string[]) => (lineIndex ??= new TomlLineIndex(text)).exact(p),
    lineOf: (p: string[]) => (lineIndex ??= new TomlLineIndex(text)).lineOf(p),
  };

  // `[[package]]` headers in document order give each package its line, and the keys under each header
  // their own lines (for messages about one value).
  const headerLines: number[] = [];
  const keyLines: Array<Map<string, number>> = [];
  for (const k of scanTomlKeys(text)) {
    if (k.path[0] !== 'package') continue;
    if (k.header && k.path.length === 1) {
      headerLines.push(k.line);
      keyLines.push(new Map());
    } else if (!k.header && k.path.length === 2 && keyLines.length > 0) {
      const m = keyLines[keyLines.length - 1]!;
      if (!m.has(k.path[1]!)) m.set(k.path[1]!, k.line);
    }
  }

  let version: number | null = null;
  if (doc.version !== undefined) {
    if (typeof doc.version !== 'number' || !SUPPORTED.includes(doc.version)) {
      const shown = typeof doc.version === 'string' ? JSON.stringify(doc.version) : String(doc.version);
      fail(path, lines.exact(['version']), `unsupported lock file version ${shown} (cap-scan reads versions 1 to 4)`);
    }
    version = doc.version;
  }

  const rawPackages: Array<{ table: TomlTable; line: number | null; where: string; keys?: Map<string, number> }> = [];
  if (doc.root !== undefined) {
    if (!isTable(doc.root)) fail(path, lines.exact(['root']), '`root` must be a table');
    const keys = new Map<string, number>();
    for (const k of ['name', 'version', 'source']) {
      const at = lines.exact(['root', k]);
      if (at !== null) keys.set(k, at);
    }
    rawPackages.push({ table: doc.root, line: lines.exact(['root']), where: '[root]', keys });
  }
  if (doc.package !== undefined) {
    if (!Array.isArray(doc.package)) fail(path, lines.exact(['package']), '`package` must be an array of tables');
    const sameCount = headerLines.length === doc.package.length;
    doc.package.forEach((t: unknown, idx: number) => {
      const line = sameCount ? headerLines[idx]! : (lines.exact(['package']) ?? null);
      if (!isTable(t)) fail(path, line, `package #${idx + 1} must be a table`);
      rawPackages.push({ table: t, line, where: `package #${idx + 1}`, keys: sameCount ? keyLines[idx] : undefined });
    });
  }

  const packages: LockPackage[] = [];
  let inlineChecksums = false;
  let shortDeps = false;
  for (const { table, line, where, keys } of rawPackages) {
    const str = (key: string, required: boolean): string | null => {
      const v = table[key];
      if (v === undefined) {
        if (required) fail(path, line, `${where} has no \`${key}\``);
        return null;
      }
      if (typeof v !== 'string') fail(path, line, `${where}: \`${key}\` must be a string`);
      return v;
    };
    const name = str('name', true)!;
    const pkgVersion = str('version', true)!;
    const source = str('source', false);
    // Names and versions become directory names in the source providers: only what cargo accepts.
    const keyLine = (key: string) => keys?.get(key) ?? line;
    if (!isValidCrateName(name)) fail(path, keyLine('name'), `invalid package name ${shown(name)}`);
    if (!isValidVersion(pkgVersion)) fail(path, keyLine('version'), `invalid version ${shown(pkgVersion)} of package ${name} (not semver)`);
    if (source !== null && !isValidSource(source)) fail(path, keyLine('source'), `invalid source ${shown(source)} of package ${name} ${pkgVersion}`);
    const checksum = str('checksum', false);
    if (checksum !== null) inlineChecksums = true;
    const deps: LockDependencyRef[] = [];
    if (table.dependencies !== undefined) {
      if (!Array.isArray(table.dependencies)) fail(path, line, `${name} ${pkgVersion}: \`dependencies\` must be an array`);
      for (const d of table.dependencies as unknown[]) {
        const ref = typeof d === 'string' ? parseLockDependency(d) : null;
        if (!ref) fail(path, line, `${name} ${pkgVersion}: malformed dependency ${JSON.stringify(d)}`);
        if (ref.version === undefined) shortDeps = true;
        deps.push(ref);
      }
    }
    packages.push({ name, version: pkgVersion, source, checksum, dependencies: deps, line: line ?? 0 });
  }

  // v1 checksums: `"checksum name version (source)" = "hex"` (`<none>` when unknown).
  if (doc.metadata !== undefined) {
    if (!isTable(doc.metadata)) fail(path, lines.exact(['metadata']), '`metadata` must be a table');
    const byId = new Map(packages.map((p) => [`${p.name} ${p.version} ${p.source ?? ''}`, p]));
    for (const [key, value] of Object.entries(doc.metadata)) {
      if (!key.startsWith('checksum ')) continue;
      const ref = parseLockDependency(key.slice('checksum '.length));
      if (!ref || typeof value !== 'string') fail(path, lines.lineOf(['metadata', key]), `malformed checksum entry ${JSON.stringify(key)}`);
      const pkg = byId.get(`${ref.name} ${ref.version} ${ref.source ?? ''}`);
      if (pkg && value !== '<none>') pkg.checksum = value;
    }
  }

  if (version === null) {
    // Without a `version` key the file is v1 or v2. v2 writes checksums inline and may shorten dependency
    // references to a bare name; v1 never does either.
    version = inlineChecksums || shortDeps ? 2 : 1;
  }

  const seen = new Map<string, LockPackage>();
  for (const p of packages) {
    const id = `${p.name} ${p.version} ${p.source ?? ''}`;
    const prev = seen.get(id);
    if (prev) fail(path, p.line || null, `package ${p.name} ${p.version} is listed twice (first at line ${prev.line})`);
    seen.set(id, p);
  }

  const lock: Lockfile = { path, version, packages };
  for (const p of packages) {
    for (const ref of p.dependencies) {
      if (!resolveLockDep(lock, ref)) {
        const shown = [ref.name, ref.version, ref.source ? `(${ref.source})` : undefined].filter(Boolean).join(' ');
        fail(path, p.line || null, `${p.name} ${p.version} depends on \`${shown}\`, which is not in the lock file or is ambiguous`);
      }
    }
  }
  return lock;
}

export async function readLockfile(path: string): Promise<Lockfile> {
  const abs = nodePath.resolve(path);
  let text: string;
  try {
    // a regular file of at most 32 MiB, refused with one line otherwise
    text = await readTomlFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(`Cargo.lock not found at ${abs}; run \`cargo generate-lockfile\``);
    }
    throw e;
  }
  return parseLockfile(text, abs);
}

// ---------------------------------------------------------------- dependency resolution

interface NameIndex {
  packages: LockPackage[];
  count: number;
  map: Map<string, LockPackage[]>;
}

const indexes = new WeakMap<Lockfile, NameIndex>();

function index(lock: Lockfile): Map<string, LockPackage[]> {
  const cached = indexes.get(lock);
  // Rebuild when the package list was replaced or changed size since indexing.
  if (cached && cached.packages === lock.packages && cached.count === lock.packages.length) return cached.map;
  const map = new Map<string, LockPackage[]>();
  for (const p of lock.packages) {
    const list = map.get(p.name);
    if (list) list.push(p);
    else map.set(p.name, [p]);
  }
  indexes.set(lock, { packages: lock.packages, count: lock.packages.length, map });
  return map;
}

/**
 * The lock package a dependency reference points to: matched by name, then version and source when the
 * reference carries them. Several versions of one name coexist; an ambiguous reference yields undefined.
 */
export function resolveLockDep(lock: Lockfile, ref: LockDependencyRef): LockPackage | undefined {
  let candidates = index(lock).get(ref.name) ?? [];
  if (ref.version !== undefined) candidates = candidates.filter((p) => p.version === ref.version);
  if (ref.source !== undefined) {
    candidates = candidates.filter((p) => p.source === ref.source);
  } else if (candidates.length > 1 && lock.version === 1) {
    // v1 omits the source only for path packages.
    candidates = candidates.filter((p) => p.source === null);
  }
  return candidates.length === 1 ? candidates[0] : undefined;
}
