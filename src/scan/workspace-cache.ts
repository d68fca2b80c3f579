// The workspace cache entry: one whole workspace scan (its project and its result) kept under
// `<cacheDir>/results/workspace/`, looked up before any crate is located or hashed, so that a warm scan
// reads the entry, checks it and reports, and loads neither the project loader nor the scan session.
//
// Found by a key over what the scan depends on besides files: the tool version, the build (a stat
// fingerprint of every module and of the runtime dependencies' package.json), the rules directory's bytes,
// the options that change the result, the environment variables that change the analysis, and the
// resolved CARGO_HOME, cache directory and registry URL.
// Used only when, besides, every file-system fact the scan rested on (util/fs-trace.ts: the stat
// fingerprint of every file read while loading the project and locating sources, the type of every path
// checked, every directory listed, every symlink resolved, and for each content-keyed crate the names and
// fingerprints of all its files) is unchanged, and Cargo.lock, the workspace manifests (with the policy
// table) and the cargo config files have the same bytes. Any difference is a miss: the normal scan runs
// (through the per-crate entries) and writes a new entry.
//
// Facts are valued before the access they describe and checked again when the entry is written; a
// fingerprint not older than the scan's start (a stamp file's time, the clock the file system uses) is not
// trusted, as git treats "racily clean" index entries, and the entry is not written. A scan that downloaded
// a crate, that a transient failure touched, or with a crate too big to fingerprint writes no entry.
//
// Machine-local: fingerprints name inodes. The remote cache never serves workspace entries.
//
// Entry file: a header line `{"format":…,"key":…,"bytes":…,"sha256":…}`, then a line with the facts and
// content hashes, then the payload `{"project":…,"result":…}`. Everything after the header is ASCII
// (JSON with \u escapes), read as latin1 (no UTF-8 decoding of megabytes), and covered by the header's
// length and sha256; anything else is a miss.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type Dirent } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScanOptions } from '../options.js';
import { builtinRulesDir } from '../rules/dir.js';
import type { Project, ScanResult } from '../types.js';
import type { ScanStats } from './session.js';
import { defaultCacheDir } from '../util/cache-dir.js';
import { defaultCargoHome } from '../util/cargo-home.js';
import { readHeadSync, readRegularFileSync } from '../util/fs-safe.js';
import { evaluate, FsTrace, SKIP_TOP, type Fact } from '../util/fs-trace.js';

export const WORKSPACE_FORMAT = 1;

/**
 * Environment variables that change what a scan finds or how (CARGO_HOME, HOME, XDG_CACHE_HOME and
 * CAP_SCAN_REGISTRY are in the key as the values they resolve to).
 */
export const RESULT_ENV = ['CAP_SCAN_TRIAGE', 'CAP_SCAN_MACRO_MEMO', 'CAP_SCAN_FILE_TIMEOUT_MS', 'CAP_SCAN_IN_THREAD', 'CAP_SCAN_WORKERS_FROM_SOURCE'] as const;

/** What a scan's stats say of the workspace entry. */
export interface WorkspaceStats {
  /** hit: the result came whole from the entry; miss: the scan ran (`reason` says why); off: no entry applies. */
  lookup: 'hit' | 'miss' | 'off';
  reason: string | null;
  /** After a scan that ran: true when it wrote an entry, else why not (null: nothing to write to). */
  stored: true | string | null;
}

export interface WorkspaceProbe {
  /** The entry's file, or null when no workspace entry applies (cache off, --lockfile-path, crate --deps). */
  file: string | null;
  key: string | null;
  hit: { project: Project; result: ScanResult } | null;
  stats: WorkspaceStats;
  /** On a hit: the entry's body sha256 and its checks line (what a served report rests on; see storeReport). */
  served?: { sha256: string; checks: string };
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The build's root (dist/ or src/): this file sits in its scan/ folder. */
const BUILD_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** The build's modules (as result-cache.ts's codeFingerprint counts them). */
const CODE_FILE = /^(?!.*\.d\.ts$).*\.(js|ts|mjs|cjs)$/;
/** Runtime dependencies whose code changes a scan (the parser, the TOML reader, globbing, semver). */
const CODE_DEPS = ['tree-sitter', 'tree-sitter-rust', '@iarna/toml', 'fast-glob', 'semver', 'tar'];

