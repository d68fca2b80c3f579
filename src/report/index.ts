// Reporters: format name -> Reporter (one method per kind of report); render.ts calls them.

import type { ReportInput, Reporter } from './common.js';
import { checkFormat, type FormatName } from './formats.js';
import { renderWith } from './render.js';
import { github } from './github.js';
import { html } from './html.js';
import { human } from './human.js';
import { json } from './json.js';
import { markdown } from './markdown.js';
import { sarif } from './sarif.js';

export type { CheckReport, DiffReport, ReportBase, ReportCommand, ReportInput, Reporter, ScanReport, Unsupported } from './common.js';

export { renderWith };

export const reporters: Record<FormatName, Reporter> = { human, json, sarif, markdown, github, html };

/** The reporter for a format name; an unknown name is a UserError listing the valid ones. */
export function getReporter(name: string): Reporter {
  return reporters[checkFormat(name)]!;
}

/** Renders a report in a format; a format that does not support the report is a UserError. */
export function render(format: string, input: ReportInput): string {
  return renderWith(getReporter(format), format, input);
}
