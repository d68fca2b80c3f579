// `cap-scan rules`: the rules with their capability and kind (a table, or JSON with --format json).

import type { CommandOutput, CommonOptions } from '../options.js';
import { ruleIndex } from './lazy.js';
import { defineCommand } from './command.js';

export async function runRules(opts: CommonOptions): Promise<CommandOutput> {
  const index = await ruleIndex();
  const wanted = opts.filter?.capabilities ?? [];
  const shown = wanted.length ? index.rules.filter((r) => wanted.includes(r.capability) || wanted.includes(r.kind)) : index.rules;
  if (opts.format === 'json') {
    const rules = shown.map((r) => ({ id: r.id, capability: r.capability, kind: r.kind, description: r.description, file: r.file }));
    return { text: JSON.stringify({ rulesHash: index.hash, rules }, null, 2) + '\n', exitCode: 0 };
  }
  const rows = shown.map((r) => [r.id, r.capability, r.kind, r.description]);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['RULE', 'CAPABILITY', 'KIND'][i]!.length));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd();
  return { text: [line(['RULE', 'CAPABILITY', 'KIND', 'DESCRIPTION']), ...rows.map(line)].join('\n') + '\n', exitCode: 0 };
}

export const rulesCommand = defineCommand({
  name: 'rules',
  description: 'list the rules with their capability and kind',
  options: (common) => common,
  run: runRules,
});
