// Options shared by every command, as parsed by the CLI.

import type { ReportFilter } from './report/filter.js';
import type { ScanProgress } from './scan/progress.js';
import type { RemoteCacheSetting } from './scan/remote-cache.js';

export interface ScanOptions {
  /** Path to Cargo.toml (or its directory). */
  manifestPath: string;
  /** Use this Cargo.lock instead of the workspace's (diff --base). */
  lockfilePath?: string;
  includeDev: boolean;
  allTargets: boolean;
  offline: boolean;
  /** Target triples (--target); null: the policy's `targets`, else all targets. */
  targets?: string[] | null;
  /** Refuse a Cargo.lock that does not satisfy the manifests (cargo's --locked). */
  locked: boolean;
  /** Worker threads for parsing (0 = available cores). */
  jobs: number;
  /** Use the result cache. */
  cache: boolean;
  /** Cache root; null = $XDG_CACHE_HOME/cap-scan or ~/.cache/cap-scan. */
  cacheDir: string | null;
  /**
   * Look up and write the whole-workspace cache entry (scan/workspace-cache.ts); default true with the
   * cache. Off for a temporary project (`crate --deps`), which no later run scans again.
   */
  workspaceEntry?: boolean;
  registryUrl: string | null;
  allowUnverified: boolean;
  /** Progress of the scan (the CLI's line on a TTY stderr); absent: silent. */
  progress?: ScanProgress;
  /** -q: no progress bars (downloads too) and no warnings. */
  quiet?: boolean;
  /** Where warnings go (the CLI: stderr, each message once; not with -q); absent: nowhere. */
  warn?: (message: string) => void;
  /** --remote-cache URL or CAP_SCAN_REMOTE_CACHE (null/absent: the policy's `remote-cache`, if any). */
  remoteCache?: RemoteCacheSetting | null;
  /** --remote-cache-read-only: download from the remote cache, never upload. */
  remoteCacheReadOnly?: boolean;
}

export interface OutputOptions {
  /** Reporter name: human, json, sarif, markdown, github, html. */
  format: string;
  verbose: boolean;
  color: boolean;
  /** --crate / --capability: what the report is narrowed to (absent or empty: everything). */
  filter?: ReportFilter;
}

export type CommonOptions = ScanOptions & OutputOptions;

/** What a command produces; the CLI writes `text` (to stdout or --output) and sets the exit code. */
export interface CommandOutput {
  text: string;
  /** The same output as bytes, when the command has them so (a served report): written as they are. */
  bytes?: Uint8Array;
  exitCode: number;
}

export function defaultScanOptions(overrides: Partial<ScanOptions> = {}): ScanOptions {
  return {
    manifestPath: 'Cargo.toml',
    includeDev: false,
    allTargets: false,
    offline: false,
    locked: false,
    jobs: 0,
    cache: true,
    cacheDir: null,
    registryUrl: null,
    allowUnverified: false,
    ...overrides,
  };
}
