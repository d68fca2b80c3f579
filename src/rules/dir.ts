// Where the built-in rules live: a module of its own, so that what only needs the directory (the workspace
// cache entry's key, the typosquat list) does not load the TOML parser with the rule loader.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function builtinRulesDir(): string {
  // dist/rules/dir.js or src/rules/dir.ts → <package>/rules
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules');
}
