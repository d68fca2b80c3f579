// Typosquat indicator: lockfile crate names one "edit" away from a popular crate that the lockfile does not
// itself contain. Names are compared case- and separator-insensitively (`-` = `_`): Debian, the source of
// the popular list, spells `_` as `-`, and crates.io treats the two as the same name.

import { join } from 'node:path';
import { findKeyLine } from '../policy/toml-edit.js';
import type { Indicator } from '../types.js';
import { cmp } from '../util/compare.js';
import { MAX_TOML_BYTES, readRegularFileSync } from '../util/fs-safe.js';

export interface Typosquat {
  /** The lockfile name. */
  name: string;
  /** The popular crate it resembles (as spelled in the popular list). */
  similarTo: string;
  /** `separator` | `affix` | `reordered` | `edit-distance`. */
  how: TyposquatHow;
}

export type TyposquatHow = 'separator' | 'affix' | 'reordered' | 'edit-distance';

const HOW_ORDER: TyposquatHow[] = ['separator', 'affix', 'reordered', 'edit-distance'];
/**
 * Edit distance on short names is noise (`libc`/`libm`, `glib`/`glob`, `rand`/`rend` are all real crates):
 * substitutions, insertions and deletions need both names at least MIN_EDIT_LEN long; adjacent
 * transpositions (`rnad`) and doubled characters (`libcc`) need MIN_SWAP_LEN.
 */
const MIN_EDIT_LEN = 5;
const MIN_SWAP_LEN = 4;

/** `Foo-Bar` -> `foo_bar`. */
export function normalizeCrateName(name: string): string {
  return name.toLowerCase().replace(/-/g, '_');
}

function sepless(norm: string): string {
  return norm.replace(/_/g, '');
}

/**
 * The name without one of the bounded affixes: prefix `rust_` / `rs_`, suffix `_rs` / `_rust`, or a trailing
 * `1`/`2` (optionally after `_`). Empty when none applies. Only these affixes: `serde_json` is not `serde`.
 * A digit is a one-character edit, so it obeys the edit-distance length floor: `proc_macro1`/`proc_macro2`
 * and `memmap2`/`memmap` share a base, `sha1`/`sha2` (base `sha`) do not.
 */
function affixBases(norm: string): string[] {
  const out: string[] = [];
  for (const p of ['rust_', 'rs_']) if (norm.startsWith(p) && norm.length > p.length + 1) out.push(norm.slice(p.length));
  for (const s of ['_rs', '_rust']) if (norm.endsWith(s) && norm.length > s.length + 1) out.push(norm.slice(0, -s.length));
  const d = /^(.*[a-z_])_?[12]$/.exec(norm);
  if (d && sepless(d[1]!).length >= MIN_EDIT_LEN) out.push(d[1]!.replace(/_$/, ''));
  return out;
}

function reorderKey(norm: string): string | null {
  const words = norm.split('_').filter((w) => w !== '');
  if (words.length < 2) return null;
  return [...words].sort().join('_');
}

/**
 * Optimal-string-alignment distance 1, with the length floors above applied to the names without their
 * shared trailing words (`gtk_sys`/`gdk_sys` compare as `gtk`/`gdk`: too short). Two more rules keep
 * distinct words apart (typos keep a word's first letter and its shape):
 * - a word's first letter added, dropped or replaced makes another word, not a typo (`notify`/`inotify`,
 *   `bindgen`/`cbindgen`, `serde_json`/`serde_hjson`, `kstring`/`zstring`), unless it doubles the next letter;
 * - a substitution inside a word of three letters or fewer, the other words shared, changes the word
 *   (`glutin_egl_sys`/`glutin_wgl_sys`).
 */
function withinOneEdit(fullA: string, fullB: string): boolean {
  if (fullA === fullB) return false;
  const wa = fullA.split('_');
  const wb = fullB.split('_');
  while (wa.length > 1 && wb.length > 1 && wa[wa.length - 1] === wb[wb.length - 1]) {
    wa.pop();
    wb.pop();
  }
  let lead = 0;
  while (lead < wa.length - 1 && lead < wb.length - 1 && wa[lead] === wb[lead]) lead++;
  const coreShort = Math.min(wa.slice(lead).join('_').length, wb.slice(lead).join('_').length);
  const a = wa.join('_');
  const b = wb.join('_');
  const short = Math.min(a.length, b.length);
  if (short < MIN_SWAP_LEN) return false;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    // substitution, or adjacent transposition
    if (a.slice(i + 1) === b.slice(i + 1)) return short >= MIN_EDIT_LEN && coreShort >= MIN_SWAP_LEN && !(i === 0 || a[i - 1] === '_');
    return i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  // insertion/deletion; a doubled character (`libcc`, `rannd`) counts down to MIN_SWAP_LEN
  const [long, other] = la > lb ? [a, b] : [b, a];
  if (long.slice(i + 1) !== other.slice(i)) return false;
  const doubled = long[i] === long[i - 1] || long[i] === long[i + 1];
  if (doubled) return true;
  const wordStart = i === 0 || long[i - 1] === '_';
  return short >= MIN_EDIT_LEN && !wordStart;
}

function deletions(s: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i < s.length; i++) out.add(s.slice(0, i) + s.slice(i + 1));
  return [...out];
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) {
    if (!list.includes(value)) list.push(value);
  } else map.set(key, [value]);
}

interface PopularIndex {
  byNorm: Map<string, string>;
  bySepless: Map<string, string[]>;
  byAffixBase: Map<string, string[]>;
  byReorder: Map<string, string[]>;
  /** Deletion neighbourhood (the name itself and every one-char deletion) -> popular norms. */
  byDeletion: Map<string, string[]>;
}

