// Shared data model of the pipeline. Findings are data; wording lives in reporters.

/** Capability ids and their kinds (contract: keep stable). */
export const CAPABILITY_KINDS = {
  fs: ['fs.read', 'fs.write', 'fs.delete', 'fs.meta'],
  net: ['net.connect', 'net.listen', 'net.dns', 'net.http'],
  process: ['process.spawn', 'process.exec'],
  env: ['env.read', 'env.write'],
  ffi: ['ffi.extern', 'ffi.link', 'ffi.dynload', 'ffi.call'],
  unsafe: ['unsafe.block', 'unsafe.fn', 'unsafe.impl', 'unsafe.asm'],
  link: ['link.no_mangle', 'link.export_name', 'link.section', 'link.arg'],
  'build-script': ['build-script'],
  'proc-macro': ['proc-macro'],
} as const;

export type Capability = keyof typeof CAPABILITY_KINDS;
export const CAPABILITIES = Object.keys(CAPABILITY_KINDS) as Capability[];

export type Phase = 'runtime' | 'build';
export const PHASES: Phase[] = ['runtime', 'build'];

/** How a package is reached from the workspace members. */
export type DepKind = 'normal' | 'build' | 'dev';

// ---------------------------------------------------------------- lockfile

export interface LockDependencyRef {
  name: string;
  version?: string;
  source?: string;
}

export interface LockPackage {
  name: string;
  version: string;
  source: string | null;
  checksum: string | null;
  dependencies: LockDependencyRef[];
  /** 1-based line of the `[[package]]` header in Cargo.lock. */
  line: number;
}

export interface Lockfile {
  path: string;
  version: number;
  packages: LockPackage[];
}

// ---------------------------------------------------------------- manifest

export interface ManifestDependency {
  /** Name the dependent's code uses (the TOML key; `-` not yet mapped to `_`). */
  key: string;
  /** The real package name (`package = "…"` or the key). */
  package: string;
  kind: DepKind;
  req: string | null;
  path: string | null;
  git: string | null;
  registry: string | null;
  target: string | null;
  optional: boolean;
  /** 1-based line in the manifest, when known. */
  line: number | null;
}

export interface TargetSpec {
  name: string;
  /** Path relative to the package directory. */
  path: string;
}

export interface Manifest {
  path: string;
  dir: string;
  package: {
    name: string;
    version: string;
    edition: string;
    /** Build script path relative to the package dir, or null when there is none. */
    build: string | null;
    links: string | null;
  } | null;
  lib: (TargetSpec & { procMacro: boolean }) | null;
  bins: TargetSpec[];
  tests: TargetSpec[];
  examples: TargetSpec[];
  benches: TargetSpec[];
  dependencies: ManifestDependency[];
  workspace: {
    members: string[];
    exclude: string[];
  } | null;
  /** The parsed TOML document. */
  raw: Record<string, unknown>;
}

// ---------------------------------------------------------------- project graph

export interface PackageDep {
  /** Id of the resolved package. */
  id: string;
  /** Name under which the dependent's code refers to it (renames applied, `-` → `_`). */
  codeName: string;
  kind: DepKind;
}

export interface ResolvedPackage {
  /** Unique: `name version source`. */
  id: string;
  name: string;
  version: string;
  source: string | null;
  checksum: string | null;
  member: boolean;
  /** How it is reached from the members (sorted: normal, build, dev). */
  reachedAs: DepKind[];
  /** Phases in which its library code runs (sorted). Empty for dev-only packages. */
  phases: Phase[];
  /** Unpacked source directory, or null when not located. */
  dir: string | null;
  manifest: Manifest | null;
  /** Why the package could not be scanned (source not found, bad manifest…). */
  unscannedReason: string | null;
  deps: PackageDep[];
  /** Line of the package in Cargo.lock. */
  lockLine: number;
}

export interface Project {
  /** Workspace root directory (where Cargo.lock lives). */
  root: string;
  rootManifest: Manifest;
  lockfile: Lockfile;
  /** Every package of the lockfile, sorted by name then version. */
  packages: ResolvedPackage[];
  /** The chosen target triples (--target or the policy's `targets`); absent when none was chosen. */
  targets?: string[];
  /** Packages left out (e.g. only reached through dependencies no chosen target enables); with targets. */
  excluded?: ExcludedPackage[];
}

export interface ExcludedPackage {
  name: string;
  version: string;
  /** `target`: reached only through `[target.…]` dependencies that no chosen target enables. */
  reason: 'target';
}

// ---------------------------------------------------------------- scan output (JSON contract)

