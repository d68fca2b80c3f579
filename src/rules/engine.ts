// The generic rule engine: indexes a RuleSet and answers "which rules does this fact match?".
// It knows nothing about particular capabilities; adding one is adding a rules/*.toml file.

import type { Capability } from '../types.js';
import type { AnalyzerConfig } from '../parse/analyze.js';
import type { Rule, RuleSet } from './load.js';
import { FOREIGN_ROOT } from '../parse/summary.js';

interface PathEntry {
  capability: Capability;
  /** null: an exclusion. */
  rule: Rule | null;
}

/** Bound on matchPath's memo (cleared when full: a pure function, so only the speed changes). */
const MAX_PATH_MEMO = 200_000;
const NO_RULES: readonly Rule[] = Object.freeze([]);

export class RuleIndex {
  readonly rules: Rule[];
  readonly hash: string;
  private paths = new Map<string, PathEntry[]>();
  /** Wildcard entries (`a::b::Reg*`) by parent path (`a::b`): the stem the last segment must start with. */
  private wild = new Map<string, { stem: string; entry: PathEntry }[]>();
  private prefixes = new Set<string>();
  private segments = new Set<string>();
  private stems = new Set<string>();
  private stemHits = new Map<string, boolean>();
  private pathMemo = new Map<string, readonly Rule[]>();
  private methods = new Map<string, { rule: Rule; trait: string }[]>();
  /** Method names of typed-method rules: the analyzer records their receivers. */
  private receiverMethods = new Set<string>();
  private syntax = new Map<string, Rule[]>();
  /** Rules by the foreign function name they map (`socket` → net); `*` rules match every foreign call. */
  private foreign = new Map<string, Rule[]>();
  private foreignAny: Rule[] = [];
  /** `CreateProcess*`: every name starting with the stem (ALL_CAPS names never). */
  private foreignStems: { stem: string; rule: Rule }[] = [];
  private foreignMemo = new Map<string, Rule[]>();
  /** `[foreign] paths`, compiled, by first segment (`libc`). */
  private foreignByHead = new Map<string, RegExp[]>();
  private attrs = new Map<string, Rule[]>();
  private directives: { rule: Rule; name: string; prefix: boolean }[] = [];
  readonly crateRules: Rule[];

  constructor(set: RuleSet) {
    this.rules = set.rules;
    this.hash = set.hash;
    const addPath = (p: string, e: PathEntry) => {
      if (p.endsWith('*')) {
        const i = p.lastIndexOf('::');
        const parent = p.slice(0, i);
        const stem = p.slice(i + 2, -1);
        this.wild.set(parent, [...(this.wild.get(parent) ?? []), { stem, entry: e }]);
        const segs = parent.split('::');
        for (let k = 1; k <= segs.length; k++) this.prefixes.add(segs.slice(0, k).join('::'));
        for (const seg of segs) this.segments.add(seg);
        this.stems.add(stem);
        return;
      }
      const list = this.paths.get(p) ?? [];
      list.push(e);
      this.paths.set(p, list);
      const segs = p.split('::');
      for (let i = 1; i <= segs.length; i++) this.prefixes.add(segs.slice(0, i).join('::'));
      for (const seg of segs) this.segments.add(seg.replace(/!$/, ''));
    };
    const push = <K>(m: Map<K, Rule[]>, k: K, r: Rule) => m.set(k, [...(m.get(k) ?? []), r]);
    for (const r of set.rules) {
      for (const p of r.paths) addPath(p, { capability: r.capability, rule: r });
      for (const m of r.methods) {
        // `Trait::method`, or a bare method name of a typed-method rule (trait '')
        const i = m.lastIndexOf('::');
        const name = i < 0 ? m : m.slice(i + 2);
        this.methods.set(name, [...(this.methods.get(name) ?? []), { rule: r, trait: i < 0 ? '' : m.slice(0, i) }]);
        if (r.receiver.length > 0) this.receiverMethods.add(name);
      }
      // receiver types are known prefixes too: `use std::path::*` then `PathBuf` resolves through the glob
      for (const p of r.receiver) {
        const segs = p.split('::');
        for (let i = 1; i <= segs.length; i++) this.prefixes.add(segs.slice(0, i).join('::'));
        for (const seg of segs) this.segments.add(seg);
      }
      for (const s of r.syntax) push(this.syntax, s, r);
      for (const f of r.foreignCalls) {
        if (f === '*') this.foreignAny.push(r);
        else if (f.endsWith('*')) this.foreignStems.push({ stem: f.slice(0, -1), rule: r });
        else push(this.foreign, f, r);
      }
      for (const a of r.attributes) push(this.attrs, a, r);
      for (const d of r.directives) this.directives.push({ rule: r, name: d.replace(/\*$/, ''), prefix: d.endsWith('*') });
    }
    for (const [cap, list] of set.excludes) for (const p of list) addPath(p, { capability: cap, rule: null });
    this.crateRules = set.rules.filter((r) => r.crate !== null);
    for (const p of set.foreignPaths ?? []) {
      const segs = p.split('::');
      const last = segs[segs.length - 1] === '**' ? segs.pop() : null;
      const re = new RegExp(`^${segs.map((x) => (x === '*' ? '[^:]+' : x)).join('::')}${last ? '(?:::[^:]+)+' : ''}$`);
      this.foreignByHead.set(segs[0]!, [...(this.foreignByHead.get(segs[0]!) ?? []), re]);
    }
  }

