import { describe, expect, it } from 'vitest';
import { mapLimit } from '../src/util/async.js';
import { defaultCacheDir } from '../src/util/cache-dir.js';
import { cmp } from '../src/util/compare.js';
import { isTable, parseToml } from '../src/util/toml.js';
import { hostOfUrl } from '../src/util/url.js';

describe('shared helpers', () => {
  it('cmp is code-unit order, not locale order', () => {
    expect(['b', 'B', 'a', 'é', 'A'].sort(cmp)).toEqual(['A', 'B', 'a', 'b', 'é']);
  });

  it('parseToml: a BOM is ignored; a syntax error is one line with the file, the 1-based line and the kind of file', () => {
    expect(parseToml('\uFEFFa = 1\n', 'x.toml')).toEqual({ a: 1 });
    expect(() => parseToml('a = 1\nb = \n', 'Cargo.toml')).toThrow(/^Cargo\.toml:2: invalid TOML: [^\n]+$/);
    expect(() => parseToml('[x\n', '.cargo/config.toml', ' in cargo config')).toThrow(/^\.cargo\/config\.toml:1: invalid TOML in cargo config: [^\n]+$/);
    let message = '';
    try {
      parseToml('a = 1\nb = \n', 'Cargo.toml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toMatch(/ at row \d+/);
  });

  it('isTable: tables only', () => {
    expect([{}, [], null, new Date(0), 'x', 1].map(isTable)).toEqual([true, false, false, false, false, false]);
  });

  it('mapLimit: input order, at most `limit` in flight, first error thrown after the in-flight calls end, no new call after it', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([30, 10, 20, 0], 2, async (ms, i) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:30', '1:10', '2:20', '3:0']);
    expect(peak).toBe(2);
    const started: number[] = [];
    await expect(
      mapLimit([0, 1, 2, 3], 1, async (x) => {
        started.push(x);
        if (x === 1) throw new Error('boom');
        return x;
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([0, 1]);
    expect(await mapLimit([], 4, async (x) => x)).toEqual([]);
  });

  it('defaultCacheDir: absolute XDG_CACHE_HOME, else ~/.cache (a relative XDG_CACHE_HOME is ignored, as the XDG spec says)', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/cap-scan');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'rel' })).toMatch(/\/\.cache\/cap-scan$/);
    expect(defaultCacheDir({})).toMatch(/\/\.cache\/cap-scan$/);
  });

  it('hostOfUrl: lower-cased, no userinfo or port, IPv6 without brackets', () => {
    expect(['http://[::1]:8080/x', 'https://U@Example.COM:443/', 'http://%s/', 'tcp://1.2.3.4:9'].map(hostOfUrl)).toEqual(['::1', 'example.com', null, '1.2.3.4']);
  });
});
