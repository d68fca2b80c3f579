import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  applyWorkspaceInheritance,
  parseManifest,
  readManifest,
  scanTomlKeys,
  usesWorkspaceInheritance,
} from '../src/project/manifest.js';
import { UserError, type ManifestDependency } from '../src/types.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'manifest');
const fx = (...p: string[]): string => path.join(root, ...p);

function dep(d: Partial<ManifestDependency> & { key: string; line: number | null }): ManifestDependency {
  return {
    package: d.key,
    kind: 'normal',
    req: null,
    path: null,
    git: null,
    registry: null,
    target: null,
    optional: false,
    ...d,
  };
}

function userError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

async function asyncUserError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('readManifest: package, targets, dependencies', () => {
  it('discovers the default targets and build.rs, and records every dependency with its line', async () => {
    const m = await readManifest(fx('auto', 'Cargo.toml'));
    expect(m.path).toBe(fx('auto', 'Cargo.toml'));
    expect(m.dir).toBe(fx('auto'));
    expect(m.package).toEqual({ name: 'my-crate', version: '1.2.3', edition: '2021', build: 'build.rs', links: 'mylib' });
    expect(m.lib).toEqual({ name: 'my_crate', path: 'src/lib.rs', procMacro: false });
    expect(m.bins).toEqual([
      { name: 'my-crate', path: 'src/main.rs' },
      { name: 'one', path: 'src/bin/one.rs' },
      { name: 'two', path: 'src/bin/two/main.rs' },
    ]);
    expect(m.tests).toEqual([
      { name: 'it', path: 'tests/it.rs' },
      { name: 'multi', path: 'tests/multi/main.rs' },
    ]);
    expect(m.examples).toEqual([{ name: 'ex', path: 'examples/ex.rs' }]);
    expect(m.benches).toEqual([{ name: 'b', path: 'benches/b.rs' }]);
    expect(m.workspace).toBeNull();
    expect(m.dependencies).toEqual([
      dep({ key: 'serde', req: '1.0', line: 8 }),
      dep({ key: 'web', package: 'ureq', req: '2', optional: true, line: 9 }),
      dep({ key: 'local-util', path: '../util', line: 10 }),
      dep({ key: 'git-dep', git: 'https://example.com/g.git', line: 11 }),
      dep({ key: 'other', req: '0.1', registry: 'my-registry', line: 12 }),
      dep({ key: 'dotted', req: '3', line: 14 }),
      // [build_dependencies] and [dev_dependencies] are ignored next to their dashed spellings, as cargo does.
      dep({ key: 'cc', kind: 'build', req: '1.0', line: 25 }),
      dep({ key: 'criterion', kind: 'dev', req: '0.5', line: 19 }),
      dep({ key: 'winapi', req: '0.3', target: 'cfg(windows)', line: 31 }),
      dep({ key: 'pkg-config', kind: 'build', req: '0.3', target: 'x86_64-unknown-linux-gnu', line: 37 }),
      dep({ key: 'nix', req: '0.27', target: 'cfg(unix)', line: 39 }),
    ]);
  });

  it('takes a custom build script path and a proc-macro lib with its own name and path', async () => {
    const m = await readManifest(fx('custom', 'Cargo.toml'));
    expect(m.package).toEqual({ name: 'custom', version: '0.1.0', edition: '2018', build: 'scripts/gen.rs', links: null });
    expect(m.lib).toEqual({ name: 'renamed', path: 'lib/mod.rs', procMacro: true });
    expect(m.bins).toEqual([]);
  });

  it('build = false ignores build.rs; autobins/autotests = false stop discovery; explicit bins keep their paths', async () => {
    const m = await readManifest(fx('no-build', 'Cargo.toml'));
    expect(m.package?.build).toBeNull();
    expect(m.lib).toEqual({ name: 'no_build', path: 'src/lib.rs', procMacro: false });
    expect(m.bins).toEqual([
      { name: 'extra', path: 'src/bin/extra.rs' },
      { name: 'tool', path: 'cli/tool.rs' },
    ]);
    expect(m.tests).toEqual([]);
  });

  it('reads old spellings: [project], build = true, proc_macro, dev_dependencies; edition 2015 rules', async () => {
    const m = await readManifest(fx('old-style', 'Cargo.toml'));
    expect(m.package).toEqual({ name: 'old-style', version: '0.0.1', edition: '2015', build: 'build.rs', links: null });
    expect(m.lib).toEqual({ name: 'old_style', path: 'src/lib.rs', procMacro: true });
    // Edition 2015 with an explicit [[bin]] and no `autobins` key: src/bin/other.rs is not discovered.
    expect(m.bins).toEqual([{ name: 'main-tool', path: 'src/main.rs' }]);
    expect(m.dependencies).toEqual([
      dep({ key: 'old-build', kind: 'build', req: '2', line: 17 }),
      dep({ key: 'old-dev', kind: 'dev', req: '1', line: 14 }),
    ]);
  });

  it('reads a virtual manifest', async () => {
    const m = await readManifest(fx('virtual', 'Cargo.toml'));
    expect(m.package).toBeNull();
    expect(m.lib).toBeNull();
    expect(m.bins).toEqual([]);
    expect(m.workspace).toEqual({ members: ['crates/*', 'tools/cli'], exclude: ['crates/old'] });
  });

  it('reports invalid TOML with file and line', async () => {
    const p = fx('bad-syntax', 'Cargo.toml');
    expect(await asyncUserError(readManifest(p))).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6: invalid TOML: [^\n]+$`));
  });

  it('reports a missing manifest', async () => {
    const p = fx('nowhere', 'Cargo.toml');
    expect(await asyncUserError(readManifest(p))).toBe(`Cargo.toml not found at ${p}`);
  });
});

describe('parseManifest', () => {
  it('uses the exists callback for build.rs and src/lib.rs; nothing exists without it', () => {
    const text = '[package]\nname = "a-b"\nversion = "1.0.0"\n';
    const none = parseManifest(text, '/x/Cargo.toml');
    expect(none.package?.build).toBeNull();
    expect(none.lib).toBeNull();
    const some = parseManifest(text, '/x/Cargo.toml', (p) => p === 'build.rs' || p === 'src/lib.rs');
    expect(some.package?.build).toBe('build.rs');
    expect(some.lib).toEqual({ name: 'a_b', path: 'src/lib.rs', procMacro: false });
    expect(some.dir).toBe('/x');
  });

  it('an explicit [lib] exists even when src/lib.rs was not seen; version defaults to 0.0.0', () => {
    const m = parseManifest('[package]\nname = "p"\n[lib]\nproc-macro = true\n', '/x/Cargo.toml');
    expect(m.package?.version).toBe('0.0.0');
    expect(m.lib).toEqual({ name: 'p', path: 'src/lib.rs', procMacro: true });
  });

  it('finds lines for top-level dotted keys and inline dependency tables', () => {
    const text = [
      'dependencies.a = "1"',
      "target.'cfg(unix)'.dependencies = { b = \"2\" }",
      '',
      '[build-dependencies.c]',
      'version = "3"',
      '',
      '[dev-dependencies]',
      's = """',
      'x = 1',
      '"""',
      't = "1"',
    ].join('\n');
    const m = parseManifest(text, '/x/Cargo.toml');
    expect(m.dependencies.map((d) => [d.key, d.kind, d.target, d.line])).toEqual([
      ['a', 'normal', null, 1],
      ['c', 'build', null, 4],
      ['s', 'dev', null, 8],
      ['t', 'dev', null, 11],
      ['b', 'normal', 'cfg(unix)', 2],
    ]);
  });

  it('turns wrong types in a hostile manifest into UserErrors naming file, line and key', () => {
    const P = '/x/Cargo.toml';
    const cases: Array<[string, string]> = [
      ['package = 1\n', `${P}:1: \`package\` must be a table`],
      ['[package]\nversion = "1"\n', `${P}:1: \`package.name\` is missing`],
      ['[package]\nname = ["a"]\n', `${P}:2: \`package.name\` must be a string`],
      ['[package]\nname = "a"\nversion = 1\n', `${P}:3: \`package.version\` must be a string`],
      ['[package]\nname = "a"\nbuild = 3\n', `${P}:3: \`package.build\` must be a path string or a boolean`],
      ['[package]\nname = "a"\nautobins = "no"\n', `${P}:3: \`package.autobins\` must be a boolean`],
      ['[package]\nname = "a"\n[lib]\nproc-macro = "yes"\n', `${P}:4: \`lib.proc-macro\` must be a boolean`],
      ['lib = "x"\n[package]\nname = "a"\n', `${P}:1: \`lib\` must be a table`],
      ['bin = { name = "x" }\n[package]\nname = "a"\n', `${P}:1: \`bin\` must be an array of tables`],
      ['bin = [1]\n[package]\nname = "a"\n', `${P}:1: \`bin[0]\` must be a table`],
      ['[package]\nname = "a"\n[[bin]]\npath = 5\n', `${P}:4: \`bin[0].path\` must be a string`],
      ['[package]\nname = "a"\n[[test]]\nharness = false\n', `${P}:3: \`test[0].name\` is missing`],
      ['dependencies = 3\n', `${P}:1: \`dependencies\` must be a table`],
      ['[dependencies]\nfoo = 1\n', `${P}:2: \`dependencies.foo\` must be a version string or a table`],
      ['[dependencies]\nfoo = { version = 1 }\n', `${P}:2: \`dependencies.foo.version\` must be a string`],
      ['[dependencies]\nfoo = { path = ["a"] }\n', `${P}:2: \`dependencies.foo.path\` must be a string`],
      ['[dependencies]\nfoo = { version = "1", package = {} }\n', `${P}:2: \`dependencies.foo.package\` must be a string`],
      ['[dependencies]\nfoo = { version = "1", optional = "yes" }\n', `${P}:2: \`dependencies.foo.optional\` must be a boolean`],
      ['target = []\n', `${P}:1: \`target\` must be a table`],
      ["[target.'cfg(unix)']\ndependencies = 2\n", `${P}:2: \`target.'cfg(unix)'.dependencies\` must be a table`],
      ['[workspace]\nmembers = "crates/*"\n', `${P}:2: \`workspace.members\` must be an array of strings`],
      ['[workspace]\nexclude = [1]\n', `${P}:2: \`workspace.exclude[0]\` must be a string`],
      ['[workspace.dependencies]\nx = 1979-05-27\n', `${P}:2: \`workspace.dependencies.x\` must be a version string or a table`],
      ['[workspace.package]\nversion = 2\n', `${P}:2: \`workspace.package.version\` must be a string`],
    ];
    const got = cases.map(([text]) => {
      try {
        parseManifest(text, P);
        return 'no error';
      } catch (e) {
        return e instanceof UserError ? e.message : `not a UserError: ${String(e)}`;
      }
    });
    expect(got).toEqual(cases.map(([, msg]) => msg));
  });

  it('reports syntax errors with a 1-based line', () => {
    expect(userError(() => parseManifest('[package]\nname = "a"\nname = "b"\n', 'C.toml'))).toMatch(
      /^C\.toml:3: invalid TOML: Can't redefine existing key$/,
    );
  });
});

