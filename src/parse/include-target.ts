// The path an include macro (`include!`, `include_str!`, `include_bytes!`) names when it is not a plain
// literal (issue 18 items 4 and 5): `concat!(env!("OUT_DIR"), "/x.rs")` is `$OUT_DIR/x.rs`. Environment
// variables are kept as `$NAME`; anything else (another macro, a const) makes the path unknown (null).

import { Tok, type Token } from './lexer.js';

/** The included path of an include macro's argument tokens (without the outer delimiters), or null. */
export function includeTarget(toks: Token[]): string | null {
  const parts: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.t === Tok.Str) parts.push(t.v);
    else if (t.t === Tok.Ident && (t.v === 'env' || t.v === 'option_env')) {
      // env!("NAME") / env!("NAME", "message")
      const s = toks[i + 3];
      if (toks[i + 1]?.v !== '!' || toks[i + 2]?.v !== '(' || s?.t !== Tok.Str) return null;
      parts.push(`$${s.v}`);
      i += 3;
      while (i < toks.length && toks[i]!.v !== ')') i++;
    } else if (t.t === Tok.Ident && t.v !== 'concat') return null;
  }
  return parts.length > 0 ? parts.join('') : null;
}

/** Rust string escapes of a path literal that matter for paths (`\\`, `\"`). */
function unescapePath(p: string): string {
  return p.replace(/\\(["\\'])/g, '$1');
}

/**
 * Whether an include path (literal, or `$VAR…` from includeTarget) read from the file at `rel` (relative to
 * the package root, `/`-separated) is absolute or leaves the package. `$CARGO_MANIFEST_DIR` is the package
 * root; `$OUT_DIR` is the build script's output (build-generated, not outside); any other variable's value
 * is the build machine's, so outside.
 */
export function includeLeavesPackage(rel: string, path: string): boolean {
  let p = unescapePath(path);
  let base = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
  const v = /^\$([A-Za-z_][\w]*)/.exec(p);
  if (v) {
    if (v[1] === 'OUT_DIR') return false;
    if (v[1] !== 'CARGO_MANIFEST_DIR') return true;
    p = p.slice(v[0].length).replace(/^[\\/]+/, '');
    base = '';
  }
  if (/^(?:[\\/]|[A-Za-z]:[\\/]|~)/.test(p)) return true;
  const segs = base === '' ? [] : base.split('/');
  for (const s of p.split(/[\\/]+/)) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (segs.length === 0) return true;
      segs.pop();
    } else segs.push(s);
  }
  return false;
}

/** The build-generated name of an `include!` path from the build script's output (`$OUT_DIR/x.rs`), else null. */
export function buildGenerated(path: string): string | null {
  return /^\$OUT_DIR\b/.test(path) ? path : null;
}
