// Reporters: format name -> Reporter (one method per kind of report), and the one place that calls them.

import { UserError } from '../types.js';
import type { ReportInput, Reporter, Unsupported } from './common.js';
import { github } from './github.js';
import { html } from './html.js';
import { human } from './human.js';
import { json } from './json.js';
import { markdown } from './markdown.js';
import { sarif } from './sarif.js';

export type { CheckReport, DiffReport, ReportBase, ReportCommand, ReportInput, Reporter, ScanReport, Unsupported } from './common.js';

export const reporters: Record<string, Reporter> = { human, json, sarif, markdown, github, html };

/** The reporter for a format name; an unknown name is a UserError listing the valid ones. */
export function getReporter(name: string): Reporter {
  if (!Object.hasOwn(reporters, name)) {
    throw new UserError(`unknown format '${name}' (expected one of: ${Object.keys(reporters).join(', ')})`);
  }
  return reporters[name]!;
}

function call<I extends ReportInput>(format: string, method: ((input: I) => string) | Unsupported, input: I): string {
  if (typeof method !== 'function') throw new UserError(`--format ${format} cannot report ${input.command}: ${method.unsupported}`);
  return method(input);
}

/** Renders a report in a format; a format that does not support the report is a UserError. */
export function render(format: string, input: ReportInput): string {
  return renderWith(getReporter(format), format, input);
}

/** Renders a report with a reporter (`format` names it in the error for a report it does not support). */
export function renderWith(reporter: Reporter, format: string, input: ReportInput): string {
  switch (input.command) {
    case 'scan':
      return call(format, reporter.scan, input);
    case 'check':
      return call(format, reporter.check, input);
    case 'diff':
      return call(format, reporter.diff, input);
    default: {
      const unknown: never = input;
      throw new Error(`no reporter method for ${(unknown as ReportInput).command}`);
    }
  }
}
