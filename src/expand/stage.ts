// The crate scan's macro expansion stage. After a crate's files are collected, every invocation of a
// macro_rules! macro the crate defines (by name, crate-wide per target: an approximation of textual
// scoping and #[macro_use] modules; also `crate::name!` / `$crate::name!`) or that a dependency exports
// (`dep::name!`, `use dep::name`, `#[macro_use] extern crate dep`; CrateInput.depMacros) is expanded; the
// expansion is analysed as a snippet (a function body) whose names resolve in the invocation's scope, and
// its findings land at the invocation, in the expanding crate, with evidence `name!(…) → path`.
// Findings of a macro body (its token-level pass) that no expansion used are marked `macro-body`; those
// of a rule an expansion used are dropped (the expansions carry them). An expansion that cannot be done
// is listed as unanalyzed and the token-level findings stay.

import { createHash } from 'node:crypto';
import { analyzeSource, type AnalyzerConfig, type FileOptions } from '../parse/analyze.js';
import { bindUses, tokenNames } from '../parse/token-fallback.js';
import { scanTokens } from '../parse/tokens.js';
import { emptySummary } from '../parse/summary.js';
import { Tok, type Token } from '../parse/lexer.js';
import type { Binding, FactContext, FileSummary, MacroCallFact, Scope } from '../parse/summary.js';
import type { Resolution, Resolver, Unit } from '../resolve/resolver.js';
import type { RuleIndex } from '../rules/engine.js';
import { compileRules, expand, invocationTree, type Budget, type Compiled, type CompiledRule } from './macro-rules.js';
import { lexTokens, originsFrom, writeTokens, type OriginOf, type OTok } from './tt.js';
import { unitFindings, type UnitFindings, type UnitPlace } from '../scan/unit-findings.js';

/** A macro a crate exports (`#[macro_export]`): serialisable, for dependents' expansion. */
export interface MacroDef {
  name: string;
  /** The rules group as written (`{ (…) => {…}; … }`). */
  rules: string;
  /** Where it is defined in its crate. */
  file: string;
  line: number;
}

/** The `#[macro_export]` macros of a crate's library units (what its dependents may expand), sorted. */
export function exportedMacros(units: { unit: Unit; role: string }[]): MacroDef[] {
  const out: MacroDef[] = [];
  for (const u of units) {
    if (u.role !== 'lib' || u.unit.test) continue;
    for (const f of u.unit.summary.macroDefs ?? []) if (f.exported && !f.ctx) out.push({ name: f.name, rules: f.rules, file: u.unit.rel, line: f.line });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}

/**
 * Nesting of expansions (a macro expanding to invocations, itself included). rustc's default limit is 128
 * and crates raise it (winapi: 2563, for ENUM! munching one variant per level); the cost is bounded by the
 * token and step budgets, this only bounds the stack.
 */
export const MAX_EXPANSION_DEPTH = 256;
/** Tokens all of a crate's expansions may write, and matcher steps they may take. */
export const MAX_EXPANSION_TOKENS = 500_000;
export const MAX_EXPANSION_STEPS = 10_000_000;
/** Definitions of one name tried per invocation (cfg alternatives): each is expanded. */
export const MAX_DEFS_PER_NAME = 8;
/** Outcomes remembered per crate (see Expander.memo); past it, invocations are simply expanded again. */
export const MAX_MEMO_ENTRIES = 50_000;

/** One unit of the crate, with what the earlier stages made of it. */
export interface ExpansionUnit {
  unit: Unit;
  resolver: Resolver;
  place: UnitPlace;
  /** Target it belongs to (units of a target share their macros; other targets see the lib's exported ones). */
  target: string;
  /** Its findings so far (the body-finding marks are applied to them). */
  out: UnitFindings;
}

export interface ExpansionInput {
  units: ExpansionUnit[];
  index: RuleIndex;
  cfg: AnalyzerConfig;
  allTargets: boolean;
  /** Dependencies' exported macros by the code name the crate uses for them. */
  depMacros?: Map<string, MacroDef[]>;
  /** Extern prelude: code name → canonical crate name. */
  externs: Map<string, string>;
  /** Remember invocations whose expansion gave nothing (default: on unless $CAP_SCAN_MACRO_MEMO=0). */
  memo?: boolean;
}

/** Whether the expansion memo is on ($CAP_SCAN_MACRO_MEMO=0 turns it off, to compare both runs). */
export function macroMemoEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CAP_SCAN_MACRO_MEMO !== '0';
}

export interface ExpansionStats {
  expanded: number;
  failed: number;
  /** Invocations answered by the memo (not counted in `expanded`, which counts as if expanded again). */
  memoHits: number;
}

export interface ExpansionOutput {
  /** Findings (and hosts, unanalyzed entries) of the expansions, per invoking unit, in scan order. */
  added: UnitFindings[];
  macroExports: MacroDef[];
  stats: ExpansionStats;
}

interface Def {
  name: string;
  rules: string;
  rulesLine: number;
  rulesColumn: number;
  /** Positions are the file's (a definition of a scanned file) or none (a dependency's, or one written by an expansion). */
  positioned: boolean;
  /** Code name of the dependency that defines it (`$crate`), or null for the crate's own. */
  home: string | null;
  compiled?: Compiled;
  /** Rules used by an expansion that counts for the body (same target, not test code). */
  used: Set<number>;
  /** The unit that defines it (for the body's findings). */
  owner: ExpansionUnit | null;
  /** Its rules' bodies analysed as tokens (fallback), by analysis options: read-only once made. */
  fallbacks?: Map<string, FileSummary>;
}

