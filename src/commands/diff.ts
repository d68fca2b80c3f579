// `cap-scan diff --base <git-rev | old Cargo.lock>`: capabilities added and removed by dependency changes.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { CommandOutput, CommonOptions } from '../options.js';
import { filterDiff, filterScan } from '../report/filter.js';
import { render, scanWorkspace } from './lazy.js';
import { UserError } from '../types.js';
import { defineCommand, stringFlag } from './command.js';

const run = promisify(execFile);

export interface DiffOptions extends CommonOptions {
  base: string;
  failOnGrowth: boolean;
}

/** An existing path that is not a directory (a file, or a pipe such as `<(git show …)`). */
async function isFile(p: string): Promise<boolean> {
  try {
    return !(await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function git(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string; code?: string };
    const detail = (err.stderr || err.message).trim().split('\n')[0];
    throw new UserError(err.code === 'ENOENT' ? 'git is not installed (needed for diff --base <git-rev>)' : detail ?? 'git failed');
  }
}

/** The old Cargo.lock's text at a git revision (the lockfile's path relative to the repository root). */
export async function lockfileAtRevision(rev: string, lockPath: string, workspaceRoot: string): Promise<string> {
  if (rev.startsWith('-') || rev.length === 0) throw new UserError(`invalid git revision '${rev}'`);
  const top = (await git(['rev-parse', '--show-toplevel'], workspaceRoot)).trim();
  const rel = relative(top, lockPath).split('\\').join('/');
  try {
    return await git(['show', `${rev}:${rel}`], workspaceRoot);
  } catch (e) {
    throw new UserError(`cannot read ${rel} at git revision '${rev}': ${(e as Error).message}`);
  }
}

export async function runDiff(opts: DiffOptions): Promise<CommandOutput> {
  const { project, result } = await scanWorkspace(opts);
  let tmp: string | null = null;
  try {
    let oldLock: string;
    if (await isFile(resolve(opts.base))) {
      oldLock = resolve(opts.base);
    } else {
      const text = await lockfileAtRevision(opts.base, project.lockfile.path, project.root);
      tmp = await mkdtemp(join(tmpdir(), 'cap-scan-diff-'));
      oldLock = join(tmp, 'Cargo.lock');
      await writeFile(oldLock, text);
    }
    const { result: oldResult } = await scanWorkspace({ ...opts, lockfilePath: oldLock });
    const members = new Set(project.packages.filter((p) => p.member).map((p) => p.name));
    const { diffScans } = await import('../diff/scan-diff.js');
    const diff = filterDiff(diffScans(opts.base, oldResult, result, members), opts.filter);
    const text = await render(opts.format, {
      command: 'diff',
      result: filterScan(result, opts.filter),
      project,
      diff,
      verbose: opts.verbose,
      color: opts.color,
      workspaceRoot: project.root,
    });
    return { text, exitCode: opts.failOnGrowth && diff.growth ? 1 : 0 };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

export const diffCommand = defineCommand({
  name: 'diff',
  description: 'capabilities added and removed by dependency changes since a git revision or an old Cargo.lock',
  configure: (cmd) =>
    cmd
      .requiredOption('--base <rev-or-lockfile>', 'git revision or path to the old Cargo.lock')
      .option('--fail-on-growth', 'exit 1 when any capability or supply-chain indicator was added'),
  // commander enforces --base (requiredOption)
  options: (common, _args, flags): DiffOptions => ({ ...common, base: stringFlag(flags, 'base') ?? '', failOnGrowth: !!flags.failOnGrowth }),
  run: runDiff,
});
