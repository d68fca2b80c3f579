// Cargo.lock reading, formats v1 to v4.
//
// v1: no `version` key; dependencies are always `name version (source)` (no source for path packages);
//     checksums live in `[metadata]` as `"checksum name version (source)" = "hex"`. Very old files also
//     have a `[root]` table for the root package.
// v2: no `version` key; checksums inline; dependencies are `name`, or `name version` / `name version
//     (source)` only when the shorter form is ambiguous.
// v3: `version = 3`, same encoding as v2.  v4: `version = 4` (only git source URL encoding changed).

import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { scanTomlKeys, TomlLineIndex } from './manifest.js';
import { isTable, parseToml, type TomlTable } from './util/toml.js';
import { UserError, type LockDependencyRef, type Lockfile, type LockPackage } from './types.js';

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

function fail(path: string, line: number | null, msg: string): never {
  throw new UserError(`${path}${line ? `:${line}` : ''}: ${msg}`);
}

export function parseLockfile(text: string, path: string): Lockfile {
  const doc = parseToml(text, path);
  const lines = new TomlLineIndex(text);

  // `[[package]]` headers in document order give each package its line.
  const headerLines = scanTomlKeys(text)
    .filter((k) => k.header && k.path.length === 1 && k.path[0] === 'package')
    .map((k) => k.line);

  let version: number | null = null;
  if (doc.version !== undefined) {
    if (typeof doc.version !== 'number' || !SUPPORTED.includes(doc.version)) {
      const shown = typeof doc.version === 'string' ? JSON.stringify(doc.version) : String(doc.version);
      fail(path, lines.exact(['version']), `unsupported lock file version ${shown} (cap-scan reads versions 1 to 4)`);
    }
    version = doc.version;
  }

  const rawPackages: Array<{ table: TomlTable; line: number | null; where: string }> = [];
  if (doc.root !== undefined) {
    if (!isTable(doc.root)) fail(path, lines.exact(['root']), '`root` must be a table');
    rawPackages.push({ table: doc.root, line: lines.exact(['root']), where: '[root]' });
  }
  if (doc.package !== undefined) {
    if (!Array.isArray(doc.package)) fail(path, lines.exact(['package']), '`package` must be an array of tables');
    const sameCount = headerLines.length === doc.package.length;
    doc.package.forEach((t: unknown, idx: number) => {
      const line = sameCount ? headerLines[idx]! : (lines.exact(['package']) ?? null);
      if (!isTable(t)) fail(path, line, `package #${idx + 1} must be a table`);
      rawPackages.push({ table: t, line, where: `package #${idx + 1}` });
    });
  }

  const packages: LockPackage[] = [];
  let inlineChecksums = false;
  let shortDeps = false;
  for (const { table, line, where } of rawPackages) {
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
    for (const [key, value] of Object.entries(doc.metadata)) {
      if (!key.startsWith('checksum ')) continue;
      const ref = parseLockDependency(key.slice('checksum '.length));
      if (!ref || typeof value !== 'string') fail(path, lines.lineOf(['metadata', key]), `malformed checksum entry ${JSON.stringify(key)}`);
      const pkg = packages.find((p) => p.name === ref.name && p.version === ref.version && p.source === (ref.source ?? null));
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
    text = await fsp.readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(`Cargo.lock not found at ${abs}; run \`cargo generate-lockfile\``);
    }
    throw new UserError(`${abs}: cannot read: ${(e as Error).message}`);
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
