// The resolver on glob-heavy module trees: results, and how much work it does (web-sys has 1,500 modules
// that glob each other; its resolution was quadratic).
import { describe, expect, it } from 'vitest';
import { ModuleNode, Resolver, placeUnit, type Unit } from '../src/resolve/resolver.js';
import { modulePath } from '../src/link/exports.js';
import { emptySummary, type Binding, type FileSummary } from '../src/parse/summary.js';

const RULE_PATHS = ['std::process::Command', 'std::fs::read'];
const prefixes = new Set(RULE_PATHS.flatMap((p) => p.split('::').map((_, i, a) => a.slice(0, i + 1).join('::'))));
const segments = new Set(RULE_PATHS.flatMap((p) => p.split('::')));

function file(bindings: Omit<Binding, 'scope' | 'line' | 'global'>[]): FileSummary {
  const s = emptySummary();
  s.scopes.push({ id: 0, parent: -1, kind: 'file', name: null });
  for (const b of bindings) s.bindings.push({ scope: 0, line: 1, global: false, ...b });
  return s;
}

/** A features module globbing N generated modules, each globbing `super::*` (web-sys's shape). */
function webSysLike(n: number, pruning: boolean) {
  const root = new ModuleNode('crate', null);
  const features = root.child('features');
  const top = placeUnit('src/lib.rs', file([{ name: 'features', kind: 'mod', target: null }, { name: '*', kind: 'glob', target: ['features'] }]), root, false);
  const gens: Unit[] = [];
  const featureBindings: Omit<Binding, 'scope' | 'line' | 'global'>[] = [];
  for (let i = 0; i < n; i++) {
    featureBindings.push({ name: `gen_${i}`, kind: 'mod', target: null }, { name: '*', kind: 'glob', target: [`gen_${i}`] });
    gens.push(
      placeUnit(`src/features/gen_${i}.rs`, file([{ name: '*', kind: 'glob', target: ['super'] }, { name: `Type${i}`, kind: 'item', target: null }]), features.child(`gen_${i}`), false),
    );
  }
  // process is reachable through a glob chain from every module
  featureBindings.push({ name: 'Command', kind: 'use', target: ['std', 'process', 'Command'] });
  placeUnit('src/features/mod.rs', file(featureBindings), features, false);
  const resolver = new Resolver(root, {
    edition: '2021',
    externs: new Map(),
    unknownAsExtern: true,
    isKnownPrefix: (p) => prefixes.has(p),
    ...(pruning ? { isKnownSegment: (s: string) => segments.has(s) } : {}),
  });
  return { resolver, top, gens };
}

describe('resolver on glob-heavy crates', () => {
  it('resolves through glob chains: a rule path, a local item, and nothing for a local variable', () => {
    const { resolver, gens } = webSysLike(50, true);
    const g = gens[7]!;
    expect(resolver.resolve(g, 0, ['Command', 'new'], false)).toEqual({ ext: ['std', 'process', 'Command', 'new'] });
    // a local item says which (module path, name): the call graph's edges (src/link/reach.ts)
    const local = resolver.resolve(g, 0, ['Type3'], false);
    expect(local && 'local' in local && local.item ? [modulePath(local.item.module), local.item.name, local.item.rest] : local).toEqual(['features::gen_3', 'Type3', []]);
    expect(resolver.resolve(g, 0, ['some_local_variable'], false)).toBeNull();
  });

  it('looks up names no module binds and no rule names in linear, not quadratic, work', () => {
    const n = 300;
    const work = (pruning: boolean) => {
      const { resolver, gens } = webSysLike(n, pruning);
      gens.forEach((g, i) => { for (let v = 0; v < 10; v++) resolver.resolve(g, 0, [`local_${v}_${i}`], false); });
      return resolver.computed;
    };
    const pruned = work(true);
    const unpruned = work(false);
    expect(pruned).toBeLessThan(n * 10 * 4);
    expect(unpruned).toBeGreaterThan(pruned * 100); // 2.7M vs 6k at n = 300
  });
});
