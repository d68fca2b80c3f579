// `cap-scan batch`'s linking plan and the signed result entries (src/batch/link.ts, store.ts): no Redis
// needed. The queue runs are in test/batch.test.ts.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLinks, CODE_NAME_TAKEN, linkCodeNames, planBatch, type PlanCrate } from '../src/batch/link.js';
import { BATCH_ENTRY, batchKey, dirStore, idOfResultFile, openStored, resultFileName, type StoredResult } from '../src/batch/store.js';
import { sealEntry } from '../src/scan/remote-cache.js';
import type { Manifest, ManifestDependency } from '../src/types.js';

const KEY = 'batch-test-key-0123456789';

function dep(key: string, req: string | null, more: Partial<ManifestDependency> = {}): ManifestDependency {
  return { key, package: key, kind: 'normal', req, path: null, git: null, registry: null, target: null, optional: false, line: null, ...more };
}
function manifest(deps: ManifestDependency[], lib: string | null = null): Manifest {
  return { path: '/x/Cargo.toml', dir: '/x', package: null, lib: lib === null ? null : { name: lib, path: 'src/lib.rs', procMacro: false }, bins: [], tests: [], examples: [], benches: [], dependencies: deps, workspace: null, raw: {} };
}

describe('planBatch: dependencies among the list, cycles broken', () => {
  const c = (id: string, deps: PlanCrate['deps']): PlanCrate => ({ id, name: id.split('@')[0]!, version: id.split('@')[1]!, deps });

  it('the highest listed version meeting the requirement; a prerelease only when asked for; unlisted crates are no edge', () => {
    const plan = planBatch([
      c('app@1.0.0', [{ package: 'log', req: '0.4' }, { package: 'rand', req: '^0.7' }, { package: 'absent', req: '1' }, { package: 'pre', req: '1' }, { package: 'pre2', req: '=2.0.0-rc.1' }]),
      c('log@0.4.1', []),
      c('log@0.4.17', []),
      c('log@0.3.9', []),
      c('rand@0.7.3', []),
      c('rand@0.8.5', []),
      c('pre@1.1.0-beta.1', []),
      c('pre@1.0.0', []),
      c('pre2@2.0.0-rc.1', []),
    ]);
    expect(plan.deps.get('app@1.0.0')).toEqual([
      { name: 'log', id: 'log@0.4.17' },
      { name: 'pre2', id: 'pre2@2.0.0-rc.1' },
      { name: 'pre', id: 'pre@1.0.0' },
      { name: 'rand', id: 'rand@0.7.3' },
    ]);
    // dependencies first
    expect(plan.order.indexOf('log@0.4.17')).toBeLessThan(plan.order.indexOf('app@1.0.0'));
    expect(plan.dropped).toEqual([]);
  });

  it('a cycle loses one edge, the same one whatever order the list comes in', () => {
    const list = [c('a@1.0.0', [{ package: 'b', req: '1' }]), c('b@1.0.0', [{ package: 'c', req: '1' }]), c('c@1.0.0', [{ package: 'a', req: '1' }])];
    const one = planBatch(list);
    const two = planBatch([...list].reverse());
    expect(one.dropped).toEqual([['c@1.0.0', 'a@1.0.0']]);
    expect(two.dropped).toEqual(one.dropped);
    expect([...two.deps.entries()].sort()).toEqual([...one.deps.entries()].sort());
    expect(one.order).toEqual(['c@1.0.0', 'b@1.0.0', 'a@1.0.0']);
  });

  it('a lockfile edge names its job exactly', () => {
    const plan = planBatch([c('a@1.0.0', [{ id: 'b@2.0.0' }]), c('b@2.0.0', []), c('b@2.1.0', [])]);
    expect(plan.deps.get('a@1.0.0')).toEqual([{ name: 'b', id: 'b@2.0.0' }]);
  });
});