const compact = (s: string, max = 60) => {
  const c = s.replace(/\s+/g, ' ').trim();
  return c.length > max ? `${c.slice(0, max - 1)}…` : c;
};

function compiledOf(d: Def): Compiled {
  return (d.compiled ??= compileRules(d.rules, d.rulesLine, d.rulesColumn, d.positioned));
}

/** A call being expanded: its tokens' origins, where it is, what it is called in evidence. */
interface Call {
  segs: string[];
  global: boolean;
  scope: number;
  tt: string | null;
  ttOrigin: OriginOf;
  /** The token tree's tokens, when it comes from an expansion (its origins are already mapped). */
  toks?: OTok[];
  line: number;
  column: number;
  ctx?: FactContext;
  /** Made by an expansion: the memo key of the invocation whose expansion made it, and where in it. */
  lineage?: string;
}

/** Nested invocations longer than this are memoised by where they come from, not by their tokens. */
const IDENTITY_KEY_TOKENS = 64;
/**
 * Keys longer than this are kept as their sha256: a written invocation's key holds its whole text, and
 * a made one's names the key it came from, so a hostile 8 MB invocation munched 2,000 times would
 * otherwise keep 2,000 copies of it (the memo's memory stays under MAX_MEMO_ENTRIES × this).
 */
const MAX_KEY_CHARS = 1024;

/**
 * An invocation whose whole expansion (nested invocations included) gave nothing: no finding, host or
 * unanalyzed entry, no failure, no macro defined. What replaying it must still do: spend the same budget,
 * mark the same rules used, count the same expansions.
 */
interface EmptyOutcome {
  tokens: number;
  steps: number;
  /** Deepest nesting below the invocation (a replay must stay under the depth limit too). */
  depth: number;
  expanded: number;
  used: [Def, number][];
  /** Definitions-table version it was computed under (a macro defined since may change a lookup). */
  version: number;
}

export function expandCrateMacros(input: ExpansionInput): ExpansionOutput {
  return new Expander(input).run();
}

class Expander {
  private readonly byTarget = new Map<string, Map<string, Def[]>>();
  private readonly macroUse = new Set<string>();
  private readonly budget: Budget = { tokens: MAX_EXPANSION_TOKENS, steps: MAX_EXPANSION_STEPS };
  private readonly stats: ExpansionStats = { expanded: 0, failed: 0, memoHits: 0 };
  private readonly memoOn: boolean;
  private readonly canonToCode = new Map<string, string>();
  private readonly depDefs = new Map<string, Map<string, Def[]>>();
  /**
   * Invocations expanded before whose expansion gave nothing, by definitions, resolution context and input
   * tokens: libc's, syn's and tracing's macros repeat the same (often nested) invocations thousands of times
   * (syn: 12,982 expansions of 478 distinct invocations). A hit replays the budget, the rules used and the
   * counts, so the output is exactly that of expanding it again.
   */
  private readonly memo = new Map<string, EmptyOutcome>();
  private readonly defIds = new WeakMap<Def[], number>();
  private readonly unitIds = new Map<ExpansionUnit, number>();
  /** Bumped whenever a definition is added (lookups may then differ). */
  private version = 0;
  /** Rules marked used, in order (a memoised outcome keeps its share). */
  private readonly usedLog: [Def, number][] = [];
  private deepest = 0;

  constructor(private readonly input: ExpansionInput) {
    this.memoOn = input.memo ?? macroMemoEnabled();
    for (const [code, canon] of input.externs) if (!this.canonToCode.has(canon)) this.canonToCode.set(canon, code);
    for (const [code, defs] of input.depMacros ?? []) {
      const m = new Map<string, Def[]>();
      for (const d of defs) {
        const list = m.get(d.name) ?? [];
        list.push({ name: d.name, rules: d.rules, rulesLine: 0, rulesColumn: 0, positioned: false, home: code, used: new Set(), owner: null });
        m.set(d.name, list);
      }
      this.depDefs.set(code, m);
    }
  }

  private table(target: string): Map<string, Def[]> {
    let t = this.byTarget.get(target);
    if (!t) this.byTarget.set(target, (t = new Map()));
    return t;
  }

  private addDef(table: Map<string, Def[]>, d: Def): void {
    const list = table.get(d.name) ?? [];
    if (list.some((x) => x.rules === d.rules)) return;
    list.push(d);
    table.set(d.name, list);
    this.version++;
  }

