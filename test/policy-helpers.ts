// Hand-built scan results for policy, reporter and diff unit tests.
import type { Capability, CrateReport, Finding, Phase, Project, ResolvedPackage, ScanResult } from '../src/types.js';

export function finding(capability: Capability, kind: string, phase: Phase, file: string, line: number, evidence: string, rule = `r-${kind}`): Finding {
  return { capability, kind, phase, rule, file, line, column: 5, evidence };
}

export function crate(name: string, version: string, findings: Finding[], extra: Partial<CrateReport> = {}): CrateReport {
  const phases = { runtime: [] as Capability[], build: [] as Capability[] };
  for (const f of findings) if (!phases[f.phase].includes(f.capability)) phases[f.phase].push(f.capability);
  phases.runtime.sort();
  phases.build.sort();
  const capabilities = [...new Set([...phases.runtime, ...phases.build])].sort();
  return {
    name,
    version,
    source: 'registry+https://github.com/rust-lang/crates.io-index',
    checksum: null,
    reachedAs: ['normal'],
    procMacro: false,
    buildScript: null,
    capabilities,
    phases,
    findings,
    urls: [],
    hosts: [],
    indicators: [],
    unanalyzed: [],
    ...extra,
  };
}

export function result(crates: CrateReport[], unscanned: ScanResult['unscanned'] = []): ScanResult {
  return { schemaVersion: 1, tool: { name: 'cap-scan', version: '0.1.0' }, crates, unscanned };
}

export function pkg(name: string, version: string, extra: Partial<ResolvedPackage> = {}): ResolvedPackage {
  return {
    id: `${name} ${version} registry`,
    name,
    version,
    source: 'registry+https://github.com/rust-lang/crates.io-index',
    checksum: null,
    member: false,
    reachedAs: ['normal'],
    phases: ['runtime'],
    dir: `/vendor/${name}-${version}`,
    manifest: null,
    unscannedReason: null,
    deps: [],
    lockLine: 1,
    ...extra,
  };
}

export function project(root: string, packages: ResolvedPackage[]): Project {
  return {
    root,
    rootManifest: {
      path: `${root}/Cargo.toml`,
      dir: root,
      package: null,
      lib: null,
      bins: [],
      tests: [],
      examples: [],
      benches: [],
      dependencies: [],
      workspace: { members: [], exclude: [] },
      raw: {},
    },
    lockfile: { path: `${root}/Cargo.lock`, version: 3, packages: [] },
    packages,
  };
}
