// Name resolution across a crate's module tree, close to what rustc does for paths: lexical `use` scopes,
// renames and chains, globs, type aliases, `crate`/`self`/`super`, re-exports in other files, dependency
// renames, and shadowing by local items. The result is a canonical external path (`std::fs::read`) or
// "local" (the crate's own item, never a capability by itself).

import { FOREIGN_ROOT, WASM_IMPORT_ABI, type Binding, type FileSummary } from '../parse/summary.js';
import { boundVia, exportedNames, lookupExport, type ExportTable, type ForeignFn, type TableOf } from '../link/exports.js';

let nextModuleId = 0;

export class ModuleNode {
  readonly id = nextModuleId++;
  readonly children = new Map<string, ModuleNode>();
  /** Bindings of this module, gathered from every scope that contributes to it (file, inline body, include!). */
  readonly bindings = new Map<string, { b: Binding; unit: Unit }>();
  readonly globs: { b: Binding; unit: Unit }[] = [];
  constructor(
    readonly name: string,
    readonly parent: ModuleNode | null,
  ) {}
  child(name: string): ModuleNode {
    let c = this.children.get(name);
    if (!c) {
      c = new ModuleNode(name, this);
      this.children.set(name, c);
    }
    return c;
  }
}

/** One analysed file placed in the module tree. */
export interface Unit {
  rel: string;
  summary: FileSummary;
  /** Module of each scope id (block scopes map to their enclosing module). */
  moduleOf: ModuleNode[];
  /** Per block scope: its own bindings. */
  blockBindings: Map<number, Map<string, Binding>>;
  blockGlobs: Map<number, Binding[]>;
  /** Facts in this file are test-only (reached through a cfg(test) module, kept with --all-targets). */
  test: boolean;
}

/**
 * `ext`: a canonical external path; `via`, when it was reached through dependencies' export tables, the
 * earlier names of the same path, first as written in this crate (`util::Task::new`, then each re-export
 * step); `foreign`: the path names a dependency's foreign function. `local`: the crate's own item, or
 * `module` when it is one of its modules.
 */
export type Resolution = { ext: string[]; via?: string[][]; foreign?: ForeignFn } | { local: true; module?: ModuleNode; item?: LocalItem } | null;

/**
 * Which of the crate's own module-level items a local resolution is (for the call graph, src/link/reach.ts):
 * the item `name` of `module`, and the rest of the path after it (`Type::method`: name Type, rest [method]).
 */
export interface LocalItem {
  module: ModuleNode;
  name: string;
  rest: string[];
}

export interface ResolverOptions {
  edition: string;
  /** Extern prelude: name used in code → canonical crate name (std, core, alloc map to std). */
  externs: Map<string, string>;
  /** When a path's first segment is unknown, treat it as an external crate. */
  unknownAsExtern: boolean;
  /** Accept a glob candidate path (external) only if a rule knows it. */
  isKnownPrefix: (path: string) => boolean;
  /**
   * Whether some rule path has this segment (`!` of a macro dropped). With it, a glob is not searched for a
   * name that no module of the crate binds and no rule path names: such a name cannot come out of a glob.
   */
  isKnownSegment?: (name: string) => boolean;
  /**
   * Export tables of the crate's dependencies, by the name its code uses for them (renames applied, `-` →
   * `_`): a path starting with that name resolves through the table (issue 14). Set before the first
   * resolution (the crate scan waits for them after parsing).
   */
  depExports?: Map<string, ExportTable>;
  /** Any table of the run by its hash: a re-export of a dependency's dependency continues there. */
  exportTableOf?: TableOf;
}

const STD_ALIASES = new Map([
  ['std', 'std'],
  ['core', 'std'],
  ['alloc', 'std'],
]);

/** Bumped by every placeUnit: a resolver's crate-wide name set is rebuilt when the module tree grew. */
let placements = 0;