  run(): ExpansionOutput {
    const { units } = this.input;
    // the definitions of every target; the lib's exported ones are seen by the other targets too
    const ownDefs = new Map<ExpansionUnit, Def[]>();
    for (const u of units) {
      const defs: Def[] = [];
      for (const f of u.unit.summary.macroDefs ?? []) {
        const d: Def = { name: f.name, rules: f.rules, rulesLine: f.rulesLine, rulesColumn: f.rulesColumn, positioned: true, home: null, used: new Set(), owner: u };
        defs.push(d);
        this.addDef(this.table(u.target), d);
      }
      ownDefs.set(u, defs);
      for (const b of u.unit.summary.bindings) if (b.kind === 'extern-crate' && b.macroUse && b.target) this.macroUse.add(b.name === 'self' ? b.target[0]! : b.target[0]!);
    }
    const lib = this.byTarget.get('lib');
    if (lib) {
      for (const [target, table] of this.byTarget) {
        if (target === 'lib') continue;
        for (const defs of lib.values()) for (const d of defs) if (isExported(d)) this.addDef(table, d);
      }
    }
    const added: UnitFindings[] = [];
    for (const u of units) {
      const calls = u.unit.summary.macroCalls ?? [];
      if (calls.length === 0) continue;
      const acc: UnitFindings = { findings: [], hosts: [], urls: [], indicators: [], includeBytes: [], unanalyzed: [] };
      for (const c of calls) this.top(u, c, acc);
      if (acc.findings.length || acc.unanalyzed.length || acc.hosts.length) added.push(acc);
    }
    const sp = this.spentAfter;
    if (sp && sp.n > 0) {
      const entry = { file: sp.file, line: sp.line, reason: `macro-expansion: ${sp.n} more invocations not expanded after this one: ${sp.why}; token-level findings kept` };
      if (added.length > 0) added[added.length - 1]!.unanalyzed.push(entry);
      else added.push({ findings: [], hosts: [], urls: [], indicators: [], includeBytes: [], unanalyzed: [entry] });
    }
    for (const u of units) markBodies(u, ownDefs.get(u) ?? []);
    const macroExports = exportedMacros(units.map((u) => ({ unit: u.unit, role: u.place.role })));
    return { added, macroExports, stats: this.stats };
  }

  /** The definitions an invocation names (with `home`: inside a dependency's macro, whose `$crate` that is). */
  private lookup(u: ExpansionUnit, unit: Unit, call: Call, home: string | null): Def[] {
    const segs = call.segs;
    const name = segs[segs.length - 1]!;
    const local = this.table(u.target);
    const dep = (code: string | undefined, n = name) => (code !== undefined ? this.depDefs.get(code)?.get(n) ?? [] : []);
    // a path resolved to a dependency's item: `use dep::run as go;` … `go!()` is dep's `run`
    const viaExt = (ext: string[]) => (ext.length >= 2 ? dep(this.canonToCode.get(ext[0]!) ?? ext[0]!, ext[ext.length - 1]!) : []);
    if (segs.length === 1) {
      const own = local.get(name);
      if (own) return own;
      if (home) {
        const h = dep(home);
        if (h.length) return h;
      }
      if (this.depDefs.size === 0) return [];
      for (const code of this.macroUse) {
        const d = dep(code);
        if (d.length) return d;
      }
      const r = u.resolver.resolve(unit, call.scope, segs, call.global);
      return r && 'ext' in r ? viaExt(r.ext) : [];
    }
    const head = segs[0]!;
    if (!call.global && (head === 'crate' || head === 'self' || head === 'super')) return home && head === 'crate' ? dep(home) : local.get(name) ?? [];
    if (this.depDefs.has(head) && segs.length === 2) return dep(head);
    if (this.depDefs.size === 0) return [];
    const r = u.resolver.resolve(unit, call.scope, segs, call.global);
    if (r && 'ext' in r) return viaExt(r.ext);
    if (r && 'local' in r) return local.get(name) ?? [];
    return [];
  }

  /** A call written in a scanned file. */
  private top(u: ExpansionUnit, c: MacroCallFact, acc: UnitFindings): void {
    // most invocations are of macros nobody here defines (println!, vec!): looked up before anything else
    const call: Call = { segs: c.segs, global: c.global, scope: c.scope, tt: c.tt, ttOrigin: () => ({ line: c.ttLine, column: c.ttColumn }), line: c.line, column: c.column };
    if (c.ctx) call.ctx = c.ctx;
    const defs = this.lookup(u, u.unit, call, null);
    if (defs.length === 0) return;
    call.ttOrigin = originsFrom(c.tt ?? '', c.ttLine, c.ttColumn);
    const evidence = `${c.segs.join('::')}!${compact(c.tt ?? '(…)')}`;
    this.call(u, u.unit, call, null, 0, evidence, acc, defs, this.contextKey(u, c.scope));
  }

  /**
   * What an expansion's outcome depends on besides its tokens: the unit (file, target, phase, test) and the
   * names in scope: the module, or the very scope when a block on the way up binds names.
   */
  private contextKey(u: ExpansionUnit, scope: number): string {
    let id = this.unitIds.get(u);
    if (id === undefined) this.unitIds.set(u, (id = this.unitIds.size));
    const unit = u.unit;
    const scopes = unit.summary.scopes;
    for (let s = scope; s >= 0 && scopes[s]!.kind === 'block'; s = scopes[s]!.parent) {
      if (unit.blockBindings.has(s) || unit.blockGlobs.has(s)) return `${id}:s${scope}`;
    }
    return `${id}:m${unit.moduleOf[scope]!.id}`;
  }

  /**
   * The memo key of an invocation. A written invocation is keyed by its text (lexed afresh, its tokens'
   * relations are the text's); one made by an expansion by its tokens' identities (the same tokens of the
   * same bodies and inputs, so the same relations to everything they are written next to).
   */
  private memoKey(defs: Def[], ctxKey: string, home: string | null, call: Call): string {
    const key = this.fullKey(defs, ctxKey, home, call);
    return key.length > MAX_KEY_CHARS ? `#${createHash('sha256').update(key).digest('base64')}` : key;
  }