describe('linkCodeNames: the names a crate uses for its dependencies', () => {
  it('the key of a renamed dependency, otherwise the lib name; dev-dependencies are none; one dependency per name', () => {
    const m = manifest([
      dep('u', '0.1', { package: 'util' }),
      dep('serde-json', '1'),
      dep('build-helper', '1', { kind: 'build' }),
      dep('log', '0.4', { kind: 'dev' }),
      dep('rand', '0.7'),
      dep('rand', '0.8', { key: 'rand', package: 'rand' }),
    ]);
    expect(
      linkCodeNames(m, [
        { name: 'util', version: '0.1.0', id: 'util@0.1.0', lib: 'util' },
        { name: 'serde-json', version: '1.0.0', id: 'serde-json@1.0.0', lib: 'serde_json' },
        { name: 'build-helper', version: '1.2.0', id: 'build-helper@1.2.0', lib: 'bh' },
        { name: 'log', version: '0.4.17', id: 'log@0.4.17', lib: 'log' },
        { name: 'rand', version: '0.8.5', id: 'rand@0.8.5', lib: 'rand' },
        { name: 'rand', version: '0.7.3', id: 'rand@0.7.3', lib: 'rand' },
      ]),
    ).toEqual([
      { codeName: 'bh', id: 'build-helper@1.2.0' },
      // a dependency the manifest only has as a dev-dependency keeps its lib name (as load-project's edges)
      { codeName: 'log', id: 'log@0.4.17' },
      { codeName: 'rand', id: 'rand@0.7.3' },
      { codeName: 'serde_json', id: 'serde-json@1.0.0' },
      { codeName: 'u', id: 'util@0.1.0' },
    ]);
  });
});

