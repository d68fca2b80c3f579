// Compile-time contracts, checked by `tsc -p tsconfig.test.json` (part of npm test): each expected-error
// directive below must stay an error, or the type check fails.
import { describe, expect, it } from 'vitest';
import { checkCommand, runCheck, type CheckOptions } from '../src/commands/check.js';
import { defineCommand } from '../src/commands/command.js';
import { commands } from '../src/commands/index.js';
import type { CommonOptions } from '../src/options.js';
import type { Reporter } from '../src/report/index.js';

describe('command and reporter contracts', () => {
  it('a command whose options builder drops a flag, or a reporter missing a kind of report, does not compile', () => {
    // @ts-expect-error denyUnscanned is missing: the check command would never see --deny-unscanned
    const dropped = (common: CommonOptions): CheckOptions => ({ ...common, strict: false, denyIndicators: false, denyUnscanned: undefined });
    defineCommand({ name: 'check2', description: '', options: dropped, run: runCheck });
    // @ts-expect-error a reporter must render (or decline, typed) every kind of report: diff is missing
    const partial: Reporter = { scan: () => '', check: () => '' };
    expect([dropped.length, Object.keys(partial)]).toEqual([1, ['scan', 'check']]);
  });

  it('the CLI registers every command once, in --help order', () => {
    expect(commands.map((c) => c.name)).toEqual(['scan', 'crate <spec>', 'rules', 'check', 'allow', 'diff', 'why <crate> [capability]', 'batch <action> [names...]']);
    expect(commands.filter((c) => c.isDefault).map((c) => c.name)).toEqual(['scan']);
    expect(commands).toContain(checkCommand);
  });
});
