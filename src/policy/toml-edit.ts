// A minimal, text-level TOML statement scanner and table editor.
//
// @iarna/toml parses values but gives no positions and cannot write a document back without
// reformatting it. cap-scan needs two things it cannot do: the line of a key (for error messages)
// and editing one table of Cargo.toml while every other byte stays identical. This module splits
// the text into statements (headers, key/value pairs, comments, blank lines) with their byte
// offsets; values are skipped over, not interpreted (strings, arrays and inline tables may span
// lines).

import { UserError } from '../types.js';

export type StatementType = 'header' | 'arrayHeader' | 'keyValue' | 'comment' | 'blank';

export interface Statement {
  type: StatementType;
  /** Offset of the first character of the line the statement starts on. */
  start: number;
  /** Offset just past the statement's line ending (or the end of the text). */
  end: number;
  /** Offset of the key (keyValue) or `[` (headers), after indentation. */
  contentStart: number;
  /** keyValue: offset just past the value (before trailing whitespace / comment). */
  valueEnd: number;
  /** keyValue: offset of the first character of the value. */
  valueStart: number;
  /** 1-based line of `contentStart`. */
  line: number;
  /** Header: the table path. keyValue: the dotted key (relative to its table). */
  key: string[];
  /** keyValue: the table the statement belongs to (path of the last header, [] at top). */
  table: string[];
}

class ScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

const BARE_KEY = /[A-Za-z0-9_-]/;

/** Parses a (dotted) key starting at `pos`; stops at `stop` characters. Returns the parts and the end offset. */
function scanKey(text: string, pos: number, stops: string): { parts: string[]; end: number } {
  const parts: string[] = [];
  let i = pos;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    const c = text[i];
    if (c === '"') {
      const end = scanBasicString(text, i);
      parts.push(JSON.parse(text.slice(i, end).replace(/\\U([0-9A-Fa-f]{8})/g, (_m, h: string) =>
        String.fromCodePoint(parseInt(h, 16)).split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
      )) as string);
      i = end;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      const nl = text.indexOf('\n', i + 1);
      if (close < 0 || (nl >= 0 && nl < close)) throw new ScanError('unterminated literal key', i);
      parts.push(text.slice(i + 1, close));
      i = close + 1;
    } else if (c !== undefined && BARE_KEY.test(c)) {
      const start = i;
      while (text[i] !== undefined && BARE_KEY.test(text[i]!)) i++;
      parts.push(text.slice(start, i));
    } else {
      throw new ScanError('expected a key', i);
    }
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '.') {
      i++;
      continue;
    }
    if (text[i] !== undefined && stops.includes(text[i]!)) return { parts, end: i };
    throw new ScanError(`expected ${stops.split('').map((s) => `'${s}'`).join(' or ')} after key`, i);
  }
}

/** Offset just past the closing quote of a single-line basic string starting at `pos` (a `"`). */
function scanBasicString(text: string, pos: number): number {
  let i = pos + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else if (c === '\n') break;
    else i++;
  }
  throw new ScanError('unterminated string', pos);
}

/** Offset just past a value starting at `pos`; understands strings, arrays and inline tables. */
function scanValue(text: string, pos: number): number {
  let i = pos;
  let depth = 0;
  for (;;) {
    if (i >= text.length) {
      if (depth > 0) throw new ScanError('unterminated array or inline table', pos);
      return i;
    }
    const c = text[i]!;
    if (text.startsWith('"""', i) || text.startsWith("'''", i)) {
      const q = text.slice(i, i + 3);
      let j = i + 3;
      for (;;) {
        const k = text.indexOf(q, j);
        if (k < 0) throw new ScanError('unterminated multi-line string', i);
        if (q === '"""') {
          // a quote preceded by an odd number of backslashes is escaped
          let bs = 0;
          while (text[k - 1 - bs] === '\\') bs++;
          if (bs % 2 === 1) {
            j = k + 1;
            continue;
          }
        }
        j = k + 3;
        // up to two extra quotes may close the string (`""""` = a quote then the delimiter)
        while (text[j] === q[0] && j < k + 5) j++;
        break;
      }
      i = j;
      continue;
    }
    if (c === '"') {
      i = scanBasicString(text, i);
      continue;
    }
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      const nl = text.indexOf('\n', i + 1);
      if (close < 0 || (nl >= 0 && nl < close)) throw new ScanError('unterminated string', i);
      i = close + 1;
      continue;
    }
    if (c === '[' || c === '{') {
      depth++;
      i++;
      continue;
    }
    if (c === ']' || c === '}') {
      depth--;
      i++;
      if (depth < 0) throw new ScanError(`unexpected '${c}'`, i - 1);
      continue;
    }
    if (c === '#') {
      if (depth === 0) return trimEnd(text, pos, i);
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (depth === 0) return trimEnd(text, pos, i);
      i++;
      continue;
    }
    i++;
  }
}

