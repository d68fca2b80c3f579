// The parse triage (issue 17): a lexical pass decides whether a file can yield anything the full tree
// analysis is needed for. A file it clears is still parsed by tree-sitter (its parse errors, scopes, items,
// module declarations, attributes, indicators and URLs come from the same tree as before) but gets the
// structural captures only (captures.ts STRUCTURE_QUERY): none of its paths, identifiers, macro calls,
// method calls, unsafe or extern constructs is taken, because none of them can produce a finding.
//
// Why a cleared file cannot produce a finding (when in doubt, the file gets the full analysis):
// - a finding needs a reference whose resolved path starts with a rule path, a method a rule names, an
//   attribute a rule names, an unsafe/extern construct, a build directive string or a rule query. Every rule
//   path segment, method and attribute name (and every wildcard stem) is a known name: a file holding any
//   such identifier is analysed fully;
// - a reference reaches another path only through a binding: a `use` (any, in this file), a glob, a
//   `crate::`/`self::`/`super::` path, an extern crate name (the extern prelude: dependencies, renamed to any
//   name in Cargo.toml, and, with cross-crate resolution, a dependency's re-exports such as
//   `util::Task::new` → std::process::Command::new), or a macro (macro_rules! expansion, #[macro_use]
//   imports that shadow std macros). So a file with a `use`, `extern`, any `::` path other than `Self::…` and
//   turbofish `::<`, or any macro invocation is analysed fully; what is left are single identifiers naming
//   local items or the prelude, which no rule path matches;
// - `unsafe`, `extern`, `asm`, `macro_rules`, `include*`, `no_mangle`, `export_name`, `link*`, `used` and
//   a `cargo:` string are reasons of their own; build scripts and rule-supplied queries always get the full
//   analysis.
// CAP_SCAN_TRIAGE=0 turns the triage off (scripts/triage-equal.mjs compares both runs crate by crate).

/** The names a rule can match, for the triage (from RuleIndex.analyzerConfig). */
export interface TriageNames {
  /** Every segment of every rule path (a macro's `!` dropped). */
  segments: string[];
  /** Stems of wildcard rule paths (`Reg*` → `Reg`): a name starting with one is known. */
  stems: string[];
  methodNames: string[];
  attributeNames: string[];
}

/** Identifiers that always send a file to the full analysis. */
const ALWAYS = new Set([
  'use', 'extern', 'unsafe', 'asm', 'global_asm', 'naked_asm', 'macro_rules', 'macro', 'include', 'include_str', 'include_bytes',
  'no_mangle', 'export_name', 'link', 'link_name', 'link_section', 'link_args', 'used', 'crate', 'super', 'self',
]);

/** Keywords that may precede `!` without it being a macro call (`if !x`, `return !ok`). */
const NOT_MACRO = new Set(['if', 'while', 'match', 'return', 'in', 'let', 'else', 'break', 'yield', 'as', 'mut', 'move', 'for', 'loop']);

/** Whether the triage is on ($CAP_SCAN_TRIAGE=0 turns it off). */
export function triageEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CAP_SCAN_TRIAGE !== '0';
}

const escape = (n: string) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The decision is made on the raw text with regular expressions (native speed: the JS lexer costs about
 * 1 µs a character, more than the captures it would save): comments and string literals are seen too, which
 * only sends more files to the full analysis, never fewer. Word boundaries are ASCII ones, so a letter
 * outside ASCII next to a name also counts as a boundary (again: more files, never fewer).
 */
export class Triage {
  private readonly known: RegExp;
  private static readonly PATH = /(?<!\bSelf\s*)::(?!\s*<)/;
  /** `!` after something that can end a macro name (not an operator, bracket, `#` of `#!`, or comment slash). */
  private static readonly BANG = /([^\s(\[{=,;&|!<>+\-*/%^:?#])\s*!(?!=)/g;

  constructor(names: TriageNames) {
    const words = [...new Set([...names.segments, ...names.methodNames, ...names.attributeNames, ...ALWAYS])].filter((n) => n !== '').map(escape);
    // a wildcard stem matches any name starting with it (the ALL_CAPS exception is not made: more files)
    const stems = names.stems.filter((n) => n !== '').map(escape);
    const alternatives = [`(?:${words.join('|')})(?![A-Za-z0-9_])`, ...(stems.length ? [`(?:${stems.join('|')})`] : [])];
    this.known = new RegExp(`(?<![A-Za-z0-9_])(?:${alternatives.join('|')})`);
  }

  /** Why the file needs the full analysis (the first reason checked), or null: the triage cleared it. Linear. */
  reason(source: string): string | null {
    if (source.includes('cargo:')) return 'cargo: string';
    const k = this.known.exec(source);
    if (k) return `name ${k[0]}`;
    if (Triage.PATH.test(source)) return 'path';
    Triage.BANG.lastIndex = 0;
    for (let m = Triage.BANG.exec(source); m; m = Triage.BANG.exec(source)) {
      // the word before the `!`: a keyword (`if !x`, `return !ok`) is no macro name
      const endAt = m.index + 1;
      let i = endAt;
      while (i > 0 && /[A-Za-z0-9_]/.test(source[i - 1]!)) i--;
      const word = source.slice(i, endAt);
      if (!NOT_MACRO.has(word)) return `macro ${word}!`;
    }
    return null;
  }
}
