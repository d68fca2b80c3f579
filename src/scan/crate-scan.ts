// Scan one crate: find the files a dependent compiles (module tree of each target, include!, #[path]),
// analyse them, resolve names across the crate and apply the rules. Produces findings as data.

import { promises as fsp, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, dirname, basename, relative, resolve as resolvePath, sep } from 'node:path';
import type { FileOptions } from '../parse/analyze.js';
import type { FactContext, FileSummary } from '../parse/summary.js';
import { ModuleNode, Resolver, placeUnit, type ResolverOptions, type Unit } from '../resolve/resolver.js';
import type { RuleIndex } from '../rules/engine.js';
import type { Rule } from '../rules/load.js';
import { crateIndicators, type IncludeBytesRef } from '../indicators/package-indicators.js';
import { hostPortLiteral } from '../indicators/strings.js';
import { fileKind, MAX_TOML_BYTES, readRegularText } from '../util/fs-safe.js';
import type { Finding, FindingContext, Indicator, Manifest, Phase, Unanalyzed } from '../types.js';
import { cmp } from '../util/compare.js';

export type FileRole = 'lib' | 'build' | 'bin' | 'test' | 'example' | 'bench' | 'unreferenced';

export interface CrateInput {
  name: string;
  dir: string;
  manifest: Manifest | null;
  /** Phase of the library code (runtime when linked into the user's program). */
  libPhase: Phase;
  /** Extern prelude of the crate: name used in code → canonical crate name. */
  externs: Map<string, string>;
  allTargets: boolean;
  /** Also the bin targets, as runtime code (`crate` mode of a bin-only crate: what `cargo install` runs). */
  bins?: boolean;
  /** The package's files (listPackage), when the caller already lists them. */
  listing?: Promise<PackageListing>;
}

/** Analyse one file (in-thread, in a worker, or from the cache). */
export type FileAnalyzer = (absPath: string, opts: FileOptions) => Promise<FileSummary>;

export interface CrateScan {
  findings: Finding[];
  indicators: Indicator[];
  /** Hosts named by host:port literals passed to network APIs. */
  hosts: { host: string; file: string; line: number }[];
  /** URLs in string literals, with where they are. */
  urls: { url: string; file: string; line: number }[];
  unanalyzed: Unanalyzed[];
  /** Every analysed file (relative path) with its role. */
  files: { rel: string; role: FileRole }[];
}

/** Upper bound on the directory entries a package listing walks (hostile input: a crate with 1M files). */
export const MAX_LISTED_ENTRIES = 200_000;

export interface PackageListing {
  /** Every regular file (relative, `/`-separated, sorted). */
  files: string[];
  /** The first entry (in walk order) the listing cap left out, or null when the listing is complete. */
  truncatedAt: string | null;
  /** Directories that could not be read (relative; `.` for the package directory), with the error code. */
  unreadable: { dir: string; code: string }[];
}

/**
 * Every file of a package (relative, `/`-separated, sorted), dotfiles included, without the top-level
 * `target/` and `.git/`, symlinks neither listed nor followed: one walk serves the prefetch, the
 * unreferenced-file pass and the native-code check. The walk visits directories depth-first in name order
 * and stops after MAX_LISTED_ENTRIES entries, so what a truncated listing holds is the same on every run.
 * Synchronous: one readdir per directory, far cheaper than the promise API's round trips, and bounded.
 */
export async function listPackage(dir: string, maxEntries = MAX_LISTED_ENTRIES): Promise<PackageListing> {
  const files: string[] = [];
  const unreadable: PackageListing['unreadable'] = [];
  let seen = 0;
  let truncatedAt: string | null = null;
  const walk = (abs: string, rel: string): void => {
    let list: Dirent[];
    try {
      list = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      unreadable.push({ dir: rel === '' ? '.' : rel, code: (e as NodeJS.ErrnoException).code ?? 'error' });
      return;
    }
    list.sort((a, b) => cmp(a.name, b.name));
    for (const e of list) {
      if (truncatedAt !== null) return;
      if (rel === '' && (e.name === 'target' || e.name === '.git')) continue;
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (++seen > maxEntries) {
        truncatedAt = r;
        return;
      }
      if (e.isDirectory()) walk(join(abs, e.name), r);
      else if (e.isFile()) files.push(r);
    }
  };
  walk(dir, '');
  return { files: files.sort(cmp), truncatedAt, unreadable };
}

