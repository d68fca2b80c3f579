// Limits that keep a file off the syntax tree (it is analysed as tokens instead, nothing is dropped):
// linear pre-checks of nesting, operator chains and token count.

/**
 * Files nested deeper than this are analysed as tokens only: tree-sitter's queries slow down
 * super-linearly on pathological nesting (100k nested blocks: minutes in native code), and no real
 * crate comes near it.
 */
export const MAX_NESTING = 10_000;

/** Maximum bracket nesting depth (strings and comments not excluded: an upper bound is enough). */
export function maxNesting(source: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
  }
  return max;
}

/**
 * Files with more tokens than this (a cheap linear estimate, see estimateTokens) are analysed as tokens:
 * tree-sitter's tree costs ~300-600 bytes of native memory per token and its parse slows down
 * super-linearly on long flat or deep runs (`a+a+…+a`, 4M tokens: 2.4 GiB). The largest real file of the
 * Debian corpus (encoding_rs data.rs) has 0.8M.
 */
export const MAX_TREE_TOKENS = 1_200_000;

/**
 * Upper estimate of the tokens (and so of the syntax-tree leaves) of a text: each run of word characters
 * and each other non-blank character counts one; stops counting past `limit`.
 */
export function estimateTokens(source: string, limit = Infinity): number {
  let n = 0;
  let word = false;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    const w = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
    if (w) {
      if (!word && ++n > limit) return n;
    } else if (c !== 32 && c !== 10 && c !== 9 && c !== 13 && ++n > limit) return n;
    word = w;
  }
  return n;
}

/**
 * Files whose longest operator chain exceeds this are analysed as tokens: a chain of N `.`/`::`/binary
 * operators is a syntax tree N levels deep without any bracket nesting (`a.b().b()…`, `a::a::…`,
 * `a+a+…`), and tree-sitter's query slows down quadratically with depth (10k chained calls: 4.6 s).
 */
export const MAX_CHAIN = 4_000;

/**
 * Upper estimate of the operator-chain depth of a text: operator characters (`.`, `:`, `+`, `-`, `*`, `/`,
 * `%`, `^`, `&`, `|`, `<`, `>`, `=`, `!`, `?`) counted along an expression, a `,` `;` `{` or `}` ending
 * the chain at its bracket level (a `(`/`[` opens a level, its close returns to the outer chain).
 * String literals, char literals and comments are skipped. Stops past `limit`.
 */
export function chainDepth(source: string, limit = Infinity): number {
  const levels: number[] = [0];
  let sum = 0;
  let max = 0;
  const n = source.length;
  for (let i = 0; i < n; i++) {
    const c = source.charCodeAt(i);
    switch (c) {
      case 34: // "
        for (i++; i < n && source.charCodeAt(i) !== 34; i++) if (source.charCodeAt(i) === 92) i++;
        break;
      case 39: // '
        if (source.charCodeAt(i + 1) === 92) {
          const e = source.indexOf("'", i + 3);
          if (e > 0 && e - i <= 12) i = e;
        } else if (source.charCodeAt(i + 2) === 39) i += 2;
        break;
      case 47: // /
        if (source.charCodeAt(i + 1) === 47) {
          const e = source.indexOf('\n', i);
          i = e < 0 ? n : e;
        } else if (source.charCodeAt(i + 1) === 42) {
          const e = source.indexOf('*/', i + 2);
          i = e < 0 ? n : e + 1;
        } else if (++levels[levels.length - 1]! > 0 && ++sum > max && (max = sum) > limit) return max;
        break;
      case 40: // (
      case 91: // [
        levels.push(0);
        break;
      case 41: // )
      case 93: // ]
        if (levels.length > 1) sum -= levels.pop()!;
        break;
      case 44: // ,
      case 59: // ;
      case 123: // {
      case 125: // }
        sum -= levels[levels.length - 1]!;
        levels[levels.length - 1] = 0;
        break;
      case 46: case 58: case 43: case 45: case 42: case 37: case 94: case 38: case 124: case 60: case 62: case 61: case 33: case 63:
        levels[levels.length - 1]!++;
        if (++sum > max && (max = sum) > limit) return max;
        break;
    }
  }
  return max;
}

/** Why a text is kept off the syntax tree (analysed as tokens), or null. */
export function treeGuard(source: string): string | null {
  // nesting deeper than MAX_NESTING needs more opening brackets than a shorter file has characters
  const depth = source.length <= MAX_NESTING ? 0 : maxNesting(source);
  if (depth > MAX_NESTING) return `nesting-too-deep (${depth} levels): analysed as tokens`;
  if (source.length > MAX_CHAIN) {
    const d = chainDepth(source, MAX_CHAIN);
    if (d > MAX_CHAIN) return `expression-too-deep (over ${MAX_CHAIN} chained operators): analysed as tokens`;
  }
  if (source.length > MAX_TREE_TOKENS) {
    const n = estimateTokens(source, MAX_TREE_TOKENS);
    if (n > MAX_TREE_TOKENS) return `too-many-tokens (over ${MAX_TREE_TOKENS}): analysed as tokens`;
  }
  return null;
}
