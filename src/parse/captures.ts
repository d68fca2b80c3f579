// Stage 1 of the tree analysis: parse with tree-sitter-rust, run one native query for the node kinds the
// facts need, and place each capture (file, inline module, member of an impl or extern block, or a node
// whose parent decides). Nothing here walks every node from JS.

import { createRequire } from 'node:module';
import type ParserT from 'tree-sitter';
import type { AnalyzerConfig } from './analyze.js';

const require = createRequire(import.meta.url);
/**
 * tree-sitter and the grammar, loaded at the first parse (native code, ~30 ms): commands and warm scans that
 * parse nothing never load them.
 */
let native: { Parser: typeof ParserT; Rust: ParserT.Language } | null = null;
export function treeSitter(): { Parser: typeof ParserT; Rust: ParserT.Language } {
  native ??= { Parser: require('tree-sitter') as typeof ParserT, Rust: require('tree-sitter-rust') as ParserT.Language };
  return native;
}

export type Node = ParserT.SyntaxNode;

const ITEM_KINDS = ['struct_item', 'enum_item', 'union_item', 'trait_item', 'function_item', 'const_item', 'static_item', 'macro_definition'];

const BASE_QUERY = [
  '(use_declaration) @use',
  '(extern_crate_declaration) @extern_crate',
  '(mod_item) @mod',
  '(type_item) @alias',
  // items that declare names; whether one sits in a file, a module body or a block (not an impl or trait)
  // is checked in JS: 24 parent-context patterns cost ~15% of the query on the corpus
  `[${ITEM_KINDS.map((k) => `(${k})`).join(' ')}] @item`,
  '(scoped_identifier) @path',
  '(call_expression function: (identifier) @ident)',
  '(generic_function function: (identifier) @ident)',
  '(arguments (identifier) @ident)',
  '(let_declaration value: (identifier) @ident)',
  '(static_item value: (identifier) @ident)',
  '(const_item value: (identifier) @ident)',
  // paths that are not values: the module path of a type (`std::fs::File` as a type), `pub(in a::b)`
  '(scoped_type_identifier path: (scoped_identifier) @skip)',
  '(visibility_modifier (scoped_identifier) @skip)',
  '(macro_invocation) @macro',
  '(macro_definition) @macro_def',
  '(attribute_item) @attr',
  '(inner_attribute_item) @attr',
  '(unsafe_block) @unsafe_block',
  '(function_item (function_modifiers) @fn_mods)',
  '(impl_item "unsafe" @unsafe_impl)',
  '(trait_item "unsafe" @unsafe_trait)',
  '(foreign_mod_item) @extern_block',
  '(impl_item) @impl',
  '(ERROR) @error',
].join('\n');

// Patterns only a file whose text could match gets (each capture is a JS object with a native finalizer;
// these two were ~25% of all captures on the corpus, nearly all useless):
/** String literals, kept only when they hold a build directive (`"cargo:…"`, escapes not decoded). */
const STRING_QUERY = ['(string_literal) @str', '(raw_string_literal) @str'].join('\n');
/** Calls of trait methods the rules name; `#any-of?` is checked in JS on every method call's name. */
const methodQuery = (names: string[]) =>
  `(call_expression function: (field_expression field: (field_identifier) @method (#any-of? @method ${names.map((n) => JSON.stringify(n)).join(' ')})))`;

/**
 * Typed-method rules (receivers.ts): what tells a receiver's type: fn items (parameters, innermost fn of a
 * binding), impl blocks, let declarations, struct fields. A query of its own, run only on a file with a
 * call of one of those methods (see addTreeFacts): in the base query these were ~12% of all captures on
 * the real workspace, for files whose text merely names a method (`exists`, `metadata`, `uid`…) and which
 * nearly never call one (129 calls in 3,215 files).
 */
const RECEIVER_QUERY = [
  // (the call itself is reached from the method capture: a pattern capturing the outer call node made
  // the query buffer every nested match of a chain, 2,800 chained calls: 0.8 s -> 15 s)
  '(function_item) @recv_fn',
  '(parameter) @recv_param',
  '(let_declaration) @recv_let',
  '(field_declaration) @recv_field',
  '(impl_item) @impl',
].join('\n');

/** First string-literal argument of calls: `TcpStream::connect("host:443")`. */
// (The callee is looked up from the argument: a @callee capture in the pattern came back for every call
// of the file, matched or not: 80k captures for 3.6k string arguments on 3000 corpus files.)
const CALL_ARG_QUERY = `(call_expression arguments: (arguments . [(string_literal) (raw_string_literal)] @callarg))`;

/**
 * The structural captures only, for a file the triage cleared (triage.ts): what the scopes, bindings,
 * module declarations, test ranges and parse errors are made of. Paths, identifiers, macro calls and
 * unsafe/extern constructs are left out: the triage proved none of them can produce a finding.
 */
const STRUCTURE_QUERY = [
  '(use_declaration) @use',
  '(extern_crate_declaration) @extern_crate',
  '(mod_item) @mod',
  '(type_item) @alias',
  `[${ITEM_KINDS.map((k) => `(${k})`).join(' ')}] @item`,
  '(macro_definition) @macro_def',
  '(attribute_item) @attr',
  '(inner_attribute_item) @attr',
  '(impl_item) @impl',
  '(ERROR) @error',
].join('\n');

let parser: ParserT | null = null;
const queryCache = new Map<string, { base: ParserT.Query; rules: { rule: string; q: ParserT.Query }[] }>();
let receiverQuery: ParserT.Query | null = null;
const configKeys = new WeakMap<AnalyzerConfig, string>();
const nameTests = new WeakMap<AnalyzerConfig, { methods: RegExp; receivers: RegExp }>();

