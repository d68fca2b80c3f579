// Runs the built CLI (bin/cap-scan.js → dist/) as a child process with a hard kill timeout, measuring wall
// time and peak RSS. Peak RSS comes from /usr/bin/time -f %M (exact, when installed: Debian package `time`),
// else from polling /proc/<pid>/status VmHWM (worker threads share the process, so that is the whole scan).
// Used by test/hostile-suite.test.ts, test/fuzz.test.ts and scripts/fuzz.mjs.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin/cap-scan.js');
const TIME = '/usr/bin/time';
const HAS_TIME = existsSync(TIME);

/** Peak RSS in KiB from /proc (0 when gone). */
function vmHWM(pid) {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Child pids of `pid` (the node process under /usr/bin/time). */
function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Runs `node bin/cap-scan.js ...args`. Resolves { code, signal, stdout, stderr, seconds, rssMiB, timedOut };
 * code is null when killed. The child is its own process group, killed as a whole after killSeconds.
 */
export function runCli(args, { cwd = REPO, env = {}, killSeconds = 60 } = {}) {
  return new Promise((resolve, reject) => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-run-'));
    const timeFile = path.join(tmp, 'rss');
    const argv = HAS_TIME ? [TIME, ['-f', '%M', '-o', timeFile, process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
    const start = process.hrtime.bigint();
    const p = spawn(argv[0], argv[1], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = [];
    const err = [];
    let peakKiB = 0;
    let timedOut = false;
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    // polled also under /usr/bin/time (its child is node): a run killed at the timeout still has a peak
    const poll = setInterval(() => {
      for (const pid of HAS_TIME ? children(p.pid) : [p.pid]) peakKiB = Math.max(peakKiB, vmHWM(pid));
    }, 25);
    const killer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, killSeconds * 1000);
    p.on('error', (e) => {
      clearTimeout(killer);
      clearInterval(poll);
      reject(e);
    });
    p.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      clearTimeout(killer);
      clearInterval(poll);
      if (HAS_TIME) {
        try {
          // the last line is %M; "Command exited with non-zero status N" may come first
          const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
          peakKiB = Math.max(peakKiB, Number(lines[lines.length - 1]) || 0);
        } catch {
          /* killed before time wrote it */
        }
      }
      rmSync(tmp, { recursive: true, force: true });
      resolve({
        code: timedOut ? null : code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        seconds,
        rssMiB: peakKiB / 1024,
        timedOut,
      });
    });
  });
}

/** Problems no run may show on stderr, whatever its exit code: a crash, an internal error, a stack trace. */
export function crashSigns(stderr) {
  const signs = [];
  if (/internal error/i.test(stderr)) signs.push('"internal error" on stderr');
  if (/^\s+at .+(:\d+:\d+\)?|\(native\))$/m.test(stderr)) signs.push('stack trace on stderr');
  if (/FATAL ERROR|Segmentation fault|Aborted|out of memory/i.test(stderr)) signs.push('fatal runtime error on stderr');
  return signs;
}

/** The isolated HOME/CARGO_HOME/XDG_CACHE_HOME environment for one run, under `dir`. */
export function isolatedEnv(dir) {
  return { HOME: dir, CARGO_HOME: path.join(dir, '.cargo'), XDG_CACHE_HOME: path.join(dir, '.cache')};
}
