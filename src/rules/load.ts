// Rules are data: rules/<capability>.toml, one file per capability. This module loads and validates them.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, basename } from 'node:path';
import { CAPABILITY_KINDS, UserError, type Capability, type Phase } from '../types.js';
import { parseToml } from '../util/toml.js';
import { builtinRulesDir } from './dir.js';

export interface Rule {
  id: string;
  capability: Capability;
  kind: string;
  description: string;
  /**
   * Fully resolved paths (prefixes) this rule matches; macros end with `!`. A last segment ending in `*`
   * matches every name that starts with it (`winapi::um::winreg::Reg*`): API families as data.
   */
  paths: string[];
  /**
   * Trait methods `path::Trait::method`: `.method()` counts when the trait is in scope. With `receiver`, a
   * bare `method` name counts only on a receiver of a known type (see receiver).
   */
  methods: string[];
  /**
   * Typed-method rules: the receiver types (`std::path::Path`) and functions returning them
   * (`std::env::temp_dir`) a method call's receiver must come from, as far as the file's local type
   * knowledge tells (constructors, `let` bindings and their declared types, typed parameters, struct
   * fields, method chains through `through`). Bare method names need a receiver known to match; trait
   * methods (`Trait::m`, trait in scope) are skipped only when the receiver is known to be another type.
   */
  receiver: string[];
  /** Methods that keep the receiver's type along a chain (`join` for Path, `arg` for Command). */
  through: string[];
  /** Language constructs found by the parser (unsafe-block, extern-fn, …). */
  syntax: string[];
  /**
   * Calls of foreign functions with these (C symbol) names: a call of a function declared in an extern
   * block, or of a path the `[foreign]` table names (`libc::socket`). `"*"` matches every foreign call.
   * A declaration alone never matches (it is `syntax = ["extern-fn"]`).
   */
  foreignCalls: string[];
  /** Attribute names (`no_mangle`, `link_section`). */
  attributes: string[];
  /** Build-script directives (`rustc-link-lib`; a trailing `*` matches a prefix). */
  directives: string[];
  /** Crate-level fact: the crate has a build script / is a proc-macro. */
  crate: 'build-script' | 'proc-macro' | null;
  /** Findings of this rule are in this phase whatever the file (compile-time environment reads). */
  phase: Phase | null;
  /** For macro paths: skip when the first string argument matches this regex. */
  unlessArg: RegExp | null;
  /**
   * For the include macros: match only when the included path is absolute or leaves the package
   * (`include_str!("/etc/passwd")`, `include_bytes!("../../x")`, `concat!(env!("HOME"), …)`).
   */
  argOutsidePackage: boolean;
  file: string;
}

export interface RuleSet {
  rules: Rule[];
  /** Exclusions per capability: paths that are not this capability even under a matching prefix. */
  excludes: Map<Capability, string[]>;
  /**
   * Paths whose functions are foreign functions (`[foreign] paths`): `libc::*`, `windows_sys::Win32::**`.
   * `*` is one segment, a final `**` one or more; the first segment is a crate name. The foreign
   * function is the path's last segment. None when absent.
   */
  foreignPaths?: string[];
  /** Hash of the rule files' contents (cache key). */
  hash: string;
  files: string[];
}

const RULE_KEYS = new Set([
  'id', 'kind', 'description', 'paths', 'methods', 'syntax', 'foreign_calls', 'foreign_fns', 'attributes', 'directives',
  'crate', 'phase', 'unless_arg', 'receiver', 'through', 'arg_outside_package',
]);
const FILE_KEYS = new Set(['capability', 'description', 'rule', 'exclude', 'foreign']);
/** `wasm-import`: a function or static of a `#[wasm_bindgen] extern` block (a JS import, not a C symbol). */
export const SYNTAX_CONSTRUCTS = new Set(['unsafe-block', 'unsafe-fn', 'unsafe-impl', 'unsafe-trait', 'extern-fn', 'extern-static', 'wasm-import']);
const FOREIGN_PATH = /^[A-Za-z_]\w*(?:::(?:[A-Za-z_]\w*|\*))*::(?:[A-Za-z_]\w*|\*|\*\*)$/;

export { builtinRulesDir };

function strList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new UserError(`${where}: expected an array of strings`);
  return v as string[];
}

