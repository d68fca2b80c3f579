// loadProject on fixture workspaces. fixtures/project/ws was laid out by hand and its Cargo.lock written by
// `cargo generate-lockfile --offline` (ws/.cargo/config.toml points crates-io at the fake ws/vendor
// directory source). The providers here are test doubles; the real ones live in src/sources/.

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadProject, packageId } from '../src/project/load-project.js';
import { cargoReqToRange } from '../src/util/semver.js';
import { UserError, type Project, type SourceContext, type SourceProvider, type SourceRequest } from '../src/types.js';

const FX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'project');
const WS = path.join(FX, 'ws');
const VENDOR = path.join(WS, 'vendor');
const REG = 'registry+https://github.com/rust-lang/crates.io-index';

const ctx: SourceContext = {
  workspaceRoot: WS,
  cargoHome: '/nonexistent/cargo-home',
  offline: true,
  cacheDir: '/nonexistent/cache',
  allowUnverified: false,
  registryUrl: null,
};

/** Answers first for a few packages only: its reason comes first, a later provider's is appended. */
const mirror: SourceProvider = {
  name: 'mirror',
  async locate(req) {
    if (req.name === 'winapi' || req.name === 'autocfg') return { unavailable: `mirror: checksum mismatch for ${req.name}` };
    return null;
  },
};

function vendorProvider(calls: string[]): SourceProvider {
  return {
    name: 'vendor',
    async locate(req: SourceRequest) {
      calls.push(`${req.name} ${req.version} ${req.source === null ? 'path' : req.checksum === null ? 'no-sum' : 'sum'}`);
      if (req.source === null) return null;
      const key = `${req.name}-${req.version}`;
      if (key === 'log-0.4.20') return null; // nobody handles it
      if (key === 'winapi-0.3.9') return { unavailable: 'vendor: second reason' };
      if (key === 'jobserver-0.1.27') return { dir: path.join(FX, 'broken', key) }; // unparsable manifest
      if (key === 'proc-macro2-1.0.69') return { dir: path.join(VENDOR, 'foo-1.0.0') }; // wrong package
      return { dir: path.join(VENDOR, key) };
    },
  };
}

const rel = (p: string | null): string | null => (p === null ? null : path.relative(FX, p).split(path.sep).join('/'));

function summary(project: Project) {
  return project.packages.map((p) => ({
    id: p.id,
    member: p.member,
    reachedAs: p.reachedAs,
    phases: p.phases,
    dir: rel(p.dir),
    reason: p.unscannedReason,
    deps: p.deps.map((d) => `${d.id} as ${d.codeName} (${d.kind})`),
    lockLine: p.lockLine,
  }));
}

const reg = (name: string, version: string): string => `${name} ${version} ${REG}`;

