// The scan's progress line (issue 16, item 3): on a TTY stderr only, updated in place, cleared at the end.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProgressLine } from '../src/scan/progress.js';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'cap-scan.js');
const DEMO = join(ROOT, 'fixtures', 'demo', 'Cargo.toml');

/** Runs the CLI with stderr (and stdout) on a pseudo-terminal through util-linux `script`; stdout of the command goes to -o. */
function inPty(args: string[]): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'cap-scan-pty-'));
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((done, fail) => {
    execFile('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), CARGO_HOME: join(home, '.cargo'), NO_COLOR: '1' } }, (err, stdout) =>
      err ? fail(err) : done(stdout),
    );
  });
}

describe('progress line', () => {
  it('the line: located, scanned of total, files parsed, elapsed; in place; cleared by done()', () => {
    const out: string[] = [];
    let t = 1000;
    const p = new ProgressLine({ write: (s: string) => out.push(s) }, () => t);
    p.located();
    t += 500;
    p.total(2);
    t += 200;
    p.fileParsed(); // throttled: within 100 ms of the last frame? no: 200 ms later, drawn
    p.scanned();
    t += 50;
    p.scanned(); // the last crate is always drawn
    p.done();
    expect(out).toEqual([
      '\rScanning: 1 crates located, 0 scanned, 0 files parsed, 0.0 s\x1b[K',
      '\rScanning: 1 crates located, 0/2 scanned, 0 files parsed, 0.5 s\x1b[K',
      '\rScanning: 1 crates located, 0/2 scanned, 1 files parsed, 0.7 s\x1b[K',
      '\rScanning: 1 crates located, 2/2 scanned, 1 files parsed, 0.8 s\x1b[K',
      '\r\x1b[K',
    ]);
  });

  it('on a pseudo-TTY: frames updated in place, the last one shows every crate scanned, then cleared', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cap-scan-pty-out-')), 'report.txt');
    const tty = await inPty(['--manifest-path', DEMO, '--offline', '--no-cache', '-o', out]);
    const frames = tty.split('\r').filter(Boolean);
    expect(frames.at(-1)).toBe('\x1b[K');
    for (const f of frames.slice(0, -1)) expect(f).toMatch(/^Scanning: \d+ crates located, \d+(\/10)? scanned, \d+ files parsed, \d+\.\d s\x1b\[K$/);
    expect(frames.at(-2)).toMatch(/^Scanning: 11 crates located, 10\/10 scanned, \d+ files parsed, \d+\.\d s\x1b\[K$/);
  });

  it('-q on a TTY, and any run whose stderr is not a TTY: no progress at all', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cap-scan-pty-out-')), 'report.txt');
    expect(await inPty(['--manifest-path', DEMO, '--offline', '--no-cache', '-q', '-o', out])).toBe('');
    const piped = await new Promise<string>((done) =>
      execFile(process.execPath, [BIN, '--manifest-path', DEMO, '--offline', '--no-cache'], { env: { ...process.env, NO_COLOR: '1' } }, (_e, _o, stderr) => done(stderr)),
    );
    expect(piped).toBe('');
  });
});
