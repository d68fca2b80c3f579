// The CI gate's inputs (issue 15): what is not a crate or a manifest is refused; a stale lockfile fails
// --locked; indicators are reviewed, never blessed by `allow --write`; other targets' crates are left out.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'cap-scan.js');
const DEMO_DIR = join(ROOT, 'fixtures', 'demo');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...isolated(), ...opts.env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        done({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

function isolated(): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'cap-scan-gate-'));
  return { HOME: home, CARGO_HOME: join(home, '.cargo'), XDG_CACHE_HOME: join(home, '.cache') };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'cap-scan-gate-'));

describe('what is not a crate or a manifest is refused (exit 2, one line)', () => {
  it('crate <dir> without a Cargo.toml: a docs folder, an empty directory, a crate\'s src/', async () => {
    const empty = tmp();
    const docs = tmp();
    writeFileSync(join(docs, 'README'), 'bash docs\n');
    for (const [dir, shown] of [
      [empty, empty],
      [docs, docs],
      ['fixtures/demo/vendor/envlogger/src', 'fixtures/demo/vendor/envlogger/src'],
    ]) {
      const r = await run(['crate', dir!, '--offline']);
      expect(r).toEqual({ code: 2, stdout: '', stderr: `cap-scan: error: ${shown}: not a crate (no Cargo.toml in the directory)\n` });
    }
  });

  it('crate <dir> whose Cargo.toml has no [package]', async () => {
    const d = tmp();
    writeFileSync(join(d, 'Cargo.toml'), '[dependencies]\nfoo = "1"\n');
    expect(await run(['crate', d, '--offline'])).toEqual({ code: 2, stdout: '', stderr: `cap-scan: error: ${d}: Cargo.toml has no [package], not a crate\n` });
    const r = await run(['crate', 'fixtures/demo', '--offline']);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: 'cap-scan: error: fixtures/demo: Cargo.toml is a workspace without [package], not a crate (scan it with --manifest-path, or pass a member\'s directory)\n',
    });
  });

  it('--manifest-path must name a Cargo.toml or a directory holding one; [package] or [workspace] required', async () => {
    const lib = join(DEMO_DIR, 'vendor', 'envlogger', 'src', 'lib.rs');
    expect(await run(['--manifest-path', lib, '--offline'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `cap-scan: error: ${lib}: the manifest path must be a \`Cargo.toml\` file or a directory holding one\n`,
    });
    const empty = tmp();
    expect(await run(['check', '--manifest-path', empty, '--offline'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `cap-scan: error: ${empty}: directory has no Cargo.toml (not a Cargo package or workspace)\n`,
    });
    const bare = tmp();
    writeFileSync(join(bare, 'Cargo.toml'), '[dependencies]\nfoo = "1"\n');
    expect(await run(['--manifest-path', bare, '--offline'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `cap-scan: error: ${join(bare, 'Cargo.toml')}: has neither [package] nor [workspace]\n`,
    });
  });
});