function trimEnd(text: string, from: number, to: number): number {
  let e = to;
  while (e > from && (text[e - 1] === ' ' || text[e - 1] === '\t')) e--;
  return e;
}

function endOfLine(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl + 1;
}

/**
 * Splits a TOML document into statements. Throws UserError `<path>:<line>: …` on text it cannot
 * scan (the real parser reports most errors first; this is a backstop).
 */
export function scanStatements(text: string, path = 'Cargo.toml'): Statement[] {
  const out: Statement[] = [];
  let pos = 0;
  let line = 1;
  let table: string[] = [];
  try {
    while (pos < text.length) {
      const start = pos;
      let i = pos;
      while (text[i] === ' ' || text[i] === '\t') i++;
      const c = text[i];
      const base = { start, contentStart: i, line, valueStart: i, valueEnd: i, key: [] as string[], table };
      let end: number;
      if (c === undefined || c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
        end = endOfLine(text, i);
        out.push({ ...base, type: 'blank', end });
      } else if (c === '#') {
        end = endOfLine(text, i);
        out.push({ ...base, type: 'comment', end });
      } else if (c === '[') {
        const isArray = text[i + 1] === '[';
        const k = scanKey(text, i + (isArray ? 2 : 1), ']');
        let j = k.end + 1;
        if (isArray) {
          if (text[j] !== ']') throw new ScanError("expected ']]'", j);
          j++;
        }
        end = endOfLine(text, j);
        table = k.parts;
        out.push({ ...base, type: isArray ? 'arrayHeader' : 'header', end, valueEnd: j, key: k.parts, table: k.parts });
      } else {
        const k = scanKey(text, i, '=');
        let v = k.end + 1;
        while (text[v] === ' ' || text[v] === '\t') v++;
        const valueEnd = scanValue(text, v);
        if (valueEnd === v) throw new ScanError('expected a value', v);
        // rest of the line: whitespace and an optional comment
        let r = valueEnd;
        while (text[r] === ' ' || text[r] === '\t') r++;
        if (text[r] !== undefined && text[r] !== '#' && text[r] !== '\n' && !(text[r] === '\r' && text[r + 1] === '\n')) {
          throw new ScanError('unexpected text after value', r);
        }
        end = endOfLine(text, r);
        out.push({ ...base, type: 'keyValue', end, valueStart: v, valueEnd, key: k.parts });
      }
      for (let j = start; j < end; j++) if (text.charCodeAt(j) === 10) line++;
      pos = end;
    }
  } catch (e) {
    if (e instanceof ScanError) throw new UserError(`${path}:${lineOf(text, e.offset)}: ${e.message}`);
    throw e;
  }
  return out;
}

