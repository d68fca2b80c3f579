// Worker pool: results equal in-thread analysis, prefetch is served to demand, and a crashing, hanging or
// unstartable worker becomes an `unanalyzed` problem or a clear error — never a hang.
//
// Workers run compiled code, so this test loads the compiled pool (dist/, built by `npm test`'s tsc step)
// and compares it with the compiled in-thread analysis: one build on both sides.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as PoolModule from '../src/parse/pool.js';
import type * as SummaryModule from '../src/parse/summary.js';
import type * as EngineModule from '../src/rules/engine.js';
import type * as LoadModule from '../src/rules/load.js';
import type { FileOptions } from '../src/parse/analyze.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(REPO, 'dist');
const VENDOR = path.join(REPO, 'fixtures/demo/vendor');
const LIB: FileOptions = { keepTests: false, procMacro: false, buildScript: false, test: false };

let pool: typeof PoolModule;
let summaryModule: typeof SummaryModule;
let cfg: ReturnType<EngineModule.RuleIndex['analyzerConfig']>;
let tmp: string;

function distUrl(rel: string): string {
  return pathToFileURL(path.join(DIST, rel)).href;
}

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'parse/worker.js'))) {
    throw new Error('dist/parse/worker.js is missing: build first (npx tsc -p tsconfig.json, or npm test)');
  }
  pool = (await import(distUrl('parse/pool.js'))) as typeof PoolModule;
  summaryModule = (await import(distUrl('parse/summary.js'))) as typeof SummaryModule;
  const engine = (await import(distUrl('rules/engine.js'))) as typeof EngineModule;
  const load = (await import(distUrl('rules/load.js'))) as typeof LoadModule;
  cfg = new engine.RuleIndex(load.loadRules()).analyzerConfig();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-pool-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const FILES = [
  'shellout/src/lib.rs',
  'demo-fetch/src/lib.rs',
  'zlink-sys/build.rs',
  'zlink-sys/src/lib.rs',
  'derive-hello/src/lib.rs',
  'tiny-json/src/lib.rs',
].map((f) => path.join(VENDOR, f));

/**
 * A stand-in worker speaking the real worker's protocol (src/parse/worker.ts): `{ ready: true }` once
 * started, `{ id, json }` (the summary as JSON text) per `{ id, abs, opts }` request, and `{ stop: true }`
 * closes its port. The summary is the real empty summary (from the compiled summary.js, so it cannot drift
 * from FileSummary) with one problem naming the file. Crashes, hangs or throws on request, by file name.
 */
