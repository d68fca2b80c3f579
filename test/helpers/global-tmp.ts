// Global set-up: every test's temporary files go under one directory made for this run, removed at the end,
// so a test that forgets to clean up (or fails half way) leaves nothing in the system's temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'cap-scan-tests-'));
  const previous = process.env.TMPDIR;
  // forked test workers inherit the environment, and os.tmpdir() reads TMPDIR
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
