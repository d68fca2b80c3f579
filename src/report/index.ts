// Reporters: a map of format name -> function (ReportInput -> text).

import { UserError } from '../types.js';
import type { Reporter } from './common.js';
import { github } from './github.js';
import { human } from './human.js';
import { json } from './json.js';
import { markdown } from './markdown.js';
import { sarif } from './sarif.js';

export type { ReportCommand, ReportInput, Reporter } from './common.js';

export const reporters: Record<string, Reporter> = { human, json, sarif, markdown, github };

/** The reporter for a format name; an unknown name is a UserError listing the valid ones. */
export function getReporter(name: string): Reporter {
  if (!Object.hasOwn(reporters, name)) {
    throw new UserError(`unknown format '${name}' (expected one of: ${Object.keys(reporters).join(', ')})`);
  }
  return reporters[name]!;
}