function fakeWorker(body: string): string {
  const file = path.join(tmp, `worker-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    file,
    `import { parentPort } from 'node:worker_threads';
import { emptySummary } from ${JSON.stringify(distUrl('parse/summary.js'))};
${body}
parentPort.on('message', (m) => {
  if ('stop' in m) return parentPort.close();
  if (m.abs.includes('crash')) process.exit(3);
  if (m.abs.includes('hang')) for (;;) {}
  if (m.abs.includes('throw')) throw new Error('boom');
  const summary = { ...emptySummary(), problems: [{ line: 7, reason: 'fake:' + m.abs.split('/').pop() }] };
  parentPort.postMessage({ id: m.id, json: JSON.stringify(summary) });
});
parentPort.postMessage({ ready: true });
`,
  );
  return file;
}

describe('worker pool', () => {
  it('one worker works too', async () => {
    const p = pool.createPool({ cfg, size: 1 });
    try {
      expect(p.size).toBe(1);
      expect(await p.analyze(FILES[0]!, LIB)).toEqual(pool.analyzePathSync(FILES[0]!, cfg, LIB));
    } finally {
      await p.close();
    }
  });

  it('gives the same summaries as in-thread analysis, in any request order', async () => {
    for (const f of FILES) expect(existsSync(f), f).toBe(true);
    const expected = FILES.map((f) => pool.analyzePathSync(f, cfg, f.endsWith('build.rs') ? { ...LIB, buildScript: true } : LIB));
    const p = pool.createPool({ cfg, size: 2 });
    try {
      expect(p.size).toBe(2);
      const reversed = [...FILES].reverse();
      const got = await Promise.all(reversed.map((f) => p.analyze(f, f.endsWith('build.rs') ? { ...LIB, buildScript: true } : LIB)));
      expect(got.reverse()).toEqual(expected);
      expect(p.stats().analysed).toBe(FILES.length);
      expect(p.stats().failed).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('serves demand from prefetches, and drops unused ones with their group', async () => {
    const p = pool.createPool({ cfg, size: 2 });
    try {
      for (const f of FILES) p.prefetch(f, LIB, 'g1');
      const first = await p.analyze(FILES[0]!, LIB);
      expect(first).toEqual(pool.analyzePathSync(FILES[0]!, cfg, LIB));
      // other options are another analysis, not the prefetched one
      const asBuild = await p.analyze(FILES[1]!, { ...LIB, buildScript: true });
      expect(asBuild).toEqual(pool.analyzePathSync(FILES[1]!, cfg, { ...LIB, buildScript: true }));
      const s = p.stats();
      expect(s.prefetchHits).toBe(1);
      p.dropGroup('g1');
      // a dropped prefetch is analysed again on demand
      expect(await p.analyze(FILES[2]!, LIB)).toEqual(pool.analyzePathSync(FILES[2]!, cfg, LIB));
      expect(p.stats().prefetchHits).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('runs in-thread for size 0', async () => {
    const p = pool.createPool({ cfg, size: 0 });
    expect(p.size).toBe(0);
    expect(await p.analyze(FILES[0]!, LIB)).toEqual(pool.analyzePathSync(FILES[0]!, cfg, LIB));
    await p.close();
  });

  it('turns unreadable and unparsable input into problems, the same in-thread and in a worker', async () => {
    const missing = path.join(tmp, 'does-not-exist.rs');
    const bad = path.join(tmp, 'bad-utf8.rs');
    writeFileSync(bad, Buffer.from([0x66, 0x6e, 0x20, 0xff, 0xfe, 0x28, 0x29, 0x7b, 0x7d, 0x0a]));
    const inThread = pool.createPool({ cfg, size: 0 });
    const workers = pool.createPool({ cfg, size: 2 });
    try {
      for (const f of [missing, bad]) {
        const a = await inThread.analyze(f, LIB);
        const b = await workers.analyze(f, LIB);
        expect(b).toEqual(a);
      }
      expect((await workers.analyze(missing, LIB)).problems).toEqual([{ line: 1, reason: 'read-failed (ENOENT)' }]);
      expect((await workers.analyze(bad, LIB)).problems[0]).toEqual({ line: 1, reason: 'invalid-utf8' });
    } finally {
      await inThread.close();
      await workers.close();
    }
  });

  it('reports a crashed, hung or throwing worker as a problem of that file and keeps going', async () => {
    const p = pool.createPool({ cfg, size: 2, workerScript: fakeWorker(''), fileTimeoutMs: 1500 });
    try {
      const [crash, hang, thrown, ok] = await Promise.all([
        p.analyze('/x/crash.rs', LIB),
        p.analyze('/x/hang.rs', LIB),
        p.analyze('/x/throw.rs', LIB),
        p.analyze('/x/fine.rs', LIB),
      ]);
      expect(crash.problems).toEqual([{ line: 1, reason: 'analysis-crashed (worker exit code 3)' }]);
      expect(hang.problems).toEqual([{ line: 1, reason: 'analysis-timeout (over 2 s)' }]);
      expect(thrown.problems).toEqual([{ line: 1, reason: 'analysis-crashed (worker exit code 1)' }]);
      expect(ok).toEqual({ ...summaryModule.emptySummary(), problems: [{ line: 7, reason: 'fake:fine.rs' }] });
      // replaced workers serve later requests
      expect((await p.analyze('/x/after.rs', LIB)).problems).toEqual([{ line: 7, reason: 'fake:after.rs' }]);
      expect(p.stats().failed).toBe(3);
      // the timed-out worker's exit may still be on its way
      await vi.waitFor(() => expect(p.stats().restarts).toBe(3), { timeout: 5000 });
    } finally {
      await p.close();
    }
  }, 20_000);

  it('serves a file sent to a worker behind one that hangs or crashes from a fresh worker, not as failed', async () => {
    // one worker holds two files at a time: the second must not share the first one's fate
    const p = pool.createPool({ cfg, size: 1, workerScript: fakeWorker(''), fileTimeoutMs: 1000 });
    try {
      const [hang, behindHang] = await Promise.all([p.analyze('/x/hang.rs', LIB), p.analyze('/x/second.rs', LIB)]);
      expect(hang.problems).toEqual([{ line: 1, reason: 'analysis-timeout (over 1 s)' }]);
      expect(behindHang.problems).toEqual([{ line: 7, reason: 'fake:second.rs' }]);
      const [crash, behindCrash] = await Promise.all([p.analyze('/x/crash.rs', LIB), p.analyze('/x/third.rs', LIB)]);
      expect(crash.problems).toEqual([{ line: 1, reason: 'analysis-crashed (worker exit code 3)' }]);
      expect(behindCrash.problems).toEqual([{ line: 7, reason: 'fake:third.rs' }]);
      expect(p.stats().failed).toBe(2);
    } finally {
      await p.close();
    }
  }, 20_000);

  it('fails clearly when workers cannot start', async () => {
    const p = pool.createPool({ cfg, size: 2, workerScript: fakeWorker("throw new Error('cannot load grammar');") });
    await expect(p.analyze('/x/a.rs', LIB)).rejects.toThrow(/analysis worker exited with code 1 while starting/);
    await p.close();
  }, 20_000);

  it('rejects requests after close', async () => {
    const p = pool.createPool({ cfg, size: 2 });
    await p.close();
    await expect(p.analyze(FILES[0]!, LIB)).rejects.toThrow(/closed/);
  });
});
