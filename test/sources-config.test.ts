import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CargoConfig,
  defaultCargoHome,
  loadCargoConfig,
  parseGitSource,
  resolveReplacement,
  sourceIdOf,
} from '../src/sources/cargo-config.js';
import { UserError } from '../src/types.js';

const FIX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/sources');
const fx = (...p: string[]): string => path.join(FIX, ...p);
/** A CARGO_HOME without any config file. */
const NO_HOME = fx('cargo-home');

const CRATES_GIT = 'registry+https://github.com/rust-lang/crates.io-index';
const CRATES_SPARSE = 'sparse+https://index.crates.io/';

/** Only the part of the config coming from fixture files (ancestors of the repo may have their own). */
function own(cfg: CargoConfig): CargoConfig {
  const keep = <T extends { definedIn?: string }>(r: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(r).filter(([, v]) => v.definedIn?.startsWith(FIX)));
  return {
    sources: keep(cfg.sources),
    registries: keep(cfg.registries),
    files: (cfg.files ?? []).filter((f) => f.startsWith(FIX)),
  };
}

describe('sourceIdOf', () => {
  it('maps both spellings of crates.io to crates-io', () => {
    expect(sourceIdOf(CRATES_GIT)).toBe('crates-io');
    expect(sourceIdOf(CRATES_SPARSE)).toBe('crates-io');
    expect(sourceIdOf('sparse+https://index.crates.io')).toBe('crates-io');
    expect(sourceIdOf('registry+https://github.com/rust-lang/crates.io-index.git')).toBe('crates-io');
  });

  it('canonicalizes alternative registries', () => {
    expect(sourceIdOf('registry+https://Git.Corp.example/Index.git/')).toBe('registry+https://git.corp.example/Index');
    expect(sourceIdOf('sparse+HTTPS://Mirror.example/api')).toBe('sparse+https://mirror.example/api/');
  });

  it('keeps the git reference and drops the locked commit', () => {
    expect(sourceIdOf('git+https://github.com/Example/Widget.git?branch=main#abc1234def')).toBe(
      'git+https://github.com/example/widget?branch=main',
    );
    expect(sourceIdOf('git+https://gitlab.example/Group/Repo?tag=v1.0#abc')).toBe(
      'git+https://gitlab.example/Group/Repo?tag=v1.0',
    );
    expect(sourceIdOf('git+https://gitlab.example/g/r?rev=0123abc#0123abcdef')).toBe(
      'git+https://gitlab.example/g/r?rev=0123abc',
    );
    expect(sourceIdOf('git+https://gitlab.example/g/r#0123abcdef')).toBe('git+https://gitlab.example/g/r');
  });

  it('returns other sources unchanged', () => {
    expect(sourceIdOf('path+file:///x/y')).toBe('path+file:///x/y');
  });

  it('parses git sources', () => {
    expect(parseGitSource('git+https://github.com/example/widget?branch=main#abc1234def')).toEqual({
      url: 'https://github.com/example/widget',
      branch: 'main',
      commit: 'abc1234def',
    });
    expect(parseGitSource('git+ssh://git@host/r.git')).toEqual({ url: 'ssh://git@host/r.git' });
  });
});

describe('loadCargoConfig', () => {
  it('merges files: deeper directory wins per key, `config` wins over `config.toml`, CARGO_HOME last', async () => {
    const cfg = own(await loadCargoConfig(fx('config/outer/inner'), fx('config/home')));
    expect(cfg.files).toEqual([
      fx('config/outer/inner/.cargo/config'),
      fx('config/outer/.cargo/config.toml'),
      fx('config/home/config.toml'),
    ]);
    expect(cfg.sources).toEqual({
      shared: {
        directory: fx('config/outer/inner/shared-inner'),
        localRegistry: fx('config/outer/lr-outer'),
        definedIn: fx('config/outer/inner/.cargo/config'),
      },
      'crates-io': { replaceWith: 'outer-mirror', definedIn: fx('config/outer/.cargo/config.toml') },
      'outer-mirror': { registry: 'sparse+https://outer.example/index/', definedIn: fx('config/outer/.cargo/config.toml') },
      'home-mirror': { registry: 'https://home.example/git-index', definedIn: fx('config/home/config.toml') },
      // relative to the parent of CARGO_HOME
      'home-vendor': { directory: fx('config/vend'), definedIn: fx('config/home/config.toml') },
    });
    expect(cfg.registries).toEqual({
      corp: { index: 'sparse+https://corp.example/index/', definedIn: fx('config/home/config.toml') },
    });
  });

  it('reads CARGO_HOME once when it is also one of the ancestor .cargo directories', async () => {
    const cfg = own(await loadCargoConfig(fx('config/outer/inner'), fx('config/outer/.cargo')));
    expect(cfg.files).toEqual([fx('config/outer/inner/.cargo/config'), fx('config/outer/.cargo/config.toml')]);
  });

  it('the outer directory alone sees its own replacement', async () => {
    const cfg = await loadCargoConfig(fx('config/outer'), fx('config/home'));
    expect(resolveReplacement(cfg, CRATES_GIT)).toEqual({
      kind: 'sparse',
      url: 'https://outer.example/index/',
      name: 'outer-mirror',
    });
  });

  it('CARGO_HOME config applies when no directory config does', async () => {
    const cfg = await loadCargoConfig(fx('config/home'), fx('config/home'));
    expect(own(cfg).files).toEqual([fx('config/home/config.toml')]);
    expect(resolveReplacement(cfg, CRATES_SPARSE)).toEqual({
      kind: 'registry',
      url: 'https://home.example/git-index',
      name: 'home-mirror',
    });
  });

  it('bad TOML is a UserError naming file and line', async () => {
    const err = await loadCargoConfig(fx('badtoml'), NO_HOME).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      new RegExp(`^${fx('badtoml/.cargo/config.toml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: invalid TOML in cargo config: `),
    );
    expect((err as Error).message).not.toContain('\n');
  });

  it('a wrongly typed value is a UserError naming file and key', async () => {
    await expect(loadCargoConfig(fx('badtype'), NO_HOME)).rejects.toThrow(
      new UserError(`${fx('badtype/.cargo/config.toml')}: \`source.crates-io.replace-with\` must be a string`),
    );
  });

  describe('defaultCargoHome', () => {
    const saved = process.env.CARGO_HOME;
    afterEach(() => {
      if (saved === undefined) delete process.env.CARGO_HOME;
      else process.env.CARGO_HOME = saved;
    });
    it('uses CARGO_HOME, else ~/.cargo', async () => {
      process.env.CARGO_HOME = '/opt/cargo-home';
      expect(defaultCargoHome()).toBe('/opt/cargo-home');
      delete process.env.CARGO_HOME;
      const os = await import('node:os');
      expect(defaultCargoHome()).toBe(path.join(os.homedir(), '.cargo'));
    });
  });
});

