// Cargo.toml reading: package metadata, targets (explicit and auto-discovered), dependencies with their
// source line, workspace tables and `workspace = true` inheritance.
//
// Manifests of dependencies are hostile input: every value is type-checked and a wrong type becomes a
// UserError naming the file, line (when known) and key — never a crash.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { MAX_TOML_BYTES, readRegularText, refusal } from '../util/fs-safe.js';
import { traceList, traceType } from '../util/fs-trace.js';
import {
  UserError,
  type DepKind,
  type Manifest,
  type ManifestDependency,
  type TargetSpec,
} from '../types.js';
import { isTable, parseToml, type TomlTable } from '../util/toml.js';

// ---------------------------------------------------------------- TOML parsing

/** A table header or a key/value statement and its 1-based line. */
export interface TomlKeyLine {
  /** Full key path (table header path + dotted key). */
  path: string[];
  line: number;
  header: boolean;
}

/**
 * Lists the table headers and top-level key/value statements of (already validated) TOML text with their
 * lines. Values are skipped, including multi-line strings and arrays, so keys inside them are not reported.
 */
export function scanTomlKeys(text: string): TomlKeyLine[] {
  const out: TomlKeyLine[] = [];
  const n = text.length;
  let i = text.startsWith('\uFEFF') ? 1 : 0;
  let line = 1;
  let table: string[] = [];

  const skipSpaces = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const skipToEol = (): void => {
    while (i < n && text[i] !== '\n') i++;
  };
  const readBasicString = (): string => {
    // at opening quote
    i++;
    let s = '';
    while (i < n && text[i] !== '"' && text[i] !== '\n') {
      if (text[i] === '\\' && i + 1 < n) {
        const c = text[i + 1]!;
        const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };
        if (c in simple) {
          s += simple[c];
          i += 2;
        } else if (c === 'u' || c === 'U') {
          const len = c === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + len);
          const cp = Number.parseInt(hex, 16);
          s += Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
          i += 2 + len;
        } else {
          s += c;
          i += 2;
        }
      } else {
        s += text[i];
        i++;
      }
    }
    i++; // closing quote
    return s;
  };
  const readLiteralString = (): string => {
    i++;
    const start = i;
    while (i < n && text[i] !== "'" && text[i] !== '\n') i++;
    const s = text.slice(start, i);
    i++;
    return s;
  };
  const readKey = (): string[] | null => {
    const parts: string[] = [];
    for (;;) {
      skipSpaces();
      const c = text[i];
      if (c === '"') parts.push(readBasicString());
      else if (c === "'") parts.push(readLiteralString());
      else {
        const start = i;
        while (i < n && /[A-Za-z0-9_-]/.test(text[i]!)) i++;
        if (i === start) return null;
        parts.push(text.slice(start, i));
      }
      skipSpaces();
      if (text[i] === '.') {
        i++;
        continue;
      }
      return parts;
    }
  };
  const skipMultiline = (quote: string): void => {
    i += 3;
    while (i < n) {
      if (text[i] === '\n') line++;
      if (quote === '"' && text[i] === '\\') {
        if (text[i + 1] === '\n') line++;
        i += 2;
        continue;
      }
      if (text.startsWith(quote.repeat(3), i)) {
        i += 3;
        // A closing delimiter may be preceded by up to two extra quotes that belong to the content.
        while (i < n && text[i] === quote) i++;
        return;
      }
      i++;
    }
  };
  const skipValue = (): void => {
    let depth = 0;
    while (i < n) {
      const c = text[i]!;
      if (c === '"' || c === "'") {
        if (text.startsWith(c.repeat(3), i)) skipMultiline(c);
        else if (c === '"') readBasicString();
        else readLiteralString();
        continue;
      }
      if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') depth--;
      else if (c === '#') {
        skipToEol();
        continue;
      } else if (c === '\n') {
        line++;
        i++;
        if (depth <= 0) return;
        continue;
      }
      i++;
    }
  };

  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      skipToEol();
    } else if (c === '[') {
      const isArray = text[i + 1] === '[';
      i += isArray ? 2 : 1;
      const key = readKey();
      if (key) {
        table = key;
        out.push({ path: key, line, header: true });
      }
      skipToEol();
    } else {
      const startLine = line;
      const key = readKey();
      if (!key) {
        skipToEol();
        continue;
      }
      skipSpaces();
      if (text[i] === '=') i++;
      out.push({ path: [...table, ...key], line: startLine, header: false });
      skipValue();
    }
  }
  return out;
}