/** Where a finding's code sits, when it is not plain compiled library/build code. */
export type FindingContext = 'unreferenced' | 'test' | 'example' | 'bench' | 'bin' | 'generated' | 'macro-body' | 'disabled';

export interface Finding {
  capability: Capability;
  kind: string;
  phase: Phase;
  rule: string;
  file: string;
  line: number;
  column: number;
  evidence: string;
  context?: FindingContext;
}

/**
 * A capability a crate gets through a call into a dependency (src/link/reach.ts): the reference in this
 * crate (file, line, column), the dependency function as resolved, its callees, then the path that has it.
 */
export interface Reach {
  capability: Capability;
  kind: string;
  /** By the caller's place (library code: the crate's phase; build script: build). */
  phase: Phase;
  /** `["util::fetch", "util::helper", "std::net::TcpStream::connect"]` (at most 8, a longer chain shows `…`). */
  via: string[];
  file: string;
  line: number;
  column: number;
  context?: FindingContext;
}

export interface Indicator {
  id: string;
  file: string;
  line: number;
  detail: string;
}

export interface Unanalyzed {
  file: string;
  line: number;
  reason: string;
}

export interface CrateReport {
  name: string;
  version: string;
  source: string | null;
  checksum: string | null;
  reachedAs: DepKind[];
  procMacro: boolean;
  buildScript: string | null;
  capabilities: Capability[];
  phases: { runtime: Capability[]; build: Capability[] };
  findings: Finding[];
  /** Capabilities reached through calls into dependencies (absent when none). */
  reaches?: Reach[];
  urls: string[];
  hosts: string[];
  indicators: Indicator[];
  unanalyzed: Unanalyzed[];
  /** `crate` mode of a bin-only crate: the targets counted besides lib and build script (absent otherwise). */
  counted?: string[];
  /**
   * Workspace scans: the shortest path from a workspace member to the crate, one per phase it is reached
   * in (`["realproj", "reqwest", "hyper", "tokio"]`); empty when no member reaches it. Absent in `crate` mode.
   */
  dependencyPaths?: DependencyPath[];
}

/** One shortest path from a member to a crate (member first, the crate last). */
export interface DependencyPath {
  phase: Phase;
  /** Package names; `name@version` for a name the lockfile holds in several versions. */
  path: string[];
  /** The path goes through a member's dev-dependency (only with --include-dev). */
  dev?: true;
}

/** A capability a member's dependency tree brings, and through which of its direct dependencies. */
export interface BroughtCapability {
  capability: Capability;
  /** The member's direct dependencies whose trees hold a crate with it. */
  via: string[];
  /** The crates that have it. */
  crates: string[];
}

/** A workspace member and what its dependency tree brings, per phase. */
export interface MemberReport {
  name: string;
  version: string;
  brings: { runtime: BroughtCapability[]; build: BroughtCapability[] };
}

export interface Unscanned {
  name: string;
  version: string;
  reason: string;
}

export interface ScanResult {
  schemaVersion: 1;
  tool: { name: 'cap-scan'; version: string };
  crates: CrateReport[];
  unscanned: Unscanned[];
  /** Only when targets were chosen: the chosen triples and the packages left out for them. */
  targets?: string[];
  excluded?: ExcludedPackage[];
  /** Workspace scans: the members and what their dependency trees bring (absent in `crate` mode). */
  members?: MemberReport[];
}

/** An error whose message is shown to the user as one line (exit code 2). */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

// ---------------------------------------------------------------- sources

/** What a source provider is asked to locate. */
export interface SourceRequest {
  name: string;
  version: string;
  /** Cargo.lock `source` (`registry+…`, `sparse+…`, `git+…`), null for path packages. */
  source: string | null;
  checksum: string | null;
}

export interface SourceContext {
  /** Workspace root (directory of Cargo.lock). */
  workspaceRoot: string;
  /** CARGO_HOME (default ~/.cargo). */
  cargoHome: string;
  /** Never touch the network. */
  offline: boolean;
  /** cap-scan cache root ($XDG_CACHE_HOME/cap-scan or --cache-dir). */
  cacheDir: string;
  allowUnverified: boolean;
  /** --registry-url / CAP_SCAN_REGISTRY override. */
  registryUrl: string | null;
  /** -q: no download progress bar. */
  quiet?: boolean;
}

/**
 * `dir`: found. `unavailable`: this provider is responsible but cannot provide it (the reason is
 * reported if no later provider finds it). `null`: not this provider's kind of source.
 */
export type LocateResult = { dir: string } | { unavailable: string } | null;

export interface SourceProvider {
  name: string;
  locate(pkg: SourceRequest, ctx: SourceContext): Promise<LocateResult>;
}