const TARGET_DIRS = /^(?:tests|examples|benches|src\/bin)\//;

/** The Rust files of a package listing a scan considers: no dot paths or node_modules, target dirs only with allTargets. */
export function rustFilesOf(all: string[], allTargets: boolean): string[] {
  return all.filter((f) => f.endsWith('.rs') && !/(?:^|\/)(?:\.|node_modules\/)/.test(f) && (allTargets || !TARGET_DIRS.test(f)));
}

/** Upper bound on files given the full (syntax-tree) analysis per crate (hostile input). */
export const MAX_FILES_PER_CRATE = 5000;
/** Past MAX_FILES_PER_CRATE, files get the linear token-level pass within these budgets; the rest is skipped. */
export const MAX_TOKEN_FILES_PER_CRATE = 50_000;
export const MAX_TOKEN_BYTES_PER_CRATE = 64 * 1024 * 1024;

const ROLE_CONTEXT: Partial<Record<FileRole, FindingContext>> = {
  bin: 'bin',
  test: 'test',
  example: 'example',
  bench: 'bench',
  unreferenced: 'unreferenced',
};

function posix(p: string): string {
  return p.split(sep).join('/');
}

/**
 * A file the crate's code points at, constrained to the package directory. Synchronous: one call per
 * module file, and the promise API's thread-pool round trips cost more than the lookups.
 */
async function locateInside(root: string, abs: string): Promise<{ abs: string; size: number } | { problem: string } | null> {
  let real: string;
  try {
    real = realpathSync.native(abs);
  } catch {
    return null;
  }
  // a FIFO, socket or device (also through a symlink, to /dev/zero say) is refused by kind
  const st = statSync(real, { throwIfNoEntry: false });
  if (st && !st.isFile()) return { problem: `not-a-regular-file (${fileKind(st)})` };
  if (real !== root && !real.startsWith(root + sep)) return { problem: 'path outside the package' };
  if (!st) return { problem: 'not-a-regular-file (vanished)' };
  return { abs: real, size: st.size };
}

interface Target {
  role: FileRole;
  root: string; // relative path
}

/** Role of a file no target reaches, from the directory cargo's target discovery would give it. */
function strayRole(rel: string): FileRole {
  if (rel.startsWith('tests/')) return 'test';
  if (rel.startsWith('benches/')) return 'bench';
  if (rel.startsWith('examples/')) return 'example';
  if (rel.startsWith('src/bin/')) return 'bin';
  return 'unreferenced';
}

export function targetsOf(dir: string, manifest: Manifest | null, allTargets: boolean, exists: (rel: string) => boolean): Target[] {
  const out: Target[] = [];
  const lib = manifest ? manifest.lib?.path ?? null : exists('src/lib.rs') ? 'src/lib.rs' : null;
  if (lib) out.push({ role: 'lib', root: lib });
  const build = manifest ? manifest.package?.build ?? null : exists('build.rs') ? 'build.rs' : null;
  if (build) out.push({ role: 'build', root: build });
  if (allTargets && manifest) {
    for (const t of manifest.bins) out.push({ role: 'bin', root: t.path });
    for (const t of manifest.tests) out.push({ role: 'test', root: t.path });
    for (const t of manifest.examples) out.push({ role: 'example', root: t.path });
    for (const t of manifest.benches) out.push({ role: 'bench', root: t.path });
  }
  return out;
}

