// Stage 3 of the tree analysis: the facts of a file (bindings, module declarations, references, macros,
// unsafe and extern constructs, build directives, rule queries, method calls, indicators) from its placed
// captures and scope map. A broken region (an ERROR node's item) is analysed as tokens here.

import type ParserT from 'tree-sitter';
import { lex, Tok, type Token } from './lexer.js';
import { MAX_PATH_SEGS, externEvidence, isWasmBindgenAttr, linkNameOf, matchClose, scanTokens, type TokenSink } from './tokens.js';
import { WASM_IMPORT_ABI, type Binding, type FactContext, type FileSummary, type FnFact, type Ref, type SyntaxHit } from './summary.js';
import type { Cap, Node } from './captures.js';
import { ITEM_SKIP_BEFORE, type ScopeMap } from './scope-map.js';
import { bindForeignFn, bindItems, bindUseAt } from './token-items.js';
import { ItemLocator } from './item-locator.js';
import { RangeSet, type LineIndex } from './text-index.js';
import type { FileOptions } from './analyze.js';
import { fileIndicators } from '../indicators/file.js';
import { recordMacroCall, recordMacroDef } from './macro-facts.js';
import { includeBytesTargets } from '../indicators/package-indicators.js';
import { disabledRanges } from './cfg-false.js';
import { Receivers } from './receivers.js';
import { includePlace, includeTarget } from './include-target.js';
import type { MethodCall } from './summary.js';

const CALLEE_TYPES = new Set(['scoped_identifier', 'identifier']);
const PATH_ATTR = /^#\[\s*path\s*=\s*"((?:[^"\\]|\\.)*)"\s*\]$/;
const CFG_ATTR_PATH = /^#\[\s*cfg_attr\s*\([\s\S]*,\s*path\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?\s*\)\s*\]$/;

function withCtx<T extends object>(fact: T, ctx: FactContext | undefined): T {
  if (ctx) (fact as { ctx?: FactContext }).ctx = ctx;
  return fact;
}