describe('scanTomlKeys', () => {
  it('skips values, multi-line strings and arrays; decodes quoted keys', () => {
    const text = [
      'a = """',
      '[not.a.header]',
      'k = 1',
      '"""',
      "b = '''x'''",
      'c = [',
      '  "[nope]", # comment ]',
      '  { d = 1 },',
      ']',
      '[t."q\\u0041". \'lit\' . bare]',
      'e.f = 1',
      '[[arr]]',
    ].join('\n');
    expect(scanTomlKeys(text)).toEqual([
      { path: ['a'], line: 1, header: false },
      { path: ['b'], line: 5, header: false },
      { path: ['c'], line: 6, header: false },
      { path: ['t', 'qA', 'lit', 'bare'], line: 10, header: true },
      { path: ['t', 'qA', 'lit', 'bare', 'e', 'f'], line: 11, header: false },
      { path: ['arr'], line: 12, header: true },
    ]);
  });
});

describe('applyWorkspaceInheritance', () => {
  it('fills version, edition and dependencies from the root, rebasing paths to the member', async () => {
    const rootM = await readManifest(fx('inherit', 'Cargo.toml'));
    const member = await readManifest(fx('inherit', 'crates', 'm', 'Cargo.toml'));
    expect(usesWorkspaceInheritance(member)).toBe(true);
    expect(usesWorkspaceInheritance(rootM)).toBe(false);
    const m = applyWorkspaceInheritance(member, rootM);
    expect(m.package).toEqual({ name: 'm', version: '0.7.1', edition: '2021', build: null, links: null });
    expect(m.dependencies).toEqual([
      dep({ key: 'log', req: '0.4.20', line: 7 }),
      dep({ key: 'util', req: '0.2', path: '../util', line: 8 }),
      dep({ key: 'web', package: 'ureq', req: '2.9', optional: true, line: 9 }),
      dep({ key: 'own', req: '1', line: 10 }),
      dep({ key: 'gitdep', kind: 'build', git: 'https://example.com/g.git', line: 13 }),
    ]);
    // The input is left as read.
    expect(member.package?.version).toBe('0.0.0');
    expect(member.dependencies[0]!.req).toBeNull();
  });

  it('names the missing workspace entry', () => {
    const rootM = parseManifest('[workspace]\n', '/w/Cargo.toml');
    const member = parseManifest('[package]\nname = "m"\nversion.workspace = true\n', '/w/m/Cargo.toml');
    expect(userError(() => applyWorkspaceInheritance(member, rootM))).toBe(
      '/w/m/Cargo.toml: `package.version` is inherited with `workspace = true` but /w/Cargo.toml has no `workspace.package.version`',
    );
    const m2 = parseManifest('[package]\nname = "m"\n[dependencies]\nx = { workspace = true }\n', '/w/m/Cargo.toml');
    expect(userError(() => applyWorkspaceInheritance(m2, rootM))).toBe(
      '/w/m/Cargo.toml: `x` is inherited with `workspace = true` but /w/Cargo.toml has no `workspace.dependencies.x`',
    );
  });
});
