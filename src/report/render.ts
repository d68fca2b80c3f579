// Calling a reporter: the method for the kind of report, or a UserError when the format cannot make it.
// Apart from report/index.ts (which loads every reporter) so that a command loads only the one it uses.

import { UserError } from '../types.js';
import type { ReportInput, Reporter, Unsupported } from './common.js';

function call<I extends ReportInput>(format: string, method: ((input: I) => string) | Unsupported, input: I): string {
  if (typeof method !== 'function') throw new UserError(`--format ${format} cannot report ${input.command}: ${method.unsupported}`);
  return method(input);
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