/**
 * Stat fingerprint of the running code: every module of the build (name, size, inode and times: a rebuild
 * rewrites them) and the package.json of each dependency in CODE_DEPS. The per-crate entries hash module
 * bytes (their key may be shared through the remote cache); a machine-local entry can use stats.
 */
function codeStamp(): string {
  const parts: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = `${dir}${sep}${e.name}`;
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else if (CODE_FILE.test(e.name)) parts.push(`${rel}${e.name}\0${evaluate('stat', p).value}`);
    }
  };
  walk(BUILD_ROOT, '');
  for (const dep of CODE_DEPS) {
    // where Node's resolution looks: node_modules/ in each directory above the build
    let found = 'absent';
    for (let d = dirname(BUILD_ROOT); found === 'absent'; d = dirname(d)) {
      found = evaluate('stat', join(d, 'node_modules', dep, 'package.json')).value;
      if (dirname(d) === d) break;
    }
    parts.push(`${dep}\0${found}`);
  }
  return sha256(parts.join('\n'));
}

/** Bytes of every file at the top of the rules directory (rules and the popular-crate list). */
function rulesStamp(): string {
  const dir = builtinRulesDir();
  const h = createHash('sha256');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return 'absent';
  }
  for (const name of names) {
    let bytes: Buffer;
    try {
      bytes = readRegularFileSync(join(dir, name));
    } catch {
      continue; // a directory (rules/tests)
    }
    h.update(`${name}\0${sha256(bytes)}\n`);
  }
  return h.digest('hex');
}

