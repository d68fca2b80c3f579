// The workspace cache entry (src/scan/workspace-cache.ts): a warm scan is served whole from it, with the
// JSON of a cold scan; any change to what the result rests on misses it (the scan runs and the output is
// that of a cold scan of the changed tree), and a scan whose facts cannot be trusted writes none.

import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../src/parse/analyze.js';
import { failedSummary } from '../src/parse/pool.js';
import type { FileAnalyzer } from '../src/scan/crate-scan.js';
import { defaultScanOptions, type ScanOptions } from '../src/options.js';
import type { ScanResult } from '../src/types.js';
import { ruleIndex, scanWorkspace } from '../src/scan/session.js';
import { MAX_REPORTS_PER_ENTRY, probeWorkspace, RESULT_ENV, WorkspaceRecorder, workspaceEntryFile } from '../src/scan/workspace-cache.js';
import { runScan } from '../src/commands/scan.js';
import { runCheck } from '../src/commands/check.js';
import type { CommandOutput, CommonOptions } from '../src/options.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = path.join(REPO, 'fixtures/demo');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-wscache-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;

/**
 * Waits until the file system's clock has ticked past the last change. A file changed in the tick a scan
 * starts in is not trusted ("racily clean"): that scan writes no entry. A person does not edit and scan
 * within one tick; a test does.
 */
function nextTick(): void {
  const f = path.join(tmp, 'tick');
  writeFileSync(f, '');
  const t0 = statSync(f).mtimeMs;
  while ((writeFileSync(f, ''), statSync(f).mtimeMs) === t0);
}

/**
 * A copy of the demo workspace in which `filekeep` has no Cargo.lock checksum, so that the scan keys it by
 * the content of its files (a content-keyed dependency, like a path dependency or a vendored crate
 * without a checksum); the other vendored crates are keyed by their checksum.
 */