  private fullKey(defs: Def[], ctxKey: string, home: string | null, call: Call): string {
    let d = this.defIds.get(defs);
    if (d === undefined) this.defIds.set(defs, (d = nextDefsId++));
    const head = `${d}|${ctxKey}|${home ?? ''}|${call.ctx ?? ''}|`;
    if (!call.toks) return `${head}T${call.tt}`;
    // a long one (a tt muncher's rest) by its place in the expansion that made it: that expansion is
    // determined by its own key, so its tokens' relations are too
    if (call.lineage && call.toks.length > IDENTITY_KEY_TOKENS) return `${head}L${call.lineage}`;
    const parts: string[] = [];
    for (const t of call.toks) parts.push(`${t.id}.${t.glue}${t.body ? 'b' : ''}${t.line === 0 ? 'z' : ''}`);
    return `${head}N${parts.join(',')}`;
  }

  /** Invocations left unexpanded once the crate's budget was spent, after the first one listed (winapi: 9,000). */
  private spentAfter: { file: string; line: number; why: string; n: number } | null = null;

  private fail(u: ExpansionUnit, call: Call, evidence: string, why: string, acc: UnitFindings): void {
    this.stats.failed++;
    if (why.includes('budget') && why.endsWith('is spent')) {
      if (this.spentAfter) {
        this.spentAfter.n++;
        return;
      }
      this.spentAfter = { file: u.unit.rel, line: call.line, why, n: 0 };
    }
    acc.unanalyzed.push({ file: u.unit.rel, line: call.line, reason: `macro-expansion: ${evidence}: ${why}; token-level findings kept` });
  }

  /** `memoCtx`: the resolution context's key, or null where an expansion bound names (not memoised). */
  private call(u: ExpansionUnit, unit: Unit, call: Call, home: string | null, depth: number, evidence: string, acc: UnitFindings, found: Def[] | undefined, memoCtx: string | null): void {
    const defs = found ?? this.lookup(u, unit, call, home);
    if (defs.length === 0) return;
    if (!this.memoOn || memoCtx === null || call.tt === null) return this.expandCall(u, unit, call, home, depth, evidence, acc, defs, memoCtx, null);
    const key = this.memoKey(defs, memoCtx, home, call);
    const b = this.budget;
    const m = this.memo.get(key);
    if (m && m.version === this.version && b.tokens - m.tokens > 0 && b.steps - m.steps > 0 && depth + m.depth < MAX_EXPANSION_DEPTH) {
      b.tokens -= m.tokens;
      b.steps -= m.steps;
      this.stats.expanded += m.expanded;
      for (const [d, r] of m.used) {
        d.used.add(r);
        this.usedLog.push([d, r]);
      }
      this.deepest = Math.max(this.deepest, depth + m.depth);
      this.stats.memoHits++;
      return;
    }
    const before = { f: acc.findings.length, h: acc.hosts.length, un: acc.unanalyzed.length, failed: this.stats.failed, expanded: this.stats.expanded, version: this.version, tokens: b.tokens, steps: b.steps, used: this.usedLog.length, deepest: this.deepest };
    this.deepest = depth;
    this.expandCall(u, unit, call, home, depth, evidence, acc, defs, memoCtx, key);
    const empty = acc.findings.length === before.f && acc.hosts.length === before.h && acc.unanalyzed.length === before.un && this.stats.failed === before.failed && this.version === before.version;
    if (empty && this.memo.size < MAX_MEMO_ENTRIES) {
      this.memo.set(key, { tokens: before.tokens - b.tokens, steps: before.steps - b.steps, depth: this.deepest - depth, expanded: this.stats.expanded - before.expanded, used: this.usedLog.slice(before.used), version: this.version });
    }
    this.deepest = Math.max(before.deepest, this.deepest);
  }

