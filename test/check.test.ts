import { describe, expect, it } from 'vitest';
import { relative, resolve } from 'node:path';
import { gitRoot } from '../src/report/common.js';
import { runCheck } from '../src/commands/check.js';
import { defaultScanOptions } from '../src/options.js';
import { UserError } from '../src/types.js';

export function checkOpts(dir: string, over: Partial<Parameters<typeof runCheck>[0]> = {}) {
  return {
    ...defaultScanOptions({ manifestPath: `fixtures/check/${dir}/Cargo.toml`, cache: false, offline: true }),
    format: 'human',
    verbose: false,
    color: false,
    strict: false,
    denyIndicators: false,
    denyUnscanned: false,
    ...over,
  };
}

describe('cap-scan check (fixture workspaces)', () => {
  it('clean workspace: exit 0', async () => {
    const out = await runCheck(checkOpts('clean'));
    expect(out).toEqual({
      exitCode: 0,
      text: 'All dependencies are allowed by Cargo.toml.\n\nok: 3 crates checked, 0 not allowed, 0 unused entries\n',
    });
  });

  it('a crate that gains net in a new version: exit 1 naming crate, version, capability, file:line', async () => {
    const out = await runCheck(checkOpts('grows'));
    expect(out.exitCode).toBe(1);
    expect(out.text).toBe(
      [
        '1 crate not allowed by Cargo.toml:',
        '',
        'fetcher 1.1.0  allow entry "fetcher"',
        '  net.connect (runtime)',
        '    src/lib.rs:9:5  std::net::TcpStream::connect  [rule std-net-connect]',
        '',
        'FAILED: 3 crates checked, 1 not allowed, 0 unused entries',
        '',
      ].join('\n'),
    );
  });

  it('a capability allowed under build but used at runtime is a violation', async () => {
    const out = await runCheck(checkOpts('phase'));
    expect(out.exitCode).toBe(1);
    expect(out.text).toBe(
      [
        '1 crate not allowed by Cargo.toml:',
        '',
        'buildy 0.1.0  allow entry "buildy"',
        '  env.read (runtime)  allowed at build only',
        '    src/lib.rs:2:5  std::env::var  [rule std-env-read]',
        '',
        'FAILED: 1 crate checked, 1 not allowed, 0 unused entries',
        '',
      ].join('\n'),
    );
  });

  it('unused entries are listed as can be tightened, and fail with --strict', async () => {
    const loose = await runCheck(checkOpts('unused'));
    expect(loose).toEqual({
      exitCode: 0,
      text: [
        'All dependencies are allowed by Cargo.toml.',
        '',
        'Can be tightened:',
        '  Cargo.toml:7  gone: matches no crate',
        '  Cargo.toml:6  quickparse: fs not used',
        '',
        'ok: 1 crate checked, 0 not allowed, 2 unused entries',
        '',
      ].join('\n'),
    });
    const strict = await runCheck(checkOpts('unused', { strict: true }));
    expect(strict.exitCode).toBe(1);
    expect(strict.text).toBe(
      [
        'All dependencies are allowed by Cargo.toml.',
        '',
        'Unused allow entries (--strict):',
        '  Cargo.toml:7  gone: matches no crate',
        '  Cargo.toml:6  quickparse: fs not used',
        '',
        'FAILED: 1 crate checked, 0 not allowed, 2 unused entries',
        '',
      ].join('\n'),
    );
  });

  it('malformed policy: UserError (exit 2) with file:line', async () => {
    await expect(runCheck(checkOpts('malformed'))).rejects.toThrow(
      new UserError(
        "fixtures/check/malformed/Cargo.toml:7: unknown capability 'sockets' in 'fetcher.build' (capabilities: fs, net, process, env, ffi, unsafe, link, build-script, proc-macro; or a kind such as fs.read)",
      ),
    );
  });

  it('an unknown format is a UserError listing the valid ones', async () => {
    await expect(runCheck(checkOpts('clean', { format: 'xml' }))).rejects.toThrow(
      new UserError("unknown format 'xml' (expected one of: human, json, sarif, markdown, github, html)"),
    );
  });

  it('json: the scan plus a violations object; byte-identical across runs', async () => {
    const a = await runCheck(checkOpts('grows', { format: 'json' }));
    const b = await runCheck(checkOpts('grows', { format: 'json' }));
    expect(a.text).toBe(b.text);
    const doc = JSON.parse(a.text) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'tool', 'crates', 'unscanned', 'members', 'violations']);
    expect(doc['violations']).toEqual({
      policy: 'Cargo.toml',
      strict: false,
      denyIndicators: false,
      denyUnscanned: false,
      ok: false,
      crates: [
        {
          name: 'fetcher',
          version: '1.1.0',
          source: 'registry+https://github.com/rust-lang/crates.io-index',
          entry: 'fetcher',
          new: false,
          disallowed: [
            {
              capability: 'net',
              kind: 'net.connect',
              phase: 'runtime',
              allowedInOtherPhase: false,
              findings: [
                { capability: 'net', kind: 'net.connect', phase: 'runtime', rule: 'std-net-connect', file: 'src/lib.rs', line: 9, column: 5, evidence: 'std::net::TcpStream::connect' },
              ],
            },
          ],
          urls: [],
          indicators: [],
          // how the crate is reached below the member: here a direct dependency
          via: ['fetcher'],
        },
      ],
      unused: [],
    });
  });

  it('github annotations point at the package line in Cargo.lock (relative to the git root: this checkout)', async () => {
    const out = await runCheck(checkOpts('grows', { format: 'github' }));
    // the checkout's git root, when the tests run in one (a tarball has none: then the workspace root)
    const root = gitRoot(resolve('fixtures/check/grows')) ?? resolve('fixtures/check/grows');
    const lock = relative(root, resolve('fixtures/check/grows/Cargo.lock')).split('\\').join('/');
    expect(out.text).toBe(
      `::error file=${lock},line=14,title=cap-scan%3A fetcher 1.1.0::net.connect (runtime) is not allowed%0Asrc/lib.rs:9:5 std::net::TcpStream::connect\n`,
    );
  });
});