export function parseRuleFile(text: string, file: string): { rules: Rule[]; capability: Capability; excludes: string[]; foreignPaths: string[] } {
  const doc = parseToml(text, file);
  for (const k of Object.keys(doc)) if (!FILE_KEYS.has(k)) throw new UserError(`${file}: unknown key \`${k}\``);
  const capability = doc.capability as Capability;
  if (typeof capability !== 'string' || !(capability in CAPABILITY_KINDS)) {
    throw new UserError(`${file}: \`capability\` must be one of ${Object.keys(CAPABILITY_KINDS).join(', ')}`);
  }
  const kinds = CAPABILITY_KINDS[capability] as readonly string[];
  const rules: Rule[] = [];
  const list = doc.rule === undefined ? [] : doc.rule;
  if (!Array.isArray(list)) throw new UserError(`${file}: \`rule\` must be an array of tables ([[rule]])`);
  for (const [i, r] of (list as Record<string, unknown>[]).entries()) {
    const where = `${file}: rule #${i + 1}${typeof r.id === 'string' ? ` (${r.id})` : ''}`;
    for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) throw new UserError(`${where}: unknown key \`${k}\``);
    if (typeof r.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(r.id)) throw new UserError(`${where}: \`id\` must be a kebab-case string`);
    if (typeof r.kind !== 'string' || !kinds.includes(r.kind)) {
      throw new UserError(`${where}: \`kind\` must be one of ${kinds.join(', ')}`);
    }
    const syntax = strList(r.syntax, where);
    for (const s of syntax) if (!SYNTAX_CONSTRUCTS.has(s)) throw new UserError(`${where}: unknown syntax construct \`${s}\``);
    if (r.crate !== undefined && r.crate !== 'build-script' && r.crate !== 'proc-macro') {
      throw new UserError(`${where}: \`crate\` must be "build-script" or "proc-macro"`);
    }
    if (r.phase !== undefined && r.phase !== 'build' && r.phase !== 'runtime') throw new UserError(`${where}: \`phase\` must be "build" or "runtime"`);
    let unlessArg: RegExp | null = null;
    if (r.unless_arg !== undefined) {
      if (typeof r.unless_arg !== 'string') throw new UserError(`${where}: \`unless_arg\` must be a regex string`);
      try {
        unlessArg = new RegExp(r.unless_arg);
      } catch {
        throw new UserError(`${where}: \`unless_arg\` is not a valid regex`);
      }
    }
    if (r.arg_outside_package !== undefined && typeof r.arg_outside_package !== 'boolean') throw new UserError(`${where}: \`arg_outside_package\` must be a boolean`);
    const receiver = typeof r.receiver === 'string' ? [r.receiver] : strList(r.receiver, where);
    for (const p of receiver) if (!/^[A-Za-z_][\w]*(::[A-Za-z_][\w]*)*$/.test(p)) throw new UserError(`${where}: bad receiver \`${p}\``);
    const methods = strList(r.methods, where);
    for (const m of methods) {
      if (!/^([A-Za-z_][\w]*::)*[A-Za-z_][\w]*$/.test(m)) throw new UserError(`${where}: bad method \`${m}\``);
      if (!m.includes('::') && receiver.length === 0) throw new UserError(`${where}: method \`${m}\` without a trait path needs \`receiver\``);
    }
    const through = strList(r.through, where);
    const paths = strList(r.paths, where);
    for (const p of paths) if (!/^[A-Za-z_][\w]*(::[A-Za-z_][\w]*)*(?:!|::[A-Za-z_][\w]*\*)?$/.test(p)) throw new UserError(`${where}: bad path \`${p}\``);
    rules.push({
      id: r.id,
      capability,
      kind: r.kind,
      description: typeof r.description === 'string' ? r.description : '',
      paths,
      methods,
      receiver,
      through,
      syntax,
      // `foreign_fns` is the key's former name (it matched declarations; now, like `foreign_calls`, calls)
      foreignCalls: [...strList(r.foreign_calls, where), ...strList(r.foreign_fns, where)],
      attributes: strList(r.attributes, where),
      directives: strList(r.directives, where),
      crate: (r.crate as Rule['crate']) ?? null,
      phase: (r.phase as Phase | undefined) ?? null,
      unlessArg,
      argOutsidePackage: r.arg_outside_package === true,
      file,
    });
  }
  let excludes: string[] = [];
  if (doc.exclude !== undefined) {
    const ex = doc.exclude as Record<string, unknown>;
    for (const k of Object.keys(ex)) if (k !== 'paths') throw new UserError(`${file}: [exclude]: unknown key \`${k}\``);
    excludes = strList(ex.paths, `${file}: [exclude]`);
  }
  let foreignPaths: string[] = [];
  if (doc.foreign !== undefined) {
    const fo = doc.foreign as Record<string, unknown>;
    for (const k of Object.keys(fo)) if (k !== 'paths') throw new UserError(`${file}: [foreign]: unknown key \`${k}\``);
    foreignPaths = strList(fo.paths, `${file}: [foreign]`);
    for (const p of foreignPaths) if (!FOREIGN_PATH.test(p)) throw new UserError(`${file}: [foreign]: bad path \`${p}\``);
  }
  return { rules, capability, excludes, foreignPaths };
}

/** Load the built-in rules (every `*.toml` of the rules directory, in name order). */
export function loadRules(): RuleSet {
  const byId = new Map<string, Rule>();
  const excludes = new Map<Capability, string[]>();
  const hash = createHash('sha256');
  const files: string[] = [];
  const foreignPaths: string[] = [];
  const dir = builtinRulesDir();
  if (!existsSync(dir)) throw new UserError(`rules directory not found: ${dir}`);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.toml')).sort()) {
    const path = join(dir, name);
    const text = readFileSync(path, 'utf8');
    hash.update(name).update('\0').update(text).update('\0');
    files.push(path);
    const parsed = parseRuleFile(text, basename(dir) === 'rules' ? `rules/${name}` : path);
    for (const r of parsed.rules) byId.set(r.id, r);
    excludes.set(parsed.capability, [...(excludes.get(parsed.capability) ?? []), ...parsed.excludes]);
    foreignPaths.push(...parsed.foreignPaths);
  }
  const rules = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { rules, excludes, foreignPaths, hash: hash.digest('hex').slice(0, 16), files };
}
