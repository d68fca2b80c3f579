// `cap-scan [scan]`: scan every dependency of the workspace and print its capabilities.

import type { CommandOutput, CommonOptions } from '../options.js';
import { checkCratesExist, filterScan } from '../report/filter.js';
import { render, reportWorkspace } from './lazy.js';
import { defineCommand } from './command.js';

export async function runScan(opts: CommonOptions): Promise<CommandOutput> {
  const parts = { command: 'scan', format: opts.format, verbose: opts.verbose, color: opts.color, filter: opts.filter };
  return reportWorkspace(opts, parts, async ({ project, result: full }) => {
    checkCratesExist(full, opts.filter);
    const result = filterScan(full, opts.filter);
    const text = await render(opts.format, { command: 'scan', result, project, verbose: opts.verbose, color: opts.color, workspaceRoot: project.root });
    return { text, exitCode: 0 };
  });
}

export const scanCommand = defineCommand({
  name: 'scan',
  description: 'scan every dependency of the workspace and print its capabilities (default command)',
  isDefault: true,
  options: (common) => common,
  run: runScan,
});
