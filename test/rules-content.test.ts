// Rules content (issue 3): every API the rules name, one snippet each, with the exact rules it triggers.
// Table-driven: `pub fn f() { <expr>; }` in src/lib.rs (or `fn main() { <expr>; }` in build.rs), so the
// finding sits at line 1, column 14 (13 in build.rs). A last test checks that every rule id in rules/*.toml
// is exercised by some test/rules*.test.ts file.

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../src/rules/load.js';
import { ruleTester, type InvalidCase } from './rule-tester.js';

const ALL = ['fs', 'net', 'process', 'env', 'ffi', 'unsafe', 'link'];

interface Row {
  /** Rules expected at the expression, in report order (sorted by rule id). */
  rules: string[];
  expr: string;
  deps?: string[];
  /** In the build script instead of the library. */
  build?: boolean;
}

const rows: Row[] = [
  // std::fs and std::os::* fs extensions
  { rules: ['std-fs-read'], expr: 'std::fs::read("x")' },
  { rules: ['std-fs-read'], expr: 'std::fs::File::open("x")' },
  { rules: ['std-fs-read'], expr: 'std::fs::read_dir(".")' },
  { rules: ['std-fs-write'], expr: 'std::fs::write("x", b"")' },
  { rules: ['std-fs-write'], expr: 'std::fs::File::create("x")' },
  { rules: ['std-fs-write'], expr: 'std::fs::rename("a", "b")' },
  { rules: ['std-fs-write'], expr: 'std::os::unix::fs::symlink("a", "b")' },
  { rules: ['std-fs-read'], expr: 'std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, 0)' },
  { rules: ['std-fs-delete'], expr: 'std::fs::remove_dir_all("d")' },
  { rules: ['std-fs-meta'], expr: 'std::fs::metadata("x")' },
  { rules: ['std-fs-meta'], expr: 'std::path::Path::exists' },
  // std::net, std::os::unix::net
  { rules: ['std-net-connect'], expr: 'std::net::TcpStream::connect("a:1")' },
  { rules: ['std-net-listen'], expr: 'std::net::UdpSocket::bind("0.0.0.0:0")' },
  { rules: ['std-net-listen'], expr: 'std::net::TcpListener::bind("0.0.0.0:80")' },
  { rules: ['std-net-connect'], expr: 'std::os::unix::net::UnixStream::connect("/s")' },
  { rules: ['std-net-listen'], expr: 'std::os::unix::net::UnixListener::bind("/s")' },
  { rules: ['std-net-dns'], expr: 'std::net::ToSocketAddrs::to_socket_addrs(&("a", 1))' },
  // std::process and std::os::unix::process
  { rules: ['std-process-spawn'], expr: 'std::process::Command::new("ls")' },
  { rules: ['std-process-exec'], expr: 'std::os::unix::process::CommandExt::exec' },
  // std::env
  { rules: ['std-env-read'], expr: 'std::env::var("HOME")' },
  { rules: ['std-env-read'], expr: 'std::env::var_os("HOME")' },
  { rules: ['std-env-read'], expr: 'std::env::vars()' },
  { rules: ['std-env-read'], expr: 'std::env::home_dir()' },
  { rules: ['std-env-read'], expr: 'std::env::temp_dir()' },
  { rules: ['std-env-write'], expr: 'std::env::set_var("A", "1")' },
  { rules: ['std-env-write'], expr: 'std::env::remove_var("A")' },
  { rules: ['compile-time-env'], expr: 'env!("PATH")' },
  // async runtimes
  { rules: ['tokio-fs'], expr: 'tokio::fs::read("x")', deps: ['tokio'] },
  { rules: ['tokio-fs-write'], expr: 'tokio::fs::write("x", b"")', deps: ['tokio'] },
  { rules: ['tokio-fs-delete'], expr: 'tokio::fs::remove_file("x")', deps: ['tokio'] },
  { rules: ['async-net-connect'], expr: 'tokio::net::TcpStream::connect("a:1")', deps: ['tokio'] },
  { rules: ['async-net-listen'], expr: 'tokio::net::TcpListener::bind("0:1")', deps: ['tokio'] },
  { rules: ['async-net-dns'], expr: 'tokio::net::lookup_host("a:1")', deps: ['tokio'] },
  { rules: ['async-process-spawn'], expr: 'tokio::process::Command::new("ls")', deps: ['tokio'] },
  { rules: ['tokio-fs'], expr: 'async_std::fs::read("x")', deps: ['async-std'] },
  { rules: ['async-net-connect'], expr: 'async_std::net::TcpStream::connect("a:1")', deps: ['async-std'] },
  { rules: ['async-process-spawn'], expr: 'async_std::process::Command::new("ls")', deps: ['async-std'] },
  { rules: ['tokio-fs'], expr: 'smol::fs::read("x")', deps: ['smol'] },
  { rules: ['async-net-connect'], expr: 'smol::net::TcpStream::connect("a:1")', deps: ['smol'] },
  { rules: ['async-process-spawn'], expr: 'smol::process::Command::new("ls")', deps: ['smol'] },
  { rules: ['async-net-connect'], expr: 'async_net::TcpStream::connect("a:1")', deps: ['async-net'] },
  { rules: ['tokio-fs-write'], expr: 'async_fs::write("x", b"")', deps: ['async-fs'] },
  { rules: ['async-process-spawn'], expr: 'async_process::Command::new("ls")', deps: ['async-process'] },
  // mio, socket2
  { rules: ['async-net-connect'], expr: 'mio::net::TcpStream::connect(a)', deps: ['mio'] },
  { rules: ['async-net-listen'], expr: 'mio::net::TcpListener::bind(a)', deps: ['mio'] },
  { rules: ['async-net-connect'], expr: 'socket2::Socket::new(d, t, None)', deps: ['socket2'] },
  // HTTP clients
  { rules: ['http-client'], expr: 'reqwest::get("https://a")', deps: ['reqwest'] },
  { rules: ['http-client'], expr: 'reqwest::blocking::get("https://a")', deps: ['reqwest'] },
  { rules: ['http-client'], expr: 'reqwest::Client::new()', deps: ['reqwest'] },
  { rules: ['http-client'], expr: 'hyper::Client::new()', deps: ['hyper'] },
  { rules: ['http-client'], expr: 'ureq::get("https://a")', deps: ['ureq'] },
  { rules: ['http-client'], expr: 'ureq::AgentBuilder::new()', deps: ['ureq'] },
  { rules: ['http-client'], expr: 'curl::easy::Easy::new()', deps: ['curl'] },
  { rules: ['http-client'], expr: 'isahc::get("https://a")', deps: ['isahc'] },
  { rules: ['http-client'], expr: 'attohttpc::get("https://a")', deps: ['attohttpc'] },
  { rules: ['http-client'], expr: 'surf::get("https://a")', deps: ['surf'] },
  // libc / nix / rustix, per function
  { rules: ['libc-process-spawn'], expr: 'libc::system(p)', deps: ['libc'] },
  { rules: ['libc-process-spawn'], expr: 'libc::fork()', deps: ['libc'] },
  { rules: ['libc-process-spawn'], expr: 'libc::posix_spawn(a, b, c, d, e, f)', deps: ['libc'] },
  { rules: ['libc-process-spawn'], expr: 'libc::popen(a, b)', deps: ['libc'] },
  { rules: ['libc-process-exec'], expr: 'libc::execvp(a, b)', deps: ['libc'] },
  { rules: ['libc-net'], expr: 'libc::socket(a, b, c)', deps: ['libc'] },
  { rules: ['libc-net'], expr: 'libc::connect(a, b, c)', deps: ['libc'] },
  { rules: ['libc-net-listen'], expr: 'libc::bind(a, b, c)', deps: ['libc'] },
  { rules: ['libc-net-dns'], expr: 'libc::getaddrinfo(a, b, c, d)', deps: ['libc'] },
  { rules: ['libc-fs'], expr: 'libc::open(p, 0)', deps: ['libc'] },
  { rules: ['libc-fs-delete'], expr: 'libc::unlink(p)', deps: ['libc'] },
  { rules: ['libc-fs-write'], expr: 'libc::rename(a, b)', deps: ['libc'] },
  { rules: ['libc-fs-meta'], expr: 'libc::stat(a, b)', deps: ['libc'] },
  { rules: ['libc-env-read'], expr: 'libc::getenv(p)', deps: ['libc'] },
  { rules: ['libc-env-write'], expr: 'libc::setenv(a, b, 1)', deps: ['libc'] },
  { rules: ['dynamic-loading'], expr: 'libc::dlopen(p, 0)', deps: ['libc'] },
  { rules: ['libc-process-spawn'], expr: 'nix::unistd::fork()', deps: ['nix'] },
  { rules: ['libc-process-exec'], expr: 'nix::unistd::execv(a, b)', deps: ['nix'] },
  { rules: ['libc-net'], expr: 'nix::sys::socket::socket(a, b, c, d)', deps: ['nix'] },
  { rules: ['libc-fs'], expr: 'nix::fcntl::open(p, a, b)', deps: ['nix'] },
  { rules: ['libc-fs-delete'], expr: 'nix::unistd::unlink(p)', deps: ['nix'] },
  { rules: ['libc-env-write'], expr: 'nix::env::clearenv()', deps: ['nix'] },
  { rules: ['libc-net'], expr: 'rustix::net::socket(a, b, c)', deps: ['rustix'] },
  { rules: ['libc-fs'], expr: 'rustix::fs::open(p, a, b)', deps: ['rustix'] },
  { rules: ['libc-process-exec'], expr: 'rustix::runtime::execve(a, b, c)', deps: ['rustix'] },
  // libloading, walkdir, glob, tempfile, dirs, home, which, duct, xshell, memmap2, same-file, fs-err
  { rules: ['dynamic-loading'], expr: 'libloading::Library::new("libz.so")', deps: ['libloading'] },
  { rules: ['walk-fs'], expr: 'walkdir::WalkDir::new(".")', deps: ['walkdir'] },
  { rules: ['walk-fs'], expr: 'glob::glob("*.rs")', deps: ['glob'] },
  { rules: ['tempfile-env', 'tempfile-fs'], expr: 'tempfile::tempfile()', deps: ['tempfile'] },
  { rules: ['tempfile-env', 'tempfile-fs'], expr: 'tempfile::NamedTempFile::new()', deps: ['tempfile'] },
  { rules: ['tempfile-fs'], expr: 'tempfile::tempdir_in(".")', deps: ['tempfile'] },
  { rules: ['dirs-env'], expr: 'dirs::home_dir()', deps: ['dirs'] },
  { rules: ['dirs-env'], expr: 'home::home_dir()', deps: ['home'] },
  { rules: ['which-env', 'which-fs'], expr: 'which::which("git")', deps: ['which'] },
  { rules: ['async-process-spawn'], expr: 'duct::cmd("ls", ["-l"])', deps: ['duct'] },
  { rules: ['async-process-spawn'], expr: 'duct::cmd!("ls", "-l")', deps: ['duct'] },
  { rules: ['async-process-spawn'], expr: 'xshell::cmd!(sh, "ls")', deps: ['xshell'] },
  { rules: ['async-process-spawn'], expr: 'xshell::Shell::cmd(&sh, "ls")', deps: ['xshell'] },
  { rules: ['memmap-fs', 'memmap-unsafe'], expr: 'memmap2::Mmap::map(&f)', deps: ['memmap2'] },
  { rules: ['memmap-fs', 'memmap-unsafe'], expr: 'memmap2::MmapOptions::new().map(&f)', deps: ['memmap2'] },
  { rules: ['fs-err'], expr: 'same_file::Handle::from_path("x")', deps: ['same-file'] },
  { rules: ['fs-err'], expr: 'fs_err::read("x")', deps: ['fs-err'] },
  { rules: ['inline-asm'], expr: 'std::arch::asm!("nop")' },
  // build scripts: cc, cmake, pkg-config (phase build)
  { rules: ['build-tool-spawn'], expr: 'cc::Build::new().file("a.c").compile("a")', deps: ['cc'], build: true },
  { rules: ['build-tool-spawn'], expr: 'cmake::Config::new("lib").build()', deps: ['cmake'], build: true },
  { rules: ['build-tool-spawn'], expr: 'cmake::build("lib")', deps: ['cmake'], build: true },
  { rules: ['build-tool-spawn'], expr: 'pkg_config::probe_library("z")', deps: ['pkg-config'], build: true },
  { rules: ['build-tool-spawn'], expr: 'pkg_config::Config::new().probe("z")', deps: ['pkg-config'], build: true },
];