/** package.json's version (read as text: the CommonJS loader is not needed for it). */
function toolVersion(): string {
  return (JSON.parse(readFileSync(join(BUILD_ROOT, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Where the workspace entry for these options lives, or null when none applies. */
export function workspaceEntryFile(opts: ScanOptions): { key: string; file: string } | null {
  // a diff's old lockfile is a new temporary file every run: not worth an entry
  if (!opts.cache || opts.lockfilePath || opts.workspaceEntry === false) return null;
  const cacheDir = resolve(opts.cacheDir ?? defaultCacheDir());
  const inputs = {
    format: WORKSPACE_FORMAT,
    tool: toolVersion(),
    code: codeStamp(),
    rules: rulesStamp(),
    node: [process.version, process.platform, process.arch],
    env: RESULT_ENV.map((k) => process.env[k] ?? null),
    manifestPath: resolve(opts.manifestPath),
    includeDev: opts.includeDev,
    allTargets: opts.allTargets,
    offline: opts.offline,
    targets: opts.targets ?? null,
    locked: opts.locked,
    registryUrl: opts.registryUrl ?? (process.env.CAP_SCAN_REGISTRY || null),
    allowUnverified: opts.allowUnverified,
    cacheDir,
    cargoHome: defaultCargoHome(),
  };
  const key = sha256(JSON.stringify(inputs));
  return { key, file: join(cacheDir, 'results', 'workspace', `${key}.json`) };
}

interface Checks {
  facts: Fact[];
  /** [path, sha256 of its bytes] */
  content: [string, string][];
}

/** Why the entry's facts no longer hold, or null when they all do. */
function changed(checks: Checks): string | null {
  for (const [kind, path, value] of checks.facts) {
    if (evaluate(kind, path).value !== value) return `changed: ${kind} ${path}`;
  }
  for (const [path, hash] of checks.content) {
    let bytes: Buffer;
    try {
      bytes = readRegularFileSync(path);
    } catch {
      return `changed: content ${path}`;
    }
    if (sha256(bytes) !== hash) return `changed: content ${path}`;
  }
  return null;
}

function isChecks(v: unknown): v is Checks {
  const o = v as Checks | null;
  return o !== null && typeof o === 'object' && Array.isArray(o.facts) && Array.isArray(o.content);
}

function isPayload(v: unknown): v is { project: Project; result: ScanResult } {
  const o = v as { project?: Project; result?: ScanResult } | null;
  return (
    o !== null &&
    typeof o === 'object' &&
    typeof o.project?.root === 'string' &&
    Array.isArray(o.project.packages) &&
    o.result?.schemaVersion === 1 &&
    Array.isArray(o.result.crates) &&
    Array.isArray(o.result.unscanned)
  );
}

function parseHeader(line: string): { format?: unknown; key?: unknown; bytes?: unknown; sha256?: unknown } | null {
  try {
    const h = JSON.parse(line) as unknown;
    return h !== null && typeof h === 'object' ? h : null;
  } catch {
    return null;
  }
}

const miss = (file: string, key: string, reason: string): WorkspaceProbe => ({ file, key, hit: null, stats: { lookup: 'miss', reason, stored: null } });

/**
 * Looks the workspace entry up and checks it. Synchronous: checking the facts with asynchronous calls while
 * the payload is parsed costs the main thread more than the calls themselves (README, Performance).
 */
export function probeWorkspace(opts: ScanOptions, where = workspaceEntryFile(opts)): WorkspaceProbe {
  if (!where) return { file: null, key: null, hit: null, stats: { lookup: 'off', reason: null, stored: null } };
  const { file, key } = where;
  let buf: Buffer;
  try {
    buf = readRegularFileSync(file);
  } catch {
    return miss(file, key, 'no entry');
  }
  const nl = buf.indexOf(10);
  const nl2 = nl < 0 ? -1 : buf.indexOf(10, nl + 1);
  const body = buf.subarray(nl + 1);
  const header = nl2 < 0 ? null : parseHeader(buf.toString('latin1', 0, nl));
  if (!header || header.format !== WORKSPACE_FORMAT || header.key !== key || header.bytes !== body.length || header.sha256 !== sha256(body)) {
    return miss(file, key, 'corrupt entry');
  }
  let checks: unknown;
  try {
    checks = JSON.parse(buf.toString('latin1', nl + 1, nl2));
  } catch {
    return miss(file, key, 'corrupt entry');
  }
  if (!isChecks(checks)) return miss(file, key, 'corrupt entry');
  const why = changed(checks);
  if (why) return miss(file, key, why);
  let payload: unknown;
  try {
    payload = JSON.parse(buf.toString('latin1', nl2 + 1));
  } catch {
    return miss(file, key, 'corrupt entry');
  }
  if (!isPayload(payload)) return miss(file, key, 'corrupt entry');
  return { file, key, hit: payload, stats: { lookup: 'hit', reason: null, stored: null }, served: { sha256: header.sha256 as string, checks: buf.toString('latin1', nl + 1, nl2) } };
}

/** JSON with every non-ASCII character escaped (the same value, readable as latin1). */
function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The facts without those a tree fact implies: a path inside a content-keyed crate (not under its
 * top-level target/ or .git/) reached through no symlink is in the tree's names, kinds and fingerprints,
 * so the tree cannot be unchanged while the path's fact changed. About 40% of the real workspace's facts.
 */
function withoutImplied(facts: Fact[]): Fact[] {
  const roots = new Set(facts.filter(([kind]) => kind === 'tree').map(([, path]) => path));
  if (roots.size === 0) return facts;
  const implied = (path: string): boolean => {
    const chain: string[] = [];
    for (let p = path; ; p = dirname(p)) {
      if (roots.has(p)) break;
      chain.push(p);
      if (dirname(p) === p) return false;
    }
    if (chain.length === 0) return false; // the root itself
    if (SKIP_TOP.has(basename(chain[chain.length - 1]!))) return false;
    // from the root down: each existing component a real directory or file, not a symlink
    for (let i = chain.length - 1; i >= 0; i--) {
      const v = evaluate('ltype', chain[i]!).value;
      if (v === 'absent') return true; // its absence is in its parent's names
      if (v !== 'file' && v !== 'dir') return false;
    }
    return true;
  };
  return facts.filter(([kind, path]) => kind === 'tree' || kind === 'real' || !implied(path));
}

/** Removes a file if it is there; an unwritable cache (ENOTDIR, EACCES) never fails a scan. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing was written there
  }
}

/** Writes a file whole or not at all (a temporary file renamed over it): true, or why it could not. A string is written as latin1, without a copy into a Buffer first. */
function writeAtomically(file: string, data: Buffer | string): true | string {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, typeof data === 'string' ? 'latin1' : undefined);
    renameSync(tmp, file);
    return true;
  } catch (e) {
    removeQuietly(tmp);
    return `cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}

/** The file-system facts of one scan, written as its workspace entry once the scan is done. */
export class WorkspaceRecorder {
  readonly trace = new FsTrace();

  private constructor(
    private readonly file: string,
    private readonly key: string,
    /** The file system's time at the scan's start (ms): fingerprints from then on are not trusted. */
    private readonly stamp: number,
  ) {}

  /**
   * Before the scan reads anything: a stamp file's modification time is the scan's start, on the file
   * system's own clock. Why not, when the entry's directory cannot be written (no entry then).
   */
  static start(probe: WorkspaceProbe): WorkspaceRecorder | string {
    if (!probe.file || !probe.key) return 'no workspace entry applies';
    const dir = dirname(probe.file);
    const stampFile = join(dir, `stamp.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(stampFile, '');
      const st = statSync(stampFile);
      return new WorkspaceRecorder(probe.file, probe.key, Math.min(st.mtimeMs, st.ctimeMs));
    } catch (e) {
      return `cannot write ${dir} (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
    } finally {
      removeQuietly(stampFile);
    }
  }

  /** Writes the entry when every fact still holds and none is too recent; true, or why it was not written. */
  store(project: Project, result: ScanResult): true | string {
    const trace = this.trace;
    if (trace.untraceable) return trace.untraceable;
    const facts = trace.facts();
    const stats = new Map<string, string>();
    for (const [kind, path, value] of facts) {
      const now = evaluate(kind, path);
      if (now.value !== value) return `changed during the scan: ${kind} ${path}`;
      if (now.newest >= this.stamp) return `changed since the scan started: ${kind} ${path}`;
      if (kind === 'stat') stats.set(path, value);
    }
    const content: [string, string][] = [];
    for (const path of trace.contentPaths()) {
      const before = stats.get(path);
      if (before === undefined) return `not fingerprinted: ${path}`;
      let bytes: Buffer;
      try {
        bytes = readRegularFileSync(path);
      } catch (e) {
        return `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
      }
      // unchanged since the scan read it (same fingerprint, older than the scan): these are its bytes
      if (evaluate('stat', path).value !== before) return `changed during the scan: content ${path}`;
      content.push([path, sha256(bytes)]);
    }
    const body = `${asciiJson({ facts: withoutImplied(facts), content } satisfies Checks)}\n${asciiJson({ project, result })}`;
    const header = JSON.stringify({ format: WORKSPACE_FORMAT, key: this.key, bytes: body.length, sha256: sha256(body) });
    return writeAtomically(this.file, `${header}\n${body}`);
  }
}

/**
 * The scan the workspace entry serves (null on a miss): its project and result, and stats that say every
 * crate came from the cache and nothing was analysed. The progress line, if any, is cleared as a scan's.
 */
export function servedScan(probe: WorkspaceProbe, opts: Pick<ScanOptions, 'progress'>): { project: Project; result: ScanResult; stats: ScanStats } | null {
  if (!probe.hit) return null;
  opts.progress?.done();
  const n = probe.hit.result.crates.length;
  const stats: ScanStats = {
    workers: 0,
    crates: n,
    cached: n,
    filesAnalysed: 0,
    pool: { analysed: 0, prefetchHits: 0, prefetchWasted: 0, failed: 0, restarts: 0, triaged: 0, triagedChars: 0 },
    cache: { hits: 0, misses: 0, corrupt: 0, writes: 0, writeErrors: 0 },
    workspace: probe.stats,
  };
  return { ...probe.hit, stats };
}

// Served reports: the bytes a command rendered from a workspace entry, kept beside it as
// `<key>.<render>.out`, so that a warm scan whose entry still holds writes them again without parsing the
// entry's payload or rendering it (issue 17: JSON.parse of the real workspace's 5.4 MB entry and rendering
// its 8 MB report were ~60% of a warm run). `render` is a hash of what the rendered text depends on besides
// the result: the command, the format and every option the reporter reads (renderKey). A report file
// holds:
//   a header line `{"format":…,"key":…,"render":…,"entry":…,"exitCode":…,"bytes":…,"sha256":…}`,
//   the entry's checks line (its file-system facts and content hashes, as the entry holds them),
//   the report's bytes.
// It is used only when its header's length and sha256 cover the rest, the entry it was rendered from is
// still the current one (`entry`: the sha256 in the entry's own header, read without its payload), and
// every one of its facts still holds: the conditions under which the entry itself is served, and the
// report is a function of the entry's result and the render options (reporters are deterministic).
// Written only after a report rendered from an entry that was served (its checks were just verified).

/** Report files kept per workspace entry key (different formats and filters); the oldest go first. */
export const MAX_REPORTS_PER_ENTRY = 8;
const REPORT_FORMAT = 1;

/** The hash naming a rendering: the command and everything its reporter reads besides the result. */
export function renderKey(parts: Record<string, unknown>): string {
  return sha256(JSON.stringify({ ...parts, cwd: process.cwd() })).slice(0, 32);
}

function reportFile(entry: { key: string; file: string }, render: string): string {
  return join(dirname(entry.file), `${entry.key}.${render}.out`);
}

/** The entry header's body sha256, read from its first line only (null when absent or unreadable). */
function entrySha(file: string): string | null {
  let head: Buffer;
  try {
    head = readHeadSync(file, 4096);
  } catch {
    return null;
  }
  const nl = head.indexOf(10);
  const h = nl < 0 ? null : parseHeader(head.toString('latin1', 0, nl));
  return typeof h?.sha256 === 'string' ? h.sha256 : null;
}

/**
 * The report rendered before from the workspace entry that still holds for these options, or null (then
 * the command scans and renders as usual). `render`: renderKey() of the command's render options; `where`:
 * workspaceEntryFile(opts), when the caller has it (its key reads the build's and the rules' stamps).
 */
export function servedReport(opts: ScanOptions, render: string, where = workspaceEntryFile(opts)): { text: string; bytes: Buffer; exitCode: number } | null {
  if (!where) return null;
  const file = reportFile(where, render);
  let buf: Buffer;
  try {
    buf = readRegularFileSync(file);
  } catch {
    return null;
  }
  const nl = buf.indexOf(10);
  const nl2 = nl < 0 ? -1 : buf.indexOf(10, nl + 1);
  const h = nl2 < 0 ? null : (parseHeader(buf.toString('latin1', 0, nl)) as { format?: unknown; key?: unknown; render?: unknown; entry?: unknown; exitCode?: unknown; bytes?: unknown; sha256?: unknown } | null);
  const body = buf.subarray(nl + 1);
  const exitCode = h?.exitCode;
  if (!h || h.format !== REPORT_FORMAT || h.key !== where.key || h.render !== render || typeof exitCode !== 'number' || h.bytes !== body.length || h.sha256 !== sha256(body)) return null;
  if (typeof h.entry !== 'string' || entrySha(where.file) !== h.entry) return null;
  let checks: unknown;
  try {
    checks = JSON.parse(buf.toString('latin1', nl + 1, nl2));
  } catch {
    return null;
  }
  if (!isChecks(checks) || changed(checks) !== null) return null;
  opts.progress?.done();
  // written as bytes (decoding the real workspace's 8 MB report, non-ASCII names and all, and encoding it
  // again cost more than reading and hashing it); the text is decoded only if asked for
  const bytes = buf.subarray(nl2 + 1);
  let text: string | undefined;
  return {
    get text() {
      return (text ??= bytes.toString('utf8'));
    },
    bytes,
    exitCode,
  };
}

/**
 * Keeps a report rendered from a served workspace entry (`probe` hit), for servedReport. Never fails the
 * command: an unwritable cache just keeps no report.
 */
export function storeReport(probe: WorkspaceProbe, render: string, text: string, exitCode: number): void {
  if (!probe.hit || !probe.served || !probe.file || !probe.key) return;
  const where = { key: probe.key, file: probe.file };
  const file = reportFile(where, render);
  const body = Buffer.concat([Buffer.from(`${probe.served.checks}\n`, 'latin1'), Buffer.from(text, 'utf8')]);
  const header = JSON.stringify({ format: REPORT_FORMAT, key: probe.key, render, entry: probe.served.sha256, exitCode, bytes: body.length, sha256: sha256(body) });
  if (writeAtomically(file, Buffer.concat([Buffer.from(`${header}\n`, 'latin1'), body])) === true) pruneReports(dirname(file), probe.key);
}

/** At most MAX_REPORTS_PER_ENTRY report files for one entry key: the least recently written go. */
function pruneReports(dir: string, key: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(`${key}.`) && n.endsWith('.out'));
  } catch {
    return;
  }
  if (names.length <= MAX_REPORTS_PER_ENTRY) return;
  const aged = names.map((n) => {
    try {
      return { n, t: statSync(join(dir, n)).mtimeMs };
    } catch {
      return { n, t: 0 };
    }
  });
  aged.sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : 1));
  for (const { n } of aged.slice(0, aged.length - MAX_REPORTS_PER_ENTRY)) removeQuietly(join(dir, n));
}
