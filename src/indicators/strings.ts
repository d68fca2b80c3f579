// String-literal helpers for the supply-chain indicators: Rust literal unescaping, URL extraction,
// host extraction. Pure functions, no I/O.
import type Parser from 'tree-sitter';
import { treeSitter } from '../parse/captures.js';
import { hostOfUrl } from '../util/url.js';

type SyntaxNode = Parser.SyntaxNode;

/** One Rust string literal of a file. `value` is unescaped; line and column are 1-based (column in UTF-16 units). */
export interface StringLit {
  value: string;
  line: number;
  column: number;
  /** Source text of the literal, prefix and quotes included (`b"…"`, `r#"…"#`). */
  raw: string;
}

// compiled at first use: loading this module must not load the grammar (a warm scan parses nothing)
let literalQuery: Parser.Query | null = null;
const LITERAL_QUERY = () => (literalQuery ??= new (treeSitter().Parser).Query(treeSitter().Rust, '[(string_literal) (raw_string_literal)] @s'));

/** Every string literal under `root` (token trees of macros and attributes included), in source order. */
export function collectStringLiterals(root: SyntaxNode, source: string): StringLit[] {
  const out: StringLit[] = [];
  for (const { node } of LITERAL_QUERY().captures(root)) {
    const raw = source.slice(node.startIndex, node.endIndex);
    out.push({ value: unescapeRustString(raw), line: node.startPosition.row + 1, column: node.startPosition.column + 1, raw });
  }
  return out;
}

/**
 * The value of a Rust string literal given its source text: `"…"`, `b"…"`, `c"…"`, `r#"…"#`, `br"…"`, `cr"…"`.
 * Byte escapes `\xNN` become the code point U+00NN. Malformed escapes are kept verbatim.
 */
export function unescapeRustString(raw: string): string {
  let i = 0;
  while (i < raw.length && /[a-z]/.test(raw[i]!)) i++;
  const prefix = raw.slice(0, i);
  if (prefix.endsWith('r')) {
    let hashes = 0;
    while (raw[i + hashes] === '#') hashes++;
    const start = i + hashes + 1;
    let end = raw.length - hashes - 1;
    if (end < start) end = start;
    return raw.slice(start, end);
  }
  const body = raw.slice(i + 1, raw.endsWith('"') && raw.length > i + 1 ? raw.length - 1 : raw.length);
  if (!body.includes('\\')) return body;
  let out = '';
  for (let j = 0; j < body.length; j++) {
    const ch = body[j]!;
    if (ch !== '\\' || j + 1 >= body.length) {
      out += ch;
      continue;
    }
    const next = body[j + 1]!;
    switch (next) {
      case 'n': out += '\n'; j++; break;
      case 'r': out += '\r'; j++; break;
      case 't': out += '\t'; j++; break;
      case '0': out += '\0'; j++; break;
      case '\\': out += '\\'; j++; break;
      case '"': out += '"'; j++; break;
      case "'": out += "'"; j++; break;
      case 'x': {
        const hex = body.slice(j + 2, j + 4);
        if (/^[0-9a-fA-F]{2}$/.test(hex)) {
          out += String.fromCharCode(parseInt(hex, 16));
          j += 3;
        } else out += ch;
        break;
      }
      case 'u': {
        const m = /^\{([0-9a-fA-F_]{1,8})\}/.exec(body.slice(j + 2));
        const cp = m ? parseInt(m[1]!.replace(/_/g, ''), 16) : NaN;
        if (m && cp <= 0x10ffff) {
          out += String.fromCodePoint(cp);
          j += 1 + m[0].length;
        } else out += ch;
        break;
      }
      case '\n':
      case '\r': {
        // line continuation: skip the newline and the following whitespace
        let k = j + 1;
        while (k < body.length && /\s/.test(body[k]!)) k++;
        j = k - 1;
        break;
      }
      default:
        out += ch;
    }
  }
  return out;
}

// ---------------------------------------------------------------- URLs

const IPV4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
// Named schemes, or any scheme when the host is an IP literal (`tcp://1.2.3.4:9089`).
const URL_RE = new RegExp(
  String.raw`(?<![A-Za-z0-9+.\-])(?:(?:https?|wss?|ftps?|sftp)://|[A-Za-z][A-Za-z0-9+.\-]{1,15}://(?=\[[0-9A-Fa-f:.]+\]|${IPV4}(?![\d.])))[^\s"'<>\x60\\^|\x00-\x1f\x7f]*`,
  'g',
);
const NAMED_SCHEME = /^(?:https?|wss?|ftps?|sftp):\/\//i;
const TRAILING = /[.,;:!?'"*]+$/;

function stripTrailing(url: string): string {
  let u = url;
  for (;;) {
    const before = u;
    u = u.replace(TRAILING, '');
    for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']] as const) {
      while (u.endsWith(close) && count(u, close) > count(u, open)) u = u.slice(0, -1);
    }
    if (u === before) return u;
  }
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

/**
 * URLs in a string value: http(s), ws(s), ftp(s), sftp, and any scheme with an IP-literal host.
 * Trailing punctuation and unbalanced closing brackets are stripped; URLs whose host is missing or a
 * template placeholder (`https://{}/x`, `http://%s`, `https://${HOST}`) are ignored. Nothing else is
 * normalized. Order of appearance, duplicates kept.
 */
export function extractUrls(value: string): string[] {
  if (!value.includes('://')) return [];
  const out: string[] = [];
  URL_RE.lastIndex = 0;
  for (let m = URL_RE.exec(value); m; m = URL_RE.exec(value)) {
    const url = stripTrailing(m[0]);
    if (hostOfUrl(url) !== null) out.push(url);
  }
  return out;
}

/** True when the URL's scheme is one of the named web schemes (not an IP-literal-only match). */
export function isNamedSchemeUrl(url: string): boolean {
  return NAMED_SCHEME.test(url);
}

const IPV4_EXACT = new RegExp(`^${IPV4}$`);
const DOMAIN_RE = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}$/;

export function isIpv4(s: string): boolean {
  return IPV4_EXACT.test(s) && s.split('.').every((o) => Number(o) <= 255);
}

function isIpv6(s: string): boolean {
  return /^[0-9A-Fa-f:.]+$/.test(s) && s.includes(':') && (s.match(/:/g)?.length ?? 0) >= 2;
}

/**
 * Host of a literal passed to a network API: `"evil.example:443"`, `"1.2.3.4:80"`, `"[::1]:8080"`, or a bare
 * host (`"evil.example"`, `"10.0.0.1"`, `"::1"`, `"localhost"`). Returns the lower-cased host (IPv6 without
 * brackets), or null when the value is not a host (URLs, paths, words, placeholders).
 */
export function hostPortLiteral(value: string): string | null {
  const v = value.trim();
  if (v === '' || /\s/.test(v)) return null;
  const bracket = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(v);
  if (bracket) {
    if (!isIpv6(bracket[1]!) || !portOk(bracket[2])) return null;
    return bracket[1]!.toLowerCase();
  }
  if (isIpv6(v) && !/^\d+(\.\d+)*:\d+$/.test(v)) return v.toLowerCase();
  const hp = /^([^:]+)(?::(\d{1,5}))?$/.exec(v);
  if (!hp || !portOk(hp[2])) return null;
  const host = hp[1]!;
  if (isIpv4(host)) return host;
  if (/^\d+(\.\d+)*$/.test(host)) return null;
  if (host.toLowerCase() === 'localhost' || DOMAIN_RE.test(host)) return host.toLowerCase();
  return null;
}

function portOk(port: string | undefined): boolean {
  return port === undefined || Number(port) <= 65535;
}