const cases: InvalidCase[] = rows.map((r) => {
  const deps = Object.fromEntries((r.deps ?? []).map((d) => [d, d]));
  const code = r.build ? `fn main() { ${r.expr}; }\n` : `pub fn f() { ${r.expr}; }\n`;
  return {
    name: `${r.build ? 'build.rs: ' : ''}${r.expr}`,
    code,
    ...(r.build ? { file: 'build.rs', buildDeps: deps, packageExtra: 'build = "build.rs"' } : { deps }),
    errors: r.rules.map((rule) => ({
      rule,
      line: 1,
      column: r.build ? 13 : 14,
      ...(rule === 'compile-time-env' || r.build ? { phase: 'build' as const } : { phase: 'runtime' as const }),
    })),
  };
});

ruleTester(ALL, { valid: [], invalid: cases });

// excluded paths under a matching prefix
ruleTester(['fs', 'net', 'process', 'env'], {
  valid: [
    { code: 'pub fn f() { std::process::exit(0); }' },
    { code: 'pub fn f() { let _ = std::env::args(); let _ = std::env::current_dir(); }' },
    { code: 'pub fn f(p: std::fs::Permissions) -> bool { p.readonly() }' },
    { code: 'pub fn f() { let _ = std::net::Ipv4Addr::LOCALHOST; let _ = std::net::SocketAddr::from(([0, 0, 0, 0], 1)); }' },
    { code: 'pub fn f() { let _ = reqwest::StatusCode::OK; let _ = reqwest::Url::parse("https://a"); }', deps: { reqwest: 'reqwest' } },
    { code: 'pub fn f() { let _ = hyper::StatusCode::OK; let _ = hyper::header::HOST; }', deps: { hyper: 'hyper' } },
    { code: 'pub fn f() { unsafe { libc::exit(0) } }', deps: { libc: 'libc' }, name: 'libc::exit' },
    { code: 'pub fn f(s: libc::stat64) -> libc::stat64 { s }', deps: { libc: 'libc' }, name: 'libc::stat64 (a type named like a function)' },
  ],
  invalid: [],
});

