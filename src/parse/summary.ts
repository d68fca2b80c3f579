// What the per-file analysis extracts from one parsed file: plain, serialisable data (it crosses worker
// threads and lands in the result cache). Positions are 1-based lines and columns (UTF-16 code units).

import type { Indicator } from '../types.js';

export type ScopeKind = 'file' | 'mod' | 'block';

export interface Scope {
  id: number;
  /** Enclosing scope id, -1 for the file scope. */
  parent: number;
  kind: ScopeKind;
  /** Module name for inline `mod x { … }` scopes. */
  name: string | null;
}

/**
 * First segment of the path a crate's own foreign function resolves to: an extern-block function `f` is
 * bound as an alias of `$ffi::<abi>::<symbol>` (the symbol is its `#[link_name]` when it has one), so
 * every way the resolver reaches a name (`use`, `ffi::f`, globs, `self`/`super`) ends at the declaration.
 */
export const FOREIGN_ROOT = '$ffi';
/**
 * The ABI segment of a `#[wasm_bindgen]` import's binding (`$ffi::#[wasm_bindgen]::name`): a JS import when the
 * crate really depends on wasm-bindgen; the resolver turns it into `C` otherwise, so an attribute merely
 * named `wasm_bindgen` cannot hide a C declaration (resolve/resolver.ts).
 */
export const WASM_IMPORT_ABI = '#[wasm_bindgen]';

export type BindingKind =
  | 'use' // `use a::b as c;` → c = a::b
  | 'glob' // `use a::b::*;`
  | 'extern-crate' // `extern crate a as b;`
  | 'alias' // `type X = a::b;`
  | 'mod' // `mod x;` / `mod x { … }`
  | 'item'; // any other local definition (shadows imports of the same name)

export interface Binding {
  scope: number;
  name: string;
  kind: BindingKind;
  /** Target path segments as written (use, glob, alias, extern-crate). */
  target: string[] | null;
  /** Target written with a leading `::`. */
  global: boolean;
  line: number;
  /** For kind 'mod': index into FileSummary.mods. */
  mod?: number;
  /** `#[macro_use] extern crate …`: the crate's exported macros are in scope by name. */
  macroUse?: true;
}

export interface ModDecl {
  name: string;
  /** Scope the `mod` item is declared in. */
  scope: number;
  /** Scope of the inline body, or -1 for `mod x;` (body in another file). */
  body: number;
  /** `#[path = "…"]` value. */
  pathAttr: string | null;
  line: number;
  /** Declared under cfg(test): its file is test code (followed only with --all-targets). */
  test?: boolean;
  /**
   * Found in a macro invocation's tokens (`cfg_if! { mod unix; }`): followed when its file exists, but
   * a missing file is not reported, since the macro may turn the declaration into something else
   * (snafu's generate_guide! makes doc modules of `pub mod failure;`).
   */
  macro?: true;
}

/** Where a fact sits, when not plain compiled code. */
/** `disabled`: under an always-false cfg (`#[cfg(any())]`), never compiled. */
export type FactContext = 'test' | 'generated' | 'disabled';

export type RefHow = 'value' | 'macro' | 'token';

export interface Ref {
  scope: number;
  segs: string[];
  /** Written with a leading `::`. */
  global: boolean;
  how: RefHow;
  line: number;
  column: number;
  /** First string literal argument (macro invocations, calls). */
  arg?: string;
  /** Called: the path is followed by `(` (`libc::socket(…)`, not `libc::socklen_t` or a fn pointer). */
  call?: true;
  ctx?: FactContext;
}

export interface MethodCall {
  scope: number;
  name: string;
  line: number;
  column: number;
  ctx?: FactContext;
  /** Where the receiver comes from, when the file tells (typed-method rules only; see receivers.ts). */
  recv?: ReceiverOrigin;
}

/**
 * The origin of a method call's receiver: a type (`let p: PathBuf`, `fn f(p: &Path)`, a struct field) or a
 * call (`Path::new(..)`, `env::temp_dir()`), as written in `scope`, and the methods applied to it on the way
 * (`Path::new(x).join("a")`: via ["join"]).
 */
export interface ReceiverOrigin {
  kind: 'type' | 'call';
  segs: string[];
  global: boolean;
  scope: number;
  via: string[];
  /** The file gives this (local) type an inherent method of the call's name, which wins over trait methods. */
  inherent?: true;
}

