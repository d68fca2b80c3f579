// Per-file supply-chain indicators over a tree-sitter-rust tree: secrets, obfuscation, bidi, and the URLs
// of string literals. One native query per file (compiled once per module) visits only the node kinds
// needed; nothing walks the whole tree from JS.
import Parser from 'tree-sitter';
import Rust from 'tree-sitter-rust';
import type { Indicator } from '../types.js';
import {
  credentialStore,
  decodeLayers,
  entropy,
  envVarKind,
  isPrintableText,
  quote,
  suspiciousText,
} from './patterns.js';
import { extractUrls, unescapeRustString } from './strings.js';

type SyntaxNode = Parser.SyntaxNode;

export interface FileContext {
  /** The file is (part of) a build script. Reserved: every indicator applies to build scripts. */
  buildScript: boolean;
  /**
   * Test code (tests/, benches, `--all-targets` extras). Token/CI environment reads and high-entropy literals
   * are not reported in test code; `#[cfg(test)]` items of other files get the same treatment.
   */
  test: boolean;
}

export interface FileUrl {
  url: string;
  line: number;
  /** Set when the literal sits in test code (`ctx.test` or a `#[cfg(test)]` item). */
  test?: true;
}

export interface FileIndicators {
  indicators: Indicator[];
  urls: FileUrl[];
}

const LANG = Rust as unknown as Parser.Language;

const QUERY = new Parser.Query(
  LANG,
  `
[(string_literal) (raw_string_literal)] @str
[(attribute_item) (inner_attribute_item)] @attr
(attribute_item (attribute (identifier) @cfgname arguments: (token_tree) @cfgargs) (#eq? @cfgname "cfg")) @cfgattr
(array_expression . [(string_literal) (raw_string_literal) (integer_literal)]) @seq
(token_tree . [(string_literal) (raw_string_literal) (integer_literal)]) @seq
(type_cast_expression value: (integer_literal) type: (primitive_type) @castty (#eq? @castty "char")) @cast
(binary_expression operator: "^") @xor
(call_expression function: [(identifier) (scoped_identifier)] @callee arguments: (arguments . [(string_literal) (raw_string_literal)] @arg))
(macro_invocation macro: [(identifier) (scoped_identifier)] @callee (token_tree . [(string_literal) (raw_string_literal)] @arg))
(const_item name: (identifier) @bindname value: (_) @bindval)
(static_item name: (identifier) @bindname value: (_) @bindval)
(let_declaration pattern: (identifier) @bindname value: [(array_expression) (string_literal) (raw_string_literal)] @bindval)
`,
);

const BIDI_RE = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
const BIDI_LINT_RE = /#!?\s*\[\s*(?:allow|expect)\s*\([^\]]*?\btext_direction_codepoint_in_(literal|comment)\b/g;

/** Literal lengths and entropy (bits/char) above which a literal with no whitespace counts as a blob. */
const ENTROPY_MIN_LEN = 200;
const ENTROPY_MIN_BITS = 5.2;
/** Integer arrays need this many elements before they are read as text. */
const MIN_SPELL_LEN = 6;
const MAX_DETAIL = 120;

interface Range {
  start: number;
  end: number;
}

function inRanges(ranges: Range[], index: number): boolean {
  // ranges sorted by start and non-overlapping after merge
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid]!;
    if (index < r.start) hi = mid - 1;
    else if (index >= r.end) lo = mid + 1;
    else return true;
  }
  return false;
}

function merge(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** The value of an integer literal (`104u8`, `0x68`, `0o150`, `0b1101000`, `1_0`), or null. */
export function integerValue(text: string): number | null {
  const t = text.replace(/_/g, '').replace(/(?:[iu](?:8|16|32|64|128|size))$/, '');
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^0o[0-7]+$/i.test(t)) v = parseInt(t.slice(2), 8);
  else if (/^0b[01]+$/i.test(t)) v = parseInt(t.slice(2), 2);
  else if (/^\d+$/.test(t)) v = parseInt(t, 10);
  else return null;
  return Number.isSafeInteger(v) ? v : null;
}

function spell(values: number[]): string | null {
  if (values.length === 0) return null;
  let s = '';
  for (const v of values) {
    if (!((v >= 0x20 && v < 0x7f) || v === 9 || v === 10 || v === 13)) return null;
    s += String.fromCharCode(v);
  }
  return s;
}

