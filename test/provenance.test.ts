// Provenance on fixtures/project/ws (see test/project.test.ts for its layout): a build-dependency (cc),
// a proc-macro (serde_derive → syn → proc-macro2), two versions of foo, dev-dependencies (tempfile →
// fastrand), members depending on members (cli → app, app → inner's ext).

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../src/project/load-project.js';
import { dependencyPaths, memberRollups } from '../src/project/provenance.js';
import type { Capability, CrateReport, Project, SourceContext, SourceProvider } from '../src/types.js';

const FX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'project');
const WS = path.join(FX, 'ws');

const ctx: SourceContext = { workspaceRoot: WS, cargoHome: '/nonexistent', offline: true, cacheDir: '/nonexistent', allowUnverified: false, registryUrl: null };

const vendor: SourceProvider = {
  name: 'vendor',
  async locate(req) {
    if (req.source === null) return null;
    return { dir: path.join(WS, 'vendor', `${req.name}-${req.version}`) };
  },
};

async function load(includeDev: boolean): Promise<Project> {
  return loadProject({ manifestPath: WS, includeDev, providers: [vendor], ctx });
}

/** One line per package: `phase: a > b > c` for each of its paths. */
function pathsByName(project: Project, includeDev: boolean): string[] {
  const paths = dependencyPaths(project, includeDev);
  return project.packages.map((p) => `${p.name} ${p.version}: ${paths.get(p.id)!.map((x) => `${x.phase}${x.dev ? ' (dev)' : ''} ${x.path.join(' > ')}`).join('; ')}`);
}

describe('dependencyPaths', () => {
  it('gives the shortest path from a member per phase: build-dependencies and proc-macros lead to build', async () => {
    const project = await load(false);
    expect(pathsByName(project, false)).toEqual([
      'app 0.3.0: runtime app',
      'autocfg 1.1.0: build app > ureq > autocfg',
      'cc 1.0.83: build app > cc',
      'cli 0.1.0: runtime cli',
      'ext 0.1.0: runtime inner > ext',
      // two versions of one name: the versions tell them apart
      'foo 1.0.0: runtime app > foo@1.0.0',
      'foo 2.0.0: runtime app > foo@2.0.0',
      'inner 0.1.0: runtime inner',
      'jobserver 0.1.27: build app > cc > jobserver',
      'log 0.4.20: runtime app > log',
      'md-5 0.10.6: runtime app > md-5',
      'nobuild 0.1.0: runtime nobuild',
      // reached at run time through util, and at build time through the proc-macro
      'proc-macro2 1.0.69: runtime util > quote > proc-macro2; build app > serde_derive > proc-macro2',
      'quote 1.0.33: runtime util > quote; build app > serde_derive > quote',
      'serde_derive 1.0.190: build app > serde_derive',
      'syn 2.0.38: build app > serde_derive > syn',
      'ureq 2.9.1: runtime app > ureq',
      'util 0.3.0: runtime util',
      'winapi 0.3.9: runtime app > winapi',
    ]);
  });

  it('with --include-dev, a path through a dev-dependency is marked dev and taken only when no other exists', async () => {
    const project = await load(true);
    const lines = pathsByName(project, true);
    expect(lines.filter((l) => /^(fastrand|tempfile|log) /.test(l))).toEqual([
      'fastrand 2.0.1: runtime (dev) inner > fastrand',
      // log is a normal and a dev dependency of app: the normal path wins
      'log 0.4.20: runtime app > log',
      'tempfile 3.8.1: runtime (dev) app > tempfile',
    ]);
  });
});

function report(name: string, version: string, runtime: Capability[], build: Capability[] = []): CrateReport {
  const REG = 'registry+https://github.com/rust-lang/crates.io-index';
  return {
    name,
    version,
    source: REG,
    checksum: null,
    reachedAs: ['normal'],
    procMacro: false,
    buildScript: null,
    capabilities: [...new Set([...runtime, ...build])].sort(),
    phases: { runtime, build },
    findings: [],
    urls: [],
    hosts: [],
    indicators: [],
    unanalyzed: [],
  };
}

describe('memberRollups', () => {
  it('lists each capability a member brings per phase, with the direct dependencies it comes through', async () => {
    const project = await load(false);
    const crates = [
      report('ureq', '2.9.1', ['net'], ['build-script']),
      report('autocfg', '1.1.0', ['fs']),
      report('proc-macro2', '1.0.69', ['env']),
      report('quote', '1.0.33', ['unsafe']),
      report('syn', '2.0.38', ['process']),
      report('foo', '2.0.0', ['net']),
      { ...report('ext', '0.1.0', ['fs']), source: null }, // a path package
    ];
    const roll = memberRollups(project, crates, false);
    const text = roll.map((m) => [
      `${m.name} ${m.version}`,
      ...(['runtime', 'build'] as const).flatMap((ph) => m.brings[ph].map((b) => `  ${ph} ${b.capability}: via ${b.via.join(', ')}; crates ${b.crates.join(', ')}`)),
    ]);
    expect(text).toEqual([
      [
        'app 0.3.0',
        '  runtime env: via util; crates proc-macro2',
        '  runtime fs: via util; crates ext',
        '  runtime net: via foo@2.0.0, ureq; crates foo@2.0.0, ureq',
        '  runtime unsafe: via util; crates quote',
        // a build script runs at build time; what a proc-macro or a build-dependency uses is build time
        '  build build-script: via ureq; crates ureq',
        '  build env: via serde_derive; crates proc-macro2',
        '  build fs: via ureq; crates autocfg',
        '  build process: via serde_derive; crates syn',
        '  build unsafe: via serde_derive; crates quote',
      ],
      ['cli 0.1.0', '  runtime env: via app; crates proc-macro2', '  runtime fs: via app; crates ext', '  runtime net: via app; crates foo@2.0.0, ureq', '  runtime unsafe: via app; crates quote', '  build build-script: via app; crates ureq', '  build env: via app; crates proc-macro2', '  build fs: via app; crates autocfg', '  build process: via app; crates syn', '  build unsafe: via app; crates quote'],
      ['inner 0.1.0', '  runtime fs: via ext; crates ext'],
      ['nobuild 0.1.0'],
      ['util 0.3.0', '  runtime env: via quote; crates proc-macro2', '  runtime fs: via inner; crates ext', '  runtime unsafe: via quote; crates quote'],
    ]);
  });
});