const indexCache = new WeakMap<string[], PopularIndex>();

function buildIndex(popular: string[]): PopularIndex {
  const idx: PopularIndex = { byNorm: new Map(), bySepless: new Map(), byAffixBase: new Map(), byReorder: new Map(), byDeletion: new Map() };
  for (const name of popular) {
    const norm = normalizeCrateName(name.trim());
    if (norm === '' || idx.byNorm.has(norm)) continue;
    idx.byNorm.set(norm, name.trim());
    push(idx.bySepless, sepless(norm), norm);
    push(idx.byAffixBase, norm, norm);
    for (const b of affixBases(norm)) push(idx.byAffixBase, b, norm);
    const rk = reorderKey(norm);
    if (rk) push(idx.byReorder, rk, norm);
    if (norm.length >= MIN_SWAP_LEN) {
      push(idx.byDeletion, norm, norm);
      for (const d of deletions(norm)) push(idx.byDeletion, d, norm);
    }
  }
  return idx;
}

/**
 * Lockfile names that look like typosquats of popular crates. A lock name is skipped when it is itself a
 * popular crate or listed in `exceptions`; a popular crate is not a target when the lockfile also contains
 * it. One entry per (name, similarTo), with the most specific `how` (separator, affix, reordered,
 * edit-distance); sorted by name then similarTo.
 */
export function typosquats(lockNames: string[], popular: string[], exceptions: string[] = []): Typosquat[] {
  let idx = indexCache.get(popular);
  if (!idx) {
    idx = buildIndex(popular);
    indexCache.set(popular, idx);
  }
  const lockNorms = new Set(lockNames.map(normalizeCrateName));
  const excepted = new Set(exceptions.map(normalizeCrateName));
  const found = new Map<string, Typosquat>();
  const seenNames = new Set<string>();

  for (const name of [...lockNames].sort()) {
    const norm = normalizeCrateName(name);
    if (seenNames.has(norm)) continue;
    seenNames.add(norm);
    if (excepted.has(norm) || idx.byNorm.has(norm)) continue;

    const candidates = new Map<string, TyposquatHow>();
    const add = (target: string, how: TyposquatHow): void => {
      if (target === norm || lockNorms.has(target)) return;
      // the popular name is this name plus an affix (`memmap2` for `memmap`): this is the plainer name
      if (affixBases(target).includes(norm)) return;
      const prev = candidates.get(target);
      if (!prev || HOW_ORDER.indexOf(how) < HOW_ORDER.indexOf(prev)) candidates.set(target, how);
    };

    for (const t of idx.bySepless.get(sepless(norm)) ?? []) add(t, 'separator');
    // the lockfile name carries the affix: a popular name plus an affix (`tokio-rs`, `memmap2`), or the
    // popular name's base with another affix (`proc-macro1`). A name that merely lacks a popular crate's
    // affix (`encoding` for `encoding_rs`, `tracing` for `rs-tracing`) is the plainer name, not a squat.
    for (const base of affixBases(norm)) {
      for (const t of idx.byAffixBase.get(base) ?? []) add(t, 'affix');
    }
    const rk = reorderKey(norm);
    if (rk) for (const t of idx.byReorder.get(rk) ?? []) add(t, 'reordered');
    if (norm.length >= MIN_SWAP_LEN) {
      for (const key of [norm, ...deletions(norm)]) {
        for (const t of idx.byDeletion.get(key) ?? []) if (withinOneEdit(norm, t)) add(t, 'edit-distance');
      }
    }

    for (const [target, how] of candidates) {
      const similarTo = idx.byNorm.get(target)!;
      found.set(`${name}\u0000${similarTo}`, { name, similarTo, how });
    }
  }
  return [...found.values()].sort((a, b) => cmp(a.name, b.name) || cmp(a.similarTo, b.similarTo));
}

/**
 * Line of `[package] name` in a crate's Cargo.toml (the name the indicator is about); 1 when the file
 * cannot be read or has no such key (the indicator is never dropped for that).
 */
export function nameLine(crateDir: string | null | undefined): number {
  if (!crateDir) return 1;
  let text: string;
  try {
    text = readRegularFileSync(join(crateDir, 'Cargo.toml'), { maxBytes: MAX_TOML_BYTES }).toString('utf8');
  } catch {
    return 1;
  }
  try {
    // only the key itself: a [package] header without `name` falls back to line 1, not the header
    const line = findKeyLine(text, ['package', 'name']);
    const header = findKeyLine(text, ['package']);
    return line !== null && line !== header ? line : 1;
  } catch {
    return 1;
  }
}

/**
 * The indicator for a typosquat: at the crate's `name` key, naming the popular crate as the popular
 * list spells it (crates.io's spelling where known). `inLock`: the workspace case (the popular crate is
 * not in the lockfile).
 */
export function typosquatIndicator(t: Typosquat, crateDir: string | null | undefined, inLock: boolean): Indicator {
  return {
    id: 'typosquat',
    file: 'Cargo.toml',
    line: nameLine(crateDir),
    detail: `name is close to the popular crate "${t.similarTo}" (${t.how})${inLock ? ', which is not in the lockfile' : ''}`,
  };
}

/** Parses rules/popular-crates.txt content: one name per line, `#` comments and blank lines ignored. */
export function parsePopularList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.replace(/#.*/, '').trim();
    if (t !== '') out.push(t);
  }
  return out;
}