function samePath(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function startsWith(a: string[], prefix: string[]): boolean {
  return prefix.length <= a.length && prefix.every((x, i) => x === a[i]);
}

/**
 * 1-based line where the key path `path` (absolute, e.g. ['workspace','metadata','cap-scan','allow','tokio'])
 * is written, or where the closest enclosing key is written (for keys inside inline tables).
 * Null when nothing on the path is written in the text.
 */
export function findKeyLine(text: string, path: string[]): number | null {
  let best: { len: number; line: number } | null = null;
  for (const st of scanStatements(text)) {
    let full: string[];
    if (st.type === 'header' || st.type === 'arrayHeader') full = st.key;
    else if (st.type === 'keyValue') full = [...st.table, ...st.key];
    else continue;
    // a statement locates `path` when one is a prefix of the other; the longest shared prefix
    // wins, the first statement on ties
    const len = Math.min(full.length, path.length);
    if (!samePath(full.slice(0, len), path.slice(0, len))) continue;
    if (!best || len > best.len) best = { len, line: st.line };
  }
  return best ? best.line : null;
}

/** Writes a key for TOML: bare when possible, else a basic string. */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** Writes a string array on one line: `["a", "b"]`. */
export function tomlStringArray(items: string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;
}

export interface TableEntry {
  /** Unquoted key. */
  key: string;
  /** Value text (TOML). */
  value: string;
}

export interface TableEditOptions {
  /** Path of the document, for error messages. */
  path?: string;
  /** Existing keys of the table to delete (unless they are in `entries`). */
  remove?: (key: string) => boolean;
}

/**
 * Sets `entries` in the table `[tablePath]` of a TOML document, changing nothing else:
 * - an existing `key = value` line keeps its indentation and trailing comment; only `key = value`
 *   is rewritten;
 * - new keys go after the table's last key/value line (or right after its header);
 * - keys selected by `remove` are deleted with their line;
 * - a missing table is appended at the end of the document.
 * Throws UserError when the table is (also) written in a form this editor does not rewrite
 * (inline table, dotted keys, a duplicate header).
 */
export function setTableEntries(text: string, tablePath: string[], entries: TableEntry[], opts: TableEditOptions = {}): string {
  const path = opts.path ?? 'Cargo.toml';
  const stmts = scanStatements(text, path);
  const headerName = tablePath.map(tomlKey).join('.');
  const headers = stmts.filter((s) => s.type === 'header' && samePath(s.key, tablePath));
  if (headers.length > 1) {
    throw new UserError(`${path}:${headers[1]!.line}: table [${headerName}] is defined twice`);
  }
  // the table must not also be written elsewhere (as an inline table or through dotted keys)
  for (const st of stmts) {
    if (st.type !== 'keyValue') continue;
    const full = [...st.table, ...st.key];
    const enclosing = full.length < tablePath.length && startsWith(tablePath, full);
    if (enclosing || (startsWith(full, tablePath) && !samePath(st.table, tablePath))) {
      throw new UserError(
        `${path}:${st.line}: cannot edit [${headerName}] in place: it is written as an inline table or dotted keys here; move it to its own [${headerName}] table`,
      );
    }
    if (samePath(st.table, tablePath) && st.key.length > 1) {
      throw new UserError(`${path}:${st.line}: cannot edit [${headerName}] in place: dotted key '${st.key.join('.')}'`);
    }
  }
  for (const st of stmts) {
    if ((st.type === 'header' || st.type === 'arrayHeader') && startsWith(st.key, tablePath) && st.key.length > tablePath.length) {
      throw new UserError(`${path}:${st.line}: cannot edit [${headerName}] in place: sub-table [${st.key.map(tomlKey).join('.')}]`);
    }
  }

  const wanted = new Map(entries.map((e) => [e.key, e]));
  const lineOfEntry = (e: TableEntry) => `${tomlKey(e.key)} = ${e.value}`;

  if (headers.length === 0) {
    if (entries.length === 0) return text;
    let out = text;
    if (out.length > 0 && !out.endsWith('\n')) out += '\n';
    if (out.length > 0) out += '\n';
    out += `[${headerName}]\n`;
    for (const e of entries) out += `${lineOfEntry(e)}\n`;
    return out;
  }

  const header = headers[0]!;
  const idx = stmts.indexOf(header);
  const body: Statement[] = [];
  for (let i = idx + 1; i < stmts.length; i++) {
    const st = stmts[i]!;
    if (st.type === 'header' || st.type === 'arrayHeader') break;
    body.push(st);
  }
  // edits as [start, end, replacement], applied back to front
  const edits: Array<[number, number, string]> = [];
  const seen = new Set<string>();
  let insertAt = header.end;
  let insertNeedsNewline = !text.slice(header.start, header.end).endsWith('\n');
  for (const st of body) {
    if (st.type !== 'keyValue') continue;
    const key = st.key[0]!;
    const e = wanted.get(key);
    if (e && !seen.has(key)) {
      seen.add(key);
      edits.push([st.contentStart, st.valueEnd, lineOfEntry(e)]);
      insertAt = st.end;
      insertNeedsNewline = !text.slice(st.start, st.end).endsWith('\n');
    } else if (opts.remove?.(key) || seen.has(key)) {
      edits.push([st.start, st.end, '']);
    } else {
      insertAt = st.end;
      insertNeedsNewline = !text.slice(st.start, st.end).endsWith('\n');
    }
  }
  const added = entries.filter((e) => !seen.has(e.key));
  if (added.length > 0) {
    let ins = insertNeedsNewline ? '\n' : '';
    ins += added.map((e) => `${lineOfEntry(e)}\n`).join('');
    edits.push([insertAt, insertAt, ins]);
  }
  edits.sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  let out = text;
  for (const [s, e, r] of edits) out = out.slice(0, s) + r + out.slice(e);
  return out;
}
