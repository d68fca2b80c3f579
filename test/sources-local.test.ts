import path from 'node:path';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCargoConfig } from '../src/sources/cargo-config.js';
import { defaultProviders, locateSource, offlineProviders } from '../src/sources/index.js';
import {
  directorySourceProvider,
  gitCheckoutProvider,
  localRegistryProvider,
  registrySrcProvider,
} from '../src/sources/local.js';
import type { SourceContext, SourceProvider, SourceRequest } from '../src/types.js';

const FIX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/sources');
const fx = (...p: string[]): string => path.join(FIX, ...p);
const HOME = fx('cargo-home');

const CRATES_GIT = 'registry+https://github.com/rust-lang/crates.io-index';
const CRATES_SPARSE = 'sparse+https://index.crates.io/';
const WIDGET_SHA = 'abc1234def5678901234567890abcdef12345678';
const WIDGET_GIT = `git+https://github.com/example/widget?branch=main#${WIDGET_SHA}`;

function ctx(workspaceRoot: string, cargoHome = HOME): SourceContext {
  return {
    workspaceRoot,
    cargoHome,
    offline: true,
    cacheDir: '/nonexistent/cap-scan-cache',
    allowUnverified: false,
    registryUrl: null,
  };
}

function req(name: string, version: string, source: string | null, checksum: string | null = null): SourceRequest {
  return { name, version, source, checksum };
}

describe('directory source provider', () => {
  const root = fx('vendored');
  const vendor = fx('vendored/vendor');
  const provider = async (): Promise<SourceProvider> => directorySourceProvider(await loadCargoConfig(root, HOME));

  it('finds the short `<name>` layout', async () => {
    const p = await provider();
    const sum = '1111111111111111111111111111111111111111111111111111111111111111';
    expect(await p.locate(req('plain', '1.0.0', CRATES_GIT, sum), ctx(root))).toEqual({ dir: path.join(vendor, 'plain') });
  });

  it('finds the versioned `<name>-<version>` layout (sparse spelling of crates.io too)', async () => {
    const p = await provider();
    const sum = '0909090909090909090909090909090909090909090909090909090909090909';
    expect(await p.locate(req('plain', '0.9.0', CRATES_SPARSE, sum), ctx(root))).toEqual({
      dir: path.join(vendor, 'plain-0.9.0'),
    });
  });

  it('finds a Debian-style directory named without the build metadata', async () => {
    const p = await provider();
    expect(await p.locate(req('withmeta', '0.14.1+1.5.0', CRATES_GIT), ctx(root))).toEqual({
      dir: path.join(vendor, 'withmeta-0.14.1'),
    });
    expect(await p.locate(req('withmeta', '0.14.1', CRATES_GIT), ctx(root))).toEqual({
      unavailable: `withmeta 0.14.1 is not in directory source \`vendored-sources\` (${vendor})`,
    });
  });

  it('finds a package whose directory name is unrelated, through its Cargo.toml', async () => {
    const p = await provider();
    expect(await p.locate(req('renamed', '2.0.0', CRATES_GIT), ctx(root))).toEqual({
      dir: path.join(vendor, 'zz-unrelated-dir'),
    });
  });

  it('accepts a package without .cargo-checksum.json or without a lock checksum', async () => {
    const p = await provider();
    expect(await p.locate(req('renamed', '2.0.0', CRATES_GIT, 'ff'.repeat(32)), ctx(root))).toEqual({
      dir: path.join(vendor, 'zz-unrelated-dir'),
    });
    expect(await p.locate(req('plain', '1.0.0', CRATES_GIT, null), ctx(root))).toEqual({ dir: path.join(vendor, 'plain') });
  });

  it('reports a checksum mismatch', async () => {
    const p = await provider();
    const lock = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
    expect(await p.locate(req('tampered', '0.5.0', CRATES_GIT, lock), ctx(root))).toEqual({
      unavailable:
        `checksum mismatch for tampered 0.5.0: ${path.join(vendor, 'tampered-0.5.0', '.cargo-checksum.json')} has ` +
        `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, Cargo.lock has ${lock}`,
    });
  });

  it('reports an unreadable .cargo-checksum.json', async () => {
    const p = await provider();
    expect(await p.locate(req('garbled', '0.1.0', CRATES_GIT, 'cc'.repeat(32)), ctx(root))).toEqual({
      unavailable: `${path.join(vendor, 'garbled', '.cargo-checksum.json')} is not valid JSON`,
    });
  });

  it('does not take a short-layout directory holding another version', async () => {
    const p = await provider();
    expect(await p.locate(req('shifty', '2.9.0', CRATES_GIT), ctx(root))).toEqual({
      unavailable: `shifty 2.9.0 is not in directory source \`vendored-sources\` (${vendor})`,
    });
  });

  it('ignores path packages, git sources and registries it does not replace', async () => {
    const p = await provider();
    expect(await p.locate(req('plain', '1.0.0', null), ctx(root))).toBeNull();
    expect(await p.locate(req('widget', '0.3.0', WIDGET_GIT), ctx(root))).toBeNull();
    expect(await p.locate(req('plain', '1.0.0', 'sparse+https://corp.example/index/'), ctx(root))).toBeNull();
  });

  it('reports a missing directory source', async () => {
    const p = directorySourceProvider(await loadCargoConfig(fx('chain'), HOME));
    expect(await p.locate(req('nothing', '1.0.0', CRATES_GIT), ctx(fx('chain')))).toEqual({
      unavailable: `nothing 1.0.0 is not in directory source \`step-two\` (${fx('chain/third_party/vendor')})`,
    });
    const cfg = await loadCargoConfig(fx('chain'), HOME);
    cfg.sources['step-two'] = { directory: fx('chain/does-not-exist') };
    expect(await directorySourceProvider(cfg).locate(req('x', '1.0.0', CRATES_GIT), ctx(fx('chain')))).toEqual({
      unavailable: `directory source \`step-two\` (${fx('chain/does-not-exist')}) does not exist`,
    });
  });

  it('locates a vendored git dependency (package null in .cargo-checksum.json)', async () => {
    const p = directorySourceProvider(await loadCargoConfig(fx('chain'), HOME));
    expect(await p.locate(req('widget', '0.3.0', WIDGET_GIT), ctx(fx('chain')))).toEqual({
      dir: fx('chain/vendor-git/widget'),
    });
  });
});