function expectedWs(includeDev: boolean) {
  const all = [
    {
      id: 'app 0.3.0',
      member: true,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/crates/app',
      reason: null,
      deps: [
        `${reg('cc', '1.0.83')} as cc (build)`,
        `${reg('foo', '1.0.0')} as foo (normal)`,
        `${reg('foo', '2.0.0')} as foo2 (normal)`,
        `${reg('log', '0.4.20')} as log (normal)`,
        `${reg('log', '0.4.20')} as log (dev)`,
        `${reg('md-5', '0.10.6')} as md5 (normal)`,
        `${reg('serde_derive', '1.0.190')} as serde_derive (normal)`,
        ...(includeDev ? [`${reg('tempfile', '3.8.1')} as tempfile (dev)`] : []),
        `${reg('ureq', '2.9.1')} as web (normal)`,
        'util 0.3.0 as util (normal)',
        `${reg('winapi', '0.3.9')} as winapi (normal)`,
      ],
      lockLine: 5,
    },
    {
      id: reg('autocfg', '1.1.0'),
      member: false,
      reachedAs: ['build'],
      phases: ['build'],
      dir: 'ws/vendor/autocfg-1.1.0',
      reason: null,
      deps: [],
      lockLine: 21,
    },
    {
      id: reg('cc', '1.0.83'),
      member: false,
      reachedAs: ['build'],
      phases: ['build'],
      dir: 'ws/vendor/cc-1.0.83',
      reason: null,
      deps: [`${reg('jobserver', '0.1.27')} as jobserver (normal)`],
      lockLine: 27,
    },
    {
      id: 'cli 0.1.0',
      member: true,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/tools/cli',
      reason: null,
      deps: ['app 0.3.0 as app (normal)'],
      lockLine: 36,
    },
    {
      id: 'ext 0.1.0',
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ext',
      reason: null,
      deps: [`${reg('log', '0.4.20')} as log (normal)`],
      lockLine: 43,
    },
    ...(includeDev
      ? [
          {
            id: reg('fastrand', '2.0.1'),
            member: false,
            reachedAs: ['dev'],
            phases: ['runtime'],
            dir: 'ws/vendor/fastrand-2.0.1',
            reason: null,
            deps: [],
            lockLine: 50,
          },
        ]
      : []),
    {
      id: reg('foo', '1.0.0'),
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/vendor/foo-1.0.0',
      reason: null,
      deps: [],
      lockLine: 56,
    },
    {
      id: reg('foo', '2.0.0'),
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/vendor/foo-2.0.0',
      reason: null,
      deps: [],
      lockLine: 62,
    },
    {
      // Not listed in `members`, but a path dependency under the workspace root: cargo makes it a member.
      id: 'inner 0.1.0',
      member: true,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/inner',
      reason: null,
      deps: ['ext 0.1.0 as ext (normal)', ...(includeDev ? [`${reg('fastrand', '2.0.1')} as fastrand (dev)`] : [])],
      lockLine: 68,
    },
    {
      id: reg('jobserver', '0.1.27'),
      member: false,
      reachedAs: ['build'],
      phases: ['build'],
      dir: 'broken/jobserver-0.1.27',
      reason: `${path.join(FX, 'broken', 'jobserver-0.1.27', 'Cargo.toml')}:5: \`package.build\` must be a path string or a boolean`,
      deps: [],
      lockLine: 76,
    },
    {
      id: reg('log', '0.4.20'),
      member: false,
      reachedAs: ['normal', 'dev'],
      phases: ['runtime'],
      dir: null,
      reason: 'source not found (no provider)',
      deps: [],
      lockLine: 82,
    },
    {
      id: reg('md-5', '0.10.6'),
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/vendor/md-5-0.10.6',
      reason: null,
      deps: [],
      lockLine: 88,
    },
    {
      id: 'nobuild 0.1.0',
      member: true,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/crates/nobuild',
      reason: null,
      deps: [],
      lockLine: 94,
    },
    {
      id: reg('proc-macro2', '1.0.69'),
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime', 'build'],
      dir: 'ws/vendor/foo-1.0.0',
      reason: `${path.join(VENDOR, 'foo-1.0.0', 'Cargo.toml')}: declares foo 1.0.0, expected proc-macro2 1.0.69`,
      deps: [],
      lockLine: 98,
    },
    {
      id: reg('quote', '1.0.33'),
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime', 'build'],
      dir: 'ws/vendor/quote-1.0.33',
      reason: null,
      deps: [`${reg('proc-macro2', '1.0.69')} as proc_macro2 (normal)`],
      lockLine: 104,
    },
    {
      id: reg('serde_derive', '1.0.190'),
      member: false,
      reachedAs: ['normal'],
      phases: ['build'],
      dir: 'ws/vendor/serde_derive-1.0.190',
      reason: null,
      deps: [
        `${reg('proc-macro2', '1.0.69')} as proc_macro2 (normal)`,
        `${reg('quote', '1.0.33')} as quote (normal)`,
        `${reg('syn', '2.0.38')} as syn (normal)`,
      ],
      lockLine: 113,
    },
    {
      id: reg('syn', '2.0.38'),
      member: false,
      reachedAs: ['normal'],
      phases: ['build'],
      dir: 'ws/vendor/syn-2.0.38',
      reason: null,
      deps: [`${reg('proc-macro2', '1.0.69')} as proc_macro2 (normal)`, `${reg('quote', '1.0.33')} as quote (normal)`],
      lockLine: 124,
    },
    ...(includeDev
      ? [
          {
            id: reg('tempfile', '3.8.1'),
            member: false,
            reachedAs: ['dev'],
            phases: ['runtime'],
            dir: 'ws/vendor/tempfile-3.8.1',
            reason: null,
            deps: [`${reg('fastrand', '2.0.1')} as fastrand (normal)`, `${reg('version_check', '0.9.4')} as version_check (build)`],
            lockLine: 134,
          },
        ]
      : []),
    {
      id: reg('ureq', '2.9.1'),
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/vendor/ureq-2.9.1',
      reason: null,
      deps: [`${reg('autocfg', '1.1.0')} as autocfg (build)`, `${reg('foo', '2.0.0')} as foo (normal)`],
      lockLine: 144,
    },
    {
      id: 'util 0.3.0',
      member: true,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: 'ws/crates/util',
      reason: null,
      deps: ['inner 0.1.0 as inner (normal)', `${reg('quote', '1.0.33')} as quote (normal)`],
      lockLine: 154,
    },
    ...(includeDev
      ? [
          {
            // Only a build-dependency of a dev-dependency: a dev subtree stays dev (built only for tests).
            id: reg('version_check', '0.9.4'),
            member: false,
            reachedAs: ['dev'],
            phases: ['build'],
            dir: 'ws/vendor/version_check-0.9.4',
            reason: null,
            deps: [],
            lockLine: 162,
          },
        ]
      : []),
    {
      // Target-specific (cfg(windows)) dependencies are part of the graph like any other.
      id: reg('winapi', '0.3.9'),
      member: false,
      reachedAs: ['normal'],
      phases: ['runtime'],
      dir: null,
      reason: 'mirror: checksum mismatch for winapi; vendor: second reason',
      deps: [],
      lockLine: 168,
    },
  ];
  return all;
}

