// Issue 18 (detection depth): one fixture crate per item under fixtures/crates/detect-*, each scanned like
// `cap-scan crate <dir>` with its exact findings (rule, file, line, column, phase, context), indicators and
// unanalyzed entries asserted. Positives and negatives live in the same crate.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import Parser from 'tree-sitter';
import Rust from 'tree-sitter-rust';
import { fileIndicators } from '../src/indicators/file.js';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultScanOptions } from '../src/options.js';
import { scanCrateDir } from '../src/scan/session.js';
import type { CrateReport, ScanResult } from '../src/types.js';
import { parseRuleFile } from '../src/rules/load.js';
import { RuleIndex } from '../src/rules/engine.js';
import { PERSISTENCE_GATE, persistenceTarget } from '../src/indicators/patterns.js';
import { cfgValue } from '../src/parse/cfg-false.js';
import { evaluatePolicy, parsePolicy, usesOf } from '../src/policy/allowlist.js';
import { includeLeavesPackage, includePlace, includeTarget } from '../src/parse/include-target.js';
import { lex } from '../src/parse/lexer.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'crates');

async function scan(name: string): Promise<CrateReport> {
  const res = await scanCrateDir(path.join(FIX, name), defaultScanOptions({ cache: false }));
  return res.crates[0]!;
}

const rows = (c: CrateReport) => c.findings.map((f) => [f.rule, f.file, f.line, f.column, f.phase, ...(f.context ? [f.context] : [])]);