describe('local-registry provider', () => {
  it('reports that .crate files need unpacking, or that the file is missing', async () => {
    const root = fx('local-registry');
    const p = localRegistryProvider(await loadCargoConfig(root, HOME));
    expect(await p.locate(req('alpha', '1.2.3', CRATES_GIT), ctx(root))).toEqual({
      unavailable: 'local-registry needs unpacking (download provider)',
    });
    expect(await p.locate(req('beta', '1.0.0', CRATES_GIT), ctx(root))).toEqual({
      unavailable: `beta-1.0.0.crate is not in local registry \`local\` (${fx('local-registry/registry')})`,
    });
    expect(await p.locate(req('alpha', '1.2.3', WIDGET_GIT), ctx(root))).toBeNull();
  });
});

describe('CARGO_HOME registry/src provider', () => {
  const src = fx('cargo-home/registry/src');
  const p = registrySrcProvider({ sources: {}, registries: {} });

  it('prefers the index directory of the source host', async () => {
    expect(await p.locate(req('alpha', '1.2.3', CRATES_GIT), ctx(FIX))).toEqual({
      dir: path.join(src, 'index.crates.io-1949cf8c6b5b557f/alpha-1.2.3'),
    });
    expect(await p.locate(req('alpha', '1.2.3', CRATES_SPARSE), ctx(FIX))).toEqual({
      dir: path.join(src, 'index.crates.io-1949cf8c6b5b557f/alpha-1.2.3'),
    });
    expect(await p.locate(req('alpha', '1.2.3', 'sparse+https://aaa.other.example/'), ctx(FIX))).toEqual({
      dir: path.join(src, 'aaa.other.example-00112233445566aa/alpha-1.2.3'),
    });
  });

  it('prefers the host of a configured registry mirror', async () => {
    const mirror = registrySrcProvider({
      sources: { 'crates-io': { replaceWith: 'm' }, m: { registry: 'sparse+https://aaa.other.example/' } },
      registries: {},
    });
    expect(await mirror.locate(req('alpha', '1.2.3', CRATES_GIT), ctx(FIX))).toEqual({
      dir: path.join(src, 'aaa.other.example-00112233445566aa/alpha-1.2.3'),
    });
  });

  it('falls back to any index directory', async () => {
    expect(await p.locate(req('only-other', '0.1.0', CRATES_GIT), ctx(FIX))).toEqual({
      dir: path.join(src, 'aaa.other.example-00112233445566aa/only-other-0.1.0'),
    });
  });

  it('skips incomplete unpacks and reports missing crates', async () => {
    expect(await p.locate(req('partial', '0.1.0', CRATES_GIT), ctx(FIX))).toEqual({
      unavailable: `${path.join(src, 'index.crates.io-1949cf8c6b5b557f/partial-0.1.0')} is incompletely unpacked (no .cargo-ok)`,
    });
    expect(await p.locate(req('alpha', '9.9.9', CRATES_GIT), ctx(FIX))).toEqual({
      unavailable: `alpha-9.9.9 is not in ${src}`,
    });
  });

  it('ignores git and path sources', async () => {
    expect(await p.locate(req('widget', '0.3.0', WIDGET_GIT), ctx(FIX))).toBeNull();
    expect(await p.locate(req('alpha', '1.2.3', null), ctx(FIX))).toBeNull();
  });
});