/** Looks up the first line at which a key path (or its longest known prefix) is defined. */
export class TomlLineIndex {
  private readonly first = new Map<string, number>();

  constructor(text: string) {
    for (const entry of scanTomlKeys(text)) {
      for (let len = 1; len <= entry.path.length; len++) {
        const k = JSON.stringify(entry.path.slice(0, len));
        if (!this.first.has(k)) this.first.set(k, entry.line);
      }
    }
  }

  /** Exact line of `path`, or null. */
  exact(path: string[]): number | null {
    return this.first.get(JSON.stringify(path)) ?? null;
  }

  /** Line of `path` or of its longest defined prefix (keys inside inline tables), or null. */
  lineOf(path: string[]): number | null {
    for (let len = path.length; len >= 1; len--) {
      const line = this.first.get(JSON.stringify(path.slice(0, len)));
      if (line !== undefined) return line;
    }
    return null;
  }
}

/** `a.'cfg(unix)'.b` */
export function formatKey(path: (string | number)[]): string {
  let s = '';
  for (const part of path) {
    if (typeof part === 'number') {
      s += `[${part}]`;
      continue;
    }
    const bare = /^[A-Za-z0-9_-]+$/.test(part);
    const shown = bare ? part : part.includes("'") ? JSON.stringify(part) : `'${part}'`;
    s += s === '' ? shown : `.${shown}`;
  }
  return s;
}

// ---------------------------------------------------------------- typed access

class Checker {
  constructor(
    readonly path: string,
    readonly lines: TomlLineIndex,
  ) {}

  fail(key: (string | number)[], msg: string): never {
    const line = this.lines.lineOf(key.filter((k): k is string => typeof k === 'string'));
    throw new UserError(`${this.path}${line ? `:${line}` : ''}: \`${formatKey(key)}\` ${msg}`);
  }

  table(v: unknown, key: (string | number)[]): TomlTable | undefined {
    if (v === undefined) return undefined;
    if (!isTable(v)) this.fail(key, 'must be a table');
    return v;
  }

  string(v: unknown, key: (string | number)[]): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(key, 'must be a string');
    return v;
  }

  bool(v: unknown, key: (string | number)[]): boolean | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(key, 'must be a boolean');
    return v;
  }

  stringArray(v: unknown, key: (string | number)[]): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(key, 'must be an array of strings');
    v.forEach((item, idx) => {
      if (typeof item !== 'string') this.fail([...key, idx], 'must be a string');
    });
    return v as string[];
  }

  tableArray(v: unknown, key: (string | number)[]): TomlTable[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(key, 'must be an array of tables');
    v.forEach((item, idx) => {
      if (!isTable(item)) this.fail([...key, idx], 'must be a table');
    });
    return v as TomlTable[];
  }
}

function isWorkspaceRef(v: unknown): v is TomlTable {
  return isTable(v) && v.workspace === true;
}

// ---------------------------------------------------------------- file-system access for discovery

export interface ManifestDirEntry {
  name: string;
  isDir: boolean;
}

/** File-system view of the package directory, paths relative to it with `/` separators. */
export interface ManifestFs {
  exists(relPath: string): boolean;
  /** Entries of a directory (empty when it does not exist). Without it, no auto-discovery in directories. */
  list?(relDir: string): ManifestDirEntry[];
}

/**
 * A real directory as a ManifestFs. Symlinks are followed; unreadable entries are skipped. Anything that
 * is not a directory counts as a file — a FIFO, socket or device `src/lib.rs` is still the target cargo
 * would build, and the crate scan reports it as not analysed instead of it silently not existing.
 */
