// The allowlist policy in the workspace root Cargo.toml and its evaluation against a scan.
//
// [workspace.metadata.cap-scan]            ([package.metadata.cap-scan] for a single-package project)
// deny-indicators = false                  # indicators fail `check` (same as --deny-indicators)
// deny-unscanned = false                   # crates that could not be scanned, or only in part, fail `check` (--deny-unscanned)
// typosquat-exceptions = ["crate", …]      # crates never reported as typosquats
// targets = ["x86_64-unknown-linux-gnu"]   # only what these targets build (same as --target)
// remote-cache = "https://cache.example/cap-scan"   # shared result cache (same as --remote-cache; remote-cache.ts)
// [workspace.metadata.cap-scan.allow]
// name = ["fs", "net.connect"]             # plain list: allowed in every phase
// name = { runtime = [...], build = [...], urls = ["https://host/*", "host"], indicators = ["native-code"] }
// "name@semver-req" = [...]                # only versions matching the requirement
//
// Which entry applies to a crate: among the entries whose name is the crate's and whose version
// requirement (if any) the version satisfies, a semver-scoped entry beats a plain one; among scoped
// entries, the one whose requirement has the highest minimum version wins (`memchr@2.7` beats
// `memchr@2` for 2.7.1); remaining ties go to the entry written first. Entries are not merged.
//
// `indicators` accepts reviewed supply-chain indicators: an id (`native-code`) accepts every indicator of
// that id (and of its sub-ids, `typosquat.x`) in the crates the entry applies to. `allow --write` never
// writes it: accepting an indicator is a human review, not a snapshot of today's findings.

import semver from 'semver';
import {
  CAPABILITIES,
  CAPABILITY_KINDS,
  type Capability,
  type CrateReport,
  type Finding,
  type Indicator,
  type Phase,
  type Project,
  type ScanResult,
  type Unanalyzed,
  UserError,
} from '../types.js';
import { findKeyLine } from './toml-edit.js';
import { checkTargets } from '../project/targets.js';
import { checkRemoteUrl } from '../scan/remote-cache.js';
import { cmp } from '../util/compare.js';
import { isTable, parseToml } from '../util/toml.js';
import { hostOfUrl } from '../util/url.js';
import { splitEntryKey } from './entry-key.js';

export type PolicySection = 'workspace' | 'package';

export interface AllowEntry {
  /** The key as written (unquoted), e.g. `memchr@2`. */
  key: string;
  name: string;
  /** Semver requirement, or null for every version. */
  req: string | null;
  /** Allowed capability ids and kinds per phase. A plain list allows the same items in both phases. */
  runtime: string[];
  build: string[];
  /** True when written as a plain list. */
  plain: boolean;
  /** Allowed URL patterns and hosts; null when the entry sets none (URLs unrestricted). */
  urls: string[] | null;
  /** Indicator ids accepted after review (sorted); empty when the entry accepts none. */
  indicators: string[];
  /** 1-based line of the entry in the manifest. */
  line: number | null;
}

export interface Policy {
  /** Manifest the policy was read from. */
  path: string;
  /** Where the policy is (or, when absent, would be) written. */
  section: PolicySection;
  /** Whether a `[…metadata.cap-scan]` table exists at all. */
  present: boolean;
  entries: AllowEntry[];
  denyIndicators: boolean;
  denyUnscanned: boolean;
  typosquatExceptions: string[];
}

const POLICY_KEYS = new Set(['allow', 'deny-indicators', 'deny-unscanned', 'remote-cache', 'targets', 'typosquat-exceptions']);
const ENTRY_KEYS = new Set(['runtime', 'build', 'urls', 'indicators']);
const ALL_KINDS = new Set<string>(Object.values(CAPABILITY_KINDS).flat());

/** Capability id of an allowlist item (`fs` or `fs.read`), or null when unknown. */
export function capabilityOfItem(item: string): Capability | null {
  if ((CAPABILITIES as string[]).includes(item)) return item as Capability;
  if (!ALL_KINDS.has(item)) return null;
  for (const c of CAPABILITIES) if ((CAPABILITY_KINDS[c] as readonly string[]).includes(item)) return c;
  return null;
}