  /**
   * The foreign function a resolved path names by the `[foreign]` table (`libc::socket` → `socket`), or
   * null. ALL_CAPS last segments are constants or C types (`libc::AF_INET`, `HANDLE`), not functions.
   */
  foreignName(segs: string[]): string | null {
    if (segs.length < 2) return null;
    const patterns = this.foreignByHead.get(segs[0]!);
    if (!patterns) return null;
    const name = segs[segs.length - 1]!;
    if (name.endsWith('!') || /^[A-Z0-9_]+$/.test(name)) return null;
    const path = segs.join('::');
    return patterns.some((re) => re.test(path)) ? name : null;
  }

  /** Whether a rule maps this foreign function name (not only the `*` rules). */
  mapsForeignName(name: string): boolean {
    return this.foreignCallRules(name).length > this.foreignAny.length;
  }

  /** Rules matched by a call of the foreign function `name`: those mapping the name, then the `*` ones. */
  foreignCallRules(name: string): Rule[] {
    let out = this.foreignMemo.get(name);
    if (out === undefined) {
      const stems = /^[A-Z0-9_]+$/.test(name) ? [] : this.foreignStems.filter((x) => name.startsWith(x.stem)).map((x) => x.rule);
      out = [...new Set([...(this.foreign.get(name) ?? []), ...stems, ...this.foreignAny])];
      this.foreignMemo.set(name, out);
    }
    return out;
  }

  /** What the per-file analyzer must collect for these rules. */
  analyzerConfig(): AnalyzerConfig {
    return {
      attributeNames: [...this.attrs.keys()].sort(),
      methodNames: [...this.methods.keys()].sort(),
      receiverMethods: [...this.receiverMethods].sort(),
      queries: [], // rules supply no tree-sitter queries (the rule-side query matcher is gone)
      triage: { segments: [...this.segments].sort(), stems: [...this.stems].sort(), methodNames: [...this.methods.keys()].sort(), attributeNames: [...this.attrs.keys()].sort() },
    };
  }