/** Attach a file's scopes to module nodes and index its bindings. */
export function placeUnit(rel: string, summary: FileSummary, module: ModuleNode, test: boolean): Unit {
  const moduleOf: ModuleNode[] = [];
  const blockBindings = new Map<number, Map<string, Binding>>();
  const blockGlobs = new Map<number, Binding[]>();
  const unit: Unit = { rel, summary, moduleOf, blockBindings, blockGlobs, test };
  placements++;
  for (const s of summary.scopes) {
    // scopes are listed parents-first except for blocks/mods created out of order: resolve lazily
    moduleOf[s.id] = module;
  }
  const resolveModule = (id: number, seen = 0): ModuleNode => {
    const s = summary.scopes[id]!;
    if (id === 0 || seen > 64) return module;
    const parent = resolveModule(s.parent, seen + 1);
    if (s.kind === 'mod') return parent.child(s.name ?? '_');
    return parent;
  };
  for (const s of summary.scopes) moduleOf[s.id] = resolveModule(s.id);
  for (const b of summary.bindings) {
    const scope = summary.scopes[b.scope]!;
    if (scope.kind === 'block') {
      if (b.kind === 'glob') blockGlobs.set(b.scope, [...(blockGlobs.get(b.scope) ?? []), b]);
      else {
        let m = blockBindings.get(b.scope);
        if (!m) blockBindings.set(b.scope, (m = new Map()));
        if (!m.has(b.name)) m.set(b.name, b);
      }
      continue;
    }
    const mod = moduleOf[b.scope]!;
    if (b.kind === 'glob') mod.globs.push({ b, unit });
    else {
      const prev = mod.bindings.get(b.name);
      // local items and modules take precedence over imports of the same name (a real crate can't have both)
      if (!prev || (prev.b.kind === 'use' && (b.kind === 'item' || b.kind === 'mod'))) mod.bindings.set(b.name, { b, unit });
    }
  }
  return unit;
}

const IN_PROGRESS = Symbol('in-progress');
const NO_SCOPES: readonly number[] = Object.freeze([]);

/** An external resolution with more segments (its `via` names extended alike). */
function extendExt(r: { ext: string[]; via?: string[][]; foreign?: ForeignFn }, rest: string[]): Resolution {
  if (rest.length === 0) return r;
  const out: { ext: string[]; via?: string[][] } = { ext: [...r.ext, ...rest] };
  if (r.via) out.via = r.via.map((v) => [...v, ...rest]);
  return out;
}

/**
 * A memo keyed by a path: one node per segment (a trie), so a lookup neither joins the segments into a
 * string nor hashes one. Keyed as `segs.join('::')` would be: a path with a `:` inside a segment is split
 * again on `::` first, so two paths that join alike share their entry as before.
 */
interface PathMemo<V> {
  v?: V;
  c?: Map<string, PathMemo<V>>;
}

function pathNode<V>(root: PathMemo<V>, segs: readonly string[]): PathMemo<V> {
  let keys = segs;
  for (const seg of segs) {
    if (seg.includes(':')) {
      keys = segs.join('::').split('::');
      break;
    }
  }
  let n = root;
  for (const seg of keys) {
    let c = n.c;
    if (!c) n.c = c = new Map();
    let next = c.get(seg);
    if (!next) c.set(seg, (next = {}));
    n = next;
  }
  return n;
}

type MemoEntry = PathMemo<Resolution | typeof IN_PROGRESS>;

/** Not computed yet (a slot of UnitMemo's block chains). */
const UNKNOWN = -2;

/** What a resolver keeps per unit. */
interface UnitMemo {
  /** Memo roots by `scope * 2 + global`. */
  byScope: MemoEntry[];
  /** Memo roots of scopes that are no scope id (never from a summary), by their text. */
  other: Map<string, MemoEntry>;
  /**
   * Per scope: the innermost block scope at or above it, going up through block scopes only, with block
   * bindings of its own (`withBindings`) or block globs (`withGlobs`); -1 none before the module scope.
   */
  withBindings?: Int32Array;
  withGlobs?: Int32Array;
  /** Resolutions of the summary's refs by index (resolveRef); undefined: not asked yet. */
  refs?: Resolution[];
}

export class Resolver {
  /**
   * Memo of resolutions; an entry in progress means a cycle (globs importing each other) → unresolved.
   * Paths written in a unit, by unit, then scope and whether global (`scope * 2 + global`); paths inside
   * a module (`resolveIn`) and a module's glob lookups, by module.
   */
  private unitMemo = new Map<Unit, UnitMemo>();
  private inMemo = new Map<ModuleNode, MemoEntry>();
  private globMemo = new Map<ModuleNode, MemoEntry>();
  /** Every name a module of the crate binds or has as a child (what a glob can yield locally). */
  private names: Set<string> | null = null;
  private namesAt = -1;