/** Whether an allowlist item (capability id or kind) allows `kind` of `capability`. */
export function itemAllows(item: string, capability: string, kind: string): boolean {
  return item === capability || item === kind;
}

export { splitEntryKey };

/**
 * Reads the cap-scan policy from the root manifest's text. `path` is used in messages
 * (`Cargo.toml:12: …`). A manifest without a policy gives an empty policy (zero trust: every
 * capability of a dependency is a violation).
 */
export function parsePolicy(text: string, path: string): Policy {
  const doc = parseToml(text, path);
  const fail = (keyPath: string[], message: string): never => {
    const line = findKeyLine(text, keyPath);
    throw new UserError(`${path}${line !== null ? `:${line}` : ''}: ${message}`);
  };
  const sectionOf = (s: PolicySection): unknown => {
    const top = doc[s];
    if (!isTable(top)) return undefined;
    const meta = top['metadata'];
    if (!isTable(meta)) return undefined;
    return meta['cap-scan'];
  };
  const ws = sectionOf('workspace');
  const pkg = sectionOf('package');
  if (ws !== undefined && pkg !== undefined) {
    fail(['package', 'metadata', 'cap-scan'], 'cap-scan policy is defined in both [workspace.metadata.cap-scan] and [package.metadata.cap-scan]; keep one');
  }
  const section: PolicySection = ws !== undefined ? 'workspace' : pkg !== undefined ? 'package' : isTable(doc['workspace']) ? 'workspace' : 'package';
  const raw = ws ?? pkg;
  const policy: Policy = { path, section, present: raw !== undefined, entries: [], denyIndicators: false, denyUnscanned: false, typosquatExceptions: [] };
  if (raw === undefined) return policy;
  const base = [section, 'metadata', 'cap-scan'];
  const where = `[${section}.metadata.cap-scan]`;
  if (!isTable(raw)) fail(base, `${where} must be a table`);
  const table = raw as Record<string, unknown>;
  for (const key of Object.keys(table).sort()) {
    if (!POLICY_KEYS.has(key)) {
      fail([...base, key], `unknown key '${key}' in ${where} (expected one of: ${[...POLICY_KEYS].join(', ')})`);
    }
  }
  for (const [key, field] of [['deny-indicators', 'denyIndicators'], ['deny-unscanned', 'denyUnscanned']] as const) {
    const v = table[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') fail([...base, key], `'${key}' must be true or false`);
    policy[field] = v as boolean;
  }
  // `targets` chooses what is scanned (the project loader applies it); here it only has to be well formed
  const targets = table['targets'];
  if (targets !== undefined) {
    if (!Array.isArray(targets) || targets.some((x) => typeof x !== 'string')) fail([...base, 'targets'], `'targets' must be a list of target triples`);
    try {
      checkTargets(targets as string[], 'targets');
    } catch (e) {
      fail([...base, 'targets'], (e as Error).message);
    }
  }
  // `remote-cache` is used by the scan (remote-cache.ts); here it only has to be an http(s) URL
  const remote = table['remote-cache'];
  if (remote !== undefined) {
    if (typeof remote !== 'string') fail([...base, 'remote-cache'], `'remote-cache' must be a URL string`);
    try {
      checkRemoteUrl(remote as string, 'remote-cache');
    } catch (e) {
      fail([...base, 'remote-cache'], (e as Error).message);
    }
  }
  const typo = table['typosquat-exceptions'];
  if (typo !== undefined) {
    if (!Array.isArray(typo) || typo.some((x) => typeof x !== 'string')) {
      fail([...base, 'typosquat-exceptions'], `'typosquat-exceptions' must be a list of crate names`);
    }
    policy.typosquatExceptions = [...(typo as string[])].sort();
  }
  const allow = table['allow'];
  if (allow === undefined) return policy;
  if (!isTable(allow)) fail([...base, 'allow'], `'allow' must be a table of crate = [capabilities]`);
  const allowPath = [...base, 'allow'];
  for (const key of Object.keys(allow as Record<string, unknown>)) {
    const kp = [...allowPath, key];
    const line = findKeyLine(text, kp);
    const { name, req } = splitEntryKey(key);
    if (!/^[A-Za-z0-9_-]+$/.test(name)) fail(kp, `invalid crate name in allow key '${key}'`);
    if (req !== null && semver.validRange(req) === null) {
      fail(kp, `invalid semver requirement '${req}' in allow key '${key}'`);
    }
    const value = (allow as Record<string, unknown>)[key];
    const items = (v: unknown, sub: string | null): string[] => {
      const at = sub ? [...kp, sub] : kp;
      const label = sub ? `'${key}.${sub}'` : `'${key}'`;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(at, `${label} must be a list of strings`);
      const list = v as string[];
      if (sub === 'indicators') {
        for (const item of list) {
          if (!/^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/.test(item)) fail(at, `invalid indicator id '${item}' in ${label} (ids such as native-code, obfuscation, secrets, typosquat, bidi)`);
        }
      } else if (sub !== 'urls') {
        for (const item of list) {
          if (capabilityOfItem(item) === null) {
            fail(at, `unknown capability '${item}' in ${label} (capabilities: ${CAPABILITIES.join(', ')}; or a kind such as fs.read)`);
          }
        }
      } else {
        for (const item of list) if (item.length === 0) fail(at, `empty URL pattern in ${label}`);
      }
      return [...new Set(list)].sort();
    };
    let entry: AllowEntry;
    if (Array.isArray(value)) {
      const list = items(value, null);
      entry = { key, name, req, runtime: list, build: list, plain: true, urls: null, indicators: [], line };
    } else if (isTable(value)) {
      for (const sub of Object.keys(value).sort()) {
        if (!ENTRY_KEYS.has(sub)) fail([...kp, sub], `unknown key '${sub}' in allow entry '${key}' (expected runtime, build, urls, indicators)`);
      }
      entry = {
        key,
        name,
        req,
        runtime: value['runtime'] === undefined ? [] : items(value['runtime'], 'runtime'),
        build: value['build'] === undefined ? [] : items(value['build'], 'build'),
        plain: false,
        urls: value['urls'] === undefined ? null : items(value['urls'], 'urls'),
        indicators: value['indicators'] === undefined ? [] : items(value['indicators'], 'indicators'),
        line,
      };
    } else {
      fail(kp, `allow entry '${key}' must be a list of capabilities or a table { runtime = [...], build = [...], urls = [...], indicators = [...] }`);
      throw new Error('unreachable');
    }
    policy.entries.push(entry);
  }
  policy.entries.sort((a, b) => cmp(a.key, b.key));
  return policy;
}

/** The entry that applies to `name@version` (see the header comment for the rule), or null. */
export function entryFor(policy: Policy, name: string, version: string): AllowEntry | null {
  let best: AllowEntry | null = null;
  let bestMin: string | null = null;
  // entries are sorted by key; "first written" ties are broken by line
  const candidates = policy.entries
    .filter((e) => e.name === name && (e.req === null || semver.satisfies(version, e.req, { includePrerelease: true })))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  for (const e of candidates) {
    if (e.req === null) {
      if (!best) best = e;
      continue;
    }
    const min = semver.minVersion(e.req)?.version ?? '0.0.0';
    if (!best || best.req === null || semver.gt(min, bestMin ?? '0.0.0')) {
      best = e;
      bestMin = min;
    }
  }
  return best;
}

// ---------------------------------------------------------------- evaluation

/** One capability kind used in a phase without being allowed. */
export interface DisallowedUse {
  capability: Capability;
  /** The kind (e.g. `net.connect`); the capability id for crate-level capabilities. */
  kind: string;
  phase: Phase;
  /** Evidence, sorted like the scan's findings. Empty for a capability the scan reports without findings. */
  findings: Finding[];
  /** The entry allows this kind in the other phase (e.g. allowed under `build`, used at runtime). */
  allowedInOtherPhase: boolean;
}

export interface UrlViolation {
  type: 'url' | 'host';
  value: string;
}

export interface CrateViolation {
  name: string;
  version: string;
  source: string | null;
  /** Key of the allow entry that applies, or null for a crate with no entry ("new"). */
  entry: string | null;
  /** No entry applies although the crate has capabilities. */
  new: boolean;
  disallowed: DisallowedUse[];
  urls: UrlViolation[];
  /** Indicators, when indicators are denied. */
  indicators: Indicator[];
}

export interface UnusedEntry {
  /** Key of the allow entry. */
  entry: string;
  line: number | null;
  /** `matches-no-crate`: no scanned crate uses the entry; `unused-capabilities`: some items are not needed. */
  reason: 'matches-no-crate' | 'unused-capabilities';
  /** Items (capability ids or kinds) no matching crate needs, per phase (both phases for plain lists: `all`). */
  runtime: string[];
  build: string[];
  all: string[];
  /** Accepted indicator ids no matching crate has any more (only set when some are). */
  indicators?: string[];
}

/**
 * `unanalyzed` entries that left code entirely unanalysed ("skipped"): files a limit kept from every
 * analysis (`skipped: …` entries of the crate scan: files past the per-crate budgets, a truncated
 * listing, unreadable directories) and files no analysis could read or finish. Not the entries of code
 * still analysed as tokens (`…: analysed as tokens`, findings reported), parse errors (the rest of the
 * file is analysed), nor missing or outside-the-package module files (nothing in the package to analyse).
 */
const SKIPPED_REASON = /^(?:skipped:|file-too-large|read-failed|analysis-timeout|analysis-crashed|analysis-failed)/;

export function isSkipped(u: Unanalyzed): boolean {
  return SKIPPED_REASON.test(u.reason) && !u.reason.includes('analysed as tokens');
}

/** A scanned crate with parts left entirely unanalysed: `check --deny-unscanned` treats it as unscanned. */
export interface SkippedCrate {
  name: string;
  version: string;
  /** Its skipped entries (isSkipped), in the crate's order. */
  unanalyzed: Unanalyzed[];
}

export interface Violations {
  /** Path of the manifest the policy came from. */
  policy: string;
  strict: boolean;
  denyIndicators: boolean;
  /** Unscanned crates and crates with skipped parts fail the check (they are listed either way). */
  denyUnscanned: boolean;
  /**
   * True when check passes (no crate violation; with strict, no unused entry; with denyUnscanned, none
   * unscanned and none with skipped parts).
   */
  ok: boolean;
  crates: CrateViolation[];
  unused: UnusedEntry[];
  /** Dependencies (not members) with parts left entirely unanalysed, sorted by name and version. */
  skipped: SkippedCrate[];
}

export interface EvaluateOptions {
  strict?: boolean;
  /** Overrides the policy's deny-indicators when true. */
  denyIndicators?: boolean;
  /** Overrides the policy's deny-unscanned when true. */
  denyUnscanned?: boolean;
}

function memberKeys(project: Project | null): Set<string> {
  const s = new Set<string>();
  for (const p of project?.packages ?? []) if (p.member) s.add(`${p.name}@${p.version}`);
  return s;
}

/** Uses of a crate: every (capability, kind, phase) with its findings, including capabilities without findings. */
export function usesOf(crate: CrateReport): DisallowedUse[] {
  const map = new Map<string, DisallowedUse>();
  for (const f of crate.findings) {
    if (f.context === 'disabled') continue; // never compiled: listed in the report, not a use
    const k = `${f.phase}\0${f.kind}`;
    let u = map.get(k);
    if (!u) map.set(k, (u = { capability: f.capability, kind: f.kind, phase: f.phase, findings: [], allowedInOtherPhase: false }));
    u.findings.push(f);
  }
  for (const phase of ['runtime', 'build'] as Phase[]) {
    for (const cap of crate.phases[phase]) {
      const has = [...map.values()].some((u) => u.phase === phase && u.capability === cap);
      if (!has) map.set(`${phase}\0${cap}`, { capability: cap, kind: cap, phase, findings: [], allowedInOtherPhase: false });
    }
  }
  return [...map.values()].sort((a, b) => cmp(a.phase, b.phase) || cmp(a.kind, b.kind));
}

function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${esc}$`, 'i');
}

/**
 * The host part of an allowlist URL pattern (`https://*.example.com/*` → `*.example.com`), a glob
 * matched against the host of a crate's URL; an IPv6 literal loses its brackets as hostOfUrl's hosts
 * do (`http://[::1]:8080/*` → `::1`). Null when the pattern has no host.
 */
function hostOfUrlPattern(pattern: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]/?#]*\]|[^/:?#]+)/i.exec(pattern);
  return m ? bareHost(m[1]!) : null;
}