async function userError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('loadProject on a workspace', () => {
  it('classifies every package; dev-only packages are left out', async () => {
    const calls: string[] = [];
    const project = await loadProject({ manifestPath: WS, includeDev: false, providers: [mirror, vendorProvider(calls)], ctx });
    expect(project.root).toBe(WS);
    expect(project.rootManifest.path).toBe(path.join(WS, 'Cargo.toml'));
    expect(project.rootManifest.workspace).toEqual({ members: ['crates/*', 'tools/cli'], exclude: ['crates/old'] });
    expect(project.lockfile.version).toBe(4);
    expect(project.lockfile.packages).toHaveLength(22);
    expect(summary(project)).toEqual(expectedWs(false));
    // Path packages (members and `ext`) are located from manifests, never through providers; the
    // request carries the lock checksum.
    expect(calls.sort()).toEqual([
      'autocfg 1.1.0 sum',
      'cc 1.0.83 sum',
      'fastrand 2.0.1 sum',
      'foo 1.0.0 sum',
      'foo 2.0.0 sum',
      'jobserver 0.1.27 sum',
      'log 0.4.20 sum',
      'md-5 0.10.6 sum',
      'proc-macro2 1.0.69 sum',
      'quote 1.0.33 sum',
      'serde_derive 1.0.190 sum',
      'syn 2.0.38 sum',
      'tempfile 3.8.1 sum',
      'ureq 2.9.1 sum',
      'version_check 0.9.4 sum',
      'winapi 0.3.9 sum',
    ]);
  });

  it('keeps dev-only packages with includeDev, as runtime', async () => {
    const project = await loadProject({ manifestPath: WS, includeDev: true, providers: [mirror, vendorProvider([])], ctx });
    expect(summary(project)).toEqual(expectedWs(true));
  });

  it('finds the workspace root from a member directory or manifest', async () => {
    for (const start of [path.join(WS, 'crates', 'app'), path.join(WS, 'tools', 'cli', 'Cargo.toml')]) {
      const project = await loadProject({ manifestPath: start, includeDev: false, providers: [mirror, vendorProvider([])], ctx });
      expect(project.root).toBe(WS);
      expect(summary(project)).toEqual(expectedWs(false));
    }
  });

  it('reads members with inheritance, build scripts and proc-macro flags', async () => {
    const project = await loadProject({ manifestPath: WS, includeDev: false, providers: [vendorProvider([])], ctx });
    const get = (name: string) => project.packages.find((p) => p.name === name)!;
    const app = get('app').manifest!;
    expect(app.package).toEqual({ name: 'app', version: '0.3.0', edition: '2021', build: 'build.rs', links: null });
    expect(app.dependencies.find((d) => d.key === 'util')).toMatchObject({ path: '../util', line: 7 });
    expect(app.dependencies.find((d) => d.key === 'winapi')).toMatchObject({ target: 'cfg(windows)', req: '0.3', line: 16 });
    expect(get('cli').manifest!.package!.build).toBe('scripts/gen.rs');
    expect(get('nobuild').manifest!.package!.build).toBeNull();
    expect(get('serde_derive').manifest!.lib).toMatchObject({ procMacro: true });
    expect(get('md-5').manifest!.lib).toEqual({ name: 'md5', path: 'src/lib.rs', procMacro: false });
    expect(get('foo').id).toBe(packageId({ name: 'foo', version: '1.0.0', source: REG }));
    // The excluded crate is not in the project.
    expect(project.packages.some((p) => p.name === 'old')).toBe(false);
  });

  it('an excluded directory is not a member: its own manifest is the root', async () => {
    const old = path.join(WS, 'crates', 'old');
    expect(await userError(loadProject({ manifestPath: old, includeDev: false, providers: [], ctx }))).toBe(
      `Cargo.lock not found at ${path.join(old, 'Cargo.lock')}; run \`cargo generate-lockfile\``,
    );
  });
});