  constructor(
    readonly root: ModuleNode,
    private opts: ResolverOptions,
  ) {}

  /** Resolutions computed (memo misses): the resolver's work, for tests of its complexity. */
  computed = 0;

  private memoized(node: MemoEntry, compute: () => Resolution): Resolution {
    const hit = node.v;
    if (hit === IN_PROGRESS) return null;
    if (hit !== undefined) return hit;
    this.computed++;
    node.v = IN_PROGRESS;
    const r = compute();
    node.v = r;
    return r;
  }

  private moduleMemo(memo: Map<ModuleNode, MemoEntry>, m: ModuleNode, segs: readonly string[]): MemoEntry {
    let root = memo.get(m);
    if (!root) memo.set(m, (root = {}));
    return pathNode(root, segs);
  }

  private linkMemo: PathMemo<Resolution> = {};
  /** Per dependency code name: paths whose lookup in its export table stopped at the bound. */
  readonly linkLimited = new Map<string, number>();

  /** Whether the crate depends on this crate (canonical name, `-` → `_`). */
  dependsOn(crate: string): boolean {
    for (const c of this.opts.externs.values()) if (c === crate) return true;
    return false;
  }

  private ext(segs: string[]): Resolution {
    const head = segs[0]!;
    // a #[wasm_bindgen] import is a JS import only in a crate that depends on wasm-bindgen: elsewhere an
    // attribute of that name is someone else's macro, and the block declares C functions
    if (head === FOREIGN_ROOT && segs[1] === WASM_IMPORT_ABI && !this.dependsOn('wasm_bindgen')) return { ext: [FOREIGN_ROOT, 'C', ...segs.slice(2)] };
    const canon = STD_ALIASES.get(head) ?? this.opts.externs.get(head) ?? head;
    const plain = [canon, ...segs.slice(1)];
    const table = segs.length > 1 && !STD_ALIASES.has(head) ? this.opts.depExports?.get(head) : undefined;
    if (!table) return { ext: plain };
    const node = pathNode(this.linkMemo, segs);
    const hit = node.v;
    if (hit !== undefined) return hit;
    // through the dependency's export table: a re-export becomes its target (the chain kept as `via`), a
    // foreign function is marked; anything else keeps the plain path (rules name dependencies' paths too)
    const linked = lookupExport(table, segs.slice(1), this.opts.isKnownPrefix, this.opts.exportTableOf);
    let r: Resolution = { ext: plain };
    if (linked && 'limit' in linked) this.linkLimited.set(head, (this.linkLimited.get(head) ?? 0) + 1);
    if (linked && 'ext' in linked) r = { ext: linked.ext, via: boundVia([plain, ...(linked.via ?? [])]) };
    else if (linked && 'foreign' in linked) r = { ext: plain, foreign: linked.foreign };
    node.v = r;
    return r;
  }

  /** Resolve a path written in `unit` at scope `scope`. */
  resolve(unit: Unit, scope: number, segs: string[], global: boolean, depth = 0): Resolution {
    if (depth > 32 || segs.length === 0) return null;
    return this.memoized(pathNode(this.unitRoot(unit, scope, global), segs), () => this.resolveUncached(unit, scope, segs, global, depth));
  }

  /**
   * `resolve` of the unit's reference number `i` (unit.summary.refs[i], where it is written), kept per
   * reference: the findings, the call graph and the reaches each ask for every reference.
   */
  resolveRef(unit: Unit, i: number): Resolution {
    const refs = (this.unitMemoOf(unit).refs ??= []);
    let r = refs[i];
    if (r === undefined) {
      const ref = unit.summary.refs[i]!;
      r = refs[i] = this.resolve(unit, ref.scope, ref.segs, ref.global);
    }
    return r;
  }

  private unitMemoOf(unit: Unit): UnitMemo {
    let m = this.unitMemo.get(unit);
    if (!m) this.unitMemo.set(unit, (m = { byScope: [], other: new Map() }));
    return m;
  }

  private unitRoot(unit: Unit, scope: number, global: boolean): MemoEntry {
    const roots = this.unitMemoOf(unit);
    if (Number.isInteger(scope) && scope >= 0) {
      const slot = scope * 2 + (global ? 1 : 0);
      return (roots.byScope[slot] ??= {});
    }
    // not a scope id (never from a summary): keyed as its text
    const k = `${scope}:${global ? 1 : 0}`;
    let root = roots.other.get(k);
    if (!root) roots.other.set(k, (root = {}));
    return root;
  }