/** A host or host pattern without IPv6 brackets (`[::1]` → `::1`). */
function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Whether a URL or host of a crate matches an allowlist pattern. Patterns with a scheme (`https://…`)
 * match URLs in full (glob `*`) and hosts by their host part; patterns without one are host patterns
 * and match hosts and the host of URLs.
 */
export function urlAllowed(value: string, type: 'url' | 'host', patterns: string[]): boolean {
  for (const p of patterns) {
    const isUrlPattern = /^[a-z][a-z0-9+.-]*:\/\//i.test(p);
    if (isUrlPattern) {
      if (type === 'url' && globToRegExp(p).test(value)) return true;
      if (type === 'host') {
        const hostPattern = hostOfUrlPattern(p);
        if (hostPattern !== null && globToRegExp(hostPattern).test(bareHost(value))) return true;
      }
    } else {
      const host = type === 'host' ? bareHost(value) : hostOfUrl(value);
      if (host !== null && globToRegExp(bareHost(p)).test(host)) return true;
    }
  }
  return false;
}

const isTyposquat = (i: Indicator) => i.id === 'typosquat' || i.id.startsWith('typosquat.');

/** The accepted id of an allow entry that covers an indicator (`native-code` covers `native-code` and `native-code.*`), or null. */
export function acceptedBy(i: Indicator, accepted: readonly string[]): string | null {
  return accepted.find((a) => i.id === a || i.id.startsWith(`${a}.`)) ?? null;
}