/** Tables, not text: alphabets (`ABCDEF…`, `0123…`) or strings whose characters are nearly all distinct. */
function looksLikeTable(s: string): boolean {
  let ascending = 0;
  for (let i = 1; i < s.length; i++) if (s.charCodeAt(i) === s.charCodeAt(i - 1) + 1) ascending++;
  if (ascending >= (s.length - 1) * 0.5) return true;
  return new Set(s).size >= s.length * 0.9 && s.length >= 16;
}

/** Iteration source of a `.map(|x| … ^ …)` closure or `for x in … { … ^ … }` loop: the receiver chain's root. */
function chainRoot(node: SyntaxNode | null): SyntaxNode | null {
  let n = node;
  for (let depth = 0; n && depth < 12; depth++) {
    if (n.type === 'call_expression') n = n.childForFieldName('function');
    else if (n.type === 'field_expression') n = n.childForFieldName('value');
    else if (n.type === 'generic_function') n = n.childForFieldName('function');
    else if (n.type === 'reference_expression' || n.type === 'parenthesized_expression') n = n.namedChild(n.namedChildCount - 1);
    else if (n.type === 'index_expression' || n.type === 'range_expression') n = n.namedChild(0);
    else return n;
  }
  return null;
}

/** The literal bytes of a data node (byte/str literal, integer array), or null. */
function literalBytes(node: SyntaxNode, source: string): number[] | null {
  if (node.type === 'string_literal' || node.type === 'raw_string_literal') {
    const v = unescapeRustString(source.slice(node.startIndex, node.endIndex));
    return [...v].map((c) => c.codePointAt(0)!);
  }
  if (node.type === 'array_expression') {
    const out: number[] = [];
    for (const c of node.namedChildren) {
      if (c.type !== 'integer_literal') return null;
      const v = integerValue(source.slice(c.startIndex, c.endIndex));
      if (v === null) return null;
      out.push(v);
    }
    return out;
  }
  return null;
}

/**
 * Indicators of one parsed Rust file.
 * - `secrets`: literals naming credential stores; env reads (`env::var`, `var_os`, `env!`, `option_env!`) of
 *   token-like or CI-detection variables (not in test code).
 * - `obfuscation`: base64/hex literals (or joined literal fragments) decoding to URLs, IPs, paths or shell
 *   commands; integer arrays and `N as char` sequences spelling such text; escaped literals spelling it;
 *   long high-entropy literals (not in test code); XOR loops over literal data.
 * - `bidi`: bidirectional control characters anywhere in the source (one per line), and attributes allowing
 *   `text_direction_codepoint_in_literal` / `_in_comment`.
 * URLs: every URL in a string literal outside attributes (comments are not literals), plus URLs in decoded
 * text. Output sorted by line, id, detail; URLs by line, url.
 */