/** A language construct found by syntax: unsafe-block, unsafe-fn, unsafe-impl, unsafe-trait, extern-fn, extern-static. */
export interface SyntaxHit {
  construct: string;
  /** Item name where there is one (foreign function name…). */
  name: string | null;
  evidence: string;
  line: number;
  column: number;
  ctx?: FactContext;
  /** extern-fn / extern-static: the scope of the extern block (its module, for the crate's export table). */
  scope?: number;
  /** extern-fn / extern-static: the block has `#[wasm_bindgen]` (a JS import, not a C symbol). */
  wasmBindgen?: true;
}

export interface AttrHit {
  /** Attribute path (`no_mangle`, `link_section`, `tokio::main`); an `unsafe(…)` wrapper is removed. */
  name: string;
  /** Text after the name: `= ".init_array"`, `(name = "z")`, or empty. */
  args: string;
  evidence: string;
  line: number;
  column: number;
  ctx?: FactContext;
}

export interface StrLit {
  value: string;
  line: number;
  column: number;
  ctx?: FactContext;
}

/** A rule-supplied tree-sitter query matched. */
export interface QueryHit {
  rule: string;
  evidence: string;
  line: number;
  column: number;
  ctx?: FactContext;
}

export interface IncludeDecl {
  scope: number;
  path: string;
  line: number;
}

/**
 * A `macro_rules!` definition: its rules' token text (the `{ … }` group after the name, delimiters
 * included), expanded at the crate stage (src/expand/).
 */
export interface MacroDefFact {
  name: string;
  scope: number;
  /** `#[macro_export]`. */
  exported: boolean;
  /** Position of `macro_rules!`. */
  line: number;
  column: number;
  /** The rules group (`{ (…) => {…}; … }`) as written, and where it starts. */
  rules: string;
  rulesLine: number;
  rulesColumn: number;
  ctx?: FactContext;
}

/** A macro invocation with its token tree, for expansion of the crate's (and dependencies') macro_rules. */
export interface MacroCallFact {
  scope: number;
  /** Macro path as written (`$crate` is `crate`). */
  segs: string[];
  global: boolean;
  /** Position of the invocation (its path's first token). */
  line: number;
  column: number;
  /** The token tree (delimiters included) as written, and where it starts; null when over the file's recording budget. */
  tt: string | null;
  ttLine: number;
  ttColumn: number;
  ctx?: FactContext;
}

/**
 * A function with a body, for the call graph (src/link/reach.ts): a free function of a file or module
 * scope (`path` ['fetch']) or a method of an inherent `impl Type` block (['Type', 'method']). `scope`: where
 * it is declared (its module). Its range is [line:column, endLine:endColumn) (1-based).
 */
export interface FnFact {
  path: string[];
  scope: number;
  /** Written `pub` (dependents can name it). */
  pub?: true;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface FileSummary {
  scopes: Scope[];
  bindings: Binding[];
  mods: ModDecl[];
  refs: Ref[];
  methods: MethodCall[];
  syntax: SyntaxHit[];
  attrs: AttrHit[];
  strings: StrLit[];
  queries: QueryHit[];
  includes: IncludeDecl[];
  /** Lines of regions tree-sitter could not parse (their tokens were still analysed). */
  errors: number[];
  /** Whole file is `#![cfg(test)]`. */
  testOnly: boolean;
  /** Problems reading the file (invalid UTF-8, too large…). */
  problems: { line: number; reason: string }[];
  /** Supply-chain indicators of this file (`file` is filled in by the crate scanner). */
  indicators: Indicator[];
  /** URLs in string literals (also decoded ones); `test` when inside test code. */
  urls: { url: string; line: number; test?: true }[];
  /** `include_bytes!` literal targets. */
  includeBytes: { path: string; line: number }[];
  /** Characters of the file when the triage cleared it (structural captures only; parse/triage.ts). */
  triaged?: number;
  /** `macro_rules!` definitions (absent in summaries made before expansion existed). */
  macroDefs?: MacroDefFact[];
  /** Macro invocations with their token text. */
  macroCalls?: MacroCallFact[];
  /** Hosts (host, host:port, IP) that decoded text is as a whole; `test` when inside test code. */
  hosts?: { host: string; line: number; test?: true }[];
  /** Functions with bodies, in document order (absent when none). */
  fns?: FnFact[];
}

export function emptySummary(): FileSummary {
  return {
    scopes: [{ id: 0, parent: -1, kind: 'file', name: null }],
    bindings: [],
    mods: [],
    refs: [],
    methods: [],
    syntax: [],
    attrs: [],
    strings: [],
    queries: [],
    includes: [],
    errors: [],
    testOnly: false,
    problems: [],
    indicators: [],
    urls: [],
    includeBytes: [],
    macroDefs: [],
    macroCalls: [],
  };
}