  private resolveUncached(unit: Unit, scope: number, segs: string[], global: boolean, depth: number): Resolution {
    const head = segs[0]!;
    const rest = segs.slice(1);
    if (global) {
      if (this.opts.edition === '2015') {
        const r = this.resolveIn(this.root, segs, depth + 1);
        if (r) return r;
      }
      return this.ext(segs);
    }
    if (head === 'crate') return this.resolveIn(this.root, rest, depth + 1);
    if (head === 'self') return this.resolveIn(unit.moduleOf[scope]!, rest, depth + 1);
    if (head === 'super') {
      let m: ModuleNode | null = unit.moduleOf[scope]!;
      let i = 0;
      while (segs[i] === 'super' && m) {
        m = m.parent;
        i++;
      }
      return m ? this.resolveIn(m, segs.slice(i), depth + 1) : null;
    }
    if (head === 'Self') return null;
    // lexical scopes: blocks, innermost first, then the module
    const b = this.blockBinding(unit, scope, head);
    if (b) return this.expand(b, unit, rest, depth);
    const mod = unit.moduleOf[scope]!;
    const mb = mod.bindings.get(head);
    if (mb) return this.expand(mb.b, mb.unit, rest, depth);
    if (this.opts.externs.has(head) || STD_ALIASES.has(head)) return this.ext(segs);
    // glob imports: block globs, then module globs
    for (const s of this.globBlocks(unit, scope)) {
      for (const g of unit.blockGlobs.get(s)!) {
        const r = this.viaGlob(g, unit, segs, depth);
        if (r) return r;
      }
    }
    return this.moduleGlobs(mod, segs, depth);
  }

  /**
   * The innermost block binding of `head` seen from `scope` (the block scopes up to the module's), going
   * only through the blocks that bind something (UnitMemo.withBindings).
   */
  private blockBinding(unit: Unit, scope: number, head: string): Binding | undefined {
    const memo = this.unitMemoOf(unit);
    const chain = (memo.withBindings ??= new Int32Array(unit.summary.scopes.length).fill(UNKNOWN));
    for (let s = this.nearestBlock(unit, chain, unit.blockBindings, scope); s !== -1; ) {
      if (s === null) return this.blockBindingScan(unit, scope, head);
      const b = unit.blockBindings.get(s)!.get(head);
      if (b) return b;
      s = this.nearestBlock(unit, chain, unit.blockBindings, unit.summary.scopes[s]!.parent);
    }
    return undefined;
  }

  /** blockBinding scope by scope (a scope chain nearestBlock does not take). */
  private blockBindingScan(unit: Unit, scope: number, head: string): Binding | undefined {
    const scopes = unit.summary.scopes;
    for (let s = scope; s >= 0; s = scopes[s]!.parent) {
      if (scopes[s]!.kind !== 'block') break;
      const b = unit.blockBindings.get(s)?.get(head);
      if (b) return b;
    }
    return undefined;
  }

  /** The block scopes with globs seen from `scope`, innermost first (UnitMemo.withGlobs). */
  private globBlocks(unit: Unit, scope: number): readonly number[] {
    if (unit.blockGlobs.size === 0) return NO_SCOPES;
    const memo = this.unitMemoOf(unit);
    const chain = (memo.withGlobs ??= new Int32Array(unit.summary.scopes.length).fill(UNKNOWN));
    const out: number[] = [];
    for (let s = this.nearestBlock(unit, chain, unit.blockGlobs, scope); s !== -1; ) {
      if (s === null) return this.globBlocksScan(unit, scope);
      out.push(s);
      s = this.nearestBlock(unit, chain, unit.blockGlobs, unit.summary.scopes[s]!.parent);
    }
    return out;
  }

  /** globBlocks scope by scope. */
  private globBlocksScan(unit: Unit, scope: number): number[] {
    const scopes = unit.summary.scopes;
    const out: number[] = [];
    for (let s = scope; s >= 0; s = scopes[s]!.parent) {
      if (scopes[s]!.kind !== 'block') break;
      if (unit.blockGlobs.has(s)) out.push(s);
    }
    return out;
  }