describe('CARGO_HOME git checkouts provider', () => {
  const checkout = fx('cargo-home/git/checkouts/widget-5e1b2d3c4f5a6b7c/abc1234');
  const p = gitCheckoutProvider();

  it('finds a package in the checkout of the locked commit', async () => {
    expect(await p.locate(req('widget', '0.3.0', WIDGET_GIT), ctx(FIX))).toEqual({
      dir: path.join(checkout, 'crates/widget'),
    });
  });

  it('resolves a version inherited from [workspace.package]', async () => {
    expect(await p.locate(req('widget-core', '0.3.0', WIDGET_GIT), ctx(FIX))).toEqual({
      dir: path.join(checkout, 'crates/widget-core'),
    });
  });

  it('matches the version, not only the name', async () => {
    expect(await p.locate(req('widget', '0.2.0', WIDGET_GIT), ctx(FIX))).toEqual({
      dir: path.join(checkout, 'legacy/widget'),
    });
    expect(await p.locate(req('widget', '0.9.0', WIDGET_GIT), ctx(FIX))).toEqual({
      unavailable: `widget 0.9.0 not found in git checkout ${checkout}`,
    });
  });

  it('uses the checkout of the other commit for another lock entry', async () => {
    const src = 'git+https://github.com/example/widget#def5678000000000000000000000000000000000';
    expect(await p.locate(req('widget', '0.4.0', src), ctx(FIX))).toEqual({
      dir: fx('cargo-home/git/checkouts/widget-5e1b2d3c4f5a6b7c/def5678'),
    });
  });

  it('reports a missing checkout and a source without a commit', async () => {
    const src = 'git+https://github.com/example/widget?branch=main#0000000111111111111111111111111111111111';
    expect(await p.locate(req('widget', '0.3.0', src), ctx(FIX))).toEqual({
      unavailable: `no checkout of https://github.com/example/widget at 0000000 in ${fx('cargo-home/git/checkouts')}`,
    });
    expect(await p.locate(req('widget', '0.3.0', 'git+https://github.com/example/widget?branch=main'), ctx(FIX))).toEqual({
      unavailable: 'git source git+https://github.com/example/widget?branch=main has no locked commit',
    });
  });

  it('ignores registry and path sources', async () => {
    expect(await p.locate(req('alpha', '1.2.3', CRATES_GIT), ctx(FIX))).toBeNull();
    expect(await p.locate(req('alpha', '1.2.3', null), ctx(FIX))).toBeNull();
  });
});

