// Dependency order of a scan session (issue 14): a crate's names are resolved after its dependencies'
// export tables are built. Cycles (which Cargo rejects for normal and build dependencies, but a hostile
// lockfile or manifest can still describe) are broken deterministically: a depth-first walk over the
// crates in id order, dependencies in code-name order, drops every edge back to a crate still on its
// stack. Which edges are dropped depends only on the graph, never on timing; the scheduling order (which
// also follows where crates became available) only changes when work starts.

import { cmp } from '../util/compare.js';

export interface LinkNode {
  id: string;
  /** Scheduling preference (lower first): only the order work starts in, never the result. */
  rank: number;
  /** Dependencies whose export tables the crate resolves through (normal and build ones). */
  deps: { codeName: string; id: string }[];
}

export interface LinkPlan {
  /** Ids, every crate after the dependencies it keeps. */
  order: string[];
  /** Per crate, the dependencies kept (sorted by code name), cycles broken. */
  deps: Map<string, { codeName: string; id: string }[]>;
  /** Edges dropped to break cycles (`from → to`), sorted. */
  dropped: [string, string][];
}

/** Iterative depth-first walk (a hostile graph can be a chain of thousands of crates). */
function dfs(roots: string[], next: (id: string) => string[], onBack: (from: string, to: string) => void, onPost: (id: string) => void): void {
  const state = new Map<string, 1 | 2>();
  for (const root of roots) {
    if (state.has(root)) continue;
    state.set(root, 1);
    const stack: { id: string; kids: string[]; i: number }[] = [{ id: root, kids: next(root), i: 0 }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.i < top.kids.length) {
        const k = top.kids[top.i++]!;
        const st = state.get(k);
        if (st === 1) onBack(top.id, k);
        else if (st === undefined) {
          state.set(k, 1);
          stack.push({ id: k, kids: next(k), i: 0 });
        }
      } else {
        state.set(top.id, 2);
        stack.pop();
        onPost(top.id);
      }
    }
  }
}

export function linkOrder(nodes: LinkNode[]): LinkPlan {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const deps = new Map<string, { codeName: string; id: string }[]>();
  for (const n of nodes) {
    const seen = new Set<string>();
    const list = n.deps
      .filter((d) => byId.has(d.id) && d.id !== n.id)
      .sort((a, b) => cmp(a.codeName, b.codeName) || cmp(a.id, b.id))
      .filter((d) => (seen.has(d.codeName) ? false : (seen.add(d.codeName), true)));
    deps.set(n.id, list);
  }
  // 1. cycles broken by the graph alone (ids in order)
  const dropped = new Set<string>();
  const droppedList: [string, string][] = [];
  const ids = [...byId.keys()].sort(cmp);
  dfs(
    ids,
    (id) => deps.get(id)!.map((d) => d.id),
    (from, to) => {
      const k = `${from}\0${to}`;
      if (!dropped.has(k)) {
        dropped.add(k);
        droppedList.push([from, to]);
      }
    },
    () => {},
  );
  for (const [id, list] of deps) deps.set(id, list.filter((d) => !dropped.has(`${id}\0${d.id}`)));
  // 2. scheduling: dependencies first, otherwise by rank
  const order: string[] = [];
  const roots = [...nodes].sort((a, b) => a.rank - b.rank || cmp(a.id, b.id)).map((n) => n.id);
  dfs(roots, (id) => deps.get(id)!.map((d) => d.id), () => {}, (id) => order.push(id));
  droppedList.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  return { order, deps, dropped: droppedList };
}
