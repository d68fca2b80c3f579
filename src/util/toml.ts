// TOML helpers: the one place that parses TOML text into a table and turns a syntax error into a
// one-line `path:line: invalid TOML…` UserError.

import TOML from '@iarna/toml';
import { UserError } from '../types.js';

export type TomlTable = Record<string, unknown>;

/** A TOML table (not an array, a date or a scalar). */
export function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * Parses TOML text (a leading BOM is ignored); a syntax error becomes a UserError
 * `path:line: invalid TOML<what>: message`. @iarna/toml reports 0-based lines and appends
 * ` at row R, col C, pos P:` and a source excerpt to its message, which are dropped to keep one line.
 * `what` names the kind of file when it helps (` in cargo config`).
 */
export function parseToml(text: string, path: string, what = ''): TomlTable {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return TOML.parse(body) as TomlTable;
  } catch (e) {
    const err = e as { message?: unknown; line?: unknown };
    const raw = typeof err.message === 'string' ? err.message : String(e);
    const first = raw.split('\n')[0]!.replace(/ at row \d+, col \d+, pos \d+:?$/, '').trim();
    const at = typeof err.line === 'number' ? `:${err.line + 1}` : '';
    throw new UserError(`${path}${at}: invalid TOML${what}: ${first}`);
  }
}
