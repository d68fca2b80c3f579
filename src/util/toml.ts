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
  checkTomlDepth(body, path);
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

/**
 * Deepest nesting a TOML file may have. Real manifests and lock files stay under 10 (`[target.'cfg(…)'.
 * dependencies.x]` with an inline table is 6); the parsed value is walked recursively later (cache key
 * hashing, JSON), so a 100k-deep array must be refused before it is parsed.
 */
export const MAX_TOML_DEPTH = 100;

/**
 * Upper bound of the nesting a TOML text produces, checked in one linear pass before parsing: open
 * brackets and braces plus the dots of the dotted key being read (`[a.b.c]`, `a.b = …`), strings and
 * comments skipped. Over MAX_TOML_DEPTH: a UserError `path:line: …` at the line where it got too deep.
 */
export function checkTomlDepth(text: string, path: string): void {
  const n = text.length;
  let line = 1;
  let depth = 0;
  let dots = 0;
  let i = 0;
  const too = (): never => {
    throw new UserError(`${path}:${line}: invalid TOML: nested deeper than ${MAX_TOML_DEPTH} levels`);
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
      dots = 0;
      i++;
    } else if (c === 0x23) {
      // # comment
      while (i < n && text.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x22 || c === 0x27) {
      // strings: "…", '…', """…""", '''…'''
      const q = text[i]!;
      const triple = text.startsWith(q + q + q, i);
      i += triple ? 3 : 1;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c && q === '"') {
          if (text.charCodeAt(i + 1) === 0x0a) line++;
          i += 2;
          continue;
        }
        if (d === 0x0a) {
          if (!triple) break; // unterminated: the parser reports it
          line++;
        }
        if (text[i] === q && (!triple || text.startsWith(q + q + q, i))) {
          i += triple ? 3 : 1;
          // up to two more quotes may close a multi-line string
          if (triple) while (text[i] === q) i++;
          break;
        }
        i++;
      }
    } else {
      if (c === 0x5b || c === 0x7b) {
        // [ {
        depth++;
        if (c === 0x7b) dots = 0;
      } else if (c === 0x5d || c === 0x7d) {
        if (depth > 0) depth--;
      } else if (c === 0x2e) {
        dots++;
      } else if (c === 0x3d || c === 0x2c) {
        // = ,
        dots = 0;
      }
      if (depth + dots > MAX_TOML_DEPTH) too();
      i++;
    }
  }
}
