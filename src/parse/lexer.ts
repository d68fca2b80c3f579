// A small Rust lexer for the places tree-sitter leaves as flat tokens or cannot parse: macro token trees,
// macro_rules! bodies and ERROR regions. Comments are skipped; string literals become one token, so
// neither can produce a path.

export const enum Tok {
  Ident = 1,
  /** `::` */
  PathSep,
  Punct,
  Str,
  Lifetime,
  Number,
}

export interface Token {
  t: Tok;
  /** Identifier name (raw `r#` removed), punctuation char, or string literal contents (escapes kept). */
  v: string;
  /** Offset in the analysed text (UTF-16 code units). */
  s: number;
}

const IDENT_START = /[A-Za-z_\p{L}]/u;
const IDENT_CONT = /[A-Za-z0-9_\p{L}\p{N}]/u;

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || (c > '\x7f' && IDENT_START.test(c));
}
function isIdentCont(c: string): boolean {
  return (
    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' ||
    (c > '\x7f' && IDENT_CONT.test(c))
  );
}

/** Lex `text[start, end)`. Token offsets are absolute positions in `text`. */
export function lex(text: string, start = 0, end = text.length): Token[] {
  const out: Token[] = [];
  lexInto(text, start, end, out, Infinity);
  return out;
}

/**
 * Lex `text[start, end)` into `out`, stopping once `max` tokens were added and the last one is a `;` or a
 * `}` (or at 2 * max); returns the offset to resume at (`end` when done). Lexing resumed there gives the
 * same tokens as one run: a token never spans the cut.
 */
export function lexInto(text: string, start: number, end: number, out: Token[], max: number): number {
  const first = out.length;
  let i = start;
  while (i < end) {
    const added = out.length - first;
    if (added >= max) {
      const last = out[out.length - 1]!;
      if ((last.t === Tok.Punct && (last.v === ';' || last.v === '}')) || added >= 2 * max) return i;
    }
    const c = text[i]!;
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 || nl > end ? end : nl + 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < end && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    // raw strings and prefixed literals: r"..", r#".."#, b"..", br"..", c"..", cr#".."#, b'x'
    if (c === 'r' || c === 'b' || c === 'c') {
      let j = i;
      if (text[j] === 'b' || text[j] === 'c') j++;
      if (text[j] === 'r' && (text[j + 1] === '"' || text[j + 1] === '#')) {
        let k = j + 1;
        let hashes = 0;
        while (text[k] === '#') {
          hashes++;
          k++;
        }
        if (text[k] === '"') {
          const close = '"' + '#'.repeat(hashes);
          const e = text.indexOf(close, k + 1);
          const stop = e < 0 || e > end ? end : e;
          out.push({ t: Tok.Str, v: text.slice(k + 1, stop), s: i });
          i = e < 0 || e > end ? end : e + close.length;
          continue;
        }
        if (c === 'r' && hashes === 1 && isIdentStart(text[k] ?? '')) {
          // raw identifier r#name
          let e = k;
          while (e < end && isIdentCont(text[e]!)) e++;
          out.push({ t: Tok.Ident, v: text.slice(k, e), s: i });
          i = e;
          continue;
        }
      } else if (j > i && (text[j] === '"' || (c === 'b' && text[j] === "'"))) {
        i = j; // fall through to the plain string/char handling below, prefix dropped
        continue;
      }
    }
    if (c === '"') {
      let k = i + 1;
      while (k < end && text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
      out.push({ t: Tok.Str, v: text.slice(i + 1, Math.min(k, end)), s: i });
      i = k + 1;
      continue;
    }
    if (c === "'") {
      // char literal or lifetime/label
      if (text[i + 1] === '\\') {
        let k = i + 2;
        while (k < end && text[k] !== "'" && text[k] !== '\n') k++;
        out.push({ t: Tok.Str, v: text.slice(i + 1, k), s: i });
        i = k + 1;
        continue;
      }
      const cp = text.codePointAt(i + 1);
      const w = cp !== undefined && cp > 0xffff ? 2 : 1;
      if (text[i + 1 + w] === "'") {
        out.push({ t: Tok.Str, v: text.slice(i + 1, i + 1 + w), s: i });
        i += 2 + w;
        continue;
      }
      let k = i + 1;
      while (k < end && isIdentCont(text[k]!)) k++;
      out.push({ t: Tok.Lifetime, v: text.slice(i + 1, k), s: i });
      i = k > i + 1 ? k : i + 1;
      continue;
    }
    if (c >= '0' && c <= '9') {
      let k = i + 1;
      while (k < end && (isIdentCont(text[k]!) || (text[k] === '.' && text[k + 1] !== '.' && /[0-9]/.test(text[k + 1] ?? '')))) k++;
      out.push({ t: Tok.Number, v: text.slice(i, k), s: i });
      i = k;
      continue;
    }
    if (isIdentStart(c) || (c === '$' && isIdentStart(text[i + 1] ?? ''))) {
      let k = i + 1;
      while (k < end && isIdentCont(text[k]!)) k++;
      out.push({ t: Tok.Ident, v: text.slice(i, k), s: i });
      i = k;
      continue;
    }
    if (c === ':' && text[i + 1] === ':') {
      out.push({ t: Tok.PathSep, v: '::', s: i });
      i += 2;
      continue;
    }
    if (c === '-' && text[i + 1] === '>') {
      out.push({ t: Tok.Punct, v: '->', s: i });
      i += 2;
      continue;
    }
    if (c === '=' && text[i + 1] === '>') {
      out.push({ t: Tok.Punct, v: '=>', s: i });
      i += 2;
      continue;
    }
    const cp = text.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    out.push({ t: Tok.Punct, v: text.slice(i, i + w), s: i });
    i += w;
  }
  return end;
}

/** Rust keywords that can never start a path. */
export const KEYWORDS = new Set([
  'as', 'async', 'await', 'break', 'const', 'continue', 'dyn', 'else', 'enum', 'extern', 'false', 'fn', 'for',
  'if', 'impl', 'in', 'let', 'loop', 'match', 'mod', 'move', 'mut', 'pub', 'ref', 'return', 'static', 'struct',
  'trait', 'true', 'type', 'union', 'unsafe', 'use', 'where', 'while', 'yield', 'macro_rules',
]);