  private expandCall(u: ExpansionUnit, unit: Unit, call: Call, home: string | null, depth: number, evidence: string, acc: UnitFindings, defs: Def[], memoCtx: string | null, key: string | null): void {
    this.deepest = Math.max(this.deepest, depth);
    const name = call.segs[call.segs.length - 1]!;
    const where = depth === 0 ? evidence : `${evidence} (in ${name}!)`;
    if (call.tt === null) {
      for (const d of defs) this.fallback(u, unit, call, d, evidence, acc);
      return this.fail(u, call, where, 'invocation text over the file\'s recording budget', acc);
    }
    if (depth >= MAX_EXPANSION_DEPTH) {
      for (const d of defs) this.fallback(u, unit, call, d, evidence, acc);
      return this.fail(u, call, where, `depth limit (${MAX_EXPANSION_DEPTH} nested expansions)`, acc);
    }
    const input = invocationTree(call.toks ?? lexTokens(call.tt, call.ttOrigin));
    if (!input) return this.fail(u, call, where, 'unbalanced delimiters', acc);
    // every definition of the name is tried (cfg alternatives): the invocation fails only when none
    // expands; a definition that does not match is then another platform's
    const failures: { d: Def; why: string }[] = [];
    let expanded = 0;
    for (const [di, d] of defs.slice(0, MAX_DEFS_PER_NAME).entries()) {
      const compiled = compiledOf(d);
      if ('error' in compiled) {
        failures.push({ d, why: compiled.error });
        continue;
      }
      if (this.budget.tokens <= 0 || this.budget.steps <= 0) {
        failures.push({ d, why: spent(this.budget.tokens <= 0 ? 'tokens' : 'steps') });
        continue;
      }
      const site = { line: call.line, column: call.column, crate: d.home ? `::${d.home}` : 'crate' };
      const x = expand(compiled, input, site, this.budget);
      if ('error' in x) {
        failures.push({ d, why: x.limit ? spent(x.limit) : x.error });
        continue;
      }
      expanded++;
      this.stats.expanded++;
      if (d.owner && d.owner.target === u.target && !u.unit.test && !call.ctx && d.owner.place.role === u.place.role) {
        d.used.add(x.rule);
        this.usedLog.push([d, x.rule]);
      }
      this.analyse(u, unit, call, x.tokens, d.home, depth, evidence, acc, memoCtx, key === null ? null : `${key}>${di}`);
    }
    // a limit is said even when another definition expanded: what it would have given is not known
    const limited = failures.filter((f) => f.why.startsWith('limit'));
    const said = expanded === 0 ? failures : limited;
    for (const f of said) this.fallback(u, unit, call, f.d, evidence, acc);
    if (said.length > 0) this.fail(u, call, where, said[0]!.why, acc);
    if (defs.length > MAX_DEFS_PER_NAME) this.fail(u, call, where, `${defs.length - MAX_DEFS_PER_NAME} more definitions of ${name}! not tried`, acc);
  }

  private names: ReturnType<typeof tokenNames> | null = null;