export function dirFs(dir: string): ManifestFs {
  return {
    exists(rel) {
      const path = nodePath.join(dir, rel);
      traceType(path);
      try {
        return !fs.statSync(path).isDirectory();
      } catch {
        return false;
      }
    },
    list(rel) {
      const abs = nodePath.join(dir, rel);
      traceList(abs);
      let entries: string[];
      try {
        entries = fs.readdirSync(abs);
      } catch {
        return [];
      }
      const out: ManifestDirEntry[] = [];
      for (const name of entries) {
        const path = nodePath.join(abs, name);
        traceType(path);
        try {
          const st = fs.statSync(path);
          out.push({ name, isDir: st.isDirectory() });
        } catch {
          // dangling symlink or unreadable: not a target
        }
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------- dependencies

const DEP_SECTIONS: ReadonlyArray<readonly [string, DepKind]> = [
  ['dependencies', 'normal'],
  ['build-dependencies', 'build'],
  ['build_dependencies', 'build'],
  ['dev-dependencies', 'dev'],
  ['dev_dependencies', 'dev'],
];

interface DepEntry {
  kind: DepKind;
  target: string | null;
  key: string;
  value: unknown;
  /** Key path of the containing table. */
  section: string[];
}

function depEntries(raw: TomlTable, ck: Checker): DepEntry[] {
  const out: DepEntry[] = [];
  const collect = (tbl: TomlTable, prefix: string[], target: string | null): void => {
    for (const [name, kind] of DEP_SECTIONS) {
      // Cargo ignores the old underscore spelling when the dashed one is also present.
      if (name.includes('_') && tbl[name.replace('_', '-')] !== undefined) continue;
      const section = [...prefix, name];
      const deps = ck.table(tbl[name], section);
      if (!deps) continue;
      for (const [key, value] of Object.entries(deps)) out.push({ kind, target, key, value, section });
    }
  };
  collect(raw, [], null);
  const targets = ck.table(raw.target, ['target']);
  if (targets) {
    for (const [target, tbl] of Object.entries(targets)) {
      const t = ck.table(tbl, ['target', target]);
      if (t) collect(t, ['target', target], target);
    }
  }
  return out;
}

function parseDependency(e: DepEntry, ck: Checker): ManifestDependency {
  const keyPath = [...e.section, e.key];
  const dep: ManifestDependency = {
    key: e.key,
    package: e.key,
    kind: e.kind,
    req: null,
    path: null,
    git: null,
    registry: null,
    target: e.target,
    optional: false,
    line: ck.lines.lineOf(keyPath),
  };
  if (typeof e.value === 'string') {
    dep.req = e.value;
    return dep;
  }
  if (!isTable(e.value)) ck.fail(keyPath, 'must be a version string or a table');
  const v = e.value;
  ck.bool(v.workspace, [...keyPath, 'workspace']);
  dep.req = ck.string(v.version, [...keyPath, 'version']) ?? null;
  dep.path = ck.string(v.path, [...keyPath, 'path']) ?? null;
  dep.git = ck.string(v.git, [...keyPath, 'git']) ?? null;
  dep.registry = ck.string(v.registry, [...keyPath, 'registry']) ?? null;
  dep.package = ck.string(v.package, [...keyPath, 'package']) ?? e.key;
  dep.optional = ck.bool(v.optional, [...keyPath, 'optional']) ?? false;
  return dep;
}

// ---------------------------------------------------------------- targets

type TargetKind = 'bin' | 'test' | 'example' | 'bench';

const TARGET_DIRS: Record<TargetKind, string> = { bin: 'src/bin', test: 'tests', example: 'examples', bench: 'benches' };
const AUTO_KEYS: Record<TargetKind, string> = {
  bin: 'autobins',
  test: 'autotests',
  example: 'autoexamples',
  bench: 'autobenches',
};

function normalizeRel(p: string): string {
  const n = nodePath.posix.normalize(p.replace(/\\/g, '/'));
  return n === './' ? '.' : n.replace(/\/$/, '');
}

function discoverTargets(kind: TargetKind, fsx: ManifestFs, packageName: string): TargetSpec[] {
  const out: TargetSpec[] = [];
  if (kind === 'bin' && fsx.exists('src/main.rs')) out.push({ name: packageName, path: 'src/main.rs' });
  const dir = TARGET_DIRS[kind];
  const entries = fsx.list ? fsx.list(dir) : [];
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!entry.isDir && entry.name.endsWith('.rs') && entry.name.length > 3) {
      out.push({ name: entry.name.slice(0, -3), path: `${dir}/${entry.name}` });
    } else if (entry.isDir && fsx.exists(`${dir}/${entry.name}/main.rs`)) {
      out.push({ name: entry.name, path: `${dir}/${entry.name}/main.rs` });
    }
  }
  return out;
}

function explicitTargetPath(kind: TargetKind, name: string, inferred: TargetSpec[], fsx: ManifestFs, pkg: string): string {
  const byName = inferred.find((t) => t.name === name);
  if (byName) return byName.path;
  const dir = TARGET_DIRS[kind];
  const candidates = [`${dir}/${name}.rs`, `${dir}/${name}/main.rs`];
  if (kind === 'bin' && name === pkg) candidates.unshift('src/main.rs');
  return candidates.find((c) => fsx.exists(c)) ?? candidates[0]!;
}

function resolveTargets(
  kind: TargetKind,
  pkgTable: TomlTable,
  raw: TomlTable,
  fsx: ManifestFs,
  pkgName: string,
  edition: string | null,
  ck: Checker,
): TargetSpec[] {
  const pkgKey = raw.package !== undefined ? 'package' : 'project';
  const auto = ck.bool(pkgTable[AUTO_KEYS[kind]], [pkgKey, AUTO_KEYS[kind]]);
  const explicitTables = ck.tableArray(raw[kind], [kind]);
  const inferred = auto === false && !explicitTables ? [] : discoverTargets(kind, fsx, pkgName);
  if (!explicitTables) return sortTargets(inferred);

  const explicit: TargetSpec[] = explicitTables.map((t, idx) => {
    const name = ck.string(t.name, [kind, idx, 'name']);
    const path = ck.string(t.path, [kind, idx, 'path']);
    if (name === undefined) {
      // Cargo infers a missing name from the path for non-bin targets; a name is needed to report it.
      if (path === undefined) ck.fail([kind, idx, 'name'], 'is missing');
      return { name: nodePath.posix.basename(normalizeRel(path), '.rs'), path: normalizeRel(path) };
    }
    return { name, path: path !== undefined ? normalizeRel(path) : explicitTargetPath(kind, name, inferred, fsx, pkgName) };
  });
  const names = new Set(explicitTables.map((t, idx) => (typeof t.name === 'string' ? t.name : explicit[idx]!.name)));
  const paths = new Set(explicitTables.filter((t) => typeof t.path === 'string').map((t) => normalizeRel(t.path as string)));
  const rest = inferred.filter((t) => !names.has(t.name) && !paths.has(t.path));
  // With explicit targets and no auto* key, edition 2015 disables discovery; later editions keep it. An
  // edition that is still inherited from the workspace (null) is treated as 2018+ (inheritance needs Rust 1.64).
  const discover = auto ?? edition !== '2015';
  return sortTargets(discover ? [...explicit, ...rest] : explicit);
}

function sortTargets(t: TargetSpec[]): TargetSpec[] {
  return [...t].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// ---------------------------------------------------------------- manifest

export type ManifestFsArg = ManifestFs | ((relPath: string) => boolean);

/**
 * Parses Cargo.toml text. `fsAccess` answers whether files exist in the package directory (build.rs,
 * src/lib.rs, src/main.rs) and lists directories for target auto-discovery; without it nothing exists.
 */
export function parseManifest(text: string, path: string, fsAccess?: ManifestFsArg): Manifest {
  const fsx: ManifestFs =
    fsAccess === undefined ? { exists: () => false } : typeof fsAccess === 'function' ? { exists: fsAccess } : fsAccess;
  const raw = parseToml(text, path);
  const ck: Checker = new Checker(path, new TomlLineIndex(text));
  const dir = nodePath.dirname(path);

  const pkgKey = raw.package !== undefined ? 'package' : raw.project !== undefined ? 'project' : null;
  const pkgTable = pkgKey ? ck.table(raw[pkgKey], [pkgKey]) : undefined;

  let pkg: Manifest['package'] = null;
  let lib: Manifest['lib'] = null;
  let bins: TargetSpec[] = [];
  let tests: TargetSpec[] = [];
  let examples: TargetSpec[] = [];
  let benches: TargetSpec[] = [];

  if (pkgTable && pkgKey) {
    const name = ck.string(pkgTable.name, [pkgKey, 'name']);
    if (name === undefined) ck.fail([pkgKey, 'name'], 'is missing');
    const version = isWorkspaceRef(pkgTable.version) ? '0.0.0' : (ck.string(pkgTable.version, [pkgKey, 'version']) ?? '0.0.0');
    const editionInherited = isWorkspaceRef(pkgTable.edition);
    const edition = editionInherited ? '2015' : (ck.string(pkgTable.edition, [pkgKey, 'edition']) ?? '2015');

    let build: string | null;
    const b = pkgTable.build;
    if (b === undefined) build = fsx.exists('build.rs') ? 'build.rs' : null;
    else if (b === false) build = null;
    else if (b === true) build = 'build.rs';
    else if (typeof b === 'string') build = normalizeRel(b);
    else ck.fail([pkgKey, 'build'], 'must be a path string or a boolean');
    const links = ck.string(pkgTable.links, [pkgKey, 'links']) ?? null;
    pkg = { name, version, edition, build, links };

    const libTable = ck.table(raw.lib, ['lib']);
    const autolib = ck.bool(pkgTable.autolib, [pkgKey, 'autolib']);
    if (libTable || (autolib !== false && fsx.exists('src/lib.rs'))) {
      const t = libTable ?? {};
      const libName = ck.string(t.name, ['lib', 'name']) ?? name.replace(/-/g, '_');
      const libPath = ck.string(t.path, ['lib', 'path']);
      const pm = ck.bool(t['proc-macro'], ['lib', 'proc-macro']) ?? ck.bool(t.proc_macro, ['lib', 'proc_macro']) ?? false;
      lib = { name: libName, path: libPath !== undefined ? normalizeRel(libPath) : 'src/lib.rs', procMacro: pm };
    }

    const ed = editionInherited ? null : edition;
    bins = resolveTargets('bin', pkgTable, raw, fsx, name, ed, ck);
    tests = resolveTargets('test', pkgTable, raw, fsx, name, ed, ck);
    examples = resolveTargets('example', pkgTable, raw, fsx, name, ed, ck);
    benches = resolveTargets('bench', pkgTable, raw, fsx, name, ed, ck);
  }

  const dependencies = depEntries(raw, ck).map((e) => parseDependency(e, ck));

  let workspace: Manifest['workspace'] = null;
  const ws = ck.table(raw.workspace, ['workspace']);
  if (ws) {
    workspace = {
      members: ck.stringArray(ws.members, ['workspace', 'members']) ?? [],
      exclude: ck.stringArray(ws.exclude, ['workspace', 'exclude']) ?? [],
    };
    // Validate what inheritance reads later, so a bad root fails here with its own file and line.
    const wsPkg = ck.table(ws.package, ['workspace', 'package']);
    if (wsPkg) {
      ck.string(wsPkg.version, ['workspace', 'package', 'version']);
      ck.string(wsPkg.edition, ['workspace', 'package', 'edition']);
    }
    const wsDeps = ck.table(ws.dependencies, ['workspace', 'dependencies']);
    if (wsDeps) {
      for (const [key, value] of Object.entries(wsDeps)) {
        parseDependency({ kind: 'normal', target: null, key, value, section: ['workspace', 'dependencies'] }, ck);
      }
    }
  }

  return { path, dir, package: pkg, lib, bins, tests, examples, benches, dependencies, workspace, raw };
}

/** Reads and parses a Cargo.toml, discovering targets and the build script on disk. */
export async function readManifest(path: string): Promise<Manifest> {
  const abs = nodePath.resolve(path);
  let text: string;
  try {
    text = await readTomlFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`Cargo.toml not found at ${abs}`);
    throw e;
  }
  return parseManifest(text, abs, dirFs(nodePath.dirname(abs)));
}

/**
 * Text of a Cargo.toml, Cargo.lock or cargo config: a regular file of at most MAX_TOML_BYTES, else a
 * one-line UserError (`<path>: refused: …`). Other read errors (ENOENT…) are thrown unchanged for the
 * caller's own message.
 */
export async function readTomlFile(abs: string): Promise<string> {
  try {
    return await readRegularText(abs, { maxBytes: MAX_TOML_BYTES });
  } catch (e) {
    const refused = refusal(e);
    if (refused) throw new UserError(`${abs}: ${refused}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw e;
    throw new UserError(`${abs}: cannot read: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- workspace inheritance

/** Whether the manifest has any `workspace = true` value that applyWorkspaceInheritance would fill in. */
export function usesWorkspaceInheritance(m: Manifest): boolean {
  const pkg = isTable(m.raw.package) ? m.raw.package : isTable(m.raw.project) ? m.raw.project : null;
  if (pkg && (isWorkspaceRef(pkg.version) || isWorkspaceRef(pkg.edition))) return true;
  const ck = new Checker(m.path, new TomlLineIndex(''));
  return depEntries(m.raw, ck).some((e) => isWorkspaceRef(e.value));
}

function toPosix(p: string): string {
  return p.split(nodePath.sep).join('/');
}

/**
 * Fills `workspace = true` values of a member from the workspace root: `package.version`,
 * `package.edition` from `[workspace.package]`, and dependencies from `[workspace.dependencies]` (version,
 * path, git, registry, package; the member keeps its own `optional`). Inherited paths are rebased so they
 * stay relative to the member's directory. Returns a new Manifest; the inputs are not modified.
 */
export function applyWorkspaceInheritance(member: Manifest, root: Manifest): Manifest {
  const ck: Checker = new Checker(member.path, new TomlLineIndex(''));
  const rootCk: Checker = new Checker(root.path, new TomlLineIndex(''));
  const ws = isTable(root.raw.workspace) ? root.raw.workspace : null;
  const missing = (what: string): never => {
    throw new UserError(`${member.path}: \`${what}\` is inherited with \`workspace = true\` but ${root.path} has no \`${what.startsWith('package.') ? 'workspace.' + what : `workspace.dependencies.${what}`}\``);
  };

  const out: Manifest = { ...member, dependencies: member.dependencies.map((d) => ({ ...d })) };
  const pkgTable = isTable(member.raw.package) ? member.raw.package : isTable(member.raw.project) ? member.raw.project : null;
  if (member.package && pkgTable) {
    const wsPkg = ws && isTable(ws.package) ? ws.package : {};
    const pkg = { ...member.package };
    if (isWorkspaceRef(pkgTable.version)) {
      pkg.version = rootCk.string(wsPkg.version, ['workspace', 'package', 'version']) ?? missing('package.version');
    }
    if (isWorkspaceRef(pkgTable.edition)) {
      pkg.edition = rootCk.string(wsPkg.edition, ['workspace', 'package', 'edition']) ?? missing('package.edition');
    }
    out.package = pkg;
  }

  const entries = depEntries(member.raw, ck);
  const wsDeps = ws && isTable(ws.dependencies) ? ws.dependencies : {};
  out.dependencies.forEach((dep, idx) => {
    let entry: DepEntry | undefined = entries[idx];
    if (!entry || entry.key !== dep.key || entry.kind !== dep.kind || entry.target !== dep.target) {
      entry = entries.find((e) => e.key === dep.key && e.kind === dep.kind && e.target === dep.target);
    }
    if (!entry || !isWorkspaceRef(entry.value)) return;
    if (!Object.hasOwn(wsDeps, dep.key)) missing(dep.key);
    const base = parseDependency(
      { kind: dep.kind, target: null, key: dep.key, value: wsDeps[dep.key], section: ['workspace', 'dependencies'] },
      rootCk,
    );
    dep.req = base.req;
    dep.git = base.git;
    dep.registry = base.registry;
    dep.package = base.package;
    if (base.path !== null) {
      const rel = toPosix(nodePath.relative(member.dir, nodePath.resolve(root.dir, base.path)));
      dep.path = rel === '' ? '.' : rel;
    } else {
      dep.path = null;
    }
  });
  return out;
}
