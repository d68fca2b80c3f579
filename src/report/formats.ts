// The report format names, in --help order, without loading the reporters (the CLI lists them in its help
// before any scan). report/index.ts maps each to its reporter, commands/lazy.ts to its module; a test
// checks the lists agree.

import { UserError } from '../types.js';

export const FORMAT_NAMES = ['human', 'json', 'sarif', 'markdown', 'github', 'html'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** The format name itself; an unknown name is a UserError listing the valid ones. */
export function checkFormat(name: string): FormatName {
  if (!(FORMAT_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown format '${name}' (expected one of: ${FORMAT_NAMES.join(', ')})`);
  }
  return name as FormatName;
}