function workspace(): { ws: string; opts: ScanOptions } {
  const ws = path.join(tmp, `ws-${++n}`);
  cpSync(DEMO, ws, { recursive: true });
  const lockPath = path.join(ws, 'Cargo.lock');
  const lock = readFileSync(lockPath, 'utf8');
  const unverified = lock.replace(/(name = "filekeep"\n[^[]*?)checksum = "[0-9a-f]+"\n/, '$1');
  expect(unverified).not.toBe(lock);
  writeFileSync(lockPath, unverified);
  // times a test can set again exactly (a stat has more precision than utimes takes)
  utimesSync(path.join(ws, 'vendor/filekeep/src/lib.rs'), 1_700_000_000, 1_700_000_000);
  nextTick();
  const cacheDir = path.join(tmp, `cache-${n}`);
  return { ws, opts: defaultScanOptions({ manifestPath: path.join(ws, 'Cargo.toml'), offline: true, cacheDir }) };
}

const cfg = () => ruleIndex().analyzerConfig();
const analyzer: FileAnalyzer = async (abs, o) => analyzeFile(readFileSync(abs), cfg(), o);

async function scan(opts: ScanOptions, hooks: { analyzer?: FileAnalyzer } = {}) {
  const r = await scanWorkspace(opts, { analyzer: hooks.analyzer ?? analyzer });
  return { json: JSON.stringify(r.result), project: JSON.stringify(r.project), workspace: r.stats.workspace, stats: r.stats };
}

/** The JSON of a scan that uses no cache at all. */
async function coldJson(opts: ScanOptions): Promise<string> {
  return (await scan({ ...opts, cache: false })).json;
}

/** Two scans after a change: the first misses the entry for `reason` and equals a cold scan; the second hits. */
async function missesThenHits(opts: ScanOptions, reason: RegExp | string): Promise<string> {
  nextTick();
  const miss = await scan(opts);
  expect(miss.workspace.lookup).toBe('miss');
  if (typeof reason === 'string') expect(miss.workspace.reason).toBe(reason);
  else expect(miss.workspace.reason).toMatch(reason);
  expect(miss.workspace.stored).toBe(true);
  expect(miss.json).toBe(await coldJson(opts));
  const hit = await scan(opts);
  expect(hit.workspace).toEqual({ lookup: 'hit', reason: null, stored: null });
  expect(hit.json).toBe(miss.json);
  return miss.json;
}

describe('workspace cache entry', () => {
  it('a warm scan is served from it: the same result and project as the cold scan, nothing analysed', async () => {
    const { opts } = workspace();
    const cold = await scan(opts);
    expect(cold.workspace).toEqual({ lookup: 'miss', reason: 'no entry', stored: true });
    const calls: string[] = [];
    const warm = await scan(opts, { analyzer: async (abs, o) => (calls.push(abs), analyzer(abs, o)) });
    expect(warm.workspace).toEqual({ lookup: 'hit', reason: null, stored: null });
    expect(calls).toEqual([]);
    expect(warm.json).toBe(cold.json);
    expect(warm.project).toBe(cold.project);
    expect(warm.stats).toMatchObject({ crates: cold.stats.crates, cached: cold.stats.crates, filesAnalysed: 0, workers: 0 });
    expect(cold.json).toBe(await coldJson(opts));
  });

  it('a dependency file with new content of the same size and the same mtime misses (its ctime changed)', async () => {
    const { ws, opts } = workspace();
    const before = (await scan(opts)).json;
    const file = path.join(ws, 'vendor/filekeep/src/lib.rs');
    const text = readFileSync(file, 'utf8');
    const edited = text.replace('fs::read_to_string(path)', 'std::env::var_os(path)  ');
    expect(edited.length).toBe(text.length);
    const st = statSync(file);
    writeFileSync(file, edited);
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect(statSync(file).size).toBe(st.size);
    expect(statSync(file).mtimeMs).toBe(st.mtimeMs);
    const after = await missesThenHits(opts, `changed: tree ${path.join(ws, 'vendor/filekeep')}`);
    expect(after).not.toBe(before); // env.read is found now: a stale entry would have hidden it
    expect(after).toContain('std::env::var_os');
  });

  it('a file added to, or renamed in, a content-keyed dependency misses', async () => {
    const { ws, opts } = workspace();
    await scan(opts);
    const tree = `changed: tree ${path.join(ws, 'vendor/filekeep')}`;
    writeFileSync(path.join(ws, 'vendor/filekeep/build.rs'), 'fn main() { std::process::Command::new("sh"); }\n');
    const added = await missesThenHits(opts, tree);
    expect(added).toContain('build.rs');
    renameSync(path.join(ws, 'vendor/filekeep/build.rs'), path.join(ws, 'vendor/filekeep/build2.rs'));
    const renamed = await missesThenHits(opts, tree);
    expect(renamed).not.toBe(added);
  });

  it('Cargo.lock, a member manifest, the policy, the cargo config and a new member each miss', async () => {
    const { ws, opts } = workspace();
    await scan(opts);
    // Cargo.lock: a byte more is another lockfile
    const lock = path.join(ws, 'Cargo.lock');
    writeFileSync(lock, `${readFileSync(lock, 'utf8')}# edited\n`);
    await missesThenHits(opts, `changed: stat ${lock}`);
    // a member's manifest: shellout becomes a dev-dependency, which is not scanned
    const app = path.join(ws, 'crates/app/Cargo.toml');
    const appText = readFileSync(app, 'utf8');
    writeFileSync(app, appText.replace('shellout = "0.4"\n', '').replace('[dev-dependencies]\n', '[dev-dependencies]\nshellout = "0.4"\n'));
    const fewer = await missesThenHits(opts, `changed: stat ${app}`);
    expect(fewer).not.toContain('"name":"shellout"');
    writeFileSync(app, appText);
    await missesThenHits(opts, `changed: stat ${app}`);
    // the policy table: a typosquat exception changes the report
    const root = path.join(ws, 'Cargo.toml');
    writeFileSync(root, `${readFileSync(root, 'utf8')}\n[workspace.metadata.cap-scan]\ntyposquat-exceptions = ["envlogger"]\n`);
    await missesThenHits(opts, `changed: stat ${root}`);
    // cargo config: a file that did not exist (cargo reads `config` before `config.toml`)
    writeFileSync(path.join(ws, '.cargo/config'), readFileSync(path.join(ws, '.cargo/config.toml')));
    await missesThenHits(opts, `changed: stat ${path.join(ws, '.cargo/config')}`);
    // a new member under the `crates/*` glob
    mkdirSync(path.join(ws, 'crates/extra/src'), { recursive: true });
    writeFileSync(path.join(ws, 'crates/extra/Cargo.toml'), '[package]\nname = "extra"\nversion = "0.1.0"\n');
    writeFileSync(path.join(ws, 'crates/extra/src/lib.rs'), '');
    await missesThenHits(opts, `changed: list ${path.join(ws, 'crates')}`);
  });

  it("a member's source is no input (members are not scanned): editing it keeps the entry, whose JSON is a cold scan's", async () => {
    const { ws, opts } = workspace();
    await scan(opts);
    writeFileSync(path.join(ws, 'crates/app/src/main.rs'), 'fn main() { std::process::Command::new("sh"); }\n');
    nextTick();
    const hit = await scan(opts);
    expect(hit.workspace.lookup).toBe('hit');
    expect(hit.json).toBe(await coldJson(opts));
  });

  it('every option and environment variable that changes the result is in the key', async () => {
    const { opts } = workspace();
    const key = workspaceEntryFile(opts)!.key;
    const others: Partial<ScanOptions>[] = [
      { includeDev: true },
      { allTargets: true },
      { offline: false },
      { targets: ['x86_64-unknown-linux-gnu'] },
      { locked: true },
      { registryUrl: 'https://registry.example/' },
      { allowUnverified: true },
      { cacheDir: path.join(tmp, 'elsewhere') },
      { manifestPath: path.join(DEMO, 'Cargo.toml') },
    ];
    const keys = others.map((o) => workspaceEntryFile({ ...opts, ...o })!.key);
    expect(new Set([key, ...keys]).size).toBe(others.length + 1);
    // what does not change the result shares the entry
    expect(workspaceEntryFile({ ...opts, jobs: 2, quiet: true })!.key).toBe(key);
    for (const name of [...RESULT_ENV, 'CARGO_HOME', 'CAP_SCAN_REGISTRY']) {
      const saved = process.env[name];
      process.env[name] = '7';
      try {
        expect(workspaceEntryFile(opts)!.key, name).not.toBe(key);
      } finally {
        if (saved === undefined) delete process.env[name];
        else process.env[name] = saved;
      }
    }
    // and a changed option is a scan of its own
    await scan(opts);
    const dev = await scan({ ...opts, includeDev: true });
    expect(dev.workspace).toEqual({ lookup: 'miss', reason: 'no entry', stored: true });
    expect(dev.json).toBe(await coldJson({ ...opts, includeDev: true }));
    expect(dev.json).not.toBe((await scan(opts)).json);
  });

  it('no cache, a --lockfile-path scan (diff --base) or a temporary project (crate --deps) uses no entry', () => {
    const { opts } = workspace();
    expect(workspaceEntryFile({ ...opts, cache: false })).toBeNull();
    expect(workspaceEntryFile({ ...opts, workspaceEntry: false })).toBeNull();
    expect(workspaceEntryFile({ ...opts, lockfilePath: path.join(tmp, 'old.lock') })).toBeNull();
    expect(probeWorkspace({ ...opts, cache: false }).stats).toEqual({ lookup: 'off', reason: null, stored: null });
  });

  it('a corrupt entry misses and is rewritten', async () => {
    const { opts } = workspace();
    const cold = await scan(opts);
    const { file } = workspaceEntryFile(opts)!;
    const good = readFileSync(file, 'latin1');
    for (const bad of [good.slice(0, -1), good.replace('"line":', '"line":1'), 'garbage', `${good.slice(0, good.indexOf('\n'))}\n{}\n{}`]) {
      writeFileSync(file, bad, 'latin1');
      const again = await scan(opts);
      expect(again.workspace).toEqual({ lookup: 'miss', reason: 'corrupt entry', stored: true });
      expect(again.json).toBe(cold.json);
      expect((await scan(opts)).workspace.lookup).toBe('hit');
    }
  });

  it('a scan with a transient failure writes no entry', async () => {
    const { opts } = workspace();
    const flaky: FileAnalyzer = async (abs, o) => (abs.endsWith('filekeep/src/lib.rs') ? failedSummary('analysis-timeout (over 120 s)') : analyzer(abs, o));
    const r = await scan(opts, { analyzer: flaky });
    expect(r.workspace).toEqual({ lookup: 'miss', reason: 'no entry', stored: 'filekeep: a file failed in a way that may not recur' });
    expect((await scan(opts)).workspace).toEqual({ lookup: 'miss', reason: 'no entry', stored: true });
  });
});

describe('WorkspaceRecorder', () => {
  const recorder = (): WorkspaceRecorder => {
    const { opts } = workspace();
    const r = WorkspaceRecorder.start(probeWorkspace(opts));
    if (typeof r === 'string') throw new Error(r);
    return r;
  };
  const none = { root: '/', packages: [] } as never;
  const result: ScanResult = { schemaVersion: 1, tool: { name: 'cap-scan', version: '0' }, crates: [], unscanned: [] };

  it('writes no entry when a fact changed between its access and the end of the scan', () => {
    const r = recorder();
    const file = path.join(tmp, `f-${++n}`);
    writeFileSync(file, 'a');
    r.trace.note('stat', file);
    writeFileSync(file, 'bb');
    expect(r.store(none, result)).toBe(`changed during the scan: stat ${file}`);
    const gone = path.join(tmp, `g-${++n}`);
    const r2 = recorder();
    r2.trace.note('type', gone);
    writeFileSync(gone, '');
    expect(r2.store(none, result)).toBe(`changed during the scan: type ${gone}`);
  });

  it('writes no entry when a fingerprint is not older than the scan (racily clean, as git says)', () => {
    const r = recorder();
    const file = path.join(tmp, `h-${++n}`);
    writeFileSync(file, 'a'); // after the stamp: a second write in the same clock tick would keep its times
    r.trace.note('stat', file);
    expect(r.store(none, result)).toBe(`changed since the scan started: stat ${file}`);
  });

  it('an unwritable cache directory writes no entry and fails nothing', () => {
    const file = path.join(tmp, `not-a-dir-${++n}`);
    writeFileSync(file, 'x');
    const { opts } = workspace();
    expect(WorkspaceRecorder.start(probeWorkspace({ ...opts, cacheDir: file }))).toBe(`cannot write ${path.join(file, 'results', 'workspace')} (ENOTDIR)`);
  });

  it('writes no entry for a scan that rests on the network', () => {
    const r = recorder();
    r.trace.refuse('a crate was downloaded');
    expect(r.store(none, result)).toBe('a crate was downloaded');
  });
});

describe('served reports (a warm scan writes the report rendered before from the entry that still holds)', () => {
  const common = (opts: ScanOptions, over: Partial<CommonOptions> = {}): CommonOptions => ({ ...opts, format: 'json', verbose: false, color: false, filter: { crates: [], capabilities: [] }, ...over });
  const checkOf = (opts: ScanOptions, over: Partial<CommonOptions> = {}) => ({ ...common(opts, over), strict: false, denyIndicators: false, denyUnscanned: false });
  const reports = (opts: ScanOptions): string[] => {
    const { file, key } = workspaceEntryFile(opts)!;
    return readdirSync(path.dirname(file)).filter((n) => n.startsWith(`${key}.`) && n.endsWith('.out'));
  };
  const noCache = (o: CommonOptions): CommonOptions => ({ ...o, cache: false });
  /** A command's output as printed: a served report's bytes are its text's. */
  const printed = (r: CommandOutput) => {
    if (r.bytes) expect(Buffer.from(r.bytes).toString('utf8')).toBe(r.text);
    return { text: r.text, exitCode: r.exitCode };
  };
  const scanR = async (o: CommonOptions) => printed(await runScan(o));
  const checkR = async (o: Parameters<typeof runCheck>[0]) => printed(await runCheck(o));

  it('the third run is served from the report file, and its bytes are what is printed', async () => {
    const { opts } = workspace();
    const o = common(opts);
    const cold = await scanR(o); // writes the entry
    expect(reports(opts)).toEqual([]);
    const warm = await scanR(o); // served from the entry, rendered, kept
    expect(warm).toEqual(cold);
    expect(reports(opts)).toHaveLength(1);
    expect(await scanR(o)).toEqual(cold);
    // what the report file holds is what the run prints: rewrite its text (header updated to match)
    const { file } = workspaceEntryFile(opts)!;
    const out = path.join(path.dirname(file), reports(opts)[0]!);
    const buf = readFileSync(out);
    const nl = buf.indexOf(10);
    const header = JSON.parse(buf.toString('latin1', 0, nl)) as { bytes: number; sha256: string };
    const body = Buffer.from(buf.toString('latin1', nl + 1).replace('"schemaVersion": 1', '"schemaVersion": 1, "served": true'), 'latin1');
    writeFileSync(out, Buffer.concat([Buffer.from(`${JSON.stringify({ ...header, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') })}\n`), body]));
    expect((await scanR(o)).text).toContain('"served": true');
    // the entry it was rendered from is gone (or replaced): the report is not served
    const entry = readFileSync(file);
    rmSync(file);
    expect(await scanR(o)).toEqual(cold);
    writeFileSync(file, entry);
    expect((await scanR(o)).text).toContain('"served": true');
    // a report file whose bytes do not match its header is not used
    writeFileSync(out, Buffer.concat([buf.subarray(0, -2), Buffer.from('x\n')]));
    expect(await scanR(o)).toEqual(cold);
  });

  it('a changed dependency file or a changed policy is never answered with an old report', async () => {
    const { ws, opts } = workspace();
    const o = common(opts);
    const c = checkOf(opts);
    for (let i = 0; i < 3; i++) {
      await scanR(o);
      await checkR(c);
    }
    expect(reports(opts)).toHaveLength(2);
    // a content-keyed dependency's file: the report would hide env.read
    const file = path.join(ws, 'vendor/filekeep/src/lib.rs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('fs::read_to_string(path)', 'std::env::var_os(path)  '));
    nextTick();
    const edited = await scanR(o);
    expect(edited).toEqual(await scanR(noCache(o)));
    expect(edited.text).toContain('std::env::var_os');
    // the policy: an allowlist changes what check says, whatever the check report said before
    const before = await checkR(c);
    const root = path.join(ws, 'Cargo.toml');
    writeFileSync(root, `${readFileSync(root, 'utf8')}\n[workspace.metadata.cap-scan.allow]\nfilekeep = ["fs"]\n`);
    nextTick();
    const policy = await checkR(c);
    expect(policy).toEqual(await checkR({ ...c, cache: false }));
    expect(policy.text).not.toBe(before.text);
    expect(await checkR(c)).toEqual(policy);
  });

  it('each format and filter has its own report, equal to a fresh rendering; at most MAX_REPORTS_PER_ENTRY are kept', async () => {
    const { opts } = workspace();
    await scanR(common(opts));
    const variants: Partial<CommonOptions>[] = [
      { format: 'human' },
      { format: 'human', verbose: true },
      { format: 'sarif' },
      { format: 'markdown' },
      { format: 'json', filter: { crates: [], capabilities: ['fs'] } },
      { format: 'json', filter: { crates: [{ name: 'filekeep', version: null }], capabilities: [] } },
      { format: 'github' },
      { format: 'html' },
      { format: 'json' },
      { format: 'human', color: true },
    ];
    for (const v of variants) {
      const o = common(opts, v);
      const fresh = await scanR(noCache(o));
      expect(await scanR(o)).toEqual(fresh);
      expect(await scanR(o)).toEqual(fresh);
    }
    expect(reports(opts)).toHaveLength(MAX_REPORTS_PER_ENTRY);
  });
});
