// Ordering helpers shared by every module that sorts for deterministic output.

/** Code-unit order of two strings (not locale-dependent, so output is the same on every machine). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