// build-script directives: cargo: and cargo:: forms
ruleTester(ALL, {
  valid: [{ code: 'pub fn f() { println!("cargo:rustc-link-lib=z"); }', name: 'a directive printed by the library is not a build directive' }],
  invalid: [
    {
      name: 'rustc-link-lib, -search, -arg, rustc-env (cargo: and cargo::)',
      file: 'build.rs',
      packageExtra: 'build = "build.rs"',
      code: [
        'fn main() {',
        '    println!("cargo:rustc-link-lib=static=z");',
        '    println!("cargo::rustc-link-search=native=/opt/lib");',
        '    println!("cargo:rustc-link-arg=-Wl,-rpath,/opt/lib");',
        '    println!("cargo::rustc-link-arg-bins=-nostartfiles");',
        '    println!("cargo:rustc-env=BUILT_BY=me");',
        '}',
      ].join('\n'),
      errors: [
        { rule: 'build-link-lib', line: 2, column: 14, kind: 'ffi.link', phase: 'build' },
        { rule: 'build-link-lib', line: 3, column: 14, kind: 'ffi.link', phase: 'build' },
        { rule: 'build-link-arg', line: 4, column: 14, kind: 'link.arg', phase: 'build' },
        { rule: 'build-link-arg', line: 5, column: 14, kind: 'link.arg', phase: 'build' },
        { rule: 'build-rustc-env', line: 6, column: 14, kind: 'env.write', phase: 'build' },
      ],
    },
  ],
});

describe('rules coverage', () => {
  it('every rule id in rules/*.toml is exercised by a test/rules*.test.ts file', () => {
    const testDir = path.dirname(fileURLToPath(import.meta.url));
    const text = readdirSync(testDir)
      .filter((f) => /^rules.*\.test\.ts$/.test(f))
      .map((f) => readFileSync(path.join(testDir, f), 'utf8'))
      .join('\n');
    const untested = loadRules()
      .rules.filter((r) => r.crate === null)
      .map((r) => r.id)
      .filter((id) => !text.includes(`'${id}'`));
    expect(untested).toEqual([]);
  });

  it('every rule says what it means (cap-scan rules prints it)', () => {
    expect(loadRules().rules.filter((r) => r.description.trim() === '').map((r) => r.id)).toEqual([]);
  });
});