  /**
   * Rules matched by a fully resolved path: per capability, the most specific entry wins. Memoized by the
   * joined path (the result is shared: read it, never change it), unless a segment holds a `:` (then two
   * paths can join alike): every resolved reference asks, and most paths repeat.
   */
  matchPath(segs: string[]): readonly Rule[] {
    for (const seg of segs) if (seg.includes(':')) return this.matchPathUncached(segs);
    const key = segs.join('::');
    let hit = this.pathMemo.get(key);
    if (hit === undefined) {
      if (this.pathMemo.size >= MAX_PATH_MEMO) this.pathMemo.clear();
      hit = this.matchPathUncached(segs, key);
      this.pathMemo.set(key, hit);
    }
    return hit;
  }

  private matchPathUncached(segs: string[], joined?: string): readonly Rule[] {
    const seen = new Set<Capability>();
    const out: Rule[] = [];
    for (let n = segs.length; n > 0; n--) {
      let list = this.paths.get(n === segs.length ? (joined ?? segs.join('::')) : segs.slice(0, n).join('::'));
      if (!list && n > 1 && this.wild.size > 0) list = this.wildHits(segs.slice(0, n - 1).join('::'), segs[n - 1]!);
      if (!list) continue;
      const caps = new Set<Capability>();
      for (const e of list) {
        if (seen.has(e.capability)) continue;
        caps.add(e.capability);
        if (e.rule) out.push(e.rule);
      }
      for (const c of caps) seen.add(c);
    }
    return out.length > 0 ? out : NO_RULES;
  }

  /**
   * Wildcard entries matching `parent::last`: per capability the longest stem wins (`RegSet*` over `Reg*`).
   * ALL_CAPS names (constants and C struct types such as `WSAEINTR`, `WSADATA`) never match a wildcard: an
   * API family is its functions.
   */
  private wildHits(parent: string, last: string): PathEntry[] | undefined {
    const wild = this.wild.get(parent);
    if (!wild) return undefined;
    const name = last.replace(/!$/, '');
    if (/^[A-Z0-9_]+$/.test(name)) return undefined;
    const best = new Map<Capability, { stem: string; entries: PathEntry[] }>();
    for (const w of wild) {
      if (!name.startsWith(w.stem)) continue;
      const b = best.get(w.entry.capability);
      if (!b || w.stem.length > b.stem.length) best.set(w.entry.capability, { stem: w.stem, entries: [w.entry] });
      else if (w.stem.length === b.stem.length) b.entries.push(w.entry);
    }
    const out = [...best.values()].flatMap((b) => b.entries);
    return out.length > 0 ? out : undefined;
  }

  /** Whether some rule path starts with this path (used to accept glob-import candidates). */
  isKnownPrefix(path: string): boolean {
    if (this.prefixes.has(path) || path.startsWith(FOREIGN_ROOT + '::')) return true;
    const i = path.lastIndexOf('::');
    return i > 0 && this.wild.size > 0 && this.wildHits(path.slice(0, i), path.slice(i + 2)) !== undefined;
  }

  /** Whether some rule path has this segment (a macro's `!` dropped). */
  isKnownSegment(name: string): boolean {
    if (this.segments.has(name)) return true;
    if (this.stems.size === 0 || /^[A-Z0-9_]+$/.test(name)) return false;
    let hit = this.stemHits.get(name);
    if (hit === undefined) {
      hit = false;
      for (const stem of this.stems) if (name.startsWith(stem)) hit = true;
      this.stemHits.set(name, hit);
    }
    return hit;
  }

  methodRules(name: string): { rule: Rule; trait: string }[] {
    return this.methods.get(name) ?? [];
  }
  syntaxRules(construct: string): Rule[] {
    return this.syntax.get(construct) ?? [];
  }
  attributeRules(name: string): Rule[] {
    return this.attrs.get(name) ?? [];
  }
  directiveRules(name: string): Rule[] {
    return this.directives.filter((d) => (d.prefix ? name.startsWith(d.name) : name === d.name)).map((d) => d.rule);
  }
  ruleById(id: string): Rule | undefined {
    return this.rules.find((r) => r.id === id);
  }
}
