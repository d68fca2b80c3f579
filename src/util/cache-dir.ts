// Where cap-scan keeps its caches by default.

import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * `$XDG_CACHE_HOME/cap-scan`, else `~/.cache/cap-scan`. A relative XDG_CACHE_HOME is ignored, as the
 * XDG base directory spec says (it would put the cache wherever the command happens to run).
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'cap-scan');
  return join(homedir(), '.cache', 'cap-scan');
}
