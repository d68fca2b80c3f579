// Where cargo keeps its home (config, registry sources, git checkouts): read without loading the cargo
// config parser, so that a scan served from the workspace cache entry (scan/workspace-cache.ts) can key on it.

import os from 'node:os';
import path from 'node:path';

/** `$CARGO_HOME` (resolved), else `~/.cargo`. */
export function defaultCargoHome(): string {
  const env = process.env.CARGO_HOME;
  if (env && env.trim() !== '') return path.resolve(env);
  return path.join(os.homedir(), '.cargo');
}
