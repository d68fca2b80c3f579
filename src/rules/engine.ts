// The generic rule engine: indexes a RuleSet and answers "which rules does this fact match?".
// It knows nothing about particular capabilities; adding one is adding a rules/*.toml file.

import type { Capability } from '../types.js';
import type { AnalyzerConfig } from '../parse/analyze.js';
import type { Rule, RuleSet } from './load.js';

interface PathEntry {
  capability: Capability;
  /** null: an exclusion. */
  rule: Rule | null;
}

export class RuleIndex {
  readonly rules: Rule[];
  readonly hash: string;
  private paths = new Map<string, PathEntry[]>();
  private prefixes = new Set<string>();
  private segments = new Set<string>();
  private methods = new Map<string, { rule: Rule; trait: string }[]>();
  private syntax = new Map<string, Rule[]>();
  private foreign = new Map<string, Rule[]>();
  private attrs = new Map<string, Rule[]>();
  private directives: { rule: Rule; name: string; prefix: boolean }[] = [];
  readonly crateRules: Rule[];

  constructor(set: RuleSet) {
    this.rules = set.rules;
    this.hash = set.hash;
    const addPath = (p: string, e: PathEntry) => {
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
        const i = m.lastIndexOf('::');
        const name = m.slice(i + 2);
        this.methods.set(name, [...(this.methods.get(name) ?? []), { rule: r, trait: m.slice(0, i) }]);
      }
      for (const s of r.syntax) push(this.syntax, s, r);
      for (const f of r.foreignFns) push(this.foreign, f, r);
      for (const a of r.attributes) push(this.attrs, a, r);
      for (const d of r.directives) this.directives.push({ rule: r, name: d.replace(/\*$/, ''), prefix: d.endsWith('*') });
    }
    for (const [cap, list] of set.excludes) for (const p of list) addPath(p, { capability: cap, rule: null });
    this.crateRules = set.rules.filter((r) => r.crate !== null);
  }

  /** What the per-file analyzer must collect for these rules. */
  analyzerConfig(): AnalyzerConfig {
    return {
      attributeNames: [...this.attrs.keys()].sort(),
      methodNames: [...this.methods.keys()].sort(),
      queries: [], // rules supply no tree-sitter queries (the rule-side query matcher is gone)
    };
  }

  /** Rules matched by a fully resolved path: per capability, the most specific entry wins. */
  matchPath(segs: string[]): Rule[] {
    const seen = new Set<Capability>();
    const out: Rule[] = [];
    for (let n = segs.length; n > 0; n--) {
      const list = this.paths.get(n === segs.length ? segs.join('::') : segs.slice(0, n).join('::'));
      if (!list) continue;
      const caps = new Set<Capability>();
      for (const e of list) {
        if (seen.has(e.capability)) continue;
        caps.add(e.capability);
        if (e.rule) out.push(e.rule);
      }
      for (const c of caps) seen.add(c);
    }
    return out;
  }

  /** Whether some rule path starts with this path (used to accept glob-import candidates). */
  isKnownPrefix(path: string): boolean {
    return this.prefixes.has(path);
  }

  /** Whether some rule path has this segment (a macro's `!` dropped). */
  isKnownSegment(name: string): boolean {
    return this.segments.has(name);
  }

  methodRules(name: string): { rule: Rule; trait: string }[] {
    return this.methods.get(name) ?? [];
  }
  syntaxRules(construct: string): Rule[] {
    return this.syntax.get(construct) ?? [];
  }
  foreignFnRules(name: string): Rule[] {
    return this.foreign.get(name) ?? [];
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