/**
 * Compares a scan with the policy. Workspace members are not subject to the policy. A crate with no
 * entry and no capabilities is fine; with capabilities it is "new" and all its uses are listed.
 */
export function evaluatePolicy(policy: Policy, result: ScanResult, project: Project | null, opts: EvaluateOptions = {}): Violations {
  const strict = opts.strict ?? false;
  const denyIndicators = (opts.denyIndicators ?? false) || policy.denyIndicators;
  const denyUnscanned = (opts.denyUnscanned ?? false) || policy.denyUnscanned;
  const members = memberKeys(project);
  const crates: CrateViolation[] = [];
  // per entry: items used, per phase
  const used = new Map<AllowEntry, { runtime: Set<string>; build: Set<string>; indicators: Set<string> }>();
  for (const e of policy.entries) used.set(e, { runtime: new Set(), build: new Set(), indicators: new Set() });

  for (const crate of result.crates) {
    if (members.has(`${crate.name}@${crate.version}`)) continue;
    const entry = entryFor(policy, crate.name, crate.version);
    const uses = usesOf(crate);
    const v: CrateViolation = {
      name: crate.name,
      version: crate.version,
      source: crate.source,
      entry: entry?.key ?? null,
      new: entry === null && uses.length > 0,
      disallowed: [],
      urls: [],
      indicators: [],
    };
    for (const u of uses) {
      const allowedItems = entry ? entry[u.phase] : [];
      const matching = allowedItems.filter((item) => itemAllows(item, u.capability, u.kind));
      if (matching.length === 0) {
        const other: Phase = u.phase === 'runtime' ? 'build' : 'runtime';
        u.allowedInOtherPhase = entry !== null && entry[other].some((item) => itemAllows(item, u.capability, u.kind));
        v.disallowed.push(u);
      }
      else for (const item of matching) used.get(entry!)![u.phase].add(item);
    }
    if (entry && entry.urls !== null) {
      for (const url of crate.urls) if (!urlAllowed(url, 'url', entry.urls)) v.urls.push({ type: 'url', value: url });
      for (const host of crate.hosts) if (!urlAllowed(host, 'host', entry.urls)) v.urls.push({ type: 'host', value: host });
    }
    // indicators accepted by the entry after review; recorded as used whether or not they are denied
    const unaccepted: Indicator[] = [];
    for (const i of crate.indicators) {
      const acc = entry ? acceptedBy(i, entry.indicators) : null;
      if (acc !== null) used.get(entry!)!.indicators.add(acc);
      else unaccepted.push(i);
    }
    if (denyIndicators) {
      const exempt = policy.typosquatExceptions.includes(crate.name);
      v.indicators = unaccepted.filter((i) => !(exempt && isTyposquat(i)));
    }
    if (v.disallowed.length || v.urls.length || v.indicators.length) crates.push(v);
  }

  const skipped: SkippedCrate[] = [];
  for (const crate of result.crates) {
    if (members.has(`${crate.name}@${crate.version}`)) continue;
    const parts = crate.unanalyzed.filter(isSkipped);
    if (parts.length) skipped.push({ name: crate.name, version: crate.version, unanalyzed: parts });
  }

  const unused: UnusedEntry[] = [];
  const scannedNames = new Set(result.crates.filter((c) => !members.has(`${c.name}@${c.version}`)).map((c) => `${c.name}@${c.version}`));
  const unscannedKeys = result.unscanned.map((u) => ({ name: u.name, version: u.version }));
  for (const e of policy.entries) {
    const matchesCrate = (name: string, version: string) =>
      name === e.name && (e.req === null || semver.satisfies(version, e.req, { includePrerelease: true }));
    const applies = result.crates.some((c) => scannedNames.has(`${c.name}@${c.version}`) && entryFor(policy, c.name, c.version) === e);
    // an entry for a crate that could not be scanned is not known to be unused
    if (unscannedKeys.some((u) => matchesCrate(u.name, u.version))) continue;
    // nor is one whose crate had parts skipped: the skipped code may use the capabilities
    if (skipped.some((u) => entryFor(policy, u.name, u.version) === e)) continue;
    if (!applies) {
      unused.push({ entry: e.key, line: e.line, reason: 'matches-no-crate', runtime: [], build: [], all: [] });
      continue;
    }
    const u = used.get(e)!;
    const indicators = e.indicators.filter((i) => !u.indicators.has(i));
    const withIndicators = indicators.length ? { indicators } : {};
    if (e.plain) {
      const all = e.runtime.filter((i) => !u.runtime.has(i) && !u.build.has(i));
      if (all.length) unused.push({ entry: e.key, line: e.line, reason: 'unused-capabilities', runtime: [], build: [], all });
    } else {
      const runtime = e.runtime.filter((i) => !u.runtime.has(i));
      const build = e.build.filter((i) => !u.build.has(i));
      if (runtime.length || build.length || indicators.length) {
        unused.push({ entry: e.key, line: e.line, reason: 'unused-capabilities', runtime, build, all: [], ...withIndicators });
      }
    }
  }
  crates.sort((a, b) => cmp(a.name, b.name) || semverCmp(a.version, b.version));
  unused.sort((a, b) => cmp(a.entry, b.entry));
  skipped.sort((a, b) => cmp(a.name, b.name) || semverCmp(a.version, b.version));
  return {
    policy: policy.path,
    strict,
    denyIndicators,
    denyUnscanned,
    ok: crates.length === 0 && (!strict || unused.length === 0) && (!denyUnscanned || (result.unscanned.length === 0 && skipped.length === 0)),
    crates,
    unused,
    skipped,
  };
}

export function semverCmp(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va && vb) return semver.compare(va, vb);
  return cmp(a, b);
}