/**
 * Whether a text contains one of names (as a substring, like `includes`): one regex pass instead of one
 * `includes` pass per name (3x less CPU for the 21 method names). No names: never.
 */
function anyOf(names: readonly string[]): RegExp {
  return names.length === 0 ? /(?!)/ : new RegExp(names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
}

/**
 * The queries for a file: the base patterns, plus the string and method patterns when its text could match
 * them; the receiver query (null unless its text names a typed method) and the rule-supplied queries.
 */
export function getQueries(cfg: AnalyzerConfig, source: string, structural = false): { base: ParserT.Query; recv: ParserT.Query | null; rules: { rule: string; q: ParserT.Query }[] } {
  let cfgKey = configKeys.get(cfg);
  if (cfgKey === undefined) configKeys.set(cfg, (cfgKey = JSON.stringify(cfg)));
  const strings = source.includes('cargo:');
  let names = nameTests.get(cfg);
  if (!names) nameTests.set(cfg, (names = { methods: anyOf(cfg.methodNames), receivers: anyOf(cfg.receiverMethods ?? []) }));
  const methods = names.methods.test(source);
  const receivers = methods && names.receivers.test(source);
  const key = structural ? `s${cfgKey}` : `${+strings}${+methods}${cfgKey}`;
  let q = queryCache.get(key);
  if (!q) {
    const { Parser, Rust } = treeSitter();
    // one query, one pass over the tree: every extra query would walk the whole tree again
    const patterns = structural ? [STRUCTURE_QUERY] : [BASE_QUERY, CALL_ARG_QUERY];
    if (strings && !structural) patterns.push(STRING_QUERY);
    if (methods && !structural) patterns.push(methodQuery(cfg.methodNames));
    q = {
      base: new Parser.Query(Rust, patterns.join('\n')),
      rules: cfg.queries.map((r) => ({ rule: r.rule, q: new Parser.Query(Rust, r.query) })),
    };
    queryCache.set(key, q);
  }
  if (!receivers || structural) return { ...q, recv: null };
  receiverQuery ??= new (treeSitter().Parser.Query)(treeSitter().Rust, RECEIVER_QUERY);
  return { ...q, recv: receiverQuery };
}

export function getParser(): ParserT {
  if (!parser) {
    const { Parser, Rust } = treeSitter();
    parser = new Parser();
    parser.setLanguage(Rust);
  }
  return parser;
}

/** Captures that declare names (bound in the scope that holds them). */
const DECLARATIONS = new Set(['use', 'extern_crate', 'alias', 'item', 'mod']);
/** Captures that can hold declarations. */
const CONTAINERS = new Set(['item', 'mod', 'impl', 'extern_block', 'error']);

/** An item directly in a file, an inline module body or a block (not an impl, trait or extern block). */
function inNameScope(p: Node | null): boolean {
  if (!p) return false;
  const t = p.type;
  if (t === 'source_file' || t === 'block') return true;
  return t === 'declaration_list' && p.parent?.type === 'mod_item';
}


/** One capture of the base query, with where it sits (see placeCaptures). */
export interface Cap {
  name: string;
  node: Node;
  start: number;
  end: number;
  /** The node's parent, asked for only where the enclosing capture does not tell (see placeCaptures). */
  parent?: Node | null;
  /** Where a declaration sits, when the enclosing capture tells. */
  at?: 'file' | 'mod' | 'member';
  /** A macro invocation where items go (a file or an inline module body). */
  itemLevel?: boolean;
}

/**
 * The base query's captures of a tree in document order, placed: items outside a name scope (impl and
 * trait members) are dropped, every other capture kept.
 */
export function placeCaptures(query: ParserT.Query, root: Node): Cap[] {
  const all: Cap[] = [];
  let hasError = false;
  for (const c of query.captures(root)) {
    const node = c.node;
    if (c.name === 'error') hasError = true;
    all.push({ name: c.name, node, start: node.startIndex, end: node.endIndex });
  }
  // Where each declaration sits. node.parent is a native walk down from the root and makes a JS node with
  // a finalizer; the enclosing captured item tells the common cases apart without it: no enclosing item is
  // the file, an inline module is its body, an impl or extern block is a member. Only a declaration
  // inside another item (a block, a trait) or in a file with ERROR nodes asks for its parent.
  const caps: Cap[] = [];
  const open: Cap[] = [];
  for (const c of all) {
    if (c.name === 'macro') {
      // an invocation where items go (a file or an inline module body): what it wraps are items
      // (`cfg_if! { if #[cfg(unix)] { mod unix; pub use unix::*; } }`)
      while (open.length > 0 && open[open.length - 1]!.end <= c.start) open.pop();
      const top = open[open.length - 1];
      if (hasError) {
        const p = c.node.parent;
        c.itemLevel = p !== null && (p.type === 'source_file' || (p.type === 'declaration_list' && p.parent?.type === 'mod_item'));
      } else c.itemLevel = !top || top.name === 'mod';
    }
    const decl = DECLARATIONS.has(c.name);
    if (decl || CONTAINERS.has(c.name)) {
      while (open.length > 0 && open[open.length - 1]!.end <= c.start) open.pop();
      if (decl) {
        const top = open[open.length - 1];
        if (hasError || (top && top.name !== 'mod' && top.name !== 'impl' && top.name !== 'extern_block')) c.parent = c.node.parent;
        else c.at = !top ? 'file' : top.name === 'mod' ? 'mod' : 'member';
      }
      if (CONTAINERS.has(c.name)) open.push(c);
    }
    if (c.name === 'item' && !(c.at ? c.at !== 'member' : inNameScope(c.parent!))) continue;
    caps.push(c);
  }
  return caps;
}