describe('issue 18: detection depth', () => {
  it('item 2: CommandExt hooks and setters are process, clap Command setters are not', async () => {
    const c = await scan('detect-process-hooks');
    expect(rows(c)).toEqual([
      ['unsafe-block', 'src/lib.rs', 7, 5, 'runtime'],
      ['command-ext-hook', 'src/lib.rs', 8, 13, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 9, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 16, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 23, 'runtime'],
      ['command-ext-setter', 'src/lib.rs', 10, 40, 'runtime'],
    ]);
    expect(c.capabilities).toEqual(['process', 'unsafe']);
    expect(c.unanalyzed).toEqual([]);
  });

  it('item 3: Windows APIs (winapi) under #[cfg(windows)] count; WinSock constants and a local CreateProcessW do not', async () => {
    const c = await scan('detect-windows-apis');
    expect(rows(c)).toEqual([
      // every winapi function called is also a foreign call (issue 14: the [foreign] paths of rules/ffi.toml)
      ['unsafe-fn', 'src/lib.rs', 7, 9, 'runtime'],
      ['foreign-call', 'src/lib.rs', 9, 9, 'runtime'],
      ['windows-process-spawn', 'src/lib.rs', 9, 9, 'runtime'],
      ['unsafe-fn', 'src/lib.rs', 12, 9, 'runtime'],
      ['foreign-call', 'src/lib.rs', 14, 9, 'runtime'],
      ['windows-registry-write', 'src/lib.rs', 14, 9, 'runtime'],
      ['unsafe-fn', 'src/lib.rs', 17, 9, 'runtime'],
      ['foreign-call', 'src/lib.rs', 19, 9, 'runtime'],
      ['windows-net-connect', 'src/lib.rs', 19, 9, 'runtime'],
      ['foreign-call', 'src/lib.rs', 21, 9, 'runtime'],
      ['windows-net-connect', 'src/lib.rs', 21, 9, 'runtime'],
      ['unsafe-fn', 'src/lib.rs', 24, 9, 'runtime'],
      ['foreign-call', 'src/lib.rs', 25, 19, 'runtime'],
      ['windows-dynamic-loading', 'src/lib.rs', 25, 19, 'runtime'],
      ['foreign-call', 'src/lib.rs', 26, 9, 'runtime'],
      ['windows-dynamic-loading', 'src/lib.rs', 26, 9, 'runtime'],
      ['foreign-call', 'src/lib.rs', 27, 9, 'runtime'],
      ['windows-fs-delete', 'src/lib.rs', 27, 9, 'runtime'],
    ]);
    expect(c.capabilities).toEqual(['ffi', 'fs', 'net', 'process', 'unsafe']);
  });

  it('wildcard rule paths: a name prefix in the last segment, longest stem wins, ALL_CAPS names never match', () => {
    const file = (paths: string[]) => `capability = "fs"\n[[rule]]\nid = "a"\nkind = "fs.read"\npaths = [${paths.map((p) => JSON.stringify(p)).join(', ')}]\n[[rule]]\nid = "b"\nkind = "fs.write"\npaths = ["m::RegSet*"]\n`;
    for (const bad of ['m::*', 'm::Re*g', 'm*::X', 'm::Reg*!']) expect(() => parseRuleFile(file([bad]), 'x.toml'), bad).toThrow(`x.toml: rule #1 (a): bad path \`${bad}\``);
    const parsed = parseRuleFile(file(['m::Reg*', 'm::exact']), 'x.toml');
    const index = new RuleIndex({ rules: parsed.rules, excludes: new Map(), hash: '', files: [] });
    const ids = (p: string) => index.matchPath(p.split('::')).map((r) => r.id);
    expect([ids('m::RegOpenKeyExW'), ids('m::RegSetValueExW'), ids('m::REG_SZ'), ids('m::Re'), ids('n::RegOpenKeyExW'), ids('m::exact')]).toEqual([['a'], ['b'], [], [], [], ['a']]);
    expect([index.isKnownSegment('RegQueryValueW'), index.isKnownSegment('REG_SZ'), index.isKnownPrefix('m::RegQueryValueW'), index.isKnownPrefix('m::Other')]).toEqual([true, false, true, false]);
  });

  it('item 9: cloud CLI, container, wallet and browser stores are secrets, also built with joins; look-alikes are not', async () => {
    const c = await scan('detect-secrets-stores');
    const s = (line: number, label: string, path: string) => ({ id: 'secrets', file: 'src/lib.rs', line, detail: `credential store ${label}: ${JSON.stringify(path)}` });
    expect(c.indicators).toEqual([
      s(6, '.aws', '.aws'),
      s(7, '.azure', '.azure/msal_token_cache.json'),
      s(8, 'gcloud', '.config/gcloud/credentials.db'),
      s(9, '.docker/config.json', '.docker/config.json'),
      s(10, '.kube/config', '.kube/config'),
      s(16, 'wallet store', '.config/solana/id.json'),
      s(17, 'wallet store', '.bitcoin'),
      s(18, 'wallet store', '.ethereum/keystore'),
      s(19, 'browser extension store', '.config/google-chrome/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn'),
      s(24, 'browser store', 'Default/Network/Cookies'),
      s(24, 'browser store', 'key4.db'),
    ]);
  });

  it('item 8: writing shell start-up files, crontabs, units, hooks, cargo config, authorized_keys is persistence; reading them is not', async () => {
    const c = await scan('detect-persistence');
    const p = (line: number, label: string, path: string) => ({ id: 'persistence', file: 'src/lib.rs', line, detail: `writes ${label}: ${JSON.stringify(path)}` });
    expect(c.indicators).toEqual([
      p(6, 'crontab', '/etc/cron.d/updater'),
      p(9, 'shell start-up file', '.bashrc'),
      p(11, 'autostart entry', '.config/autostart/updater.desktop'),
      p(15, 'systemd unit', '.config/systemd/user/updater.service'),
      p(16, 'launchd job', 'Library/LaunchAgents/com.updater.plist'),
      p(17, 'git hook', '.git/hooks/pre-commit'),
      p(23, 'cargo config', '.cargo/config.toml'),
      p(26, 'authorized_keys', '.ssh/authorized_keys'),
      { id: 'secrets', file: 'src/lib.rs', line: 26, detail: 'credential store authorized_keys: ".ssh/authorized_keys"' },
    ]);
  });

  it('persistence targets: every rule reachable through the source gate; look-alikes are not targets', () => {
    const named = ['~/.bashrc', '.zshrc', '.profile', '.bash_profile', '.config/fish/config.fish', '/etc/profile.d/x.sh', '/etc/crontab', '/etc/cron.d/x', '/var/spool/cron/crontabs/root',
      '/etc/systemd/system/x.service', '.config/systemd/user', 'Library/LaunchDaemons/x.plist', '.git/hooks/post-checkout', 'hooks/pre-push', '~/.cargo/config', '.cargo/config.toml',
      '.ssh/authorized_keys2', '/etc/xdg/autostart/x.desktop', 'AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.lnk', 'Software\\Microsoft\\Windows\\CurrentVersion\\Run'];
    for (const v of named) {
      expect(persistenceTarget(v), v).not.toBeNull();
      PERSISTENCE_GATE.lastIndex = 0;
      expect(PERSISTENCE_GATE.test(v), v).toBe(true);
    }
    for (const v of ['bashrc', '.profile.json', 'profile', 'cron', 'systemd', '.cargo/config.json', 'hooks/custom', '.git/HEAD', 'crontab', 'README.md', '/run/systemd/system']) expect(persistenceTarget(v), v).toBeNull();
  });

  it('item 7: hex, reversed, xor, byte vectors, one-by-one base64 fragments; a hash, a reversed word and plain bytes are not', async () => {
    const c = await scan('detect-encodings');
    const o = (line: number, detail: string) => ({ id: 'obfuscation', file: 'src/lib.rs', line, detail });
    expect(c.indicators).toEqual([
      o(3, 'hex literal decodes to url: "http://c2.evil.example/p"'),
      o(7, 'reversed literal spells url: "https://evil.example.com"'),
      o(11, 'xor over literal data decodes to host: "evil.example:443"'),
      o(15, 'integer array spells ip: "10.13.37.1:8080"'),
      o(19, 'byte array spells path: "/bin/sh -c"'),
      o(23, '3 base64 fragments decoded one by one decode to url: "https://dl.evil.example/x"'),
      o(27, 'base64 literal decodes to host: "c2.evil.example:4444"'),
    ]);
    expect(c.urls).toEqual(['http://c2.evil.example/p', 'https://dl.evil.example/x', 'https://evil.example.com']);
    // decoded hosts, host:port and IPs go into hosts too (check's URL allowlist runs over crate.hosts)
    expect(c.hosts).toEqual(['10.13.37.1', 'c2.evil.example', 'dl.evil.example', 'evil.example', 'evil.example.com']);
    const policy = parsePolicy(
      `[workspace]\nmembers = []\n[workspace.metadata.cap-scan.allow]\ndetect-encodings = { runtime = [], urls = ["c2.evil.example", "dl.evil.example", "evil.example.com"] }\n`,
      'Cargo.toml',
    );
    const v = evaluatePolicy(policy, { schemaVersion: 1, tool: { name: 'cap-scan', version: '0' }, crates: [c], unscanned: [] } as unknown as ScanResult, null);
    expect(v.crates.map((x) => x.urls)).toEqual([[{ type: 'host', value: '10.13.37.1' }, { type: 'host', value: 'evil.example' }]]);
    // decoded text that is a host as a whole: the file pass reports it for `hosts`
    const parser = new Parser();
    parser.setLanguage(Rust as unknown as Parser.Language);
    const source = readFileSync(path.join(FIX, 'detect-encodings', 'src', 'lib.rs'), 'utf8');
    expect(fileIndicators(parser.parse(source).rootNode, source, 'src/lib.rs', { buildScript: false, test: false }).hosts).toEqual([
      { host: 'evil.example', line: 11 },
      { host: '10.13.37.1', line: 15 },
      { host: 'c2.evil.example', line: 27 },
    ]);
  });

  it('item 6: items under an always-false cfg are findings with context disabled, not capabilities', async () => {
    const c = await scan('detect-cfg-disabled');
    expect(rows(c)).toEqual([
      ['std-process-spawn', 'src/lib.rs', 6, 13, 'runtime', 'disabled'],
      ['std-net-connect', 'src/lib.rs', 11, 13, 'runtime', 'disabled'],
      ['std-fs-delete', 'src/lib.rs', 17, 17, 'runtime', 'disabled'],
      ['std-fs-read', 'src/lib.rs', 23, 13, 'runtime', 'disabled'],
      ['std-env-read', 'src/lib.rs', 26, 13, 'runtime'],
      ['std-env-read', 'src/lib.rs', 28, 13, 'runtime'],
    ]);
    expect(c.capabilities).toEqual(['env']);
    expect(c.phases).toEqual({ runtime: ['env'], build: [] });
    // check: a disabled finding is not a use the policy must allow
    expect(usesOf(c).map((u) => [u.capability, u.phase, u.findings.length])).toEqual([['env', 'runtime', 2]]);
  });

  it('always-false cfg predicates: any() is false, all() true, not flips, anything else unknown', () => {
    for (const t of ['any()', 'all(any())', 'not(all())', 'all(unix, any())', 'any(any(), not(all()))', 'all(feature = "x", any())', 'not(not(any()))'])
      expect(cfgValue(t), t).toBe(false);
    for (const t of ['unix', 'any(unix)', 'not(any())', 'all()', 'any(unix, any())', 'not(unix)', 'feature = "a"', 'any(foo(bar), any())', 'any(', 'any() x'])
      expect(cfgValue(t), t).not.toBe(false);
  });

  it('item 1: Path/PathBuf probes typed from constructors, chains, lets, params, fields, temp_dir; HashSet, a local exists, clap setters are not', async () => {
    const c = await scan('detect-path-probes');
    expect(c.findings.map((f) => [f.rule, f.line, f.column, f.evidence])).toEqual([
      ['path-fs-probe', 12, 46, 'std::path::Path::is_file'],
      ['path-fs-probe', 18, 39, 'std::path::Path::try_exists'],
      ['path-fs-probe', 19, 17, 'std::path::Path::metadata'],
      ['std-env-read', 20, 13, 'std::env::temp_dir'],
      ['path-fs-list', 20, 29, 'std::path::Path::read_dir'],
      ['path-fs-probe', 22, 15, 'std::path::Path::symlink_metadata'],
      ['path-fs-probe', 23, 39, 'std::path::Path::canonicalize'],
      ['path-fs-probe', 28, 7, 'std::path::Path::is_dir'],
      ['path-fs-probe', 28, 21, 'std::path::Path::is_symlink'],
      ['path-fs-probe', 28, 48, 'std::path::Path::exists'],
      ['path-fs-probe', 32, 16, 'std::path::Path::read_link'],
      ['path-fs-probe', 37, 19, 'std::path::Path::exists'],
      // clap::Command::new(..).arg(..).groups(..) (line 68) and c: clap::Command (line 72) are not processes
      ['std-process-spawn', 78, 9, 'std::process::Command::new'],
      ['command-ext-setter', 78, 38, 'std::os::unix::process::CommandExt::uid'],
      ['command-ext-setter', 79, 11, 'std::os::unix::process::CommandExt::gid'],
      // inside assert!(…) (token pass): a typed parameter and a typed struct field
      ['path-fs-probe', 85, 17, 'std::path::Path::exists'],
      ['path-fs-probe', 85, 50, 'std::path::Path::is_dir'],
      // Header::uid through self and h: &Header (lines 100, 104) is the crate's own method
    ]);
    expect(new Set(c.findings.map((f) => `${f.file} ${f.phase} ${f.context ?? ''}`))).toEqual(new Set(['src/lib.rs runtime ']));
    expect(c.capabilities).toEqual(['env', 'fs', 'process']);
    expect(c.unanalyzed).toEqual([]);
  });

  it('items 4 and 5: include macros of absolute / outside / build-machine env paths are build fs.read (+ secrets); OUT_DIR code is build-generated', async () => {
    const c = await scan('detect-include-reads');
    expect(rows(c).filter((r) => r[1] !== 'build.rs')).toEqual([
      ['compile-time-env', 'src/lib.rs', 13, 10, 'build'],
      ['include-outside-package', 'src/stolen.rs', 3, 23, 'build'],
      ['include-outside-package', 'src/stolen.rs', 5, 23, 'build'],
      ['compile-time-env', 'src/stolen.rs', 5, 44, 'build'],
      ['include-outside-package', 'src/stolen.rs', 7, 23, 'build'],
      ['include-outside-package', 'src/stolen.rs', 9, 1, 'build'],
    ]);
    expect(c.findings.filter((f) => f.rule === 'include-outside-package').map((f) => f.evidence)).toEqual([
      'std::include_str!', 'std::include_str!', 'std::include_bytes!', 'std::include!',
    ]);
    expect(c.indicators).toEqual([
      { id: 'secrets', file: 'src/stolen.rs', line: 3, detail: 'credential store ssh private key: "/home/builder/.ssh/id_rsa"' },
      { id: 'secrets', file: 'src/stolen.rs', line: 5, detail: 'credential store .aws/credentials: "/.aws/credentials"' },
    ]);
    expect(c.unanalyzed).toEqual([
      { file: 'src/lib.rs', line: 11, reason: 'build-generated: $OUT_DIR/gen.rs' },
      { file: 'src/lib.rs', line: 13, reason: 'build-generated: $DETECT_GEN' },
      { file: 'src/stolen.rs', line: 9, reason: 'include not analysed: ../../outside.rs (not found)' },
    ]);
  });

  it('include paths: absolute, leaving the package, env-relative', () => {
    const out = (rel: string, p: string) => includeLeavesPackage(rel, p);
    expect([out('src/lib.rs', '../README.md'), out('src/a/b.rs', '../../Cargo.toml'), out('build.rs', 'x/../y'), out('src/lib.rs', '$CARGO_MANIFEST_DIR/README.md'), out('src/lib.rs', '$OUT_DIR/x.rs')]).toEqual([false, false, false, false, false]);
    expect([out('src/lib.rs', '../../x'), out('build.rs', '../x'), out('src/lib.rs', '/etc/passwd'), out('src/lib.rs', 'C:\\\\secret'), out('src/lib.rs', '$HOME/.ssh/id_rsa'), out('src/lib.rs', '$CARGO_MANIFEST_DIR/../x'), out('src/lib.rs', '~/.netrc')]).toEqual([true, true, true, true, true, true, true]);
    // code through a variable a build script sets (typenum's include!(env!("TYPENUM_BUILD_OP"))) or cargo's
    // artifact variables is build output; data through a variable cargo does not set is a machine read
    expect([includePlace('src/lib.rs', '$TYPENUM_BUILD_OP', 'include'), includePlace('src/lib.rs', '$CARGO_BIN_FILE_BAR', 'include_bytes'), includePlace('src/lib.rs', '$SECRET_FILE', 'include_str'), includePlace('src/lib.rs', '$HOME/x.rs', 'include')]).toEqual(['generated', 'generated', 'outside', 'outside']);
    expect(includeTarget(lex('concat!(env!("OUT_DIR"), "/", "x.rs")', 0, 38))).toBe('$OUT_DIR/x.rs');
    // code through a variable a build script sets (typenum's include!(env!("TYPENUM_BUILD_OP"))) or cargo's
    // artifact variables is build output; data through a variable cargo does not set is a machine read
    expect([includePlace('src/lib.rs', '$TYPENUM_BUILD_OP', 'include'), includePlace('src/lib.rs', '$CARGO_BIN_FILE_BAR', 'include_bytes'), includePlace('src/lib.rs', '$SECRET_FILE', 'include_str'), includePlace('src/lib.rs', '$HOME/x.rs', 'include')]).toEqual(['generated', 'generated', 'outside', 'outside']);
    expect(includeTarget(lex('concat!(MY_DIR, "/x.rs")', 0, 24))).toBeNull();
  });
});