describe('provider list', () => {
  it('has the offline providers in order and appends remote providers unless offline', async () => {
    const cfg = await loadCargoConfig(fx('vendored'), HOME);
    expect(offlineProviders(cfg).map((p) => p.name)).toEqual([
      'directory',
      'local-registry',
      'cargo-registry-src',
      'cargo-git-checkouts',
    ]);
    const remote = (): SourceProvider => ({ name: 'download', locate: async () => ({ dir: '/downloaded' }) });
    const online = { ...ctx(fx('vendored')), offline: false };
    expect((await defaultProviders(online, [remote])).map((p) => p.name)).toEqual([
      'directory',
      'local-registry',
      'cargo-registry-src',
      'cargo-git-checkouts',
      'download',
    ]);
    expect((await defaultProviders(ctx(fx('vendored')), [remote])).map((p) => p.name)).toHaveLength(4);
  });

  it('locateSource: first dir wins, else reasons joined in provider order', async () => {
    const c = ctx(fx('vendored'));
    const providers = await defaultProviders(c);
    // vendored dir wins over CARGO_HOME registry/src
    expect(await locateSource(providers, req('plain', '1.0.0', CRATES_GIT), c)).toEqual({
      dir: fx('vendored/vendor/plain'),
      provider: 'directory',
    });
    // not vendored, but unpacked in CARGO_HOME
    expect(await locateSource(providers, req('alpha', '1.2.3', CRATES_GIT), c)).toEqual({
      dir: fx('cargo-home/registry/src/index.crates.io-1949cf8c6b5b557f/alpha-1.2.3'),
      provider: 'cargo-registry-src',
    });
    expect(await locateSource(providers, req('ghost', '0.0.1', CRATES_GIT), c)).toEqual({
      unavailable:
        `ghost 0.0.1 is not in directory source \`vendored-sources\` (${fx('vendored/vendor')}); ` +
        `ghost-0.0.1 is not in ${fx('cargo-home/registry/src')}`,
    });
    expect(await locateSource(providers, req('widget', '0.3.0', WIDGET_GIT), c)).toEqual({
      dir: fx('cargo-home/git/checkouts/widget-5e1b2d3c4f5a6b7c/abc1234/crates/widget'),
      provider: 'cargo-git-checkouts',
    });
    expect(await locateSource(providers, req('app', '0.1.0', null), c)).toEqual({
      unavailable: 'path package: located by the project loader, not a source provider',
    });
    expect(await locateSource(providers, req('odd', '1.0.0', 'path+file:///somewhere'), c)).toEqual({
      unavailable: 'no source provider handles path+file:///somewhere',
    });
  });
});

describe('providers never leave their source root', () => {
  const vendored = (): { ws: string; vendor: string; outside: string } => {
    const ws = realpathSync(mkdtempSync(path.join(tmpdir(), 'cap-scan-contain-')));
    const vendor = path.join(ws, 'vendor');
    const outside = path.join(ws, 'outside');
    mkdirSync(vendor);
    mkdirSync(path.join(ws, '.cargo'));
    writeFileSync(path.join(ws, '.cargo', 'config.toml'), '[source.crates-io]\nreplace-with = "v"\n\n[source.v]\ndirectory = "vendor"\n');
    return { ws, vendor, outside };
  };

  it('a directory source refuses a name or version that is a path, without looking', async () => {
    const { ws } = vendored();
    const p = directorySourceProvider(await loadCargoConfig(ws, HOME));
    expect(await p.locate(req('../outside/x', '1.0.0', CRATES_GIT), ctx(ws))).toEqual({ unavailable: 'invalid package name or version "../outside/x 1.0.0"' });
    expect(await p.locate(req('x', '1.0.0/../../y', CRATES_GIT), ctx(ws))).toEqual({ unavailable: 'invalid package name or version "x 1.0.0/../../y"' });
  });

  it('a directory source entry symlinked out of the source root is refused', async () => {
    const { ws, vendor, outside } = vendored();
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'Cargo.toml'), '[package]\nname = "which"\nversion = "1.0.0"\n');
    symlinkSync(outside, path.join(vendor, 'which-1.0.0'));
    const p = directorySourceProvider(await loadCargoConfig(ws, HOME));
    expect(await p.locate(req('which', '1.0.0', CRATES_GIT), ctx(ws))).toEqual({
      unavailable: `${path.join(vendor, 'which-1.0.0')} leads outside directory source \`v\` (${vendor})`,
    });
  });
});
