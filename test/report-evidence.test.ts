// Evidence chosen per capability (issue 16, item 5): an added or disallowed capability is illustrated
// by the first finding of each of its own kinds, not by the first findings of the crate's files.
import { describe, expect, it } from 'vitest';
import { diffScans } from '../src/diff/scan-diff.js';
import { evaluatePolicy, parsePolicy } from '../src/policy/allowlist.js';
import { render } from '../src/report/index.js';
import type { Finding } from '../src/types.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

// like curl: a build script and many findings in build.rs sort before the network code
const bs = finding('build-script', 'build-script', 'build', 'build.rs', 1, 'build script build.rs', 'build-script');
const envB = [2, 3, 4, 5].map((l) => finding('env', 'env.read', 'build', 'build.rs', l, 'std::env::var', 'std-env-read'));
const conns: Finding[] = [10, 11, 12, 13].map((l) => finding('net', 'net.connect', 'runtime', 'src/easy.rs', l, 'std::net::TcpStream::connect', 'std-net-connect'));
const dns = finding('net', 'net.dns', 'runtime', 'src/resolve.rs', 4, 'std::net::ToSocketAddrs::to_socket_addrs', 'std-net-dns');
const curl = crate('curl', '0.4.47', [bs, ...envB, ...conns, dns], { buildScript: 'build.rs', source: null });
const proj = project('/ws', [pkg('curl', '0.4.47', { lockLine: 9, source: null })]);

function diffInput(verbose = false) {
  const d = diffScans('main', result([]), result([curl]));
  return { command: 'diff' as const, result: result([curl]), project: proj, diff: d, verbose, color: false, workspaceRoot: '/ws' };
}

describe('evidence per capability', () => {
  it('markdown diff: + net is shown by net.connect and net.dns, + build-script by build.rs:1', () => {
    const row = render('markdown', diffInput()).split('\n').find((l) => l.startsWith('| curl'));
    expect(row).toBe(
      '| curl | added 0.4.47 | net (runtime), build-script (build), env (build) |  | ' +
        'net.connect: src/easy.rs:10 `std::net::TcpStream::connect`<br>net.dns: src/resolve.rs:4 `std::net::ToSocketAddrs::to_socket_addrs`<br>' +
        'build-script: build.rs:1 `build script build.rs`<br>env.read: build.rs:2 `std::env::var`<br>… 6 more |',
    );
  });

  it('human diff: each added capability lists the first finding of each of its kinds', () => {
    expect(render('human', diffInput())).toBe(
      [
        'Capability changes against main:',
        '',
        'curl 0.4.47 (added)',
        '  + net (runtime)',
        '      net.connect  src/easy.rs:10:5  std::net::TcpStream::connect  [rule std-net-connect]',
        '      net.dns  src/resolve.rs:4:5  std::net::ToSocketAddrs::to_socket_addrs  [rule std-net-dns]',
        '      … and 3 more (-v shows all)',
        '  + build-script (build)',
        '      build-script  build.rs:1:5  build script build.rs  [rule build-script]',
        '  + env (build)',
        '      env.read  build.rs:2:5  std::env::var  [rule std-env-read]',
        '      … and 3 more (-v shows all)',
        '',
        '1 package changed, 1 gained capabilities, 0 lost capabilities',
        '',
      ].join('\n'),
    );
  });

  it('github diff: the annotation shows the gained capabilities by their own findings', () => {
    expect(render('github', diffInput())).toBe(
      '::warning file=Cargo.lock,line=9,title=cap-scan%3A curl new -> 0.4.47::gained net (runtime), build-script (build), env (build)' +
        '%0Anet.connect src/easy.rs:10:5 std::net::TcpStream::connect%0Anet.dns src/resolve.rs:4:5 std::net::ToSocketAddrs::to_socket_addrs' +
        '%0Abuild-script build.rs:1:5 build script build.rs%0Aenv.read build.rs:2:5 std::env::var\n',
    );
  });

  it('markdown check: each disallowed kind is shown by its own first finding', () => {
    const policy = parsePolicy('[workspace.metadata.cap-scan.allow]\ncurl = { build = ["build-script", "env"] }\n', 'Cargo.toml');
    const violations = evaluatePolicy(policy, result([curl]), proj, { strict: false, denyIndicators: false, denyUnscanned: false });
    const out = render('markdown', { command: 'check', result: result([curl]), project: proj, violations, verbose: false, color: false, workspaceRoot: '/ws' });
    expect(out.split('\n').find((l) => l.startsWith('| curl'))).toBe(
      '| curl | 0.4.47 | net.connect (runtime), net.dns (runtime) | net.connect: src/easy.rs:10 `std::net::TcpStream::connect`<br>net.dns: src/resolve.rs:4 `std::net::ToSocketAddrs::to_socket_addrs`<br>… 3 more |',
    );
  });
});
