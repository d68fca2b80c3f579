// Per-file supply-chain indicators over a tree-sitter-rust tree: secrets, obfuscation, bidi, and the URLs
// of string literals.
//
// Speed: a tree-sitter query cursor visits every node of the tree whatever the pattern (one single-pattern
// query costs ~23% of the parse on the Debian corpus; the combined query of all detectors cost more than the
// parse). So candidates are found with regular expressions over the source text (fast, native), then each
// candidate is confirmed on the tree with `descendantForIndex` (a native lookup): a position only counts
// when the tree says it is inside a string literal / array / call of the right shape, outside attributes.
// Comments, doc comments and identifiers are thereby excluded by the parser, not by the regexes.
import type Parser from 'tree-sitter';
import type { Indicator } from '../types.js';
import {
  credentialStore,
  decodedHost,
  decodeLayers,
  decodeToText,
  entropy,
  envVarKind,
  isPrintableText,
  isSshPublicKey,
  payloadKind,
  PERSISTENCE_GATE,
  persistenceTarget,
  quote,
  SSH_PUBLIC_FILE,
  STORE_GATE,
  WRITE_API,
} from './patterns.js';
import { extractUrls, unescapeRustString } from './strings.js';
import { cmp } from '../util/compare.js';

type SyntaxNode = Parser.SyntaxNode;

export interface FileContext {
  /** The file is (part of) a build script. Every indicator applies to build scripts as to library code. */
  buildScript: boolean;
  /**
   * Test code (tests/, benches/, examples/, `--all-targets` extras). Token/CI environment reads and
   * high-entropy literals are not reported in test code; `#[cfg(test)]` and `#[test]` items of other
   * files get the same treatment.
   */
  test: boolean;
  /**
   * Whether an offset lies in test-only code (`#[cfg(test)]`/`#[test]` items), when the caller already
   * knows (the analyzer does). Without it, the attributes above each node's ancestors are inspected.
   */
  isTestOffset?: (offset: number) => boolean;
  /**
   * Whether an offset lies in an attribute's text (`#[…]`, `#![…]`), when the caller knows (the analyzer
   * has the attributes' ranges): a literal outside every attribute needs no descent from the root to tell.
   */
  inAttributeRange?: (offset: number) => boolean;
}

export interface FileUrl {
  url: string;
  line: number;
  /** Set when the literal sits in test code (`ctx.test`, a `#[cfg(test)]` or `#[test]` item). */
  test?: true;
}

export interface FileHost {
  host: string;
  line: number;
  test?: true;
}

export interface FileIndicators {
  indicators: Indicator[];
  urls: FileUrl[];
  /** Hosts named by decoded text (not by a URL: those are in `urls`). */
  hosts: FileHost[];
}

/** Literals at least this long, of printable ASCII without whitespace, are measured for entropy. */
export const ENTROPY_MIN_LEN = 200;
/** Bits per character at or above which such a literal counts as an opaque blob. */
export const ENTROPY_MIN_BITS = 5.2;
/** Integer arrays need this many printable elements in a row before they are read as text. */
const MIN_SPELL_LEN = 6;
const MAX_DETAIL = 120;

const STRING_TYPES = new Set(['string_literal', 'raw_string_literal']);
const BIDI_RE = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
/**
 * Directional marks (LRM, RLM, ALM) open no embedding, override or isolate: inside a string, char or comment
 * they cannot reorder the code around them (rustc's text_direction_codepoint lints leave them out too). They
 * count only elsewhere; text tables (HTML entities) and docs showing right-to-left text carry them.
 */
const BIDI_MARKS = new Set(['\u200e', '\u200f', '\u061c']);
const TEXT_TOKENS = new Set(['string_literal', 'raw_string_literal', 'char_literal', 'line_comment', 'block_comment']);
const BIDI_LINT_RE = /#!?\s*\[\s*(?:allow|expect)\s*\([^\]]*?\btext_direction_codepoint_in_(literal|comment)\b/g;

