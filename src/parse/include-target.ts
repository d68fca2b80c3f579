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
 * Environment variables whose value is a place on the build machine outside the build (a home, a temp or
 * config directory): an include of a path under one reads the machine's files.
 */
const MACHINE_VARS = new Set([
  'HOME', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA', 'PROGRAMDATA', 'HOMEDRIVE', 'HOMEPATH', 'SYSTEMROOT', 'WINDIR',
  'TMPDIR', 'TEMP', 'TMP', 'PWD', 'OLDPWD', 'USER', 'LOGNAME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME',
  'XDG_RUNTIME_DIR', 'XDG_STATE_HOME', 'CARGO_HOME', 'RUSTUP_HOME', 'GNUPGHOME', 'SSH_AUTH_SOCK', 'KUBECONFIG',
  'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'GOOGLE_APPLICATION_CREDENTIALS', 'DOCKER_CONFIG',
]);

/**
 * Where an include macro's path (a literal, or `$VAR…` from includeTarget) read from the file at `rel`
 * (relative to the package root, `/`-separated) points:
 *   - 'outside': an absolute path, a path leaving the package, a machine variable (`$HOME`…), or, for
 *     `include_str!`/`include_bytes!` (data), any variable cargo does not set;
 *   - 'generated': the build's output: `$OUT_DIR`, cargo's artifact-dependency variables (`$CARGO_BIN_FILE_*`,
 *     every `$CARGO_*` but the manifest dir), and for `include!` (code) a variable that is not a machine
 *     one (a build script's `cargo:rustc-env`, typenum's `include!(env!("TYPENUM_BUILD_OP"))`);
 *   - 'package': inside the package (`$CARGO_MANIFEST_DIR` is its root).
 */
export function includePlace(rel: string, path: string, macro: string): 'outside' | 'generated' | 'package' {
  let p = unescapePath(path);
  let base = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
  const v = /^\$([A-Za-z_][\w]*)/.exec(p);
  if (v) {
    const name = v[1]!;
    if (name === 'OUT_DIR') return 'generated';
    if (MACHINE_VARS.has(name)) return 'outside';
    if (name !== 'CARGO_MANIFEST_DIR') return name.startsWith('CARGO_') || macro === 'include' ? 'generated' : 'outside';
    p = p.slice(v[0].length).replace(/^[\\/]+/, '');
    base = '';
  }
  if (/^(?:[\\/]|[A-Za-z]:[\\/]|~)/.test(p)) return 'outside';
  const segs = base === '' ? [] : base.split('/');
  for (const s of p.split(/[\\/]+/)) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (segs.length === 0) return 'outside';
      segs.pop();
    } else segs.push(s);
  }
  return 'package';
}

/** Whether an include path leaves the package (see includePlace). */
export function includeLeavesPackage(rel: string, path: string, macro = 'include_str'): boolean {
  return includePlace(rel, path, macro) === 'outside';
}
