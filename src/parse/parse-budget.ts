// A file's parse budget, counted in the parsing thread's CPU time, not in wall-clock time: on a loaded
// machine (CI runners, two workers on two cores with other jobs) a parse that takes 1 s of CPU can take
// 3 s of wall time, and a wall-clock budget then sends the file to the token pass in some runs only, so the
// same input gave different reports. tree-sitter's own timeout is wall-clock (CLOCK_MONOTONIC), but a
// parse it stops resumes where it was on the next call with the same input: the parse runs in wall-clock
// slices, and after each one the thread's CPU time decides whether it may go on.

import { readFileSync } from 'node:fs';
import type ParserT from 'tree-sitter';

/** Wall-clock length of one parse slice (µs): the budget is checked this often. */
export const PARSE_SLICE_MICROS = 250_000;
/**
 * However starved the thread, a parse stops after this many times its budget in wall-clock time (then
 * the file gets the token pass, as over its budget, and says so).
 */
export const WALL_FACTOR = 8;

let procStat: boolean | null = null;

/**
 * CPU time (user + system, µs) of the calling thread, from Linux's /proc/thread-self/stat (clock ticks,
 * taken as 100 a second, USER_HZ on every Linux ABI), or null where that is not available.
 */
export function threadCpuMicros(): number | null {
  if (procStat === false) return null;
  try {
    const s = readFileSync('/proc/thread-self/stat', 'latin1');
    // fields after the command name in parentheses (which may hold spaces): state is field 3, utime 14, stime 15
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    if (!Number.isFinite(ticks)) throw new Error('unreadable');
    procStat = true;
    return ticks * 10_000;
  } catch {
    procStat = false;
    return null;
  }
}

/**
 * Parses `source` within `budget` µs of this thread's CPU time (of wall-clock time where the thread's CPU
 * time cannot be read), and at most WALL_FACTOR × budget of wall-clock time. Null when over budget (the
 * parser is reset for the next file).
 */
export function parseWithin(p: ParserT, source: string, budget: number, slice = PARSE_SLICE_MICROS): ParserT.Tree | null {
  const cpu0 = threadCpuMicros();
  const wall0 = process.hrtime.bigint();
  p.setTimeoutMicros(cpu0 === null ? budget : Math.min(budget, slice));
  for (;;) {
    const tree = p.parse(source) as ParserT.Tree | null;
    if (tree) return tree;
    const wall = Number(process.hrtime.bigint() - wall0) / 1000;
    const cpu1 = cpu0 === null ? null : threadCpuMicros();
    const used = cpu0 === null || cpu1 === null ? wall : cpu1 - cpu0;
    if (used >= budget || wall >= WALL_FACTOR * budget) {
      // a stopped parse would resume on the next call: start the next file afresh
      p.reset();
      return null;
    }
  }
}