// Candidate gates over the source text.
const GATE_URL = /:\/\//g;
const GATE_ENCODED = /"[A-Za-z0-9+/_=-]{8}[A-Za-z0-9+/_=-]*"/g;
const GATE_LETTER_ESCAPE = /\\x[3-7][0-9a-fA-F]|\\u\{0*[3-7][0-9a-fA-F]\}/g;
const GATE_LONG = /"[^\s"]{200}[^\s"]*/g;
const GATE_CONTINUATION = /\\\r?\n/g;
const GATE_FRAGMENTS = /"[A-Za-z0-9+/_=-]{2}[A-Za-z0-9+/_=-]*"\s*,\s*(?:\/\/[^\n]*\n\s*)*(?:r#*)?"[A-Za-z0-9+/_=-]{2}[A-Za-z0-9+/_=-]*"/g;
const PRINTABLE_INT = String.raw`(?:3[2-9]|[4-9]\d|1[01]\d|12[0-6]|0x[2-7][0-9a-fA-F])(?:_?[ui](?:8|16|32|64|size))?`;
const GATE_INT_RUN = new RegExp(String.raw`(?<![\w.])${PRINTABLE_INT}(?:\s*,\s*${PRINTABLE_INT}){${MIN_SPELL_LEN - 1}}`, 'g');
const GATE_CHAR_CAST = /(?<![\w.])(?:\d+|0x[0-9a-fA-F]+)(?:_?[ui](?:8|16|32))?\s+as\s+char\b/g;
const GATE_XOR = /\^(?!=)/g;
const GATE_REVERSED = /"#*\s*\)?\s*\.\s*(?:chars|bytes|as_bytes\s*\(\s*\)\s*\.\s*iter|iter)\s*\(\s*\)\s*\.\s*rev\s*\(/g;
const GATE_BYTE_CHARS = /b'(?:[^'\\\n]|\\[^\n]{1,9}?)'\s*,\s*b'/g;
const GATE_ENV_FN = /\b(?:var|var_os)\s*\(\s*(?:r#*)?"/g;
const GATE_ENV_MACRO = /\b(?:option_env|env)\s*!\s*[(\[{]\s*(?:r#*)?"/g;

function* positions(re: RegExp, source: string): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    yield m;
    if (m[0].length === 0) re.lastIndex++;
  }
}

/**
 * Node types no string literal holds within two levels (a literal's parts are its quotes, string_content and
 * escape_sequence): a candidate in a comment (a URL in a doc comment) is ruled out without climbing parents.
 */
const NOT_IN_LITERAL = new Set(['line_comment', 'block_comment', 'doc_comment', 'outer_doc_comment_marker', 'inner_doc_comment_marker']);

/** The string literal node covering `index`, or null (comments, identifiers, code). */
function literalAt(root: SyntaxNode, index: number): SyntaxNode | null {
  let n: SyntaxNode | null = root.descendantForIndex(index);
  for (let i = 0; n && i < 3; i++, n = n.parent) {
    const t = n.type;
    if (STRING_TYPES.has(t)) return n;
    if (i === 0 && NOT_IN_LITERAL.has(t)) return null;
  }
  return null;
}

/** True when the node sits inside an attribute (`#[doc = "…"]`, `#![doc(html_root_url = "…")]`). */
function inAttributeOf(node: SyntaxNode): boolean {
  // The ancestors' types come from one cursor descent from the root: node.parent itself walks down from the
  // root, so climbing n token trees with it cost O(n x depth) per literal (2,000 nested braces in a macro:
  // seconds per file, quadratic).
  const types: string[] = [];
  const c = node.tree.rootNode.walk();
  const { startIndex: start, endIndex: end, type } = node;
  while (!(c.startIndex === start && c.endIndex === end && c.nodeType === type)) {
    types.push(c.nodeType);
    // the binding returns the child's index (-1: none), not the boolean its types promise
    const moved = c.gotoFirstChildForIndex(start) as unknown as number | boolean;
    if (moved === false || moved === -1 || c.startIndex > start) return inAttributeByParents(node);
  }
  for (let i = types.length - 1; i >= 0; i--) {
    const t = types[i]!;
    if (t === 'attribute_item' || t === 'inner_attribute_item') return true;
    if (t !== 'token_tree' && t !== 'attribute' && !STRING_TYPES.has(t)) return false;
  }
  return false;
}

/** The same by node.parent (only if the descent did not land on the node). */
function inAttributeByParents(node: SyntaxNode): boolean {
  for (let n = node.parent; n; n = n.parent) {
    if (n.type === 'attribute_item' || n.type === 'inner_attribute_item') return true;
    if (n.type !== 'token_tree' && n.type !== 'attribute' && !STRING_TYPES.has(n.type)) return false;
  }
  return false;
}

const TEST_ATTR = /^#\s*\[\s*(?:cfg\s*\((?:(?!\bnot\s*\()[^\]])*\btest\b|(?:[\w:]+::)?test\s*(?:\]|\())/;

/** Whether a node lies in a `#[cfg(test)]` / `#[test]` / `#[tokio::test]` item. */
function inTestItem(node: SyntaxNode, source: string, cache: Map<number, boolean>): boolean {
  const visited: number[] = [];
  let result = false;
  for (let n: SyntaxNode | null = node; n; n = n.parent) {
    const cached = cache.get(n.id);
    if (cached !== undefined) {
      result = cached;
      break;
    }
    visited.push(n.id);
    let hit = false;
    for (let s = n.previousNamedSibling; s; s = s.previousNamedSibling) {
      if (s.type === 'line_comment' || s.type === 'block_comment') continue;
      if (s.type !== 'attribute_item') break;
      if (TEST_ATTR.test(source.slice(s.startIndex, s.endIndex))) {
        hit = true;
        break;
      }
    }
    if (hit) {
      result = true;
      break;
    }
  }
  for (const id of visited) cache.set(id, result);
  return result;
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

/** Tables, not text: alphabets (`ABCDEF…`, `0123…`) or long strings whose characters are nearly all distinct. */
export function looksLikeTable(s: string): boolean {
  let ascending = 0;
  for (let i = 1; i < s.length; i++) if (s.charCodeAt(i) === s.charCodeAt(i - 1) + 1) ascending++;
  if (ascending >= (s.length - 1) * 0.5) return true;
  return new Set(s).size >= s.length * 0.9 && s.length >= 16;
}

/**
 * Indicators of one parsed Rust file.
 * - `secrets`: literals naming credential stores; env reads (`env::var`, `var_os`, `env!`, `option_env!`)
 *   of token-like or CI-detection variables (not in test code).
 * - `obfuscation`: base64/hex literals (or joined literal fragments) decoding to URLs, IPs, paths, shell
 *   commands or credential stores; integer arrays and `N as char` sequences spelling such text; literals
 *   spelling it with `\x` escapes; long high-entropy literals (not in test code, not SSH public-key blobs);
 *   XOR loops over literal data.
 * - `bidi`: bidirectional control characters anywhere in the source (one per line; the marks LRM, RLM and
 *   ALM only outside literals and comments), and attributes allowing `text_direction_codepoint_in_literal`
 *   / `_in_comment`.
 * URLs: every URL in a string literal outside attributes (comments are not literals), plus URLs in decoded
 * text. Indicators sorted by line, id, detail; URLs by line, url; duplicates removed.
 */
export function fileIndicators(root: SyntaxNode, source: string, file: string, ctx: FileContext): FileIndicators {
  const indicators: Indicator[] = [];
  const urls: FileUrl[] = [];
  const testCache = new Map<number, boolean>();
  const text = (n: SyntaxNode): string => source.slice(n.startIndex, n.endIndex);
  const lineOf = (n: SyntaxNode): number => n.startPosition.row + 1;
  const isTestOffset = ctx.isTestOffset;
  const inAttributeRange = ctx.inAttributeRange;
  const inAttribute = (n: SyntaxNode): boolean => (inAttributeRange === undefined || inAttributeRange(n.startIndex)) && inAttributeOf(n);
  const isTest = (n: SyntaxNode): boolean =>
    ctx.test || (isTestOffset ? isTestOffset(n.startIndex) : inTestItem(n, source, testCache));
  const add = (id: string, line: number, detail: string): void => {
    indicators.push({ id, file, line, detail });
  };
  const hosts: FileHost[] = [];
  /** Decoded text: its URLs go to `urls`, a text that is a host (or host:port) as a whole to `hosts`. */
  const addDecoded = (decoded: string, line: number, node: SyntaxNode): void => {
    addUrls(extractUrls(decoded), line, node);
    const host = decodedHost(decoded);
    if (host) hosts.push(isTest(node) ? { host, line, test: true } : { host, line });
  };
  const addUrls = (found: string[], line: number, node: SyntaxNode): void => {
    if (found.length === 0) return;
    const test = isTest(node);
    for (const url of found) urls.push(test ? { url, line, test: true } : { url, line });
  };

  // ---- string literals
  const literals = new Map<number, SyntaxNode>();
  const values = new Map<number, string>();
  const valueOf = (n: SyntaxNode): string => {
    let v = values.get(n.id);
    if (v === undefined) {
      v = unescapeRustString(text(n));
      values.set(n.id, v);
    }
    return v;
  };
  const gateLiterals = (re: RegExp, offset = 0): void => {
    let lastEnd = -1;
    for (const m of positions(re, source)) {
      const at = m.index + offset;
      if (at < lastEnd) continue;
      const lit = literalAt(root, at);
      if (!lit) continue;
      lastEnd = lit.endIndex;
      if (!literals.has(lit.id)) literals.set(lit.id, lit);
    }
  };
  gateLiterals(GATE_URL);
  gateLiterals(STORE_GATE);
  gateLiterals(PERSISTENCE_GATE);
  gateLiterals(GATE_ENCODED, 1);
  gateLiterals(GATE_LETTER_ESCAPE);
  gateLiterals(GATE_LONG, 1);
  gateLiterals(GATE_CONTINUATION);

  // ---- joined string fragments (array elements, macro or call arguments), decoded before single literals
  const joined = new Set<number>();
  const containers = new Set<number>();
  {
    let lastEnd = -1;
    for (const m of positions(GATE_FRAGMENTS, source)) {
      if (m.index < lastEnd) continue;
      const lit = literalAt(root, m.index + 1);
      const box = lit?.parent;
      if (!lit || !box || containers.has(box.id)) continue;
      if (box.type !== 'array_expression' && box.type !== 'token_tree' && box.type !== 'arguments') continue;
      containers.add(box.id);
      lastEnd = box.endIndex;
      if (inAttribute(lit)) continue;
      const pieces: string[] = [];
      const ids: number[] = [];
      for (const k of box.namedChildren) {
        if (!STRING_TYPES.has(k.type)) continue;
        pieces.push(valueOf(k));
        ids.push(k.id);
      }
      if (pieces.length < 2) continue;
      const decoded = decodeLayers(pieces.join(''));
      const why = decoded ? payloadKind(decoded.text) : null;
      if (decoded && why) {
        for (const id of ids) joined.add(id);
        add('obfuscation', lineOf(box), `${pieces.length} joined ${decoded.encodings.join('+')} fragments decode to ${why}: ${quote(decoded.text, MAX_DETAIL)}`);
        addDecoded(decoded.text, lineOf(box), box);
        continue;
      }
      // fragments each padded (`"aHR0cHM6Ly9=", "ZXZpbC5leGFtcGxl"`): decoded one by one, then joined
      const each = pieces.map((p) => decodeToText(p));
      if (each.every((d) => d !== null)) {
        const text = each.map((d) => d!.text).join('');
        const whyEach = payloadKind(text);
        if (whyEach) {
          for (const id of ids) joined.add(id);
          add('obfuscation', lineOf(box), `${pieces.length} ${[...new Set(each.map((d) => d!.encoding))].sort().join('+')} fragments decoded one by one decode to ${whyEach}: ${quote(text, MAX_DETAIL)}`);
          addDecoded(text, lineOf(box), box);
        }
      }
    }
  }

  const writeScopes: WriteScopes = { fns: null, hits: new Map() };
  /** Literals already judged as part of the path an earlier literal builds (`.join("hooks")`). */
  const consumed = new Set<number>();
  for (const node of [...literals.values()].sort((a, b) => a.startIndex - b.startIndex)) {
    if (inAttribute(node)) continue;
    const raw = text(node);
    const value = valueOf(node);
    const line = lineOf(node);
    if (value.includes('://')) {
      for (const url of extractUrls(value)) {
        const at = raw.indexOf(url);
        addUrls([url], at >= 0 ? line + countNewlines(raw, at) : line, node);
      }
    }
    const store = credentialStore(value);
    if (store && !(store === '.ssh' && sshDirJoinedWithPublicFile(value, node.endIndex, source))) {
      add('secrets', line, `credential store ${store}: ${quote(value, MAX_DETAIL)}`);
    } else if (!store && /^[~.\w\\/-]/.test(value) && value.length <= 200) {
      // `home.join(".docker").join("config.json")`: the path the literals build, judged as a whole
      const before = joinedBefore(node.startIndex, source);
      // a literal joined to one that already names a store was reported with it
      const path = before && credentialStore(before.slice(0, -1)) ? null : joinedPath(before + value, node.endIndex, source) ?? (before ? before + value : null);
      const joinedStore = path ? credentialStore(path) : null;
      if (path && joinedStore) add('secrets', line, `credential store ${joinedStore}: ${quote(path, MAX_DETAIL)}`);
    }

    if (value.length <= 400 && !consumed.has(node.startIndex)) {
      const before = joinedBefore(node.startIndex, source);
      const built = joinedPath(before + value, node.endIndex, source, consumed) ?? (before ? before + value : null);
      const target = persistenceTarget(value) ?? (built ? persistenceTarget(built) : null);
      if (target && writesNear(node, source, writeScopes)) add('persistence', line, `writes ${target}: ${quote(built && persistenceTarget(built) ? built : value, MAX_DETAIL)}`);
    }

    const decoded = joined.has(node.id) ? null : decodeLayers(value);
    const decodedWhy = decoded ? payloadKind(decoded.text) : null;
    if (decoded && decodedWhy) {
      add('obfuscation', line, `${decoded.encodings.join('+')} literal decodes to ${decodedWhy}: ${quote(decoded.text, MAX_DETAIL)}`);
      addDecoded(decoded.text, line, node);
      continue;
    }
    if (!/^b/.test(raw) && countLetterEscapes(raw) >= 6) {
      const why = payloadKind(value);
      if (why) {
        add('obfuscation', line, `escaped literal spells ${why}: ${quote(value, MAX_DETAIL)}`);
        continue;
      }
    }
    if (value.length >= ENTROPY_MIN_LEN && !/^b/.test(raw) && /^[\x21-\x7e]+$/.test(value) && !isTest(node)) {
      const bits = entropy(value);
      if (bits >= ENTROPY_MIN_BITS && !looksLikeTable(value) && !isSshPublicKey(value)) {
        add('obfuscation', line, `high-entropy literal: ${[...value].length} chars, ${bits.toFixed(2)} bits/char`);
      }
    }
  }

  // ---- integer arrays spelling text (`[104u8, 116, 116, 112, …]`, `vec![…]`)
  {
    let lastEnd = -1;
    for (const m of positions(GATE_INT_RUN, source)) {
      if (m.index < lastEnd) continue;
      const lit = root.descendantForIndex(m.index);
      const box = lit.type === 'integer_literal' ? lit.parent : null;
      if (!box || (box.type !== 'array_expression' && box.type !== 'token_tree')) continue;
      lastEnd = box.endIndex;
      if (containers.has(box.id)) continue;
      containers.add(box.id);
      const kids = box.namedChildren;
      if (kids.length < MIN_SPELL_LEN || kids.some((k) => k.type !== 'integer_literal')) continue;
      const s = spell(kids.map((k) => integerValue(text(k)) ?? -1));
      if (s === null || looksLikeTable(s)) continue;
      const why = payloadKind(s);
      if (why) {
        add('obfuscation', lineOf(box), `integer array spells ${why}: ${quote(s, MAX_DETAIL)}`);
        addDecoded(s, lineOf(box), box);
      }
    }
  }

  // ---- reversed literals: `"moc.elpmaxe//:sptth".chars().rev()`, `b"…".iter().rev()`
  for (const m of positions(GATE_REVERSED, source)) {
    const lit = literalAt(root, m.index);
    if (!lit || inAttribute(lit)) continue;
    const reversed = [...valueOf(lit)].reverse().join('');
    const why = payloadKind(reversed);
    if (why) {
      add('obfuscation', lineOf(lit), `reversed literal spells ${why}: ${quote(reversed, MAX_DETAIL)}`);
      addDecoded(reversed, lineOf(lit), lit);
    }
  }

  // ---- byte-character arrays spelling text (`[b'h', b't', …]`, `vec![b'/', b'b', …]`)
  {
    let lastEnd = -1;
    for (const m of positions(GATE_BYTE_CHARS, source)) {
      if (m.index < lastEnd) continue;
      const lit = root.descendantForIndex(m.index);
      const box = lit.type === 'char_literal' ? lit.parent : null;
      if (!box || (box.type !== 'array_expression' && box.type !== 'token_tree')) continue;
      lastEnd = box.endIndex;
      if (containers.has(box.id)) continue;
      containers.add(box.id);
      const kids = box.namedChildren;
      if (kids.length < MIN_SPELL_LEN || kids.some((k) => k.type !== 'char_literal' || !text(k).startsWith("b'"))) continue;
      const s = spell(kids.map((k) => unescapeRustString(text(k).replace(/^b'/, 'b"').replace(/'$/, '"')).codePointAt(0) ?? -1));
      if (s === null || looksLikeTable(s)) continue;
      const why = payloadKind(s);
      if (why) {
        add('obfuscation', lineOf(box), `byte array spells ${why}: ${quote(s, MAX_DETAIL)}`);
        addDecoded(s, lineOf(box), box);
      }
    }
  }

  // ---- `104 as char` sequences, grouped by the enclosing argument list / token tree / array
  {
    const groups = new Set<number>();
    for (const m of positions(GATE_CHAR_CAST, source)) {
      const lit = root.descendantForIndex(m.index);
      if (lit.type !== 'integer_literal') continue;
      let box = lit.parent;
      if (box?.type === 'type_cast_expression') {
        box = box.parent;
        while (box && (box.type === 'parenthesized_expression' || box.type === 'reference_expression')) box = box.parent;
      }
      if (!box || groups.has(box.id)) continue;
      groups.add(box.id);
      const vals = charCastValues(box, source);
      const s = vals.length >= 4 ? spell(vals) : null;
      const why = s !== null ? payloadKind(s) : null;
      if (s !== null && why) {
        add('obfuscation', lineOf(box), `integers cast to char spell ${why}: ${quote(s, MAX_DETAIL)}`);
        addDecoded(s, lineOf(box), box);
      }
    }
  }

  // ---- XOR over literal data inside a map closure or a for loop
  {
    const loops = new Set<number>();
    const bindings = new Map<string, SyntaxNode | null>();
    for (const m of positions(GATE_XOR, source)) {
      const op = root.descendantForIndex(m.index);
      const x = op.parent;
      if (!x || x.type !== 'binary_expression' || op.type !== '^') continue;
      const hit = xorOverLiteral(x, root, source, bindings);
      if (!hit || loops.has(hit.loop.id)) continue;
      loops.add(hit.loop.id);
      if (hit.decoded !== null) {
        const why = payloadKind(hit.decoded);
        add('obfuscation', lineOf(x), `xor over literal data decodes to ${why ?? 'text'}: ${quote(hit.decoded, MAX_DETAIL)}`);
        addDecoded(hit.decoded, lineOf(x), x);
      } else if (hit.bytes >= 8) {
        add('obfuscation', lineOf(x), `xor-decoding loop over ${hit.bytes} bytes of literal data`);
      }
    }
  }

  // ---- environment reads: token-like variables and CI detection
  for (const [re, isMacro] of [[GATE_ENV_FN, false], [GATE_ENV_MACRO, true]] as const) {
    for (const m of positions(re, source)) {
      const lit = literalAt(root, m.index + m[0].length - 1);
      if (!lit) continue;
      const holder = lit.parent;
      let callee: SyntaxNode | null = null;
      if (!isMacro && holder?.type === 'arguments' && holder.firstNamedChild?.id === lit.id && holder.parent?.type === 'call_expression') {
        callee = holder.parent.childForFieldName('function');
        if (callee && callee.type !== 'identifier' && callee.type !== 'scoped_identifier') callee = null;
      } else if (isMacro && holder?.type === 'token_tree' && holder.firstNamedChild?.id === lit.id && holder.parent?.type === 'macro_invocation') {
        callee = holder.parent.childForFieldName('macro');
      }
      if (!callee) continue;
      const name = text(callee);
      const last = name.split('::').pop()!.trim();
      if (isMacro ? last !== 'env' && last !== 'option_env' : last !== 'var' && last !== 'var_os') continue;
      if (inAttribute(lit) || isTest(lit)) continue;
      const varName = valueOf(lit);
      const kind = envVarKind(varName);
      if (kind) add('secrets', lineOf(callee), `${kind === 'ci' ? 'CI detection' : 'token-like env var'}: ${name}${isMacro ? '!' : ''}(${quote(varName, 60)})`);
    }
  }

  // ---- bidi control characters and lint opt-outs
  BIDI_RE.lastIndex = 0;
  const hasBidi = BIDI_RE.test(source);
  const hasLint = source.includes('text_direction_codepoint_in_');
  if (hasBidi || hasLint) {
    const lineAt = lineIndex(source);
    if (hasBidi) {
      const perLine = new Map<number, Set<string>>();
      for (const m of positions(BIDI_RE, source)) {
        if (BIDI_MARKS.has(m[0]) && inTextToken(root, m.index)) continue;
        const line = lineAt(m.index);
        const set = perLine.get(line) ?? new Set<string>();
        set.add(`U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
        perLine.set(line, set);
      }
      for (const [line, cps] of perLine) add('bidi', line, `bidirectional control characters ${[...cps].sort().join(' ')}`);
    }
    if (hasLint) {
      for (const m of positions(BIDI_LINT_RE, source)) {
        const n = root.descendantForIndex(m.index);
        if (n.type !== '#' || (n.parent?.type !== 'attribute_item' && n.parent?.type !== 'inner_attribute_item')) continue;
        add('bidi', lineAt(m.index), `lint allowed: text_direction_codepoint_in_${m[1]}`);
      }
    }
  }

  return { indicators: sortIndicators(indicators), urls: sortUrls(urls), hosts: sortHosts(hosts) };
}

const SSH_DIR = /(?:^|[\\/~])\.ssh[\\/]*$/i;
/** After a literal: the call closes, then the same path is extended by a literal (`.join("x")`, `; p.push("x")`). */
const NEXT_PATH_LITERAL = /\s*\)\s*(?:;\s*[A-Za-z_][\w.]*?\s*)?\.\s*(?:push|join)\s*\(\s*&?\s*"([^"\\\r\n]+)"/y;

/**
 * A literal naming the `.ssh` directory itself whose path is extended right away by a literal file that
 * holds no secret: `home.join(".ssh").join("known_hosts")`, `p.push(".ssh"); p.push("config")`. The path
 * is judged as a whole; a directory used otherwise (listed, joined with a variable) still counts.
 */
function sshDirJoinedWithPublicFile(value: string, end: number, source: string): boolean {
  if (!SSH_DIR.test(value)) return false;
  NEXT_PATH_LITERAL.lastIndex = end;
  const m = NEXT_PATH_LITERAL.exec(source);
  return !!m && SSH_PUBLIC_FILE.test(`${value.replace(/[\\/]+$/, '')}/${m[1]}`);
}

const JOIN_LITERAL = /\s*\)\s*(?:;\s*[A-Za-z_][\w.]*?\s*)?\.\s*(?:push|join)\s*\(\s*&?\s*"([^"\\\r\n]{1,200})"/y;
const MAX_JOINS = 6;

const JOINED_BEFORE = /"([^"\\\r\n]{1,200})"\s*\)\s*\.\s*(?:push|join)\s*\(\s*&?\s*$/;

/**
 * The literals a literal at `start` is joined to (`.join(".config").join("autostart")` seen from
 * "autostart": `.config/`), read from the text before it (at most MAX_JOINS, 240 characters each), so the
 * leading directory literals need no tree lookup. Empty when nothing is joined before it.
 */
export function joinedBefore(start: number, source: string): string {
  let prefix = '';
  let at = start;
  for (let n = 0; n < MAX_JOINS; n++) {
    const from = Math.max(0, at - 240);
    const m = JOINED_BEFORE.exec(source.slice(from, at));
    if (!m) break;
    prefix = `${m[1]!.replace(/[\\/]+$/, '')}/${prefix}`;
    at = from + m.index;
  }
  return prefix;
}

/**
 * The path a literal builds with the literals joined right after it (`.join("a").join("b")`,
 * `p.push("a"); p.push("b")`), or null when none follows. Bounded: at most MAX_JOINS joins.
 */
export function joinedPath(value: string, end: number, source: string, consumed?: Set<number>): string | null {
  let path = value;
  let at = end;
  let n = 0;
  for (; n < MAX_JOINS; n++) {
    JOIN_LITERAL.lastIndex = at;
    const m = JOIN_LITERAL.exec(source);
    if (!m) break;
    path = `${path.replace(/[\\/]+$/, '')}/${m[1]!.replace(/^[\\/]+/, '')}`;
    at = JOIN_LITERAL.lastIndex;
    consumed?.add(at - m[1]!.length - 2);
  }
  return n > 0 ? path : null;
}

/**
 * Whether the code around a literal writes files (WRITE_API): the text from the `fn` keyword before the
 * literal to the next one (the function it sits in, lexically), or the whole file for a literal bound by a
 * `const`/`static`. Found by one regex pass over the source and a binary search, not by walking the tree
 * upwards (each `parent` step costs the node's depth: deeply nested recovered trees made that quadratic).
 * Each stretch is tested once.
 */
interface WriteScopes {
  fns: number[] | null;
  hits: Map<number, boolean>;
}
const FN_KEYWORD = /\bfn\b/g;
const CONST_BEFORE = /\b(?:const|static)\s+(?:mut\s+)?[A-Za-z_]\w*\s*:[^;={}]{0,200}=\s*&?\s*$/;

function writesNear(node: SyntaxNode, source: string, cache: WriteScopes): boolean {
  const at = node.startIndex;
  const fileWide = CONST_BEFORE.test(source.slice(Math.max(0, at - 260), at));
  let key = -1;
  let from = 0;
  let to = source.length;
  if (!fileWide) {
    if (cache.fns === null) cache.fns = [...positions(FN_KEYWORD, source)].map((m) => m.index);
    const fns = cache.fns;
    let lo = 0;
    let hi = fns.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fns[mid]! <= at) lo = mid + 1;
      else hi = mid;
    }
    key = lo;
    from = lo > 0 ? fns[lo - 1]! : 0;
    to = lo < fns.length ? fns[lo]! : source.length;
  }
  let hit = cache.hits.get(key);
  if (hit === undefined) {
    hit = WRITE_API.test(source.slice(from, to));
    cache.hits.set(key, hit);
  }
  return hit;
}

/** Whether `index` lies inside a string/char literal or a comment (doc comments included). */
function inTextToken(root: SyntaxNode, index: number): boolean {
  let n: SyntaxNode | null = root.descendantForIndex(index);
  for (let i = 0; n && i < 3; i++, n = n.parent) if (TEXT_TOKENS.has(n.type)) return true;
  return false;
}

/** `N as char` values among a node's children, in order (expression casts or token-tree `N as char`). */
function charCastValues(box: SyntaxNode, source: string): number[] {
  const out: number[] = [];
  const kids = box.namedChildren;
  for (let i = 0; i < kids.length; i++) {
    let k = kids[i]!;
    while (k.type === 'parenthesized_expression' && k.namedChildCount === 1) k = k.namedChild(0)!;
    if (k.type === 'type_cast_expression') {
      const v = k.childForFieldName('value');
      const t = k.childForFieldName('type');
      if (v?.type === 'integer_literal' && t && source.slice(t.startIndex, t.endIndex) === 'char') {
        const n = integerValue(source.slice(v.startIndex, v.endIndex));
        if (n !== null) out.push(n);
      }
    } else if (k.type === 'integer_literal' && kids[i + 1]?.type === 'primitive_type') {
      const t = kids[i + 1]!;
      if (source.slice(t.startIndex, t.endIndex) === 'char') {
        const n = integerValue(source.slice(k.startIndex, k.endIndex));
        if (n !== null) out.push(n);
      }
    }
  }
  return out;
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

function sortHosts(list: FileHost[]): FileHost[] {
  const seen = new Set<string>();
  const out: FileHost[] = [];
  for (const h of list) {
    const key = `${h.line}\u0000${h.host}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
  }
  return out.sort((a, b) => a.line - b.line || cmp(a.host, b.host));
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

/** Iteration source of a `.map(|x| … ^ …)` closure or `for x in … { … ^ … }` loop: the receiver chain's root. */
function chainRoot(node: SyntaxNode | null): SyntaxNode | null {
  let n = node;
  for (let depth = 0; n && depth < 12; depth++) {
    if (n.type === 'call_expression' || n.type === 'generic_function') n = n.childForFieldName('function');
    else if (n.type === 'field_expression') n = n.childForFieldName('value');
    else if (n.type === 'reference_expression' || n.type === 'parenthesized_expression') n = n.namedChild(n.namedChildCount - 1);
    else if (n.type === 'index_expression' || n.type === 'range_expression') n = n.namedChild(0);
    else return n;
  }
  return null;
}

/** The literal bytes of a data node (byte/str literal, integer array), or null. */
function literalBytes(node: SyntaxNode, source: string): number[] | null {
  if (STRING_TYPES.has(node.type)) {
    return [...unescapeRustString(source.slice(node.startIndex, node.endIndex))].map((c) => c.codePointAt(0)!);
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

/** The value node a `const`/`static`/`let` binds `name` to in this file (first binding), or null. */
function bindingValue(name: string, root: SyntaxNode, source: string, cache: Map<string, SyntaxNode | null>): SyntaxNode | null {
  if (cache.has(name)) return cache.get(name)!;
  let found: SyntaxNode | null = null;
  if (/^\w+$/.test(name)) {
    const re = new RegExp(String.raw`\b(?:const|static|let)\s+(?:mut\s+)?(${name})\b`, 'g');
    for (const m of positions(re, source)) {
      const id = root.descendantForIndex(m.index + m[0].length - name.length);
      const decl = id.parent;
      if (!decl || !['const_item', 'static_item', 'let_declaration'].includes(decl.type)) continue;
      found = decl.childForFieldName('value');
      if (found) break;
    }
  }
  cache.set(name, found);
  return found;
}

interface XorHit {
  loop: SyntaxNode;
  decoded: string | null;
  bytes: number;
}

/**
 * A `^` inside a closure passed to an iterator adapter, or a `for` body, whose iteration source is literal
 * data (a byte/str literal, an integer array, or a const/static/let bound to one in this file). When the
 * other operand is an integer literal, the data is decoded (kept only if the result is printable text).
 */
function xorOverLiteral(x: SyntaxNode, root: SyntaxNode, source: string, bindings: Map<string, SyntaxNode | null>): XorHit | null {
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
    if (n.type === 'function_item') break;
  }
  if (!loop || !iterable) return null;
  let data = chainRoot(iterable);
  if (data?.type === 'identifier') data = bindingValue(source.slice(data.startIndex, data.endIndex), root, source, bindings);
  while (data && (data.type === 'reference_expression' || data.type === 'parenthesized_expression')) data = data.namedChild(data.namedChildCount - 1);
  if (!data) return null;
  const bytes = literalBytes(data, source);
  if (!bytes || bytes.length < 4) return null;
  const keyNode = [x.childForFieldName('left'), x.childForFieldName('right')].find((o) => o?.type === 'integer_literal');
  const key = keyNode ? integerValue(source.slice(keyNode.startIndex, keyNode.endIndex)) : null;
  if (key !== null) {
    const decoded = bytes.map((b) => String.fromCharCode((b ^ key) & 0xff)).join('');
    return isPrintableText(decoded) ? { loop, decoded, bytes: bytes.length } : null;
  }
  return { loop, decoded: null, bytes: bytes.length };
}
