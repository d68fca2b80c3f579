// A package's file listing: every regular file, bounded, in a deterministic order.

import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { cmp } from '../util/compare.js';

/** Upper bound on the directory entries a package listing walks (hostile input: a crate with 1M files). */
export const MAX_LISTED_ENTRIES = 200_000;

export interface PackageListing {
  /** Every regular file (relative, `/`-separated, sorted). */
  files: string[];
  /** The first entry (in walk order) the listing cap left out, or null when the listing is complete. */
  truncatedAt: string | null;
  /** Directories that could not be read (relative; `.` for the package directory), with the error code. */
  unreadable: { dir: string; code: string }[];
}

/**
 * Every file of a package (relative, `/`-separated, sorted), dotfiles included, without the top-level
 * `target/` and `.git/`, symlinks neither listed nor followed: one walk serves the prefetch, the
 * unreferenced-file pass and the native-code check. The walk visits directories depth-first in name order
 * and stops after MAX_LISTED_ENTRIES entries, so what a truncated listing holds is the same on every run.
 * Synchronous: one readdir per directory, far cheaper than the promise API's round trips, and bounded.
 */
export async function listPackage(dir: string, maxEntries = MAX_LISTED_ENTRIES): Promise<PackageListing> {
  const files: string[] = [];
  const unreadable: PackageListing['unreadable'] = [];
  let seen = 0;
  let truncatedAt: string | null = null;
  const walk = (abs: string, rel: string): void => {
    let list: Dirent[];
    try {
      list = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      unreadable.push({ dir: rel === '' ? '.' : rel, code: (e as NodeJS.ErrnoException).code ?? 'error' });
      return;
    }
    list.sort((a, b) => cmp(a.name, b.name));
    for (const e of list) {
      if (truncatedAt !== null) return;
      if (rel === '' && (e.name === 'target' || e.name === '.git')) continue;
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (++seen > maxEntries) {
        truncatedAt = r;
        return;
      }
      if (e.isDirectory()) walk(join(abs, e.name), r);
      else if (e.isFile()) files.push(r);
    }
  };
  walk(dir, '');
  return { files: files.sort(cmp), truncatedAt, unreadable };
}

const TARGET_DIRS = /^(?:tests|examples|benches|src\/bin)\//;

/** The Rust files of a package listing a scan considers: no dot paths or node_modules, target dirs only with allTargets. */
export function rustFilesOf(all: string[], allTargets: boolean): string[] {
  return all.filter((f) => f.endsWith('.rs') && !/(?:^|\/)(?:\.|node_modules\/)/.test(f) && (allTargets || !TARGET_DIRS.test(f)));
}