export async function scanCrate(input: CrateInput, index: RuleIndex, analyze: FileAnalyzer): Promise<CrateScan> {
  const dir = realpathSync.native(input.dir);
  const manifest = input.manifest;
  const procMacro = manifest?.lib?.procMacro ?? false;
  const edition = manifest?.package?.edition ?? '2015';
  const unanalyzed: Unanalyzed[] = [];
  const findings = new Map<string, Finding>();
  const urls: CrateScan['urls'] = [];
  const indicators: Indicator[] = [];
  const hosts: CrateScan['hosts'] = [];
  const includeBytes: IncludeBytesRef[] = [];
  const files: CrateScan['files'] = [];
  const visited = new Set<string>(); // absolute paths analysed
  const testFiles = new Set<string>(); // reached only through cfg(test) modules
  const testDirs: string[] = []; // directories of cfg(test) modules' children
  const { existsSync } = await import('node:fs');
  const targets = targetsOf(dir, manifest, input.allTargets, (rel) => existsSync(join(dir, rel)));
  if (input.bins && !input.allTargets) for (const t of manifest?.bins ?? []) targets.push({ role: 'bin', root: t.path });
  const resolverOptions: ResolverOptions = {
    edition,
    externs: input.externs,
    unknownAsExtern: true,
    isKnownPrefix: (p) => index.isKnownPrefix(p),
    isKnownSegment: (n) => index.isKnownSegment(n),
  };

  // An unreferenced file belongs with the target whose directory holds it most specifically: a stray
  // build_helper.rs next to build.rs (outside src/) is build-side code, src/unused.rs is library code.
  const targetDirs = targets
    .filter((t) => t.role === 'lib' || t.role === 'build')
    .map((t) => ({ role: t.role, dir: posix(dirname(posix(t.root).replace(/^\.\//, ''))) }));
  const unreferencedBuild = new Set<string>();
  const nearestTargetIsBuild = (rel: string): boolean => {
    let best: { role: FileRole; dir: string } | null = null;
    for (const t of targetDirs) {
      if (t.dir !== '.' && !rel.startsWith(t.dir + '/')) continue;
      const len = t.dir === '.' ? 0 : t.dir.length;
      const bestLen = best ? (best.dir === '.' ? 0 : best.dir.length) : -1;
      if (len > bestLen || (len === bestLen && t.role === 'lib')) best = t;
    }
    return best?.role === 'build';
  };
  const buildSide = (unit: Unit, role: FileRole): boolean => role === 'build' || (role === 'unreferenced' && unreferencedBuild.has(unit.rel));

  const emit = (rule: Rule, unit: Unit, role: FileRole, fact: { line: number; column: number; ctx?: FactContext }, evidence: string) => {
    let phase: Phase = buildSide(unit, role) ? 'build' : input.libPhase;
    if (fact.ctx === 'generated') phase = 'runtime';
    if (rule.phase) phase = rule.phase;
    const context: FindingContext | undefined =
      fact.ctx === 'generated' ? 'generated' : unit.test || fact.ctx === 'test' ? 'test' : ROLE_CONTEXT[role];
    const f: Finding = {
      capability: rule.capability,
      kind: rule.kind,
      phase,
      rule: rule.id,
      file: unit.rel,
      line: fact.line,
      column: fact.column,
      evidence: fact.ctx === 'generated' ? `${evidence} (generated by proc-macro)` : evidence,
    };
    if (context) f.context = context;
    const key = `${f.rule}\0${f.file}\0${f.line}\0${f.column}`;
    if (!findings.has(key)) findings.set(key, f);
  };

  // Budgets (hostile input: a crate with 5,000+ files). The first MAX_FILES_PER_CRATE files get the full
  // analysis; the next ones the linear token-level pass (findings still reported, each file listed as
  // unanalyzed), within a file and byte budget; past it files are skipped (nothing analysed), counted in one
  // unanalyzed entry per crate. Order is the scan order: module trees target by target, then the sorted
  // unreferenced files, so the same files are cut on every run.
  let fullFiles = 0;
  let tokenFiles = 0;
  let tokenBytes = 0;
  const skipped = { files: 0, bytes: 0, first: null as string | null };
  const TOKENS_REASON = `files-per-crate-cap (${MAX_FILES_PER_CRATE}): analysed as tokens`;
  /** How a newly reached file is analysed: '' in full, a tokensOnly reason, or null (skipped). */
  const budget = (rel: string, size: number): string | null => {
    if (fullFiles < MAX_FILES_PER_CRATE) {
      fullFiles++;
      return '';
    }
    if (tokenFiles < MAX_TOKEN_FILES_PER_CRATE && tokenBytes + size <= MAX_TOKEN_BYTES_PER_CRATE) {
      tokenFiles++;
      tokenBytes += size;
      return TOKENS_REASON;
    }
    skipped.files++;
    skipped.bytes += size;
    skipped.first ??= rel;
    return null;
  };

  const analyzeUnit = async (abs: string, role: FileRole, test: boolean, tokensOnly: string): Promise<FileSummary> => {
    const opts: FileOptions = {
      keepTests: input.allTargets,
      procMacro: procMacro && role !== 'build',
      buildScript: role === 'build',
      test: test || role === 'test' || role === 'bench' || role === 'example',
    };
    if (tokensOnly) opts.tokensOnly = tokensOnly;
    return analyze(abs, opts);
  };

  const applyRules = (unit: Unit, role: FileRole, resolver: Resolver) => {
    const s = unit.summary;
    for (const ref of s.refs) {
      let segs: string[] | null = null;
      if (ref.ctx === 'generated') {
        if (ref.segs[0] !== 'crate' && ref.segs[0] !== 'self' && ref.segs[0] !== 'super') {
          const r = resolver.resolve(unit, 0, ref.segs, true);
          segs = r && 'ext' in r ? r.ext : null;
        }
      } else {
        const r = resolver.resolve(unit, ref.scope, ref.segs, ref.global);
        if (r && 'ext' in r) segs = r.ext;
        else if (!r && ref.how === 'macro' && ref.segs.length === 1) segs = ['std', ref.segs[0]!]; // prelude macros
      }
      if (!segs) continue;
      if (ref.how === 'macro') segs = [...segs.slice(0, -1), segs[segs.length - 1] + '!'];
      for (const rule of index.matchPath(segs)) {
        if (rule.unlessArg && ref.arg !== undefined && rule.unlessArg.test(ref.arg)) continue;
        emit(rule, unit, role, ref, segs.join('::'));
        // a host:port literal handed to a network API names a host
        if (rule.capability === 'net' && ref.arg !== undefined && ref.ctx !== 'test') {
          const host = hostPortLiteral(ref.arg);
          if (host) hosts.push({ host, file: unit.rel, line: ref.line });
        }
      }
    }
    for (const m of s.methods) {
      for (const { rule, trait } of index.methodRules(m.name)) {
        if (resolver.traitInScope(unit, m.scope, trait)) emit(rule, unit, role, m, `${trait}::${m.name}`);
      }
    }
    for (const h of s.syntax) {
      for (const rule of index.syntaxRules(h.construct)) emit(rule, unit, role, h, h.evidence);
      if (h.construct === 'extern-fn' && h.name) for (const rule of index.foreignFnRules(h.name)) emit(rule, unit, role, h, h.evidence);
    }
    for (const a of s.attrs) for (const rule of index.attributeRules(a.name)) emit(rule, unit, role, a, a.evidence);
    for (const q of s.queries) {
      const rule = index.ruleById(q.rule);
      if (rule) emit(rule, unit, role, q, q.evidence);
    }
    for (const str of s.strings) {
      if (buildSide(unit, role)) {
        for (const m of str.value.matchAll(/cargo::?([a-z][a-z0-9_-]*)/g)) {
          for (const rule of index.directiveRules(m[1]!)) emit(rule, unit, role, str, `cargo:${m[1]}`);
        }
      }
    }
    for (const u of s.urls) if ((!u.test && !unit.test) || input.allTargets) urls.push({ url: u.url, file: unit.rel, line: u.line });
    for (const i of s.indicators) indicators.push({ ...i, file: unit.rel });
    for (const b of s.includeBytes) includeBytes.push({ file: unit.rel, path: b.path, line: b.line });
    for (const line of s.errors) unanalyzed.push({ file: unit.rel, line, reason: 'parse-error' });
    for (const p of s.problems) unanalyzed.push({ file: unit.rel, line: p.line, reason: p.reason });
  };

  const scanTarget = async (target: Target) => {
    const root = new ModuleNode('crate', null);
    const resolver = new Resolver(root, resolverOptions);
    const units: { unit: Unit; role: FileRole }[] = [];
    interface Pending {
      abs: string;
      size: number;
      rel: string;
      module: ModuleNode;
      /** Directory where child modules of this file live. */
      modDir: string;
      test: boolean;
    }
    const rootAbs = resolvePath(dir, target.root);
    const located = await locateInside(dir, rootAbs);
    if (!located) {
      unanalyzed.push({ file: target.root, line: 1, reason: 'target file not found' });
      return;
    }
    if ('problem' in located) {
      unanalyzed.push({ file: target.root, line: 1, reason: located.problem });
      return;
    }
    const queue: Pending[] = [{ abs: located.abs, size: located.size, rel: posix(relative(dir, located.abs)), module: root, modDir: dirname(located.abs), test: false }];
    while (queue.length) {
      const p = queue.shift()!;
      if (visited.has(p.abs)) continue;
      visited.add(p.abs);
      const how = budget(p.rel, p.size);
      if (how === null) continue;
      const summary = await analyzeUnit(p.abs, target.role, p.test, how);
      if (summary.testOnly && !input.allTargets) {
        testFiles.add(p.abs);
        continue;
      }
      const unit = placeUnit(p.rel, summary, p.module, p.test || summary.testOnly);
      units.push({ unit, role: target.role });
      files.push({ rel: p.rel, role: target.role });
      const fileDir = dirname(p.abs);
      // module directory of each scope: inline `mod a { mod b; }` nests directories
      const scopeDir = (scope: number): string => {
        const s = summary.scopes[scope]!;
        if (scope === 0 || s.parent < 0) return p.modDir;
        const parentDir = scopeDir(s.parent);
        if (s.kind !== 'mod') return parentDir;
        // an inline `#[path = "dir"] mod m { mod n; }` puts n under dir, not under m (openssl-sys: `#[path = "."]`)
        const decl = inlineMods.get(scope);
        return resolvePath(parentDir, decl?.pathAttr ?? s.name ?? '_');
      };
      const inlineMods = new Map(summary.mods.filter((m) => m.body >= 0).map((m) => [m.body, m]));
      for (const m of summary.mods) {
        if (m.body >= 0) continue; // inline: same file
        const base = scopeDir(m.scope);
        const candidates = m.pathAttr
          ? [resolvePath(m.scope === 0 || summary.scopes[m.scope]!.kind !== 'mod' ? fileDir : base, m.pathAttr)]
          : [join(base, `${m.name}.rs`), join(base, m.name, 'mod.rs')];
        let found: Awaited<ReturnType<typeof locateInside>> = null;
        for (const c of candidates) {
          found = await locateInside(dir, c);
          if (found) break;
        }
        if (!found) {
          if ((!m.test || input.allTargets) && !m.macro) unanalyzed.push({ file: p.rel, line: m.line, reason: `module file not found: ${posix(relative(dir, candidates[0]!))}` });
          continue;
        }
        if ('problem' in found) {
          unanalyzed.push({ file: p.rel, line: m.line, reason: `${found.problem}: ${m.pathAttr ?? m.name}` });
          continue;
        }
        const isModRs = basename(found.abs) === 'mod.rs' || !!m.pathAttr;
        const modDir = isModRs ? dirname(found.abs) : join(dirname(found.abs), basename(found.abs, '.rs'));
        if (m.test && !input.allTargets) {
          // the module and its whole subtree are test code: not unreferenced either
          testFiles.add(found.abs);
          if (modDir !== dirname(found.abs) || basename(found.abs) === 'mod.rs') testDirs.push(modDir + sep);
          continue;
        }
        const childModule = unit.moduleOf[m.scope]!.child(m.name);
        queue.push({ abs: found.abs, size: found.size, rel: posix(relative(dir, found.abs)), module: childModule, modDir, test: p.test || !!m.test });
      }
      for (const inc of summary.includes) {
        const found = await locateInside(dir, resolvePath(fileDir, inc.path));
        if (!found || 'problem' in found) {
          unanalyzed.push({ file: p.rel, line: inc.line, reason: `include not analysed: ${inc.path}${found ? ` (${found.problem})` : ' (not found)'}` });
          continue;
        }
        // the included code lands in the module of the include! site
        queue.push({ abs: found.abs, size: found.size, rel: posix(relative(dir, found.abs)), module: unit.moduleOf[inc.scope]!, modDir: p.modDir, test: p.test });
      }
    }
    for (const { unit, role } of units) applyRules(unit, role, resolver);
  };

  for (const t of targets) await scanTarget(t);

  // files no module reaches are still scanned, marked unreferenced
  const { files: listing, truncatedAt, unreadable } = await (input.listing ?? listPackage(dir));
  for (const rel of rustFilesOf(listing, input.allTargets)) {
    const loc = await locateInside(dir, join(dir, rel));
    if (!loc || 'problem' in loc) continue;
    const abs = loc.abs;
    if (visited.has(abs) || testFiles.has(abs)) continue;
    if (testDirs.some((d) => abs.startsWith(d))) continue;
    visited.add(abs);
    const how = budget(posix(rel), loc.size);
    if (how === null) continue;
    // (--all-targets) a stray file in a target directory that is not a declared target (autobenches = false)
    // is that kind of code, tests and benches included, not library code
    const role = strayRole(posix(rel));
    const summary = await analyzeUnit(abs, role, false, how);
    if (summary.testOnly && !input.allTargets) continue;
    const root = new ModuleNode('crate', null);
    const resolver = new Resolver(root, resolverOptions);
    const unit = placeUnit(posix(rel), summary, root, false);
    if (role === 'unreferenced' && nearestTargetIsBuild(posix(rel))) unreferencedBuild.add(unit.rel);
    files.push({ rel: posix(rel), role });
    applyRules(unit, role, resolver);
  }

  // what the limits left out, never silently
  if (skipped.first !== null) {
    unanalyzed.push({
      file: skipped.first,
      line: 1,
      reason:
        `skipped: ${skipped.files} file${skipped.files === 1 ? '' : 's'} (${skipped.bytes} bytes) not analysed, past the files-per-crate cap ` +
        `(${MAX_FILES_PER_CRATE}) and the token-pass budget (${MAX_TOKEN_FILES_PER_CRATE} files, ${MAX_TOKEN_BYTES_PER_CRATE} bytes)`,
    });
  }
  if (truncatedAt !== null) {
    unanalyzed.push({
      file: truncatedAt,
      line: 1,
      reason: `skipped: package listing stopped at the entry cap (${MAX_LISTED_ENTRIES}): from this path on, files no module reaches were not analysed and no file was checked for native code`,
    });
  }
  for (const u of unreadable) {
    unanalyzed.push({ file: u.dir, line: 1, reason: `skipped: directory not readable (${u.code}): files no module reaches in it were not analysed` });
  }

  // crate-level facts
  for (const rule of index.crateRules) {
    if (rule.crate === 'build-script' && manifest?.package?.build) {
      const rel = manifest.package.build;
      findings.set(`crate-build`, {
        capability: rule.capability,
        kind: rule.kind,
        phase: 'build',
        rule: rule.id,
        file: rel,
        line: 1,
        column: 1,
        evidence: `build script ${rel}`,
      });
    }
    if (rule.crate === 'proc-macro' && procMacro) {
      const text = await readRegularText(join(dir, 'Cargo.toml'), { maxBytes: MAX_TOML_BYTES }).catch(() => '');
      const idx = text.split('\n').findIndex((l) => /^\s*proc[-_]macro\s*=\s*true/.test(l));
      findings.set(`crate-proc-macro`, {
        capability: rule.capability,
        kind: rule.kind,
        phase: 'build',
        rule: rule.id,
        file: 'Cargo.toml',
        line: idx >= 0 ? idx + 1 : 1,
        column: 1,
        evidence: 'proc-macro = true',
      });
    }
  }

  // package-level indicators: shipped binaries, compiled native sources, include_bytes! of binaries
  const allFiles = listing.map((path) => ({ path }));
  const build = manifest?.package?.build ?? null;
  const buildLoc = build ? await locateInside(dir, join(dir, build)) : null;
  const buildSource = buildLoc && 'abs' in buildLoc ? await readRegularText(buildLoc.abs, { maxBytes: MAX_TOML_BYTES }).catch(() => null) : null;
  // an include_bytes! of a FIFO or device is not read (the indicator pass skips it): say so
  for (const ref of includeBytes) {
    const loc = await locateInside(dir, resolvePath(dir, dirname(ref.file), ref.path));
    if (loc && 'problem' in loc && loc.problem.startsWith('not-a-regular-file')) {
      unanalyzed.push({ file: ref.file, line: ref.line, reason: `include_bytes not analysed: ${ref.path} (${loc.problem})` });
    }
  }
  indicators.push(...(await crateIndicators(dir, allFiles, buildSource, includeBytes, build ?? 'build.rs', unanalyzed)));
  const seenInd = new Set<string>();
  const sortedIndicators = indicators
    .filter((i) => {
      const k = `${i.id}\0${i.file}\0${i.line}\0${i.detail}`;
      if (seenInd.has(k)) return false;
      seenInd.add(k);
      return true;
    })
    .sort((a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.id, b.id) || cmp(a.detail, b.detail));

  const sortedFindings = [...findings.values()].sort(
    (a, b) => cmp(a.file, b.file) || a.line - b.line || a.column - b.column || cmp(a.rule, b.rule),
  );
  const seenUn = new Set<string>();
  const un = unanalyzed
    .filter((u) => {
      const k = `${u.file}\0${u.line}\0${u.reason}`;
      if (seenUn.has(k)) return false;
      seenUn.add(k);
      return true;
    })
    .sort((a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.reason, b.reason));
  files.sort((a, b) => cmp(a.rel, b.rel));
  return { findings: sortedFindings, indicators: sortedIndicators, urls, hosts, unanalyzed: un, files };
}