  /**
   * The facts of an expansion's tokens (one mayHaveFacts() found a token a fact can start at in: an
   * expansion with no name a rule or a binding of the crate could give meaning to, no `unsafe`/`extern`/
   * attribute and no invocation has none, libc's s! structs, and is not scanned).
   */
  private tokenPass(tokens: OTok[], text: string, starts: number[]): FileSummary {
    const summary = emptySummary();
    // the lexer tokens of the pass: objects reused from one expansion to the next (the pass keeps none)
    const pool = this.tokenPool;
    const toks: Token[] = new Array<Token>(tokens.length);
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k]!;
      let x = pool[k];
      if (x === undefined) pool.push((x = { t: t.t, v: t.v, s: starts[k]! }));
      else {
        x.t = t.t;
        x.v = t.v;
        x.s = starts[k]!;
      }
      toks[k] = x;
    }
    const pos = (o: number) => ({ line: 1, column: o + 1 });
    this.names ??= tokenNames(this.input.cfg);
    bindUses(toks, 0, summary, pos);
    scanTokens(toks, { summary, source: text, scope: 0, ctx: undefined, generated: false, pos, ...this.names });
    return summary;
  }

  private readonly tokenPool: Token[] = [];
  private bound: Set<string> | null = null;

  private mayHaveFacts(tokens: OTok[]): boolean {
    if (!this.bound) {
      // names bound to something else than a local item: imports, aliases, extern crates, modules
      const b = new Set<string>(['std', 'core', 'alloc', 'crate', 'self', 'super', 'Self', 'unsafe', 'extern', 'asm', 'global_asm', 'naked_asm', 'macro_rules', ...this.input.externs.keys()]);
      for (const u of this.input.units) for (const x of u.unit.summary.bindings) if (x.kind !== 'item') b.add(x.name);
      this.names ??= tokenNames(this.input.cfg);
      for (const n of this.names.attributeNames) b.add(n);
      for (const n of this.names.methodNames) b.add(n);
      this.bound = b;
    }
    const index = this.input.index;
    for (const t of tokens) {
      if (t.t === Tok.Ident ? this.bound.has(t.v) || index.isKnownSegment(t.v) : t.t === Tok.Punct && t.v === '!') return true;
    }
    return false;
  }

  private options(u: ExpansionUnit, tokensOnly?: string): FileOptions {
    const o: FileOptions = { keepTests: this.input.allTargets, procMacro: false, buildScript: u.place.buildSide, test: u.unit.test };
    if (tokensOnly) o.tokensOnly = tokensOnly;
    return o;
  }

  /** An expansion's tokens analysed (the token pass) with names resolved in the invocation's scope. */
  private analyse(u: ExpansionUnit, unit: Unit, call: Call, tokens: OTok[], home: string | null, depth: number, evidence: string, acc: UnitFindings, memoCtx: string | null, lineage: string | null): void {
    // the token pass over the expansion's own tokens (linear; a syntax tree of every expansion cost libc
    // 2.4x its scan time), positions kept as offsets (line 1, column offset + 1)
    // an expansion with no token a fact can start at has none (no finding, definition or invocation)
    if (!this.mayHaveFacts(tokens)) return;
    const { text, starts } = writeTokens(tokens);
    const summary = this.tokenPass(tokens, text, starts);
    const originAt = (offset: number): { line: number; column: number } => {
      let lo = 0;
      let hi = starts.length - 1;
      if (hi < 0 || offset < starts[0]!) return { line: call.line, column: call.column };
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      const t = tokens[lo]!;
      return { line: t.line, column: t.column };
    };
    const offsetOf = (_line: number, column: number) => column - 1;
    // A fact whose tokens all sit inside one stretch of the invocation's input (not next to a body token or
    // another fragment) is one the file's own token pass of that input already has, at the same place:
    // dropped unless the expansion binds names. Nested invocations there were recorded from the file too.
    const indexAt = (offset: number) => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const cont = (j: number) => j >= 1 && j < tokens.length && !tokens[j]!.body && !tokens[j - 1]!.body && tokens[j]!.id === tokens[j - 1]!.id + 1;
    const interior = (k: number, last: number) => {
      if (k < 2) return false;
      for (let j = k - 1; j <= Math.min(last, tokens.length - 1); j++) if (!cont(j)) return false;
      return true;
    };
    if (summary.bindings.length === 0) {
      const keep = (span: number) => (f: { column: number; segs?: string[] }) => {
        const k = indexAt(f.column - 1);
        return !interior(k, k + (f.segs ? 2 * f.segs.length + 1 : span));
      };
      summary.refs = summary.refs.filter(keep(0));
      summary.methods = summary.methods.filter(keep(2));
      summary.syntax = summary.syntax.filter(keep(3));
      summary.attrs = summary.attrs.filter(keep(3));
    }
    // grafted only when something needs the invocation's scope (findings to resolve, invocations to expand)
    let graftedUnit: Grafted | null = null;
    const grafted = () => (graftedUnit ??= this.graft(unit, call.scope, summary, call.ctx));
    // the resolution context of the invocations the expansion makes: the call's, plus the names the
    // expansion binds in the blocks around each (a `use … as _` anywhere brings its trait into the whole
    // module, so then none is memoised)
    const nestedCtx = (scope: number): string | null => {
      if (memoCtx === null || summary.bindings.length === 0) return memoCtx;
      if (summary.bindings.some((b) => b.name === '_')) return null;
      const parts: string[] = [];
      for (let sc = scope; sc >= 0; sc = summary.scopes[sc]!.parent) {
        for (const b of summary.bindings) if (b.scope === sc) parts.push(`${sc}:${b.kind}:${b.name}:${+b.global}:${b.target?.join('::') ?? ''}:${b.macroUse ? 1 : 0}:${b.mod ?? ''}`);
      }
      return `${memoCtx}[${parts.join(';')}]`;
    };
    const uf = summary.refs.length + summary.methods.length + summary.syntax.length + summary.attrs.length === 0 ? null : this.findingsOf(u, grafted());
    for (const f of uf?.findings ?? []) {
      const o = originAt(offsetOf(f.line, f.column));
      acc.findings.push({ ...f, line: o.line, column: o.column, evidence: `${evidence} → ${f.evidence}` });
    }
    for (const h of uf?.hosts ?? []) acc.hosts.push({ ...h, line: originAt(offsetOf(h.line, 1)).line });
    // macros the expansion defines, then the invocations it makes
    for (const f of summary.macroDefs ?? []) {
      this.addDef(this.table(u.target), { name: f.name, rules: f.rules, rulesLine: 0, rulesColumn: 0, positioned: false, home, used: new Set(), owner: null });
    }
    for (const c of summary.macroCalls ?? []) {
      if (c.tt === null) continue;
      const k0 = indexAt(c.column - 1);
      const open = indexAt(c.ttColumn - 1);
      const close = indexAt(c.ttColumn - 1 + c.tt.length - 1);
      if (interior(k0, close)) continue;
      const site = originAt(offsetOf(c.line, c.column));
      const g = grafted();
      const nested: Call = { segs: c.segs, global: c.global, scope: g.scopeOf(c.scope), tt: c.tt, ttOrigin: () => site, toks: tokens.slice(open, close + 1), line: site.line, column: site.column };
      if (call.ctx) nested.ctx = call.ctx;
      if (lineage !== null) nested.lineage = `${lineage}@${open}:${close}`;
      this.call(u, g.unit, nested, home, depth + 1, evidence, acc, undefined, nestedCtx(c.scope));
    }
  }

  private readonly resolutions = new Map<Resolver, ModuleResolutions>();
  /** Scope chains of the crate's units (a grafted unit is the parent of its expansion's invocations only). */
  private readonly chains = new Map<Unit, Map<number, Chain>>();

  private graft(unit: Unit, scope: number, snip: FileSummary, ctx: FactContext | undefined): Grafted {
    if (this.chains.size === 0) for (const u of this.input.units) this.chains.set(u.unit, new Map());
    const cache = this.chains.get(unit);
    return graft(unit, scope, snip, ctx, cache);
  }

  /** The findings of a grafted unit (paths of a unit whose scopes bind nothing resolved once per module). */
  private findingsOf(u: ExpansionUnit, g: Grafted): UnitFindings {
    let r = this.resolutions.get(u.resolver);
    if (!r) this.resolutions.set(u.resolver, (r = new ModuleResolutions(u.resolver)));
    return unitFindings(g.unit, r.for(g), this.input.index, u.place);
  }

  /** A definition that could not be expanded: its rules' bodies as tokens, at the invocation (a dependency's; the crate's own bodies keep their findings). */
  private fallback(u: ExpansionUnit, unit: Unit, call: Call, d: Def, evidence: string, acc: UnitFindings): void {
    if (!d.home) return;
    // the same definition falls back at every failing invocation: its bodies are analysed once per options
    const options = this.options(u, 'macro fallback');
    const optionsKey = `${+options.keepTests}${+options.procMacro}${+options.buildScript}${+options.test}`;
    d.fallbacks ??= new Map();
    let summary = d.fallbacks.get(optionsKey);
    if (!summary) d.fallbacks.set(optionsKey, (summary = analyzeSource(d.rules.replace(/\$crate\b/g, `::${d.home}`), this.input.cfg, options)));
    const uf = this.findingsOf(u, this.graft(unit, call.scope, summary, call.ctx));
    for (const f of uf.findings) acc.findings.push({ ...f, line: call.line, column: call.column, evidence: `${evidence} (not expanded) → ${f.evidence}` });
  }
}

