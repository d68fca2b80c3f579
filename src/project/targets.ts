// Target platforms: a built-in table of common triples' cfg values, and the evaluation of a manifest's
// `[target.'cfg(...)'.dependencies]` / `[target.TRIPLE.dependencies]` key against the chosen triples.
//
// Evaluation is three-valued: a predicate this table does not know (`feature = "x"`, `test`,
// `target_feature = "…"`, `panic = "…"`) is "unknown", and a dependency is left out only when its key
// is definitely false for every chosen target — never by guesswork.

import { UserError } from '../types.js';

type CfgValues = Record<string, readonly string[]>;

function triple(arch: string, vendor: string, os: string, env: string, family: string[], width: string): CfgValues {
  return {
    target_arch: [arch],
    target_vendor: [vendor],
    target_os: [os],
    target_env: [env],
    target_family: family,
    target_pointer_width: [width],
    target_endian: ['little'],
  };
}

/** cfg values of the triples `--target` accepts (as `rustc --print cfg --target …` reports them). */
export const TARGETS: Readonly<Record<string, CfgValues>> = {
  'x86_64-unknown-linux-gnu': triple('x86_64', 'unknown', 'linux', 'gnu', ['unix'], '64'),
  'x86_64-unknown-linux-musl': triple('x86_64', 'unknown', 'linux', 'musl', ['unix'], '64'),
  'aarch64-unknown-linux-gnu': triple('aarch64', 'unknown', 'linux', 'gnu', ['unix'], '64'),
  'aarch64-unknown-linux-musl': triple('aarch64', 'unknown', 'linux', 'musl', ['unix'], '64'),
  'i686-unknown-linux-gnu': triple('x86', 'unknown', 'linux', 'gnu', ['unix'], '32'),
  'x86_64-apple-darwin': triple('x86_64', 'apple', 'macos', '', ['unix'], '64'),
  'aarch64-apple-darwin': triple('aarch64', 'apple', 'macos', '', ['unix'], '64'),
  'x86_64-pc-windows-msvc': triple('x86_64', 'pc', 'windows', 'msvc', ['windows'], '64'),
  'x86_64-pc-windows-gnu': triple('x86_64', 'pc', 'windows', 'gnu', ['windows'], '64'),
  'aarch64-pc-windows-msvc': triple('aarch64', 'pc', 'windows', 'msvc', ['windows'], '64'),
  'i686-pc-windows-msvc': triple('x86', 'pc', 'windows', 'msvc', ['windows'], '32'),
  'i686-pc-windows-gnu': triple('x86', 'pc', 'windows', 'gnu', ['windows'], '32'),
  'wasm32-unknown-unknown': triple('wasm32', 'unknown', 'unknown', '', ['wasm'], '32'),
  'wasm32-wasi': triple('wasm32', 'unknown', 'wasi', '', ['wasm'], '32'),
};

export const KNOWN_TARGETS: readonly string[] = Object.keys(TARGETS).sort();

/** Validates triples (UserError listing the known ones); sorted and deduplicated. */
export function checkTargets(triples: readonly string[], where = '--target'): string[] {
  for (const t of triples) {
    if (!Object.prototype.hasOwnProperty.call(TARGETS, t)) {
      throw new UserError(`${where}: unknown target '${t}' (known: ${KNOWN_TARGETS.join(', ')})`);
    }
  }
  return [...new Set(triples)].sort();
}

/** true, false, or null (unknown: a predicate this table cannot decide). */
type Tri = boolean | null;

const KNOWN_KEYS = new Set(['target_os', 'target_family', 'target_arch', 'target_env', 'target_pointer_width', 'target_endian', 'target_vendor']);

type Tok = { t: 'ident' | 'str' | 'punct'; v: string };

function tokenize(s: string): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))!;
      out.push({ t: 'ident', v: m[0] });
      i += m[0].length;
    } else if (c === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) return null;
      out.push({ t: 'str', v: s.slice(i + 1, end) });
      i = end + 1;
    } else if ('(),='.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
    } else {
      return null;
    }
  }
  return out;
}

/** Parses and evaluates `cfg(...)` for one target; null when it cannot be decided (or parsed). */
function evalCfg(expr: string, cfg: CfgValues): Tri {
  const toks = tokenize(expr);
  if (!toks) return null;
  let i = 0;
  const peek = (v: string) => toks[i]?.t === 'punct' && toks[i]!.v === v;
  const expect = (v: string) => {
    if (!peek(v)) throw new Error('cfg syntax');
    i++;
  };
  const list = (): Tri[] => {
    expect('(');
    const items: Tri[] = [];
    while (!peek(')')) {
      items.push(pred());
      if (peek(',')) i++;
      else break;
    }
    expect(')');
    return items;
  };
  const pred = (): Tri => {
    const tok = toks[i++];
    if (!tok || tok.t !== 'ident') throw new Error('cfg syntax');
    if ((tok.v === 'all' || tok.v === 'any' || tok.v === 'not') && peek('(')) {
      const items = list();
      if (tok.v === 'not') {
        if (items.length !== 1) throw new Error('cfg syntax');
        return items[0] === null ? null : !items[0];
      }
      if (tok.v === 'all') return items.includes(false) ? false : items.includes(null) ? null : true;
      return items.includes(true) ? true : items.includes(null) ? null : false;
    }
    if (peek('=')) {
      i++;
      const val = toks[i++];
      if (!val || val.t !== 'str') throw new Error('cfg syntax');
      if (!KNOWN_KEYS.has(tok.v)) return null;
      return (cfg[tok.v] ?? []).includes(val.v);
    }
    if (tok.v === 'unix' || tok.v === 'windows' || tok.v === 'wasm') return (cfg.target_family ?? []).includes(tok.v);
    return null;
  };
  try {
    const m = /^\s*cfg\s*\((.*)\)\s*$/s.exec(expr);
    if (!m) return null;
    const inner = tokenize(m[1]!);
    if (!inner) return null;
    toks.length = 0;
    toks.push(...inner);
    i = 0;
    const r = pred();
    return i === toks.length ? r : null;
  } catch {
    return null;
  }
}

/**
 * Whether a dependency declared under `[target.<key>]` may be built for any of `targets`. A triple key
 * matches that triple; a `cfg(...)` key is evaluated; anything this cannot decide counts as enabled.
 */
export function targetEnabled(key: string, targets: readonly string[]): boolean {
  const k = key.trim();
  if (!k.startsWith('cfg')) return targets.includes(k) || !/^[A-Za-z0-9_.-]+$/.test(k);
  for (const t of targets) {
    if (evalCfg(k, TARGETS[t]!) !== false) return true;
  }
  return false;
}
