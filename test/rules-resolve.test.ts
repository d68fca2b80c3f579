// Name resolution (issue 3): use trees, renames and chains, paths through modules, re-exports, dependency
// renames, shadowing, value vs type positions, trait methods. Each case: exact rule, line and column.

import { ruleTester } from './rule-tester.js';

// ---- use trees of every shape
ruleTester('fs', {
  valid: [
    { code: 'use std::fs;\npub fn f(m: &fs::Metadata) -> bool { m.is_dir() }', name: 'type-only mention through a use' },
    { code: 'pub fn f(m: &std::fs::Metadata, p: std::fs::Permissions) {}', name: 'fully qualified type-only mentions' },
    { code: 'pub fn f() -> Option<std::fs::File> { None }', name: 'a return type is not a use' },
    { code: 'pub struct S { f: std::fs::File }', name: 'a field type is not a use' },
    { code: 'pub fn f() -> usize { Vec::<std::fs::File>::new().len() }', name: 'a type in a turbofish is not a use' },
    { code: 'pub fn f() -> std::collections::HashMap<u8, std::fs::File> { Default::default() }', name: 'generic type arguments' },
    { code: 'mod fs { pub(in crate::fs) fn read() {} }\npub fn f() {}', name: 'a pub(in path) visibility is not a use' },
    { code: 'mod fs { pub fn read(_: &str) {} }\npub fn f() { fs::read("x"); }', name: 'local mod fs shadows std::fs' },
    { code: 'mod fs { pub fn read(_: &str) {} }\nuse self::fs as disk;\npub fn f() { disk::read("x"); }', name: 'alias of a local module' },
    { code: 'use std::fs;\npub fn f() {\n    mod fs { pub fn read(_: &str) {} }\n    fs::read("x");\n}', name: 'block-local module shadows the file-level import' },
    { code: '// std::fs::read("x");\n/* std::fs::write("a", "b"); */\n/// std::fs::remove_file("x")\npub fn f() {}', name: 'comments and doc comments' },
    { code: '/// ```\n/// std::fs::remove_file("/etc/passwd").unwrap();\n/// ```\npub fn f() {}', name: 'doc-test code block' },
    { code: '#[doc = "std::fs::read"]\npub fn f() -> &\'static str { "std::fs::read(\\"x\\")" }', name: 'strings and doc attributes' },
    { code: 'pub fn f() -> &\'static str { r#"std::fs::write("a", "b")"# }', name: 'raw strings' },
    { code: 'pub fn f() { let _ = "use std::fs; fs::read"; let _ = \'s\'; }', name: 'strings with paths and a char' },
  ],
  invalid: [
    { code: 'use std::fs;\npub fn f() { fs::read("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 2, column: 14 }] },
    { code: 'use std::{fs, io};\npub fn f() -> io::Result<()> { fs::remove_file("x") }', errors: [{ rule: 'std-fs-delete', line: 2, column: 32 }] },
    { code: 'use std::{io, fs::{self, File}};\npub fn f() { File::open("x").ok(); fs::write("a", "b").ok(); }', errors: [{ rule: 'std-fs-read', line: 2, column: 14 }, { rule: 'std-fs-write', line: 2, column: 36 }] },
    { code: 'use std::{fs as disk};\npub fn f() { disk::read("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 2, column: 14 }] },
    {
      name: 'grouped multi-line alias',
      code: 'use std::{\n    io,\n    fs::{\n        self as disk,\n        write as put,\n    },\n};\npub fn f() -> io::Result<()> { put("a", "b")?; disk::remove_dir("d") }',
      errors: [{ rule: 'std-fs-write', line: 8, column: 32 }, { rule: 'std-fs-delete', line: 8, column: 48 }],
    },
    { code: 'use std::fs::*;\npub fn f() { read_to_string("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 2, column: 14 }], name: 'glob import' },
    { code: 'use ::std::fs::read;\npub fn f() { read("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 2, column: 14 }], name: 'leading ::' },
    { code: 'use std as s;\npub fn f() { s::fs::read("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 2, column: 14 }], name: 'use std as s' },
    { code: 'extern crate std as base;\npub fn f() { base::fs::read("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 2, column: 14 }], name: 'extern crate std as base' },
    {
      name: 'alias chain',
      code: 'use std as a;\nuse a::fs as b;\nuse b::write as w;\npub fn f() { w("x", "y").ok(); }',
      errors: [{ rule: 'std-fs-write', line: 4, column: 14 }],
    },
    { code: 'use core as c;\nuse alloc as al;\npub fn f() { std::fs::read("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 3, column: 14 }] },
    { code: 'type F = std::fs::File;\npub fn f() { F::create("x").ok(); }', errors: [{ rule: 'std-fs-write', line: 2, column: 14 }], name: 'type alias' },
    {
      name: 'fn pointer in a static',
      code: 'pub static F: fn(String) -> std::io::Result<String> = std::fs::read_to_string::<String>;',
      errors: [{ rule: 'std-fs-read', line: 1, column: 55 }],
    },
    {
      name: 'function passed as a value',
      code: 'use std::fs::remove_file;\npub fn f(v: Vec<&str>) { v.into_iter().map(remove_file).count(); }',
      errors: [{ rule: 'std-fs-delete', line: 2, column: 44 }],
    },
    { code: 'pub fn f() { let _ = std::fs::File::open::<&str>("x"); }', errors: [{ rule: 'std-fs-read', line: 1, column: 22 }], name: 'turbofish on the call' },
    { code: 'pub fn f() { let _ = <std::fs::File>::open("x"); }', errors: [{ rule: 'std-fs-read', line: 1, column: 22 }], name: 'qualified path without a trait' },
    { code: 'pub fn f() { let g = std::fs::read; g("x").ok(); }', errors: [{ rule: 'std-fs-read', line: 1, column: 22 }], name: 'fn item bound to a local' },
    {
      name: 'crate:: path through the module tree',
      code: 'mod util { pub use std::fs::read as load; }\npub fn f() { crate::util::load("x").ok(); }',
      errors: [{ rule: 'std-fs-read', line: 2, column: 14 }],
    },
    {
      name: 'self:: and super:: paths',
      code: 'use std::fs;\nmod a {\n    pub mod b {\n        pub fn f() { super::super::fs::write("a", "b").ok(); }\n    }\n    pub fn g() { self::b::f(); }\n}',
      errors: [{ rule: 'std-fs-write', line: 4, column: 22 }],
    },
    {
      name: 'pub use re-export in another file',
      code: 'mod io_util;\npub fn f() { io_util::slurp("x").ok(); }',
      files: { 'src/io_util.rs': 'pub use std::fs::read_to_string as slurp;\n' },
      errors: [{ rule: 'std-fs-read', line: 2, column: 14 }],
    },
    {
      name: 'pub(crate) use re-export imported from another module',
      code: 'mod prelude;\nuse crate::prelude::*;\npub fn f() { wipe("x").ok(); }',
      files: { 'src/prelude.rs': 'pub(crate) use std::fs::remove_file as wipe;\n' },
      errors: [{ rule: 'std-fs-delete', line: 3, column: 14 }],
    },
    {
      name: 'raw identifiers',
      code: 'pub fn f() { std::r#fs::r#read("x").ok(); }',
      errors: [{ rule: 'std-fs-read', line: 1, column: 14 }],
    },
    {
      name: 'method path on a type (UFCS)',
      code: 'use std::fs::File;\npub fn f() { let _ = File::options().write(true).open("x"); }',
      errors: [{ rule: 'std-fs-read', line: 2, column: 22 }],
    },
    {
      name: 'use inside a function body',
      code: 'pub fn f() {\n    use std::fs::write as w;\n    w("a", "b").ok();\n}',
      errors: [{ rule: 'std-fs-write', line: 3, column: 5 }],
    },
  ],
});

// ---- shadowing and other crates' names
ruleTester('process', {
  valid: [
    { code: 'use clap::Command;\npub fn f() -> Command { Command::new("app") }', deps: { clap: 'clap' }, name: 'clap::Command' },
    { code: 'pub fn f() { let _ = clap::Command::new("app"); }', deps: { clap: 'clap' }, name: 'fully qualified clap::Command' },
    { code: 'pub struct Command;\nimpl Command { pub fn new(_: &str) -> Self { Command } }\npub fn f() { Command::new("ls"); }', name: 'local struct Command' },
    { code: 'use std::process::Command;\nmod inner {\n    pub struct Command;\n    impl Command { pub fn new() -> Self { Command } }\n    pub fn f() { Command::new(); }\n}', name: 'inner module has its own Command' },
    { code: 'pub fn f(c: &mut std::process::Command) -> &mut std::process::Command { c }', name: 'type-only mention' },
    { code: 'pub fn f() -> ! { std::process::exit(1) }', name: 'std::process::exit is excluded' },
    { code: 'pub fn f() { std::process::abort(); }', name: 'std::process::abort is excluded' },
    { code: 'pub fn f() -> u32 { std::process::id() }', name: 'std::process::id is excluded' },
    { code: 'pub fn f(c: std::process::Child) -> std::process::Stdio { let _ = c; std::process::Stdio::null() }', name: 'Stdio and Child' },
    { code: 'pub fn f() { let s = "std::process::Command::new(\\"sh\\")"; let _ = s; }', name: 'a string' },
    { code: '#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { std::process::Command::new("ls").status().unwrap(); }\n}', name: 'cfg(test) module' },
    { code: '#[test]\nfn t() { std::process::Command::new("ls").status().unwrap(); }', name: '#[test] function' },
    { code: '#[cfg(all(test, unix))]\nfn t() { std::process::Command::new("ls").status().unwrap(); }', name: 'cfg(all(test, unix))' },
    { code: 'pub trait CommandExt { fn exec(&mut self); }\npub fn f<C: CommandExt>(c: &mut C) { c.exec(); }', name: 'a local trait named CommandExt' },
    { code: 'pub fn f(q: &mut Query) { q.exec(); }\npub struct Query;\nimpl Query { fn exec(&mut self) {} }', name: '.exec() without the trait in scope' },
  ],
  invalid: [
    { code: 'use std::process::Command;\npub fn f() { Command::new("ls").status().ok(); }', errors: [{ rule: 'std-process-spawn', line: 2, column: 14 }] },
    {
      name: 'clap::Command beside std::process::Command',
      code: 'use std::process;\nuse clap::Command;\npub fn f() { Command::new("app"); process::Command::new("ls").spawn().ok(); }',
      deps: { clap: 'clap' },
      errors: [{ rule: 'std-process-spawn', line: 3, column: 35 }],
    },
    {
      name: 'cfg(test) kept and marked with --all-targets',
      code: '#[cfg(test)]\nmod tests {\n    fn t() { std::process::Command::new("ls"); }\n}',
      allTargets: true,
      errors: [{ rule: 'std-process-spawn', line: 3, column: 14, context: 'test' }],
    },
    {
      name: 'cfg(not(test)) is compiled',
      code: '#[cfg(not(test))]\npub fn f() { std::process::Command::new("ls"); }',
      errors: [{ rule: 'std-process-spawn', line: 2, column: 14 }],
    },
    {
      name: 'trait method: CommandExt::exec',
      code: 'use std::os::unix::process::CommandExt;\npub fn f() { std::process::Command::new("sh").exec(); }',
      errors: [{ rule: 'std-process-spawn', line: 2, column: 14 }, { rule: 'std-process-exec', line: 2, column: 47 }],
    },
    {
      name: 'trait method: CommandExt imported as _',
      code: 'use std::os::unix::process::CommandExt as _;\npub fn f(c: &mut std::process::Command) { c.exec(); }',
      errors: [{ rule: 'std-process-exec', line: 2, column: 45 }],
    },
    {
      name: 'trait method: CommandExt through the unix prelude glob',
      code: 'use std::os::unix::prelude::*;\npub fn f(c: &mut std::process::Command) { c.exec(); }',
      errors: [{ rule: 'std-process-exec', line: 2, column: 45 }],
    },
    {
      name: 'renamed dependency (Cargo.toml package = …)',
      code: 'pub fn f() { sh::cmd!("ls").run().ok(); run::Command::new("ls"); }',
      deps: { sh: 'duct', run: 'async-process' },
      errors: [{ rule: 'async-process-spawn', line: 1, column: 14 }, { rule: 'async-process-spawn', line: 1, column: 41 }],
    },
    {
      name: 'extern crate rename of a dependency',
      code: 'extern crate duct as d;\npub fn f() { d::cmd("ls", ["-l"]).run().ok(); }',
      deps: { duct: 'duct' },
      errors: [{ rule: 'async-process-spawn', line: 2, column: 14 }],
    },
    {
      name: 'raw identifier std::r#process',
      code: 'pub fn f() { std::r#process::Command::new("ls"); }',
      errors: [{ rule: 'std-process-spawn', line: 1, column: 14 }],
    },
    {
      name: 'qualified path <T as Trait>::method names the trait',
      code: 'use std::os::unix::process::CommandExt;\npub fn f(c: &mut std::process::Command) { <std::process::Command as CommandExt>::exec(c); }',
      errors: [{ rule: 'std-process-exec', line: 2, column: 43 }],
    },
    {
      name: 'type alias used as X::new()',
      code: 'type X = std::process::Command;\npub fn f() { X::new("ls"); }',
      errors: [{ rule: 'std-process-spawn', line: 2, column: 14 }],
    },
  ],
});

ruleTester('net', {
  valid: [
    { code: 'pub fn f(a: std::net::IpAddr) -> std::net::SocketAddr { (a, 80).into() }', name: 'address types' },
    { code: 'pub fn f() -> std::net::Ipv4Addr { std::net::Ipv4Addr::new(127, 0, 0, 1) }', name: 'Ipv4Addr::new is not network access' },
    { code: 'pub fn f(s: &std::net::TcpStream) { let _ = s; }', name: 'a TcpStream parameter' },
    { code: 'pub fn f(x: &Thing) { x.to_socket_addrs(); }\npub struct Thing;\nimpl Thing { fn to_socket_addrs(&self) {} }', name: 'to_socket_addrs without the trait' },
  ],
  invalid: [
    {
      name: 'ToSocketAddrs::to_socket_addrs through the trait',
      code: 'use std::net::ToSocketAddrs;\npub fn f() { ("example.com", 80).to_socket_addrs().ok(); }',
      errors: [{ rule: 'std-net-dns', line: 2, column: 34 }],
    },
    {
      name: 'glob import std::net::*',
      code: 'use std::net::*;\npub fn f() { TcpStream::connect("a:1").ok(); }',
      errors: [{ rule: 'std-net-connect', line: 2, column: 14 }],
    },
    {
      name: 'std::os::unix::net',
      code: 'use std::os::unix::net::{UnixListener, UnixStream};\npub fn f() { UnixStream::connect("/s").ok(); UnixListener::bind("/t").ok(); }',
      errors: [{ rule: 'std-net-connect', line: 2, column: 14 }, { rule: 'std-net-listen', line: 2, column: 46 }],
    },
  ],
});

ruleTester('env', {
  valid: [
    { code: 'pub fn f() -> Vec<String> { std::env::args().collect() }', name: 'args is not env' },
    { code: 'pub const OS: &str = std::env::consts::OS;', name: 'consts' },
    { code: 'pub const V: &str = env!("CARGO_PKG_VERSION");\npub const O: Option<&str> = option_env!("CARGO_FEATURE_X");', name: 'cargo-set variables' },
    { code: 'pub const D: &str = env!("OUT_DIR");', name: 'OUT_DIR' },
  ],
  invalid: [
    {
      code: 'use std::env;\npub fn f() { env::var("HOME").ok(); env::set_var("A", "1"); env::remove_var("B"); }',
      errors: [
        { rule: 'std-env-read', line: 2, column: 14 },
        { rule: 'std-env-write', line: 2, column: 37 },
        { rule: 'std-env-write', line: 2, column: 61 },
      ],
    },
    { code: 'pub fn f() { let _ = std::env::vars().count(); let _ = std::env::temp_dir(); }', errors: [{ rule: 'std-env-read', line: 1, column: 22 }, { rule: 'std-env-read', line: 1, column: 56 }] },
    {
      name: 'env!/option_env! of a non-CARGO variable: env.read, phase build',
      code: 'pub const K: &str = env!("API_KEY");\npub const H: Option<&str> = option_env!("HOME");',
      errors: [
        { rule: 'compile-time-env', line: 1, column: 21, phase: 'build', kind: 'env.read' },
        { rule: 'compile-time-env', line: 2, column: 29, phase: 'build', kind: 'env.read' },
      ],
    },
    { code: 'pub const K: &str = std::env!("SECRET");', errors: [{ rule: 'compile-time-env', line: 1, column: 21 }], name: 'std::env!' },
  ],
});