describe('signed batch result entries', () => {
  const entry = (id: string, over: Partial<StoredResult> = {}): StoredResult => ({
    entry: 2,
    id,
    job: { name: id.split('@')[0]!, version: '1.0.0', checksum: null, source: null, dir: '/x', deps: [] },
    crates: [],
    unscanned: [],
    lib: id.split('@')[0]!,
    exportTable: null,
    exportTableHash: 'none',
    linked: [],
    unlinked: [],
    ...over,
  });

  it('the directory store writes signed files and reads them back sorted; anything else is rejected with the reason', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cap-scan-batch-store-')), 'results');
    const store = dirStore(dir, KEY);
    await store.put(entry('b@1.0.0'));
    await store.put(entry(`a@1.0.0#${'ab'.repeat(32)}`));
    expect(idOfResultFile(resultFileName(`a@1.0.0#${'ab'.repeat(32)}`))).toBe(`a@1.0.0#${'ab'.repeat(32)}`);
    expect((await store.all()).entries.map((e) => e.id)).toEqual([`a@1.0.0#${'ab'.repeat(32)}`, 'b@1.0.0']);
    const file = path.join(dir, 'b@1.0.0.json');
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^cap-scan-batch 2 [0-9a-f]{64}$/);
    // an edited entry, an unsigned (old format) one, one signed for another job, one sealed as a remote cache entry
    writeFileSync(file, text.replace('"crates":[]', '"crates":[{"name":"b"}]'));
    writeFileSync(path.join(dir, 'c@1.0.0.json'), `${JSON.stringify(entry('c@1.0.0'))}\n`);
    writeFileSync(path.join(dir, 'd@1.0.0.json'), `${sealEntry(KEY, 'x@1.0.0', JSON.stringify(entry('d@1.0.0')), BATCH_ENTRY)}\n`);
    writeFileSync(path.join(dir, 'e@1.0.0.json'), `${sealEntry(KEY, 'e@1.0.0', JSON.stringify(entry('e@1.0.0')))}\n`);
    const all = await store.all();
    expect(all.entries.map((e) => e.id)).toEqual([`a@1.0.0#${'ab'.repeat(32)}`]);
    expect(all.rejected).toEqual([
      { id: 'b@1.0.0', reason: 'HMAC mismatch (tampered, or written with another key)' },
      { id: 'c@1.0.0', reason: 'not a signed cap-scan batch result (v2)' },
      { id: 'd@1.0.0', reason: 'HMAC mismatch (tampered, or written with another key)' },
      { id: 'e@1.0.0', reason: 'not a signed cap-scan batch result (v2)' },
    ]);
    // another key verifies nothing; no key verifies nothing, and says why
    expect((await dirStore(dir, 'another-key-0123456789').all()).entries).toEqual([]);
    expect((await dirStore(dir, null).get(`a@1.0.0#${'ab'.repeat(32)}`))).toEqual({ id: `a@1.0.0#${'ab'.repeat(32)}`, reason: 'CAP_SCAN_CACHE_KEY is not set, so its signature cannot be verified' });
    await expect(dirStore(dir, null).put(entry('f@1.0.0'))).rejects.toThrow('storing a batch result needs CAP_SCAN_CACHE_KEY');
  });

  it('get() keeps verified entries: the same signature line is the same authentic entry, a new one is verified again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cap-scan-batch-memo-'));
    const store = dirStore(dir, KEY);
    await store.put(entry('m@1.0.0'));
    expect(await store.get('m@1.0.0')).toMatchObject({ id: 'm@1.0.0', crates: [] });
    const file = path.join(dir, 'm@1.0.0.json');
    const text = readFileSync(file, 'utf8');
    // the body edited under the old signature line: this store returns the entry it verified, never the edit
    writeFileSync(file, text.replace('"crates":[]', '"crates":[{"name":"planted"}]'));
    expect(await store.get('m@1.0.0')).toMatchObject({ crates: [] });
    // ...which a fresh reader rejects
    expect(await dirStore(dir, KEY).get('m@1.0.0')).toEqual({ id: 'm@1.0.0', reason: 'HMAC mismatch (tampered, or written with another key)' });
    // a new signed entry (a recomputed result) is read and verified again
    await store.put(entry('m@1.0.0', { crates: [{ name: 'm' }] }));
    expect(await store.get('m@1.0.0')).toMatchObject({ crates: [{ name: 'm' }] });
    // a signature line edited too: verified again, and rejected
    const signed = readFileSync(file, 'utf8');
    const first = signed['cap-scan-batch 2 '.length]!;
    writeFileSync(file, `cap-scan-batch 2 ${first === '0' ? '1' : '0'}${signed.slice('cap-scan-batch 2 '.length + 1)}`);
    expect(await store.get('m@1.0.0')).toEqual({ id: 'm@1.0.0', reason: 'HMAC mismatch (tampered, or written with another key)' });
  });

  it('a signed entry whose table does not have the hash it names is rejected', () => {
    const e = entry('t@1.0.0', { exportTableHash: 'ab'.repeat(32) });
    expect(openStored(KEY, 't@1.0.0', sealEntry(KEY, 't@1.0.0', JSON.stringify(e), BATCH_ENTRY))).toEqual({ id: 't@1.0.0', reason: 'signed, but its export table does not have the hash it names' });
  });

  it('CAP_SCAN_CACHE_KEY: unset is null, too short is an error', () => {
    expect(batchKey({})).toBe(null);
    expect(() => batchKey({ CAP_SCAN_CACHE_KEY: 'short' })).toThrow('CAP_SCAN_CACHE_KEY must be at least 16 characters');
    expect(batchKey({ CAP_SCAN_CACHE_KEY: KEY })).toBe(KEY);
  });

  it('the report check: a result linked against a table its dependency no longer has is stale, and so are its dependents', () => {
    const d = (id: string, deps: string[], linked: [string, string, string][], hash = 'none') =>
      entry(id, { job: { name: id.split('@')[0]!, version: '1.0.0', checksum: null, source: null, dir: '/x', deps: deps.map((x) => ({ name: x.split('@')[0]!, id: x })) }, linked, exportTableHash: hash });
    const fresh = [d('a@1.0.0', [], []), d('b@1.0.0', ['a@1.0.0'], [['a', 'a@1.0.0', 'none']]), d('c@1.0.0', ['b@1.0.0'], [['b', 'b@1.0.0', 'none']])];
    expect(checkLinks(fresh, [])).toEqual({ applied: true, note: '3 crates linked in dependency order through 2 dependency edges (their stored export tables)', crates: 3, edges: 2, unlinked: [], stale: [] });
    const changed = [{ ...fresh[0]!, exportTableHash: 'ab'.repeat(32), exportTable: null }, fresh[1]!, fresh[2]!];
    expect(checkLinks(changed, []).stale).toEqual([
      { id: 'b@1.0.0', reason: 'linked against an export table of a@1.0.0 that its stored result no longer has' },
      { id: 'c@1.0.0', reason: 'its dependency b@1.0.0 is stale' },
    ]);
    // scanned without a dependency whose job had failed, which has a result now: stale; one whose code
    // name another dependency has: listed, not stale
    const without = [fresh[0]!, { ...fresh[1]!, linked: [], unlinked: [{ id: 'a@1.0.0', reason: 'its batch job failed' }] }];
    expect(checkLinks(without, [])).toMatchObject({
      edges: 0,
      unlinked: [{ id: 'b@1.0.0', dep: 'a@1.0.0', reason: 'its batch job failed' }],
      stale: [{ id: 'b@1.0.0', reason: 'scanned without a@1.0.0 (its batch job failed), whose result is stored now' }],
    });
    expect(checkLinks([fresh[0]!, { ...fresh[1]!, linked: [], unlinked: [{ id: 'a@1.0.0', reason: CODE_NAME_TAKEN }] }], []).stale).toEqual([]);
    expect(checkLinks(fresh.slice(1), [{ id: 'a@1.0.0', reason: 'HMAC mismatch' }]).stale).toEqual([
      { id: 'b@1.0.0', reason: 'linked against a@1.0.0, whose result is not trusted now' },
      { id: 'c@1.0.0', reason: 'its dependency b@1.0.0 is stale' },
    ]);
  });
});
