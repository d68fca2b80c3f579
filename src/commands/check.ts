// `cap-scan check`: scan the workspace, compare with the allowlist policy, report what is not allowed.

import { isAbsolute, relative } from 'node:path';
import type { CommandOutput, CommonOptions } from '../options.js';
import type { Policy } from '../policy/allowlist.js';
import { checkCratesExist, filterScan, filterViolations } from '../report/filter.js';
import { render, reportWorkspace } from './lazy.js';
import type { Project } from '../types.js';
import { UserError } from '../types.js';
import { defineCommand } from './command.js';

export interface CheckOptions extends CommonOptions {
  strict: boolean;
  denyIndicators: boolean;
  denyUnscanned: boolean;
}

/** A path for messages: relative to the current directory when inside it. */
export function shownPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

/** Reads the policy of the project's root manifest. Errors name the manifest (as shown to the user) and line. */
export async function readPolicy(project: Project): Promise<{ policy: Policy; text: string }> {
  // the policy parser and the TOML reader load when a command reads a policy, not at start-up
  const [{ parsePolicy }, { readTomlFile }] = await Promise.all([import('../policy/allowlist.js'), import('../project/manifest.js')]);
  const path = project.rootManifest.path;
  let text: string;
  try {
    text = await readTomlFile(path);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${shownPath(path)}: cannot read: ${(e as Error).message}`);
  }
  const policy = parsePolicy(text, shownPath(path));
  return { policy: { ...policy, path }, text };
}

export async function runCheck(opts: CheckOptions): Promise<CommandOutput> {
  // the policy is the root manifest's table, whose bytes the workspace entry checks
  const parts = { command: 'check', format: opts.format, verbose: opts.verbose, color: opts.color, filter: opts.filter, strict: opts.strict, denyIndicators: opts.denyIndicators, denyUnscanned: opts.denyUnscanned };
  return reportWorkspace(opts, parts, async ({ project, result }) => {
    const { policy } = await readPolicy(project);
    const { evaluatePolicy } = await import('../policy/allowlist.js');
    checkCratesExist(result, opts.filter);
    const shown = filterScan(result, opts.filter);
    const all = evaluatePolicy(policy, result, project, { strict: opts.strict, denyIndicators: opts.denyIndicators, denyUnscanned: opts.denyUnscanned });
    const violations = filterViolations(all, shown.unscanned.length, opts.filter);
    const text = await render(opts.format, {
      command: 'check',
      result: shown,
      project,
      violations,
      policyPresent: policy.present,
      verbose: opts.verbose,
      color: opts.color,
      workspaceRoot: project.root,
    });
    return { text, exitCode: violations.ok ? 0 : 1 };
  });
}

export const checkCommand = defineCommand({
  name: 'check',
  description: 'scan and compare with [workspace.metadata.cap-scan.allow]; exit 1 if anything is not allowed',
  configure: (cmd) =>
    cmd
      .option('--strict', 'also fail on allowlist entries nothing uses')
      .option('--deny-indicators', 'also fail on supply-chain indicators (without it they are listed as warnings)')
      .option('--deny-unscanned', 'also fail when a crate could not be located or downloaded (listed as unscanned)'),
  options: (common, _args, flags): CheckOptions => ({
    ...common,
    strict: !!flags.strict,
    denyIndicators: !!flags.denyIndicators,
    denyUnscanned: !!flags.denyUnscanned,
  }),
  run: runCheck,
});