let nextDefsId = 1;

function spent(what: 'tokens' | 'steps'): string {
  return what === 'tokens' ? `limit: the crate's expansion budget (${MAX_EXPANSION_TOKENS} tokens) is spent` : `limit: the crate's expansion budget (${MAX_EXPANSION_STEPS} matcher steps) is spent`;
}

function isExported(d: Def): boolean {
  const owner = d.owner;
  if (!owner) return false;
  return (owner.unit.summary.macroDefs ?? []).some((f) => f.name === d.name && f.rules === d.rules && f.exported);
}

type ModuleNode = Unit['moduleOf'][number];

/** The copy of a scope's chain up to its module that graft() puts under a snippet: read-only, shared by every graft there. */
interface Chain {
  scopes: Scope[];
  moduleOf: ModuleNode[];
  blockBindings: Unit['blockBindings'];
  blockGlobs: Unit['blockGlobs'];
  /** Names the chain's blocks bind (a path starting with another resolves there as in the module, without globs). */
  names: Set<string>;
  /** A block of the chain has a glob import. */
  globs: boolean;
}

/** The chain of `scope` in `parent`, kept in `cache` (the parent's chains) when given. */
function chainOf(parent: Unit, scope: number, cache: Map<number, Chain> | undefined): Chain {
  const hit = cache?.get(scope);
  if (hit) return hit;
  const ps = parent.summary.scopes;
  const chain: number[] = [];
  for (let s = scope; s >= 0 && chain.length < 256; s = ps[s]!.parent) {
    chain.push(s);
    if (ps[s]!.kind !== 'block') break;
  }
  const c: Chain = { scopes: [], moduleOf: [], blockBindings: new Map(), blockGlobs: new Map(), names: new Set(), globs: false };
  chain.forEach((s, i) => {
    const o = ps[s]!;
    c.scopes.push({ id: i, parent: i + 1 < chain.length ? i + 1 : -1, kind: o.kind, name: o.name });
    c.moduleOf.push(parent.moduleOf[s]!);
    // the block's bindings, renumbered: a binding is resolved in its own scope of the unit that holds it
    const bb = parent.blockBindings.get(s);
    if (bb) c.blockBindings.set(i, new Map([...bb].map(([k, b]) => [k, { ...b, scope: i }])));
    const bg = parent.blockGlobs.get(s);
    if (bg) c.blockGlobs.set(i, bg.map((b) => ({ ...b, scope: i })));
    if (bb) for (const name of bb.keys()) c.names.add(name);
    if (bg) c.globs = true;
  });
  cache?.set(scope, c);
  return c;
}

interface Grafted {
  unit: Unit;
  scopeOf: (id: number) => number;
  /**
   * The module, when no scope of the unit has a glob import (its chain's blocks nor the snippet): a path of
   * the unit whose first segment no block of it binds (`bound`) then resolves as in that module, without
   * the unit's own scopes ever entering the resolution (tracing's expansions bind `_` and `log`, not the
   * `$crate` paths they name).
   */
  module: ModuleNode | null;
  /** Names the unit's blocks bind (the chain's and the snippet's). */
  bound: Set<string>;
}

/**
 * A unit for a snippet analysed in `scope` of `parent`: the snippet's scopes become blocks nested in a copy
 * of the scope's chain up to its module, so its names resolve there (its own bindings first).
 */
function graft(parent: Unit, scope: number, snip: FileSummary, ctx: FactContext | undefined, chains?: Map<number, Chain>): Grafted {
  const chain = chainOf(parent, scope, chains);
  const scopes = chain.scopes.slice();
  const moduleOf = chain.moduleOf.slice();
  // the chain's maps are shared, never written: copied when the snippet's bindings are added (to its own
  // scopes, base and up)
  const own = snip.bindings.length > 0;
  const blockBindings: Unit['blockBindings'] = own ? new Map(chain.blockBindings) : chain.blockBindings;
  const blockGlobs: Unit['blockGlobs'] = own ? new Map(chain.blockGlobs) : chain.blockGlobs;
  const base = scopes.length;
  const scopeOf = (id: number) => base + id;
  const mod = parent.moduleOf[scope]!;
  for (const s of snip.scopes) {
    scopes.push({ id: base + s.id, parent: s.id === 0 ? 0 : base + s.parent, kind: 'block', name: null });
    moduleOf.push(mod);
  }
  const bindings: Binding[] = snip.bindings.map((b) => ({ ...b, scope: base + b.scope }));
  for (const b of bindings) {
    if (b.kind === 'glob') blockGlobs.set(b.scope, [...(blockGlobs.get(b.scope) ?? []), b]);
    else {
      let m = blockBindings.get(b.scope);
      if (!m) blockBindings.set(b.scope, (m = new Map()));
      if (!m.has(b.name)) m.set(b.name, b);
    }
  }
  const withCtx = <T extends { ctx?: FactContext }>(x: T): T => (ctx && !x.ctx ? { ...x, ctx } : x);
  const summary: FileSummary = {
    ...snip,
    scopes,
    bindings,
    refs: snip.refs.map((r) => withCtx({ ...r, scope: base + r.scope })),
    methods: snip.methods.map((m) => withCtx({ ...m, scope: base + m.scope })),
    syntax: snip.syntax.map(withCtx),
    attrs: snip.attrs.map(withCtx),
    queries: snip.queries.map(withCtx),
    strings: snip.strings.map(withCtx),
    includes: [],
    mods: [],
    errors: [],
    problems: [],
    indicators: [],
    urls: [],
    includeBytes: [],
  };
  const unit: Unit = { rel: parent.rel, summary, moduleOf, blockBindings, blockGlobs, test: parent.test };
  let bound = chain.names;
  if (bindings.length > 0) {
    bound = new Set(bound);
    for (const b of bindings) bound.add(b.name);
  }
  return { unit, scopeOf, module: chain.globs || bindings.some((b) => b.kind === 'glob') ? null : mod, bound };
}