describe('loadProject: roots, locks and errors', () => {
  const simple = (p: Project) => p.packages.map((x) => [x.id, x.member, x.dir && rel(x.dir), x.reachedAs, x.phases, x.deps.map((d) => d.id)]);

  it('a root that is also a package is a member; a member finds it', async () => {
    for (const start of [path.join(FX, 'rootpkg'), path.join(FX, 'rootpkg', 'sub')]) {
      const project = await loadProject({ manifestPath: start, includeDev: false, providers: [], ctx });
      expect(project.root).toBe(path.join(FX, 'rootpkg'));
      expect(project.rootManifest.package?.name).toBe('rootpkg');
      expect(simple(project)).toEqual([
        ['rootpkg 1.0.0', true, 'rootpkg', ['normal'], ['runtime'], ['sub 1.0.0']],
        ['sub 1.0.0', true, 'rootpkg/sub', ['normal'], ['runtime'], []],
      ]);
    }
  });

  it('a package excluded from the workspace above it is its own root', async () => {
    const project = await loadProject({ manifestPath: path.join(FX, 'rootpkg', 'standalone'), includeDev: false, providers: [], ctx });
    expect(project.root).toBe(path.join(FX, 'rootpkg', 'standalone'));
    expect(simple(project)).toEqual([['standalone 0.2.0', true, 'rootpkg/standalone', ['normal'], ['runtime'], []]]);
  });

  it('follows `package.workspace` to a root outside the package directory', async () => {
    const project = await loadProject({ manifestPath: path.join(FX, 'pointer', 'member'), includeDev: false, providers: [], ctx });
    expect(project.root).toBe(path.join(FX, 'pointer', 'root'));
    expect(project.rootManifest.package).toBeNull();
    expect(simple(project)).toEqual([['member 0.1.0', true, 'pointer/member', ['normal'], ['runtime'], []]]);
  });

  it('lockfilePath overrides the workspace lock; a member whose version moved is matched by name', async () => {
    const lockfilePath = path.join(FX, 'base', 'Cargo.lock');
    const project = await loadProject({ manifestPath: path.join(FX, 'rootpkg'), includeDev: false, providers: [], ctx, lockfilePath });
    expect(project.lockfile.path).toBe(lockfilePath);
    expect(simple(project)).toEqual([
      ['rootpkg 1.0.0', true, 'rootpkg', ['normal'], ['runtime'], ['sub 0.9.0']],
      ['sub 0.9.0', true, 'rootpkg/sub', ['normal'], ['runtime'], []],
    ]);
  });

  it('a lock package nothing reaches is kept as normal/runtime', async () => {
    const project = await loadProject({ manifestPath: path.join(FX, 'unreached'), includeDev: false, providers: [], ctx });
    expect(simple(project)).toEqual([
      ['a 0.1.0', true, 'unreached', ['normal'], ['runtime'], []],
      [`orphan 1.0.0 ${REG}`, false, null, ['normal'], ['runtime'], []],
    ]);
    expect(project.packages[1]!.unscannedReason).toBe('source not found (no provider)');
  });

  it('an invalid root Cargo.toml is fatal, with file and line', async () => {
    const p = path.join(FX, 'bad-manifest', 'Cargo.toml');
    expect(await userError(loadProject({ manifestPath: p, includeDev: false, providers: [], ctx }))).toBe(
      `${p}:4: invalid TOML: Unterminated string`,
    );
  });

  it('a missing Cargo.lock is fatal', async () => {
    const dir = path.join(FX, 'no-lock');
    expect(await userError(loadProject({ manifestPath: dir, includeDev: false, providers: [], ctx }))).toBe(
      `Cargo.lock not found at ${path.join(dir, 'Cargo.lock')}; run \`cargo generate-lockfile\``,
    );
  });

  it('an invalid Cargo.lock is fatal, with file and line', async () => {
    const lock = path.join(FX, 'bad-lock', 'Cargo.lock');
    expect(await userError(loadProject({ manifestPath: path.join(FX, 'bad-lock'), includeDev: false, providers: [], ctx }))).toMatch(
      new RegExp(`^${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:9: invalid TOML: Unexpected character`),
    );
  });

  it('a missing manifest is reported', async () => {
    const p = path.join(FX, 'nowhere');
    expect(await userError(loadProject({ manifestPath: p, includeDev: false, providers: [], ctx }))).toBe(`Cargo.toml not found at ${p}`);
  });
});

describe('cargoReqToRange', () => {
  it('reads bare versions as caret requirements and commas as conjunctions', () => {
    expect(cargoReqToRange('1.2')).toBe('^1.2');
    expect(cargoReqToRange('>= 1.0, < 2')).toBe('>=1.0 <2');
    expect(cargoReqToRange('=0.3.1')).toBe('=0.3.1');
    expect(cargoReqToRange('~1')).toBe('~1');
    expect(cargoReqToRange('*')).toBe('*');
  });
});
