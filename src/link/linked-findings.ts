// Rule matching for paths resolved through dependencies' export tables (issue 14): the evidence shows the
// re-export chain (`util::Task::new = std::process::Command::new`), and a rule naming one of the earlier
// names (a dependency's own path, `tokio::fs::read`) still fires, so a table never hides a finding.

import type { Rule } from '../rules/load.js';
import type { RuleIndex } from '../rules/engine.js';

/** Rules matched by a resolved path and by each earlier name of it (`via`), with their evidence. */
export function linkedPathMatches(index: RuleIndex, segs: string[], via: string[][] | undefined, macro: boolean): { rule: Rule; evidence: string }[] {
  const bang = (p: string[]) => (macro ? [...p.slice(0, -1), p[p.length - 1] + '!'] : p);
  const target = bang(segs);
  if (!via || via.length === 0) return index.matchPath(target).map((rule) => ({ rule, evidence: target.join('::') }));
  const names = [...via.map(bang), target];
  const evidence = names.map((p) => p.join('::')).join(' = ');
  const out: { rule: Rule; evidence: string }[] = [];
  const seen = new Set<string>();
  // the final target first, then the earlier names (a rule on `dep::path` itself)
  for (const p of [target, ...names.slice(0, -1)]) {
    for (const rule of index.matchPath(p)) {
      if (seen.has(rule.id)) continue;
      seen.add(rule.id);
      out.push({ rule, evidence });
    }
  }
  return out;
}