/**
 * A resolver for the grafted units of one resolver without glob imports in their blocks (Grafted.module):
 * their paths whose first segment no block of the unit binds are resolved once per module. Such a path
 * resolves as in its module whatever unit holds it: the lookup goes through the unit's blocks (nothing
 * there) straight to the module's bindings, globs, children and the crate's externs, and from there only
 * through the crate's own units (whose memoised resolutions never change once computed), never back to
 * the grafted unit. So a fresh unit computes the same resolution as the first one did, reading only
 * entries already there: the resolver's state is the same either way, but for the grafted unit's own
 * entries (read again only by the lookup of an invocation the expansion makes, which then computes the
 * same value afresh). Only the unit's own top-level resolutions (depth 0: its refs and receivers) are
 * answered here; everything else (traits in scope, deeper steps, bound first segments) goes to the
 * resolver as is.
 */
class ModuleResolutions {
  readonly proxy: Resolver;
  private readonly byModule = new Map<ModuleNode, Map<string, Resolution>>();
  private current: Unit | null = null;
  private cache: Map<string, Resolution> | null = null;
  private bound: Set<string> | null = null;

  constructor(private readonly real: Resolver) {
    const bound = new Map<PropertyKey, unknown>();
    const resolve = (unit: Unit, scope: number, segs: string[], global: boolean, depth = 0): Resolution => {
      const cache = this.cache;
      if (unit !== this.current || depth !== 0 || cache === null || this.bound!.has(segs[0]!)) return real.resolve(unit, scope, segs, global, depth);
      const key = `${global ? 1 : 0}${segs.join('::')}`;
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      const r = real.resolve(unit, scope, segs, global, depth);
      cache.set(key, r);
      return r;
    };
    // every other member is the resolver's own, called on it
    this.proxy = new Proxy(real, {
      get(target, p) {
        if (p === 'resolve') return resolve;
        let f = bound.get(p);
        if (f === undefined) {
          const v: unknown = Reflect.get(target, p);
          if (typeof v !== 'function') return v;
          bound.set(p, (f = (v as (...a: unknown[]) => unknown).bind(target)));
        }
        return f;
      },
    });
  }

  /** The resolver to give unitFindings for a grafted unit (its module's resolutions, when it has one). */
  for(g: Grafted): Resolver {
    if (g.module === null) return this.real;
    let cache = this.byModule.get(g.module);
    if (!cache) this.byModule.set(g.module, (cache = new Map()));
    this.current = g.unit;
    this.cache = cache;
    this.bound = g.bound;
    return this.proxy;
  }
}

/** Marks the findings of the unit's macro bodies: `macro-body`, or dropped for rules an expansion used. */
function markBodies(u: ExpansionUnit, defs: Def[]): void {
  if (defs.length === 0) return;
  const spans = defs
    .map((d) => {
      const end = originsFrom(d.rules, d.rulesLine, d.rulesColumn)(Math.max(0, d.rules.length - 1));
      const fact = (u.unit.summary.macroDefs ?? []).find((f) => f.rules === d.rules && f.rulesLine === d.rulesLine && f.rulesColumn === d.rulesColumn);
      const c = d.compiled && !('error' in d.compiled) ? d.compiled.rules : [];
      return { from: fact ? { line: fact.line, column: fact.column } : { line: d.rulesLine, column: d.rulesColumn }, to: end, rules: c, used: d.used };
    })
    .sort((a, b) => a.from.line - b.from.line || a.from.column - b.from.column);
  const le = (a: { line: number; column: number }, b: { line: number; column: number }) => a.line < b.line || (a.line === b.line && a.column <= b.column);
  const findings = u.out.findings;
  let w = 0;
  for (const f of findings) {
    let lo = 0;
    let hi = spans.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (le(spans[mid]!.from, f)) lo = mid;
      else hi = mid - 1;
    }
    const sp = spans[lo]!;
    if (le(sp.from, f) && le(f, sp.to)) {
      const r = sp.rules.findIndex((x: CompiledRule) => le(x.from, f) && le(f, x.to));
      if (r >= 0 && sp.used.has(r)) continue; // the expansions carry this rule's findings
      if (!f.context) f.context = 'macro-body';
    }
    findings[w++] = f;
  }
  findings.length = w;
}