  /**
   * The innermost block scope at or above `s`, going up through block scopes only, that is a key of
   * `has` (-1: none before a scope that is not a block), remembered in `chain`. Null when the chain is
   * not a plain one of the summary's scopes (an id out of range, a cycle): the caller then walks it
   * scope by scope.
   */
  private nearestBlock(unit: Unit, chain: Int32Array, has: Map<number, unknown>, s: number): number | null {
    const known = chain[s]; // undefined unless s is an index of chain
    if (known !== undefined && known !== UNKNOWN) return known;
    const scopes = unit.summary.scopes;
    const path: number[] = [];
    let r: number;
    for (let x = s; ; ) {
      if (x < 0) {
        r = -1;
        break;
      }
      if (!(x < chain.length) || !Number.isInteger(x)) return null;
      const k = chain[x]!;
      if (k !== UNKNOWN) {
        r = k;
        break;
      }
      const sc = scopes[x];
      if (!sc) return null;
      if (sc.kind !== 'block') {
        r = chain[x] = -1;
        break;
      }
      if (has.has(x)) {
        r = chain[x] = x;
        break;
      }
      path.push(x);
      if (path.length > chain.length) return null;
      x = sc.parent;
    }
    for (const y of path) chain[y] = r;
    return r;
  }

  /**
   * The module-level end of a lexical lookup (its globs, then an unknown crate): the same for every scope
   * of every file of the module, so memoized per module. Memoized per scope, a glob-heavy crate
   * (`use super::*` in every module) re-ran each glob chain for every block that names a local variable.
   */
  private moduleGlobs(mod: ModuleNode, segs: string[], depth: number): Resolution {
    if (mod.globs.length === 0) return this.unknownCrate(segs);
    return this.memoized(this.moduleMemo(this.globMemo, mod, segs), () => {
      for (const g of mod.globs) {
        const r = this.viaGlob(g.b, g.unit, segs, depth);
        if (r) return r;
      }
      return this.unknownCrate(segs);
    });
  }

  private unknownCrate(segs: string[]): Resolution {
    if (this.opts.unknownAsExtern && segs.length > 1 && /^[a-z_][a-z0-9_]*$/.test(segs[0]!)) return this.ext(segs);
    return null;
  }

  /** Whether any glob could yield `name`: a module of the crate binds it, or a rule path names it. */
  private globCanYield(name: string): boolean {
    const known = this.opts.isKnownSegment;
    if (!known) return true;
    if (known(name)) return true;
    if (this.names === null || this.namesAt !== placements) {
      const names = new Set<string>([...STD_ALIASES.keys(), ...this.opts.externs.keys()]);
      const stack = [this.root];
      const seen = new Set<ModuleNode>();
      while (stack.length) {
        const m = stack.pop()!;
        if (seen.has(m)) continue;
        seen.add(m);
        for (const k of m.bindings.keys()) names.add(k);
        for (const [k, c] of m.children) {
          names.add(k);
          stack.push(c);
        }
      }
      this.names = names;
      this.namesAt = placements;
    }
    if (this.names.has(name)) return true;
    // what a glob of a dependency can yield (each table's name set is built once, shared by its dependents)
    for (const t of this.opts.depExports?.values() ?? []) if (exportedNames(t).has(name)) return true;
    return false;
  }

  private viaGlob(g: Binding, unit: Unit, segs: string[], depth: number): Resolution {
    // web-sys: 1,500 modules glob each other; trying every glob for every local variable name was
    // quadratic (1.6 s of the crate's resolution)
    if (!this.globCanYield(segs[0]!)) return null;
    const target = this.resolve(unit, g.scope, [...g.target!, segs[0]!], g.global, depth + 1);
    if (!target) return null;
    if ('local' in target) return this.resolve(unit, g.scope, [...g.target!, ...segs], g.global, depth + 1);
    if (target.via || target.foreign) return extendExt(target, segs.slice(1));
    if (this.opts.isKnownPrefix(target.ext.join('::'))) return { ext: [...target.ext, ...segs.slice(1)] };
    return null;
  }

  /** Resolve `segs` inside module `m` (for crate::, self::, super:: and module paths). */
  resolveIn(m: ModuleNode, segs: string[], depth: number): Resolution {
    if (depth > 32) return null;
    if (segs.length === 0) return { local: true, module: m };
    return this.memoized(this.moduleMemo(this.inMemo, m, segs), () => this.resolveInUncached(m, segs, depth));
  }

