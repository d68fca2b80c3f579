import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findKeyLine, scanStatements, setTableEntries } from '../src/policy/toml-edit.js';
import { UserError } from '../src/types.js';

const odd = readFileSync(new URL('../fixtures/policy/odd-formatting/Cargo.toml', import.meta.url), 'utf8');
const ALLOW = ['workspace', 'metadata', 'cap-scan', 'allow'];

describe('scanStatements', () => {
  it('splits headers, keys, multi-line values and comments with lines', () => {
    const st = scanStatements(odd);
    const summary = st
      .filter((s) => s.type !== 'blank')
      .map((s) => `${s.line} ${s.type} ${s.type === 'keyValue' ? [...s.table, '|', ...s.key].join('.') : s.key.join('.')}`);
    expect(summary).toEqual([
      '1 comment ',
      '2 header workspace',
      '3 keyValue workspace.|.members',
      '5 keyValue workspace.|.resolver',
      '7 header workspace.metadata.docs',
      '8 keyValue workspace.metadata.docs.|.note',
      '13 header workspace.metadata.cap-scan',
      '14 keyValue workspace.metadata.cap-scan.|.deny-indicators',
      '16 header workspace.metadata.cap-scan.allow',
      '17 comment ',
      '18 keyValue workspace.metadata.cap-scan.allow.|.tokio',
      '19 keyValue workspace.metadata.cap-scan.allow.|.openssl-sys',
      '23 keyValue workspace.metadata.cap-scan.allow.|.stale',
      '24 keyValue workspace.metadata.cap-scan.allow.|.cc',
      '26 header profile.release',
      '27 keyValue profile.release.|.lto',
    ]);
    // statements tile the text exactly
    expect(st.map((s) => odd.slice(s.start, s.end)).join('')).toBe(odd);
  });

  it('reports unterminated values with file and line', () => {
    expect(() => scanStatements('a = 1\nb = [1,\n2\n', 'x/Cargo.toml')).toThrow(new UserError('x/Cargo.toml:2: unterminated array or inline table'));
    expect(() => scanStatements('a = "x\n', 'C.toml')).toThrow(new UserError('C.toml:1: unterminated string'));
  });
});

describe('findKeyLine', () => {
  it('finds table headers, keys and the closest enclosing key', () => {
    expect(findKeyLine(odd, ['workspace', 'metadata', 'cap-scan'])).toBe(13);
    expect(findKeyLine(odd, ['workspace', 'metadata', 'cap-scan', 'deny-indicators'])).toBe(14);
    expect(findKeyLine(odd, [...ALLOW, 'cc'])).toBe(24);
    expect(findKeyLine(odd, [...ALLOW, 'openssl-sys', 'build'])).toBe(19);
    expect(findKeyLine(odd, ['nope'])).toBeNull();
    expect(findKeyLine('[a]\nb.c = 1\n', ['a', 'b', 'c', 'd'])).toBe(2);
  });
});

describe('setTableEntries', () => {
  it('replaces, removes and inserts keys and keeps every other byte', () => {
    const out = setTableEntries(
      odd,
      ALLOW,
      [
        { key: 'tokio', value: '["fs", "net", "process"]' },
        { key: 'openssl-sys', value: '{ runtime = ["ffi", "unsafe"], build = ["env"] }' },
        { key: 'zstd-sys', value: '["ffi"]' },
      ],
      { remove: (k) => k === 'stale' },
    );
    const expected = odd
      .replace(`tokio   =   [ "fs",'net' ]   #`, `tokio = ["fs", "net", "process"]   #`)
      .replace(
        `"openssl-sys" = { runtime = ["ffi"], build = [\n    "env",   # comment inside an array\n    "process",\n] }\n`,
        `openssl-sys = { runtime = ["ffi", "unsafe"], build = ["env"] }\n`,
      )
      .replace('stale = ["fs"]\n', '')
      .replace('cc = { build = ["process"] }\t# tab before comment\n', 'cc = { build = ["process"] }\t# tab before comment\nzstd-sys = ["ffi"]\n');
    expect(out).toBe(expected);
  });

  it('is the identity when nothing changes', () => {
    expect(setTableEntries(odd, ALLOW, [])).toBe(odd);
  });

  it('appends a missing table at the end, adding a final newline when missing', () => {
    const text = '[package]\nname = "x"\nversion = "0.1.0"';
    const out = setTableEntries(text, ['package', 'metadata', 'cap-scan', 'allow'], [{ key: 'libc', value: '["ffi"]' }]);
    expect(out).toBe('[package]\nname = "x"\nversion = "0.1.0"\n\n[package.metadata.cap-scan.allow]\nlibc = ["ffi"]\n');
  });

  it('inserts after a last line without newline', () => {
    const text = readFileSync(new URL('../fixtures/policy/no-trailing-newline.toml', import.meta.url), 'utf8');
    const out = setTableEntries(text, ['workspace', 'metadata', 'cap-scan', 'allow'], [{ key: 'bar', value: '["net"]' }]);
    expect(out).toBe('[workspace]\nmembers = ["a"]\n\n[workspace.metadata.cap-scan.allow]\nfoo = ["fs"]\nbar = ["net"]\n');
  });

  it('quotes keys that are not bare', () => {
    const out = setTableEntries('[t]\n', ['t'], [{ key: 'memchr@2', value: '["unsafe"]' }]);
    expect(out).toBe('[t]\n"memchr@2" = ["unsafe"]\n');
  });

  it('refuses tables written inline or with dotted keys', () => {
    expect(() =>
      setTableEntries('[workspace.metadata.cap-scan]\nallow = { a = ["fs"] }\n', ALLOW, [{ key: 'b', value: '[]' }]),
    ).toThrow(/^Cargo\.toml:2: cannot edit \[workspace\.metadata\.cap-scan\.allow\] in place/);
    expect(() =>
      setTableEntries('[workspace.metadata]\ncap-scan = { allow = { a = ["fs"] } }\n', ALLOW, [{ key: 'b', value: '[]' }]),
    ).toThrow(/^Cargo\.toml:2: cannot edit \[workspace\.metadata\.cap-scan\.allow\] in place/);
    expect(() => setTableEntries('[workspace.metadata.cap-scan.allow]\na.runtime = ["fs"]\n', ALLOW, [])).toThrow(
      "Cargo.toml:2: cannot edit [workspace.metadata.cap-scan.allow] in place: dotted key 'a.runtime'",
    );
  });
});