describe('resolveReplacement', () => {
  it('follows a replace-with chain to a directory, for both crates.io spellings', async () => {
    const cfg = await loadCargoConfig(fx('chain'), NO_HOME);
    const expected = { kind: 'directory', path: fx('chain/third_party/vendor'), name: 'step-two' };
    expect(resolveReplacement(cfg, CRATES_GIT)).toEqual(expected);
    expect(resolveReplacement(cfg, CRATES_SPARSE)).toEqual(expected);
  });

  it('matches an alternative registry by its [registries] index URL', async () => {
    const cfg = await loadCargoConfig(fx('chain'), NO_HOME);
    expect(resolveReplacement(cfg, 'registry+https://git.corp.example/Index')).toEqual({
      kind: 'sparse',
      url: 'https://mirror.corp.example/api/',
      name: 'corp-mirror',
    });
  });

  it('matches a registry by a [source] registry URL and replaces it with a local registry', async () => {
    const cfg = await loadCargoConfig(fx('chain'), NO_HOME);
    expect(resolveReplacement(cfg, 'registry+https://legacy.example/index')).toEqual({
      kind: 'local-registry',
      path: '/srv/legacy-registry',
      name: 'legacy-local',
    });
  });

  it('matches a git source with its branch, as cargo vendor writes it', async () => {
    const cfg = await loadCargoConfig(fx('chain'), NO_HOME);
    expect(resolveReplacement(cfg, 'git+https://github.com/example/widget?branch=main#abc1234def5678')).toEqual({
      kind: 'directory',
      path: fx('chain/vendor-git'),
      name: 'vendored-git',
    });
    expect(resolveReplacement(cfg, 'git+https://github.com/example/widget?branch=dev#abc1234def5678')).toEqual({
      kind: 'none',
    });
  });

  it('reports none when nothing replaces the source', () => {
    const cfg: CargoConfig = { sources: {}, registries: { corp: { index: 'sparse+https://corp.example/' } } };
    expect(resolveReplacement(cfg, CRATES_GIT)).toEqual({ kind: 'none', name: 'crates-io' });
    expect(resolveReplacement(cfg, 'sparse+https://corp.example/')).toEqual({ kind: 'none', name: 'corp' });
    expect(resolveReplacement(cfg, 'registry+https://unknown.example/index')).toEqual({ kind: 'none' });
  });

  it('replacing with a [registries] name or with crates-io yields its index', () => {
    const cfg: CargoConfig = {
      sources: {
        'crates-io': { replaceWith: 'corp' },
        old: { registry: 'https://old.example/index', replaceWith: 'crates-io' },
      },
      registries: { corp: { index: 'https://corp.example/index' } },
    };
    expect(resolveReplacement(cfg, CRATES_SPARSE)).toEqual({
      kind: 'registry',
      url: 'https://corp.example/index',
      name: 'corp',
    });
    // old -> crates-io -> corp
    expect(resolveReplacement(cfg, 'registry+https://old.example/index')).toEqual({
      kind: 'registry',
      url: 'https://corp.example/index',
      name: 'corp',
    });
    const toCratesIo: CargoConfig = {
      sources: { old: { registry: 'https://old.example/index', replaceWith: 'crates-io' } },
      registries: {},
    };
    expect(resolveReplacement(toCratesIo, 'registry+https://old.example/index')).toEqual({
      kind: 'sparse',
      url: 'https://index.crates.io/',
      name: 'crates-io',
    });
  });

  it('detects replace-with cycles', async () => {
    const cfg = await loadCargoConfig(fx('cycle'), NO_HOME);
    expect(() => resolveReplacement(cfg, CRATES_GIT)).toThrow(
      new UserError(
        `cargo config: cycle in source replacement: crates-io -> first -> second -> first (${fx('cycle/.cargo/config.toml')})`,
      ),
    );
  });

  it('rejects a replace-with naming an undefined source', async () => {
    const cfg = await loadCargoConfig(fx('dangling'), NO_HOME);
    expect(() => resolveReplacement(cfg, CRATES_GIT)).toThrow(
      new UserError(
        `cargo config: source \`crates-io\` is replaced with \`nowhere\`, which is not defined in [source] or [registries] (${fx('dangling/.cargo/config.toml')})`,
      ),
    );
  });
});
