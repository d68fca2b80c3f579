// Instant start (issue 17): commands that parse nothing never load tree-sitter, the grammar or the worker
// pool: --version, --help, rules, an option error, and a warm scan served entirely from the cache. The
// built CLI runs with a preload that reports, at exit, the native modules loaded and the workers started,
// and a module hook that reports every module loaded (a scan served by the workspace cache entry loads
// none of the scan session, the project loader, the sources or the parser).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORMAT_NAMES } from '../src/report/formats.js';
import { reporters } from '../src/report/index.js';
import { isVersionOnly } from '../src/entry.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin/cap-scan.js');
const DEMO = path.join(REPO, 'fixtures/demo/Cargo.toml');
let tmp: string;
let probe: string;
let moduleProbe: string;

beforeAll(() => {
  if (!existsSync(path.join(REPO, 'dist/entry.js'))) throw new Error('dist/ is missing: build first (npm run build, or npm test)');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cap-scan-instant-'));
  probe = path.join(tmp, 'probe.cjs');
  writeFileSync(
    probe,
    [
      // the preload runs in every thread: a worker says so at once (its stderr is the process's)
      "const { isMainThread } = require('node:worker_threads');",
      "if (!isMainThread) process.stderr.write('\\nPROBE-WORKER\\n');",
      "else process.on('exit', () => {",
      "  const native = Object.keys(require.cache).filter((k) => k.endsWith('.node') || /tree-sitter(-rust)?[\\\\/](index|bindings)/.test(k));",
      "  process.stderr.write('\\nPROBE ' + JSON.stringify({ native }) + '\\n');",
      '});',
    ].join('\n'),
  );
  // module hooks run in a thread of their own; the line goes straight to the process's stderr
  writeFileSync(path.join(tmp, 'hooks.mjs'), "import { writeSync } from 'node:fs';\nexport async function load(url, context, next) {\n  writeSync(2, `\\nPROBE-MODULE ${url}\\n`);\n  return next(url, context);\n}\n");
  moduleProbe = path.join(tmp, 'modules.mjs');
  writeFileSync(moduleProbe, "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], o: { modules?: boolean } = {}): { code: number | null; stdout: string; probe: { native: string[]; workers: number }; modules: string[] } {
  const env = { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'xdg'), CARGO_HOME: path.join(tmp, 'cargo-home'), NO_COLOR: '1' };
  const r = spawnSync(process.execPath, ['-r', probe, ...(o.modules ? ['--import', moduleProbe] : []), BIN, ...args], { env, encoding: 'utf8' });
  const lines = r.stderr.split('\n');
  const line = lines.find((l) => l.startsWith('PROBE '));
  if (!line) throw new Error(`no probe line: ${r.stderr}`);
  const workers = lines.filter((l) => l === 'PROBE-WORKER').length;
  const modules = lines.filter((l) => l.startsWith('PROBE-MODULE ')).map((l) => l.slice('PROBE-MODULE '.length).replace(`file://${REPO}/`, ''));
  return { code: r.status, stdout: r.stdout, probe: { ...(JSON.parse(line.slice(6)) as { native: string[] }), workers }, modules };
}

const NOTHING = { native: [], workers: 0 };

describe('instant start', () => {
  it('--version prints package.json version and loads nothing native', () => {
    const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const r = run([flag]);
      expect({ code: r.code, stdout: r.stdout, probe: r.probe }).toEqual({ code: 0, stdout: `${version}\n`, probe: NOTHING });
    }
    expect(isVersionOnly(['--version'])).toBe(true);
    expect(isVersionOnly(['scan', '--version'])).toBe(false);
  });

  it('--help, rules and an option error load no parser and start no worker', () => {
    const help = run(['--help']);
    expect([help.code, help.probe]).toEqual([0, NOTHING]);
    expect(help.stdout).toContain('Commands:');
    const rules = run(['rules', '--format', 'json']);
    expect([rules.code, rules.probe]).toEqual([0, NOTHING]);
    expect((JSON.parse(rules.stdout) as { rules: unknown[] }).rules.length).toBeGreaterThan(10);
    const bad = run(['--format', 'bogus', '--manifest-path', DEMO]);
    expect([bad.code, bad.probe]).toEqual([2, NOTHING]);
  });

  it('a warm scan served from the cache loads no parser and starts no worker; its JSON equals the cold one', { timeout: 120_000 }, () => {
    const args = ['--manifest-path', DEMO, '--offline', '--format', 'json', '-q'];
    const cold = run(args);
    expect(cold.code).toBe(0);
    expect(cold.probe.workers).toBeGreaterThan(0); // the cold scan did parse in workers (the probe sees them)
    const warm = run(args);
    expect([warm.code, warm.probe]).toEqual([0, NOTHING]);
    expect(warm.stdout).toBe(cold.stdout);
    // served by the workspace entry: none of the scan pipeline, no TOML parser, no globbing (the module
    // hooks run in a thread of their own, which the preload would count as a worker: a run of its own)
    const modules = run(args, { modules: true });
    expect(modules.stdout).toBe(cold.stdout);
    expect(modules.modules).toContain('dist/scan/workspace-cache.js');
    expect(modules.modules.filter((m) => /^dist\/(scan\/(session|result-cache|crate-scan)|project\/(load-project|manifest|lockfile)|sources\/|parse\/|rules\/load|policy\/allowlist)|@iarna\/toml|fast-glob|semver|tree-sitter/.test(m))).toEqual([]);
    // and the reporters still run: another format from the same entry is that format of a cold scan
    const human = run(['--manifest-path', DEMO, '--offline', '-q'], { modules: true });
    expect(human.modules).toContain('dist/report/human.js');
    expect(human.modules).not.toContain('dist/scan/session.js');
    const coldHuman = run(['--manifest-path', DEMO, '--offline', '-q', '--no-cache']);
    expect(human.stdout).toBe(coldHuman.stdout);
  });

  it('the help lists every reporter, in order', () => {
    expect([...FORMAT_NAMES]).toEqual(Object.keys(reporters));
  });
});