function unquote(text: string): string {
  // string_literal / raw_string_literal text → contents (escapes kept)
  const m = /^(?:b|c)?r?(#*)"([\s\S]*)"\1$/.exec(text);
  return m ? m[2]! : text;
}

function tokensOf(text: string, start: number, end: number): Token[] {
  return lex(text, start, end);
}

function segsOf(text: string, start: number, end: number): { segs: string[]; global: boolean } {
  const toks = tokensOf(text, start, end);
  return segsOfTokens(toks, 0, toks.length);
}

/** Path segments of toks[from, to): generic arguments dropped; `<T>::m` is T::m and `<T as Trait>::m` is Trait::m. */
function segsOfTokens(toks: Token[], from: number, to: number): { segs: string[]; global: boolean } {
  const segs: string[] = [];
  let global = false;
  let depth = 0;
  let i = from;
  const punct = (t: Token | undefined, v: string) => t !== undefined && t.t === Tok.Punct && t.v === v;
  if (punct(toks[i], '<')) {
    // qualified path: the trait's path when there is one (the rules name trait methods), else the type's
    let j = i + 1;
    let asAt = -1;
    for (let d = 1; j < to; j++) {
      const t = toks[j]!;
      if (punct(t, '<')) d++;
      else if (punct(t, '>') && --d === 0) break;
      else if (d === 1 && t.t === Tok.Ident && t.v === 'as') asAt = j;
    }
    const inner = segsOfTokens(toks, asAt >= 0 ? asAt + 1 : i + 1, j);
    segs.push(...inner.segs);
    global = inner.global;
    i = j + 1;
  }
  for (let k = i; k < to; k++) {
    const t = toks[k]!;
    if (punct(t, '<')) depth++;
    else if (punct(t, '>')) depth--;
    else if (depth === 0 && t.t === Tok.Ident && segs.length < MAX_PATH_SEGS) segs.push(t.v === '$crate' ? 'crate' : t.v);
    else if (depth === 0 && t.t === Tok.PathSep && k === from) global = true;
  }
  return { segs, global };
}

/** What the facts of one parsed file are read from. */
export interface TreeInput {
  source: string;
  root: Node;
  opts: FileOptions;
  lines: LineIndex;
  scopes: ScopeMap;
  /** Attribute and trait-method names the token pass records. */
  attributeNames: Set<string>;
  methodNames: Set<string>;
  /** Method names of typed-method rules (their receivers are recorded). */
  receiverMethods?: readonly string[];
}

/** A call's first string argument, by the start of its callee (a path or a name). */
function callArgsOf(caps: Cap[], source: string): Map<number, string> {
  const callArgs = new Map<number, string>();
  for (const c of caps) {
    if (c.name !== 'callarg') continue;
    const callee = c.node.parent?.parent?.childForFieldName('function');
    if (callee && CALLEE_TYPES.has(callee.type)) callArgs.set(callee.startIndex, unquote(source.slice(c.start, c.end)));
  }
  return callArgs;
}

/**
 * Adds the facts of a file's placed captures (and of the rule-supplied queries) to summary; recvQuery (the
 * receiver query, when the file's text names a typed method) is run once a typed-method call needs it.
 */
export function addTreeFacts(input: TreeInput, caps: Cap[], ruleQueries: { rule: string; q: ParserT.Query }[], summary: FileSummary, recvQuery: ParserT.Query | null = null): void {
  const facts = new CaptureFacts(input, summary, callArgsOf(caps, input.source), caps);
  for (const c of caps) facts.add(c);
  // rule-supplied queries
  for (const { rule, q } of ruleQueries) {
    for (const c of q.captures(input.root)) {
      if (c.name !== 'match') continue;
      const ctx0 = facts.ctxAt(c.node.startIndex);
      if (ctx0 === null) continue;
      const ctx = ctx0 ?? undefined;
      const p0 = facts.pos(c.node.startIndex);
      const evidence = c.node.text.split('\n')[0]!.slice(0, 120);
      summary.queries.push(withCtx({ rule, evidence, line: p0.line, column: p0.column }, ctx));
    }
  }
  // trait-method calls, and the receivers of typed-method rules' calls
  // the receiver table, built at the first call that needs it (null: the file has no fn, parameter, let or
  // field to type a receiver from)
  let recvTable: Receivers | null | undefined;
  const table = (): Receivers | null => (recvTable === undefined ? (recvTable = receiverTable(input, recvQuery!)) : recvTable);
  const names = new Set(recvQuery ? input.receiverMethods : []);
  let treeReceivers = 0;
  // calls the token pass recorded (macro arguments): the receiver from the text before the method name
  for (const m of summary.methods) {
    if (m.recv || !names.has(m.name)) continue;
    const recv = table();
    if (!recv) break;
    const origin = recv.receiverBefore(input.source, input.lines.lineStart(m.line) + m.column - 1, m.name);
    if (origin) m.recv = origin;
  }
  for (const c of caps) {
    if (c.name !== 'method') continue;
    const ctx0 = facts.ctxAt(c.start);
    if (ctx0 === null) continue;
    const p0 = facts.pos(c.start);
    const m: MethodCall = { scope: input.scopes.scopeAt(c.start), name: input.source.slice(c.start, c.end), line: p0.line, column: p0.column };
    const recv = names.has(m.name) ? table() : null;
    if (recv) {
      // node.parent costs the node's depth: past MAX_TREE_RECEIVERS calls (a hostile 2,800-call chain of
      // .exists(): +5 s) the receiver is read from the text before the call (names and fields only)
      const origin = ++treeReceivers <= MAX_TREE_RECEIVERS ? recv.receiverOfMethod(c.node) : recv.receiverBefore(input.source, c.start, m.name);
      if (origin) m.recv = origin;
    }
    summary.methods.push(withCtx(m, ctx0 ?? undefined));
  }
  if (treeReceivers > MAX_TREE_RECEIVERS) {
    summary.problems.push({ line: 1, reason: `typed-receivers-limit: ${treeReceivers - MAX_TREE_RECEIVERS} calls of typed methods past ${MAX_TREE_RECEIVERS} typed from a name or field before them only` });
  }
  summary.errors = [...new Set(summary.errors)].sort((a, b) => a - b);
  addIndicators(input, caps, summary);
}

/** Typed-method calls per file whose receiver is read from the syntax tree (see addTreeFacts). */
export const MAX_TREE_RECEIVERS = 200;

/** The receiver table of a file with typed-method calls, from the receiver query (null: nothing to type from). */
function receiverTable(input: TreeInput, query: ParserT.Query): Receivers | null {
  let table: Receivers | null = null;
  const caps = query.captures(input.root);
  if (!caps.some((c) => c.name.startsWith('recv_'))) return null;
  for (const c of caps) {
    table ??= new Receivers(input.source, (a, b) => segsOf(input.source, a, b), input.scopes.scopeAt);
    if (c.name === 'impl') table.addImpl(c.node);
    else if (c.name === 'recv_fn') table.addFn(c.node);
    else if (c.name === 'recv_param') table.addParam(c.node);
    else if (c.name === 'recv_let') table.addLet(c.node);
    else if (c.name === 'recv_field') table.addField(c.node);
  }
  return table;
}

/** Indicators and URLs of the file's text, include_bytes! targets. */
function addIndicators({ source, root, opts, lines, scopes: { testRanges } }: TreeInput, caps: Cap[], summary: FileSummary): void {
  // every attribute_item and inner_attribute_item of the tree is an `attr` capture
  const attrs = new RangeSet();
  for (const c of caps) if (c.name === 'attr') attrs.add(c);
  const ind = fileIndicators(root, source, '', {
    buildScript: opts.buildScript,
    test: opts.test,
    isTestOffset: (o) => summary.testOnly || testRanges.contains(o),
    inAttributeRange: (o) => attrs.contains(o),
  });
  // indicators found on raw text (bidi characters) inside cfg(test) code count only with --all-targets
  const lineInTest = (line: number) => {
    let o = lines.lineStart(line);
    while (source[o] === ' ' || source[o] === '\t') o++;
    return testRanges.contains(o);
  };
  summary.indicators = opts.keepTests ? ind.indicators : ind.indicators.filter((i) => !lineInTest(i.line));
  summary.urls = ind.urls;
  if (ind.hosts.length > 0) summary.hosts = ind.hosts;
  if (source.includes('include_bytes')) summary.includeBytes = includeBytesTargets(root, source);
}

/** The facts of the base query's captures, taken in document order. */
class CaptureFacts {
  private lastPathEnd = -1;
  private readonly errorItems = new Set<number>();
  /** Token-analysed broken regions (an ERROR inside one is already covered). */
  private readonly errorSpans = new RangeSet();
  private errorSpanEnd = -1;
  private locator: ItemLocator | undefined;
  private readonly source: string;
  private readonly scopeAt: (offset: number) => number;
  /** Items under an always-false cfg (issue 18 item 6). */
  private readonly disabled: RangeSet;
  /** The tree has ERROR nodes (an `error` capture). */
  private readonly hasError: boolean;

  constructor(
    private readonly input: TreeInput,
    private readonly summary: FileSummary,
    private readonly callArgs: Map<number, string>,
    caps: Cap[],
  ) {
    this.source = input.source;
    this.scopeAt = input.scopes.scopeAt;
    this.disabled = disabledRanges(caps, input.source.length);
    this.hasError = caps.some((c) => c.name === 'error');
  }

  /** 'test' for test code kept (--all-targets), null for test code dropped, 'disabled' under an always-false cfg, else undefined. */
  ctxAt(offset: number): FactContext | undefined | null {
    if (this.summary.testOnly || this.input.scopes.testRanges.contains(offset)) return this.input.opts.keepTests ? 'test' : null;
    if (this.disabled.size > 0 && this.disabled.contains(offset)) return 'disabled';
    return undefined;
  }

  pos(o: number) {
    return this.input.lines.pos(o);
  }

  private sink(scope: number, ctx: FactContext | undefined, generated = false): TokenSink {
    return {
      summary: this.summary,
      source: this.source,
      scope,
      ctx: generated ? 'generated' : ctx,
      generated,
      pos: (o) => this.pos(o),
      attributeNames: this.input.attributeNames,
      methodNames: this.input.methodNames,
    };
  }

  add(c: Cap): void {
    const ctx0 = this.ctxAt(c.start);
    if (ctx0 === null && c.name !== 'mod') return;
    const ctx = ctx0 ?? undefined;
    switch (c.name) {
      case 'use':
        return this.use(c);
      case 'extern_crate':
        return this.externCrate(c);
      case 'alias':
        return this.alias(c);
      case 'item':
        return this.item(c, ctx);
      case 'impl':
        return this.impl(c, ctx);
      case 'mod':
        return this.mod(c, ctx0);
      case 'path':
        return this.path(c, ctx);
      case 'ident':
        return this.ident(c, ctx);
      case 'macro':
        return this.macro(c, ctx);
      case 'macro_def':
        return this.macroDef(c, ctx);
      case 'attr':
        // records the attribute itself; paths inside an attribute are not uses
        return scanTokens(tokensOf(this.source, c.start, c.end), this.sink(this.scopeAt(c.start), ctx));
      case 'unsafe_block': {
        const p0 = this.pos(c.start);
        this.summary.syntax.push(withCtx({ construct: 'unsafe-block', name: null, evidence: 'unsafe { … }', line: p0.line, column: p0.column }, ctx));
        return;
      }
      case 'fn_mods':
        return this.fnMods(c, ctx);
      case 'unsafe_impl':
      case 'unsafe_trait':
        return this.unsafeImplOrTrait(c, ctx);
      case 'extern_block':
        return this.externBlock(c, ctx);
      case 'str': {
        const value = unquote(this.source.slice(c.start, c.end));
        if (value.includes('cargo:')) {
          const p0 = this.pos(c.start);
          this.summary.strings.push(withCtx({ value, line: p0.line, column: p0.column }, ctx));
        }
        return;
      }
      case 'error':
        return this.error(c, ctx);
    }
  }

  private use(c: Cap): void {
    const scope = this.scopeAt(c.start);
    const toks = tokensOf(this.source, c.start, c.end);
    const u = toks.findIndex((t) => t.t === Tok.Ident && t.v === 'use');
    if (u < 0) return;
    bindUseAt(toks, u, scope, this.summary, this.pos(c.start).line);
  }

  private externCrate(c: Cap): void {
    const scope = this.scopeAt(c.start);
    const name = c.node.childForFieldName('name')?.text;
    const alias = c.node.childForFieldName('alias')?.text;
    if (name) {
      const b: Binding = { scope, name: alias ?? name, kind: 'extern-crate', target: [name.replace(/^r#/, '')], global: true, line: this.pos(c.start).line };
      for (let s = c.node.previousNamedSibling; s && ITEM_SKIP_BEFORE.has(s.type); s = s.previousNamedSibling) {
        if (/^#\[\s*macro_use\b/.test(s.text)) b.macroUse = true;
      }
      this.summary.bindings.push(b);
    }
  }

  private alias(c: Cap): void {
    const scope = this.scopeAt(c.start);
    const name = c.node.childForFieldName('name')?.text;
    const ty = c.node.childForFieldName('type');
    if (name && ty && (ty.type === 'scoped_type_identifier' || ty.type === 'type_identifier' || ty.type === 'generic_type')) {
      const { segs, global } = segsOf(this.source, ty.startIndex, ty.endIndex);
      this.summary.bindings.push({ scope, name, kind: 'alias', target: segs, global, line: this.pos(c.start).line });
    } else if (name) {
      this.summary.bindings.push({ scope, name, kind: 'item', target: null, global: false, line: this.pos(c.start).line });
    }
  }

  private item(c: Cap, ctx: FactContext | undefined): void {
    const name = c.node.childForFieldName('name')?.text;
    if (name) {
      const scope = this.scopeAt(c.start);
      this.summary.bindings.push({ scope, name: name.replace(/^r#/, ''), kind: 'item', target: null, global: false, line: this.pos(c.start).line });
      if (c.node.type === 'function_item' && !ctx) this.fnFact(c.node, [name.replace(/^r#/, '')], scope, c.start, c.end);
    }
  }

  /** A function with a body in a file or module scope (the call graph's nodes, src/link/reach.ts); [start, end) is the node's. */
  private fnFact(node: Node, path: string[], scope: number, start: number, end: number): void {
    if (this.summary.scopes[scope]?.kind === 'block' || !node.childForFieldName('body')) return;
    const p0 = this.pos(start);
    const p1 = this.pos(end);
    const f: FnFact = { path, scope, line: p0.line, column: p0.column, endLine: p1.line, endColumn: p1.column };
    // (a node starts where its first child does: a text not starting `pub` has no `pub` child)
    if (this.source.startsWith('pub', start)) {
      const first = node.firstChild;
      if (first?.type === 'visibility_modifier' && this.source.slice(start, first.endIndex) === 'pub') f.pub = true;
    }
    (this.summary.fns ??= []).push(f);
  }

  /** An inherent `impl Type { … }`: its methods are functions `Type::method` (trait impls are not named so). */
  private impl(c: Cap, ctx: FactContext | undefined): void {
    if (ctx || c.node.childForFieldName('trait')) return;
    const ty = c.node.childForFieldName('type');
    const body = c.node.childForFieldName('body');
    if (!ty || !body) return;
    const segs = segsOf(this.source, ty.startIndex, ty.endIndex).segs;
    const tyName = segs[segs.length - 1];
    if (!tyName) return;
    const scope = this.scopeAt(c.start);
    for (const it of body.namedChildren) {
      if (it.type !== 'function_item') continue;
      const name = it.childForFieldName('name')?.text;
      if (name) this.fnFact(it, [tyName.replace(/^r#/, ''), name.replace(/^r#/, '')], scope, it.startIndex, it.endIndex);
    }
  }

  /** A `mod` declaration; ctx0 null: a cfg(test) module of a scan without tests. */
  private mod(c: Cap, ctx0: FactContext | undefined | null): void {
    const { summary } = this;
    const scope = this.scopeAt(c.start);
    const name = c.node.childForFieldName('name')?.text?.replace(/^r#/, '');
    if (!name) return;
    const line = this.pos(c.start).line;
    const modBodies = this.input.scopes.modBodies;
    if (ctx0 === null) {
      // cfg(test) module: not bound; its file is known to be test code, not unreferenced
      if (!modBodies.has(c.start)) summary.mods.push({ name, scope, body: -1, pathAttr: null, line, test: true });
      return;
    }
    // #[path = "…"], and each #[cfg_attr(pred, path = "…")]: every configuration's file is the module
    const paths: string[] = [];
    for (let s = c.node.previousNamedSibling; s && ITEM_SKIP_BEFORE.has(s.type); s = s.previousNamedSibling) {
      const m = PATH_ATTR.exec(s.text) ?? CFG_ATTR_PATH.exec(s.text);
      if (m) paths.push(m[1]!.replace(/\\\\/g, '\\'));
    }
    const body = modBodies.get(c.start) ?? -1;
    const modIndex = summary.mods.length;
    for (const pathAttr of paths.length > 0 ? paths.reverse() : [null]) {
      summary.mods.push(ctx0 === 'test' ? { name, scope, body, pathAttr, line, test: true } : { name, scope, body, pathAttr, line });
    }
    summary.bindings.push({ scope, name, kind: 'mod', target: null, global: false, line, mod: modIndex });
  }

  private path(c: Cap, ctx: FactContext | undefined): void {
    if (c.start < this.lastPathEnd || this.input.scopes.skip.contains(c.start)) return;
    this.lastPathEnd = c.end;
    const { segs, global } = segsOf(this.source, c.start, c.end);
    if (segs.length === 0) return;
    this.addRef(c.start, c.end, segs, global, ctx);
  }

  private ident(c: Cap, ctx: FactContext | undefined): void {
    if (c.start < this.lastPathEnd) return;
    this.addRef(c.start, c.end, [this.source.slice(c.start, c.end).replace(/^r#/, '')], false, ctx);
  }

  /** A value reference at [start, end), with the first string argument of its call, and whether it is called. */
  private addRef(start: number, end: number, segs: string[], global: boolean, ctx: FactContext | undefined): void {
    const p0 = this.pos(start);
    const arg = this.callArgs.get(start);
    const ref: Ref = withCtx({ scope: this.scopeAt(start), segs, global, how: 'value' as const, line: p0.line, column: p0.column }, ctx);
    if (arg !== undefined) ref.arg = arg;
    let k = end;
    while (k < this.source.length && (this.source[k] === ' ' || this.source[k] === '\t' || this.source[k] === '\n' || this.source[k] === '\r')) k++;
    if (this.source[k] === '(') ref.call = true;
    this.summary.refs.push(ref);
  }

  /**
   * A macro invocation's name and token tree: in a tree without ERROR nodes an invocation is `name ! (…)`
   * (comments aside) and ends with its token tree, so both are read from the lexed text of the capture
   * (the same tokens as lexing each node's range) instead of four node reads; elsewhere from the tree.
   */
  private macroParts(c: Cap): { segs: string[]; global: boolean; tt: { start: number; end: number } | null; toks: Token[] } | null {
    const { source } = this;
    if (!this.hasError) {
      const all = tokensOf(source, c.start, c.end);
      let bang = 0;
      while (bang < all.length && !(all[bang]!.t === Tok.Punct && all[bang]!.v === '!')) bang++;
      const open = all[bang + 1];
      if (bang > 0 && open && open.t === Tok.Punct && (open.v === '(' || open.v === '[' || open.v === '{')) {
        return { ...segsOfTokens(all, 0, bang), tt: { start: open.s, end: c.end }, toks: all.slice(bang + 1) };
      }
    }
    const nameNode = c.node.childForFieldName('macro');
    if (!nameNode) return null;
    const { segs, global } = segsOf(source, nameNode.startIndex, nameNode.endIndex);
    const ttNode = c.node.lastNamedChild;
    const tt = ttNode && ttNode.type === 'token_tree' ? { start: ttNode.startIndex, end: ttNode.endIndex } : null;
    return { segs, global, tt, toks: tt ? tokensOf(source, tt.start, tt.end) : [] };
  }

  private macro(c: Cap, ctx: FactContext | undefined): void {
    const { source, summary } = this;
    const parts = this.macroParts(c);
    if (!parts) return;
    const { segs, global, tt, toks } = parts;
    const scope = this.scopeAt(c.start);
    const p0 = this.pos(c.start);
    const literal = toks[1]?.t === Tok.Str ? toks[1]!.v : undefined;
    let arg = literal;
    const last = segs[segs.length - 1];
    if (arg === undefined && toks.length > 2 && segs.length <= 2 && (last === 'include' || last === 'include_str' || last === 'include_bytes')) {
      // include!(concat!(env!("OUT_DIR"), "/x.rs")): the path as `$OUT_DIR/x.rs` (issue 18 items 4, 5)
      const target = includeTarget(toks.slice(1, -1));
      if (target !== null) {
        arg = target;
        // code from the build's output (the file's place in the package does not matter for a $VAR path)
        if (last === 'include' && target.startsWith('$') && includePlace('', target, last) === 'generated' && ctx !== 'disabled') {
          summary.problems.push({ line: p0.line, reason: `build-generated: ${target}` });
        }
      }
    }
    const ref = withCtx({ scope, segs, global, how: 'macro' as const, line: p0.line, column: p0.column }, ctx);
    summary.refs.push(arg === undefined ? ref : { ...ref, arg });
    if (tt) {
      const tp = this.pos(tt.start);
      recordMacroCall(summary, source, ref, { start: tt.start, end: tt.end, line: tp.line, column: tp.column });
    }
    if (last === 'include' && literal !== undefined && segs.length <= 2) {
      summary.includes.push({ scope, path: literal, line: p0.line });
    }
    const generated = this.input.opts.procMacro && (last === 'quote' || last === 'quote_spanned' || last === 'parse_quote' || last === 'parse_quote_spanned');
    if (toks.length > 2 && c.itemLevel && !generated && last !== 'macro_rules') bindItems(toks.slice(1, -1), scope, summary, (o) => this.pos(o), ctx === 'test');
    if (toks.length > 2) scanTokens(toks.slice(1, -1), this.sink(scope, ctx, generated));
  }

  /** A macro_rules! definition: recorded for expansion, and its body scanned as tokens (the fallback). */
  private macroDef(c: Cap, ctx: FactContext | undefined): void {
    const toks = tokensOf(this.source, c.start, c.end);
    const scope = this.scopeAt(c.start);
    const open = toks[3];
    if (toks[2]?.t === Tok.Ident && open && open.t === Tok.Punct && '([{'.includes(open.v)) {
      const close = matchClose(toks, 3);
      let exported = false;
      for (let s = c.node.previousNamedSibling; s && ITEM_SKIP_BEFORE.has(s.type); s = s.previousNamedSibling) {
        if (/^#\[\s*macro_export\b/.test(s.text)) exported = true;
      }
      const p0 = this.pos(c.start);
      const r = this.pos(open.s);
      recordMacroDef(this.summary, this.source, { name: toks[2]!.v, scope, exported, line: p0.line, column: p0.column, ctx }, { start: open.s, end: toks[close]!.s + 1, line: r.line, column: r.column });
    }
    // skip `macro_rules! name`
    scanTokens(toks.slice(3), { ...this.sink(scope, ctx), noMacroFacts: true });
  }

  private fnMods(c: Cap, ctx: FactContext | undefined): void {
    if (!/\bunsafe\b/.test(this.source.slice(c.start, c.end))) return;
    const fn = c.node.parent;
    const name = fn?.childForFieldName('name')?.text ?? null;
    const p0 = this.pos(c.start);
    this.summary.syntax.push(withCtx({ construct: 'unsafe-fn', name, evidence: `unsafe fn ${name ?? ''}`.trim(), line: p0.line, column: p0.column }, ctx));
  }

  private unsafeImplOrTrait(c: Cap, ctx: FactContext | undefined): void {
    const item = c.node.parent!;
    const head = this.source.slice(item.startIndex, Math.min(item.endIndex, item.startIndex + 200)).split('{')[0]!.replace(/\s+/g, ' ').trim();
    const p0 = this.pos(c.start);
    const construct = c.name === 'unsafe_impl' ? 'unsafe-impl' : 'unsafe-trait';
    const name = construct === 'unsafe-trait' ? item.childForFieldName('name')?.text ?? null : null;
    this.summary.syntax.push(withCtx({ construct, name, evidence: head, line: p0.line, column: p0.column }, ctx));
  }

  /**
   * An extern block: its functions and statics as syntax facts, and each C function bound as a foreign
   * function (see bindForeignFn). A `#[wasm_bindgen]` block's items are JS imports (`wasm-import`), not
   * bound: calling one is not a C call.
   */
  private externBlock(c: Cap, ctx: FactContext | undefined): void {
    const abiNode = c.node.namedChildren.find((n) => n.type === 'extern_modifier');
    const abiM = abiNode ? /"([^"]*)"/.exec(abiNode.text) : null;
    const abi = abiM ? abiM[1]! : '';
    let wasm = false;
    for (let s = c.node.previousNamedSibling; s && ITEM_SKIP_BEFORE.has(s.type); s = s.previousNamedSibling) {
      if (s.type === 'attribute_item' && isWasmBindgenAttr(s.text)) wasm = true;
    }
    const scope = this.scopeAt(c.start);
    const body = c.node.childForFieldName('body');
    let linkName: string | null = null;
    for (const it of body ? body.namedChildren : []) {
      if (it.type === 'attribute_item') {
        linkName = linkNameOf(it.text) ?? linkName;
        continue;
      }
      const kw = it.type === 'function_signature_item' ? 'fn' : it.type === 'static_item' ? 'static' : null;
      const symbol0 = linkName;
      if (!ITEM_SKIP_BEFORE.has(it.type)) linkName = null;
      if (!kw) continue;
      const nameNode = it.childForFieldName('name');
      if (!nameNode) continue;
      const p0 = this.pos(nameNode.startIndex);
      const name = nameNode.text.replace(/^r#/, '');
      const symbol = symbol0 ?? name;
      const construct = wasm ? 'wasm-import' : kw === 'fn' ? 'extern-fn' : 'extern-static';
      const hit: SyntaxHit = { construct, name, evidence: externEvidence(construct, abi, kw, name, symbol), line: p0.line, column: p0.column, scope };
      this.summary.syntax.push(withCtx(hit, ctx));
      if (construct === 'extern-fn' || (construct === 'wasm-import' && kw === 'fn')) bindForeignFn(this.summary, scope, construct === 'wasm-import' ? WASM_IMPORT_ABI : abi, name, symbol, p0.line);
    }
  }

  /** An ERROR node: its item (once) is analysed as tokens, so a broken region still yields its facts. */
  private error(c: Cap, ctx: FactContext | undefined): void {
    const { source, summary } = this;
    summary.errors.push(this.pos(c.start).line);
    // errors come in document order: one inside a region already analysed as tokens is covered by it
    // (its item is that region's item or one nested in it)
    if (c.start < this.errorSpanEnd) return;
    this.locator ??= new ItemLocator(this.input.root);
    const item = this.locator.itemOf(c.node);
    if (this.errorItems.has(item.startIndex) || (item.startIndex < this.errorSpanEnd && this.errorSpans.contains(item.startIndex))) return;
    this.errorItems.add(item.startIndex);
    let end = item.endIndex;
    if (item.type === 'ERROR') {
      // An unfinished item prefix the grammar does not know (Rust 2024 `unsafe extern "C"`): the item it
      // starts is the next sibling, so analyse both together or the extern block is lost.
      const last = source.slice(item.startIndex, item.endIndex).trimEnd().slice(-1);
      const next = last !== ';' && last !== '}' ? item.nextNamedSibling : null;
      if (next && next.type !== 'ERROR') end = next.endIndex;
    }
    this.errorSpans.add({ start: item.startIndex, end });
    this.errorSpanEnd = Math.max(this.errorSpanEnd, end);
    const toks = tokensOf(source, item.startIndex, end);
    const scope = this.scopeAt(item.startIndex);
    // use and mod declarations in broken regions still bind names (and mods are followed)
    bindItems(toks, scope, summary, (o) => this.pos(o), ctx === 'test');
    scanTokens(toks, this.sink(scope, ctx));
  }
}