  private resolveInUncached(m: ModuleNode, segs: string[], depth: number): Resolution {
    const head = segs[0]!;
    const rest = segs.slice(1);
    const child = m.children.get(head);
    const b = m.bindings.get(head);
    if (b) return this.expand(b.b, b.unit, rest, depth);
    if (child) return this.resolveIn(child, rest, depth + 1);
    for (const g of m.globs) {
      const r = this.viaGlob(g.b, g.unit, segs, depth);
      if (r) return r;
    }
    if (m === this.root && this.opts.edition === '2015' && (this.opts.externs.has(head) || STD_ALIASES.has(head))) return this.ext(segs);
    return null;
  }

  private expand(b: Binding, unit: Unit, rest: string[], depth: number): Resolution {
    switch (b.kind) {
      case 'use':
      case 'alias': {
        const target = [...b.target!, ...rest];
        if (this.opts.edition === '2015' && b.kind === 'use' && !['crate', 'self', 'super'].includes(b.target![0]!)) {
          // 2015 use paths are relative to the crate root
          return this.resolveIn(this.root, target, depth + 1) ?? this.resolveIn2015Fallback(target);
        }
        // a use target is resolved from the module (not from the use's own binding, which would loop)
        return this.resolveTarget(unit, b, target, depth + 1);
      }
      case 'extern-crate':
        return this.ext([b.target![0]!, ...rest]);
      case 'mod': {
        const m = unit.moduleOf[b.scope]!;
        const child = m.children.get(b.name);
        return child ? this.resolveIn(child, rest, depth + 1) : { local: true };
      }
      case 'item':
        // a module-level item says which (an item of a block scope is not named by module paths)
        return unit.summary.scopes[b.scope]?.kind === 'block' ? { local: true } : { local: true, item: { module: unit.moduleOf[b.scope]!, name: b.name, rest } };
      default:
        return null;
    }
  }

  private resolveIn2015Fallback(target: string[]): Resolution {
    return this.opts.externs.has(target[0]!) || STD_ALIASES.has(target[0]!) ? this.ext(target) : null;
  }

  private resolveTarget(unit: Unit, b: Binding, target: string[], depth: number): Resolution {
    const head = target[0]!;
    // `use fs::read;` where `fs` is bound by this very use (self-reference) must not loop
    if (!b.global && head === b.name && b.kind === 'use') {
      const mod = unit.moduleOf[b.scope]!;
      const other = mod.bindings.get(head);
      if (other && other.b === b) return this.ext(target);
    }
    return this.resolve(unit, b.scope, target, b.global, depth);
  }

  /** Whether the trait at `traitPath` is imported in scope (by name, `as _`, or a glob of its module). */
  traitInScope(unit: Unit, scope: number, traitPath: string): boolean {
    const traitSegs = traitPath.split('::');
    const check = (b: Binding, u: Unit): boolean => {
      if (b.kind === 'glob') {
        const r = this.resolve(u, b.scope, [...b.target!, traitSegs[traitSegs.length - 1]!], b.global, 1);
        return !!r && 'ext' in r && r.ext.join('::') === traitPath;
      }
      if (b.kind !== 'use') return false;
      const r = this.resolveTarget(u, b, b.target!, 1);
      return !!r && 'ext' in r && r.ext.join('::') === traitPath;
    };
    const scopes = unit.summary.scopes;
    for (let s = scope; s >= 0; s = scopes[s]!.parent) {
      if (scopes[s]!.kind !== 'block') break;
      for (const b of unit.blockBindings.get(s)?.values() ?? []) if (check(b, unit)) return true;
      for (const g of unit.blockGlobs.get(s) ?? []) if (check(g, unit)) return true;
    }
    const mod = unit.moduleOf[scope]!;
    for (const { b, unit: u } of mod.bindings.values()) if (check(b, u)) return true;
    for (const { b, unit: u } of mod.globs) if (check(b, u)) return true;
    // `use Trait as _` bindings are all named `_`: the map keeps one, so scan the unit's list too
    for (const b of unit.summary.bindings) if (b.name === '_' && unit.moduleOf[b.scope] === mod && check(b, unit)) return true;
    return false;
  }
}