export function fileIndicators(root: SyntaxNode, source: string, file: string, ctx: FileContext): FileIndicators {
  const indicators: Indicator[] = [];
  const urls: FileUrl[] = [];
  const add = (id: string, node: SyntaxNode | number, detail: string): void => {
    const line = typeof node === 'number' ? node : node.startPosition.row + 1;
    indicators.push({ id, file, line, detail });
  };

  const strings: SyntaxNode[] = [];
  const attrRanges: Range[] = [];
  const testRanges: Range[] = [];
  const seqs: SyntaxNode[] = [];
  const casts: SyntaxNode[] = [];
  const xors: SyntaxNode[] = [];
  const calls: { callee: SyntaxNode; arg: SyntaxNode }[] = [];
  const bindings = new Map<string, SyntaxNode>();
  const text = (n: SyntaxNode): string => source.slice(n.startIndex, n.endIndex);

  for (const m of QUERY.matches(root)) {
    const cap = (name: string): SyntaxNode | undefined => m.captures.find((c) => c.name === name)?.node;
    let node: SyntaxNode | undefined;
    if ((node = cap('str'))) strings.push(node);
    else if ((node = cap('attr'))) attrRanges.push({ start: node.startIndex, end: node.endIndex });
    else if ((node = cap('cfgattr'))) {
      const args = text(cap('cfgargs')!);
      if (/\btest\b/.test(args) && !/\bnot\s*\(/.test(args)) {
        let item = node.nextNamedSibling;
        while (item && (item.type === 'attribute_item' || item.type === 'line_comment' || item.type === 'block_comment')) item = item.nextNamedSibling;
        if (item) testRanges.push({ start: node.startIndex, end: item.endIndex });
      }
    } else if ((node = cap('seq'))) seqs.push(node);
    else if ((node = cap('cast'))) casts.push(node);
    else if ((node = cap('xor'))) xors.push(node);
    else if ((node = cap('callee'))) calls.push({ callee: node, arg: cap('arg')! });
    else if ((node = cap('bindname'))) {
      const name = text(node);
      if (!bindings.has(name)) bindings.set(name, cap('bindval')!);
    }
  }
  const attrs = merge(attrRanges);
  const tests = merge(testRanges);
  const isTest = (n: SyntaxNode): boolean => ctx.test || inRanges(tests, n.startIndex);
  const inAttr = (n: SyntaxNode): boolean => inRanges(attrs, n.startIndex);
  const addUrl = (url: string, line: number, test: boolean): void => {
    urls.push(test ? { url, line, test: true } : { url, line });
  };

  // ---- string literals: URLs, credential stores, encoded payloads, blobs
  const values = new Map<number, string>();
  for (const node of strings) {
    if (inAttr(node)) continue;
    const raw = text(node);
    const value = unescapeRustString(raw);
    values.set(node.id, value);
    const line = node.startPosition.row + 1;
    const test = isTest(node);
    if (value.includes('://')) {
      for (const url of extractUrls(value)) {
        const at = raw.indexOf(url);
        addUrl(url, at >= 0 ? line + countNewlines(raw, at) : line, test);
      }
    }
    const store = credentialStore(value);
    if (store) add('secrets', node, `credential store ${store}: ${quote(value, MAX_DETAIL)}`);

    const decoded = decodeLayers(value);
    if (decoded) {
      const why = suspiciousText(decoded.text);
      if (why) {
        add('obfuscation', node, `${decoded.encodings.join('+')} literal decodes to ${why}: ${quote(decoded.text, MAX_DETAIL)}`);
        for (const url of extractUrls(decoded.text)) addUrl(url, line, test);
        continue;
      }
    }
    if (!raw.startsWith('b') && countLetterEscapes(raw) >= 6) {
      const why = suspiciousText(value);
      if (why) {
        add('obfuscation', node, `escaped literal spells ${why}: ${quote(value, MAX_DETAIL)}`);
        continue;
      }
    }
    if (!test && value.length >= ENTROPY_MIN_LEN && !/\s/.test(value) && !raw.startsWith('b')) {
      const bits = entropy(value);
      if (bits >= ENTROPY_MIN_BITS && !looksLikeTable(value)) {
        add('obfuscation', node, `high-entropy literal: ${[...value].length} chars, ${bits.toFixed(2)} bits/char`);
      }
    }
  }

  // ---- sequences: joined string fragments, integer arrays spelling text
  const seen = new Set<number>();
  for (const seq of seqs) {
    if (seen.has(seq.id) || inAttr(seq)) continue;
    seen.add(seq.id);
    const kids = seq.namedChildren;
    const pieces: string[] = [];
    let anyAlone = false;
    const ints: number[] = [];
    let allInts = kids.length > 0;
    const charCasts: number[] = [];
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i]!;
      if (k.type === 'string_literal' || k.type === 'raw_string_literal') {
        const v = values.get(k.id) ?? unescapeRustString(text(k));
        pieces.push(v);
        if (decodeLayers(v)) anyAlone = true;
        allInts = false;
      } else if (k.type === 'integer_literal') {
        const v = integerValue(text(k));
        if (v === null) allInts = false;
        else {
          ints.push(v);
          const next = kids[i + 1];
          if (seq.type === 'token_tree' && next?.type === 'primitive_type' && text(next) === 'char') charCasts.push(v);
        }
      } else allInts = false;
    }
    const line = seq.startPosition.row + 1;
    const test = isTest(seq);
    if (pieces.length >= 2 && !anyAlone) {
      const decoded = decodeLayers(pieces.join(''));
      if (decoded) {
        const why = suspiciousText(decoded.text);
        if (why) {
          add('obfuscation', seq, `${pieces.length} joined ${decoded.encodings.join('+')} fragments decode to ${why}: ${quote(decoded.text, MAX_DETAIL)}`);
          for (const url of extractUrls(decoded.text)) addUrl(url, line, test);
        }
      }
    }
    if (allInts && ints.length >= MIN_SPELL_LEN) {
      const s = spell(ints);
      if (s !== null && !looksLikeTable(s)) {
        const why = suspiciousText(s);
        if (why) {
          add('obfuscation', seq, `integer array spells ${why}: ${quote(s, MAX_DETAIL)}`);
          for (const url of extractUrls(s)) addUrl(url, line, test);
        }
      }
    }
     if (charCasts.length >= 4) {
      const s = spell(charCasts);
      const why = s !== null ? suspiciousText(s) : null;
      if (s !== null && why) {
        add('obfuscation', seq, `integers cast to char spell ${why}: ${quote(s, MAX_DETAIL)}`);
        for (const url of extractUrls(s)) addUrl(url, line, test);
      }
    }
  }

  // ---- `104 as char` sequences, grouped by the enclosing node
  const castGroups = new Map<number, { parent: SyntaxNode; values: number[] }>();
  const castSeen = new Set<number>();
  for (const c of casts) {
    if (castSeen.has(c.id)) continue;
    castSeen.add(c.id);
    const parent = groupParent(c);
    const v = integerValue(text(c.childForFieldName('value')!));
    if (v === null) continue;
    const g = castGroups.get(parent.id) ?? { parent, values: [] };
    g.values.push(v);
    castGroups.set(parent.id, g);
  }
  for (const { parent, values: vs } of castGroups.values()) {
    const s = vs.length >= 4 ? spell(vs) : null;
    const why = s !== null ? suspiciousText(s) : null;
    if (s !== null && why) {
      add('obfuscation', parent, `integers cast to char spell ${why}: ${quote(s, MAX_DETAIL)}`);
      for (const url of extractUrls(s)) addUrl(url, parent.startPosition.row + 1, isTest(parent));
    }
  }

  // ---- XOR over literal data inside a map closure or a for loop
  const xorSeen = new Set<number>();
  for (const x of xors) {
    const hit = xorOverLiteral(x, source, bindings);
    if (!hit || xorSeen.has(hit.loop.id)) continue;
    xorSeen.add(hit.loop.id);
    if (hit.decoded !== null) {
      const why = suspiciousText(hit.decoded);
      add('obfuscation', x, `xor over literal data decodes to ${why ?? 'text'}: ${quote(hit.decoded, MAX_DETAIL)}`);
      for (const url of extractUrls(hit.decoded)) addUrl(url, x.startPosition.row + 1, isTest(x));
    } else if (hit.bytes >= 8) {
      add('obfuscation', x, `xor-decoding loop over ${hit.bytes} bytes of literal data`);
    }
  }

  // ---- environment reads: token-like variables and CI detection
  for (const { callee, arg } of calls) {
    const name = text(callee);
    const last = name.split('::').pop()!;
    const isMacro = callee.parent?.type === 'macro_invocation';
    if (isMacro ? last !== 'env' && last !== 'option_env' : last !== 'var' && last !== 'var_os') continue;
    if (isTest(callee) || inAttr(callee)) continue;
    const varName = values.get(arg.id) ?? unescapeRustString(text(arg));
    const kind = envVarKind(varName);
    if (kind) add('secrets', callee, `${kind === 'ci' ? 'CI detection' : 'token-like env var'}: ${name}${isMacro ? '!' : ''}(${quote(varName, 60)})`);
  }

  // ---- bidi control characters and lint opt-outs
  BIDI_RE.lastIndex = 0;
  if (BIDI_RE.test(source)) {
    const perLine = new Map<number, Set<string>>();
    BIDI_RE.lastIndex = 0;
    const lineAt = lineIndex(source);
    for (let m = BIDI_RE.exec(source); m; m = BIDI_RE.exec(source)) {
      const line = lineAt(m.index);
      const set = perLine.get(line) ?? new Set<string>();
      set.add(`U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
      perLine.set(line, set);
    }
    for (const [line, cps] of perLine) add('bidi', line, `bidirectional control characters ${[...cps].sort().join(' ')}`);
  }
  if (source.includes('text_direction_codepoint_in_')) {
    const lineAt = lineIndex(source);
    BIDI_LINT_RE.lastIndex = 0;
    for (let m = BIDI_LINT_RE.exec(source); m; m = BIDI_LINT_RE.exec(source)) {
      if (!inRanges(attrs, m.index)) continue;
      add('bidi', lineAt(m.index), `lint allowed: text_direction_codepoint_in_${m[1]}`);
    }
  }

  return { indicators: sortIndicators(indicators), urls: sortUrls(urls) };
}

function sortIndicators(list: Indicator[]): Indicator[] {
  const seen = new Set<string>();
  const out: Indicator[] = [];
  for (const i of list) {
    const key = `${i.line}\u0000${i.id}\u0000${i.detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(i);
  }
  return out.sort((a, b) => a.line - b.line || cmp(a.id, b.id) || cmp(a.detail, b.detail));
}

function sortUrls(list: FileUrl[]): FileUrl[] {
  const seen = new Set<string>();
  const out: FileUrl[] = [];
  for (const u of list) {
    const key = `${u.line}\u0000${u.url}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(u);
  }
  return out.sort((a, b) => a.line - b.line || cmp(a.url, b.url));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function countNewlines(s: string, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

/** `\x68` / `\u{68}` escapes of ASCII letters and digits: legitimate code writes those characters plainly. */
function countLetterEscapes(raw: string): number {
  if (!raw.includes('\\')) return 0;
  let n = 0;
  for (const m of raw.matchAll(/\\x([0-7][0-9a-fA-F])|\\u\{0*([0-7][0-9a-fA-F])\}/g)) {
    const c = parseInt(m[1] ?? m[2]!, 16);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) n++;
  }
  return n;
}

function lineIndex(source: string): (index: number) => number {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) starts.push(i + 1);
  return (index: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** The node whose children a `N as char` belongs to: the argument list / token tree / array around it. */
function groupParent(cast: SyntaxNode): SyntaxNode {
  let n = cast.parent!;
  while (n.parent && (n.type === 'parenthesized_expression' || n.type === 'reference_expression')) n = n.parent;
  return n;
}

interface XorHit {
  loop: SyntaxNode;
  decoded: string | null;
  bytes: number;
}

/**
 * A `^` inside a closure passed to an iterator adapter, or a `for` body, whose iteration source is literal
 * data (a byte/str literal, an integer array, or a const/static/let bound to one in this file). When the
 * other operand is an integer literal, the data is decoded.
 */
function xorOverLiteral(x: SyntaxNode, source: string, bindings: Map<string, SyntaxNode>): XorHit | null {
  let loop: SyntaxNode | null = null;
  let iterable: SyntaxNode | null = null;
  let n: SyntaxNode | null = x.parent;
  for (let depth = 0; n && depth < 8; depth++, n = n.parent) {
    if (n.type === 'closure_expression') {
      const call = n.parent?.type === 'arguments' ? n.parent.parent : null;
      const fn = call?.type === 'call_expression' ? call.childForFieldName('function') : null;
      if (fn?.type === 'field_expression') {
        loop = n;
        iterable = fn.childForFieldName('value');
      }
      break;
    }
    if (n.type === 'for_expression') {
      loop = n;
      iterable = n.childForFieldName('value');
      break;
    }
    if (n.type === 'function_item' || n.type === 'block' && n.parent?.type === 'function_item') break;
  }
  if (!loop || !iterable) return null;
  let data = chainRoot(iterable);
  if (data?.type === 'identifier') data = bindings.get(source.slice(data.startIndex, data.endIndex)) ?? null;
  if (data?.type === 'reference_expression') data = data.namedChild(data.namedChildCount - 1);
  if (!data) return null;
  const bytes = literalBytes(data, source);
  if (!bytes || bytes.length < 4) return null;
  const left = x.childForFieldName('left');
  const right = x.childForFieldName('right');
  const keyNode = [left, right].find((o) => o?.type === 'integer_literal');
  const key = keyNode ? integerValue(source.slice(keyNode.startIndex, keyNode.endIndex)) : null;
  if (key !== null) {
    const decoded = bytes.map((b) => String.fromCharCode((b ^ key) & 0xff)).join('');
    if (isPrintableText(decoded)) return { loop, decoded, bytes: bytes.length };
    return null;
  }
  return { loop, decoded: null, bytes: bytes.length };
}
