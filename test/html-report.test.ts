// --format html: escaping of hostile crate text, source excerpts, and the page in a real browser
// (Debian's /usr/bin/chromium driven by playwright-core; skipped with a message when it is absent).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { html, scriptJson } from '../src/report/html.js';
import type { ScanReport } from '../src/report/index.js';
import { crate, finding, pkg, project, result } from './policy-helpers.js';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'cap-scan.js');
const DEMO = join(ROOT, 'fixtures', 'demo', 'Cargo.toml');
const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '</script><img src=x onerror=alert(1)>';

function run(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', HOME: home, CARGO_HOME: join(home, '.cargo'), XDG_CACHE_HOME: join(home, '.cache') }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The page's data block, parsed. */
function pageData(page: string): any {
  const m = /<script type="application\/json" id="cap-scan-data">([^<]*)<\/script>/.exec(page);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!);
}

function scanInput(dir: string | null, crates = [crate(HOSTILE, '1.0.0', [finding('net', 'net.connect', 'runtime', 'src/lib.rs', 3, HOSTILE, 'std-net-connect')], { indicators: [{ id: 'typosquat', file: 'Cargo.toml', line: 1, detail: HOSTILE }] })]): ScanReport {
  return {
    command: 'scan',
    result: result(crates),
    project: project('/ws', crates.map((c) => pkg(c.name, c.version, { dir }))),
    verbose: false,
    color: false,
    workspaceRoot: '/ws',
  };
}

describe('html escaping', () => {
  it('keeps a hostile crate name, evidence and indicator detail out of the markup', () => {
    const out = (html.scan as (i: ScanReport) => string)(scanInput(null));
    const data = pageData(out);
    expect(data.rows[0].name).toBe(HOSTILE);
    expect(data.rows[0].findings[0].evidence).toBe(HOSTILE);
    expect(data.rows[0].indicators[0].detail).toBe(HOSTILE);
    // two script elements only, the hostile text nowhere outside the (escaped) JSON
    expect(out.match(/<script/g)).toHaveLength(2);
    expect(out.match(/<\/script>/g)).toHaveLength(2);
    expect(out).not.toContain('<img');
    expect(out).not.toContain('onerror=alert(1)>');
    expect(out).toContain('\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e');
    // no URL the browser could fetch, and a CSP that allows only the two inline blocks
    const markup = out.replace(/<script type="application\/json" id="cap-scan-data">[^<]*<\/script>/, '');
    expect(markup).not.toContain('onerror');
    expect(markup).not.toMatch(/\b(?:src|href|action)=|https?:|url\(/i);
    expect(out).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+';/);
  });

  it('scriptJson escapes <, >, & and line separators', () => {
    expect(scriptJson({ a: '<!--<script>&\u2028\u2029' })).toBe('{"a":"\\u003c!--\\u003cscript\\u003e\\u0026\\u2028\\u2029"}');
  });
});

describe('html source excerpts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cap-scan-html-src-'));
  const crateDir = join(dir, 'c');
  mkdirSync(join(crateDir, 'src'), { recursive: true });
  writeFileSync(join(crateDir, 'src', 'lib.rs'), 'line1\nline2\nline3 \u202e hidden\nline4\nline5\nline6\n');
  writeFileSync(join(dir, 'outside.rs'), 'secret\n');
  symlinkSync(join(dir, 'outside.rs'), join(crateDir, 'src', 'link.rs'));
  const f = (file: string, line: number) => finding('fs', 'fs.read', 'runtime', file, line, 'std::fs::read', 'std-fs-read');

  it('embeds the lines around a finding, and says why when it cannot', () => {
    const c = crate('c', '1.0.0', [f('src/lib.rs', 3), f('src/link.rs', 1), f('src/gone.rs', 1), f('../outside.rs', 1), f('src/lib.rs', 99)]);
    const rows = pageData((html.scan as (i: ScanReport) => string)(scanInput(crateDir, [c]))).rows;
    const got = rows[0].findings.map((x: any) => [x.file, x.source, x.sourceNote]);
    expect(got).toEqual([
      ['src/lib.rs', { start: 1, lines: ['line1', 'line2', 'line3 \u202e hidden', 'line4', 'line5'] }, null],
      ['src/link.rs', null, 'source lines not shown: the file resolves outside the crate directory'],
      ['src/gone.rs', null, 'source lines not shown: the file is no longer in the crate directory'],
      ['../outside.rs', null, 'source lines not shown: the path is not inside the crate directory'],
      ['src/lib.rs', null, 'source lines not shown: the file has 7 lines now'],
    ]);
  });

  it('says so when the report data has no directory', () => {
    const rows = pageData((html.scan as (i: ScanReport) => string)(scanInput(null, [crate('c', '1.0.0', [f('src/lib.rs', 3)])]))).rows;
    expect(rows[0].findings[0].source).toBeNull();
    expect(rows[0].findings[0].sourceNote).toBe('source lines not shown: the report data has no source directory for this crate');
  });
});

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`html-report browser tests skipped: ${CHROMIUM} not found (apt-get install -y --no-install-recommends chromium)`);

describe.skipIf(!haveChromium)('html report in chromium', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cap-scan-html-'));
  let ctx: BrowserContext;
  const requests: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    ctx = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    // every request any page makes is recorded; anything but a file: URL is refused
    ctx.on('request', (r) => requests.push(r.url()));
    await ctx.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
  });
  afterAll(async () => {
    await ctx?.close();
  });

  async function open(file: string): Promise<Page> {
    requests.length = 0;
    const page = await ctx.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('websocket', (w) => requests.push(w.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('#matrix');
    expect(errors).toEqual([]);
    return page;
  }

  async function matrix(page: Page): Promise<{ name: string; version: string; cells: string[]; ind: string }[]> {
    return page.$$eval('#matrix tbody tr', (trs) =>
      trs.map((tr) => ({
        name: (tr as HTMLElement).dataset['crate']!,
        version: (tr as HTMLElement).dataset['version']!,
        cells: [...tr.querySelectorAll('td[data-phase]')].filter((td) => td.querySelector('button')).map((td) => `${(td as HTMLElement).dataset['phase']}:${(td as HTMLElement).dataset['cap']}`),
        ind: tr.querySelector('button.ind')?.textContent ?? '',
      })),
    );
  }

  it('scan of the demo: the matrix is the JSON report, a cell shows its evidence, nothing is fetched', async () => {
    const out = join(tmp, 'demo.html');
    const r = await run(['--manifest-path', DEMO, '--offline', '--format', 'html', '-o', out], tmp);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const js = await run(['--manifest-path', DEMO, '--offline', '--format', 'json'], tmp);
    const doc = JSON.parse(js.stdout) as { crates: { name: string; version: string; phases: Record<string, string[]>; indicators: { id: string }[]; findings: any[] }[] };

    const page = await open(out);
    const shown = await matrix(page);
    expect(shown.map((x) => `${x.name} ${x.version}`)).toEqual(doc.crates.map((c) => `${c.name} ${c.version}`));
    for (const c of doc.crates) {
      const row = shown.find((x) => x.name === c.name && x.version === c.version)!;
      expect(row.cells.sort()).toEqual([...c.phases['runtime']!.map((p) => `runtime:${p}`), ...c.phases['build']!.map((p) => `build:${p}`)].sort());
      expect(row.ind).toBe(c.indicators.length ? `! ${c.indicators.length}` : '');
    }
    // known cells: envlogger runs processes at build time only, and carries the demo's indicators
    const env = shown.find((x) => x.name === 'envlogger')!;
    expect(env.cells).toContain('build:process');
    expect(env.cells).not.toContain('runtime:process');
    expect(env.ind).toBe('! 5');
    const alert = await page.textContent('#indicators');
    for (const i of doc.crates.find((c) => c.name === 'envlogger')!.indicators) expect(alert).toContain(i.id);
    expect(alert).toContain('envlogger 0.3.0');

    await page.click('tr[data-crate="envlogger"] td[data-phase="build"][data-cap="process"] button');
    const expected = doc.crates.find((c) => c.name === 'envlogger')!.findings.filter((f) => f.capability === 'process' && f.phase === 'build');
    expect(expected.length).toBeGreaterThan(0);
    const evs = await page.$$eval('#details .ev', (ds) => ds.map((d) => ({ loc: d.querySelector('.loc')!.textContent, rule: d.querySelector('.rule')!.textContent, evidence: d.querySelector('.evidence')!.textContent, hit: d.querySelector('pre.src .hit')?.textContent ?? null })));
    const src = readFileSync(join(ROOT, 'fixtures', 'demo', 'vendor', 'envlogger', 'build.rs'), 'utf8').split('\n');
    expect(evs).toEqual(expected.map((f) => ({ loc: `${f.file}:${f.line}:${f.column}`, rule: `rule ${f.rule}`, evidence: f.evidence, hit: `${f.line}${src[f.line - 1]}` })));
    expect(await page.textContent('#details h2')).toBe('envlogger 0.3.0 · process · build time');

    // the dependency graph: members at the top, each crate with a capability on its shortest path,
    // one coloured dot per capability; dashed edges lead to build-time-only crates
    const nodes = await page.$$eval('#graph g.node', (gs) =>
      gs.map((g) => ({ key: (g as SVGElement).dataset['crate']!, member: g.classList.contains('member'), caps: [...g.querySelectorAll('circle')].map((c) => (c as SVGElement).dataset['cap']).join(','), y: g.getBoundingClientRect().top, fill: getComputedStyle(g.querySelector('circle') ?? g).fill })),
    );
    expect(nodes.map((n) => `${n.key}${n.member ? ' (member)' : ''}: ${n.caps}`).sort()).toEqual([
      'app (member): ',
      'app-utils (member): ',
      'cfg-probe: env,fs',
      'demo-fetch: env,net',
      'derive-hello: proc-macro',
      'envlogger: build-script,env,process',
      'ffi-shim: ffi,link,unsafe',
      'filekeep: fs',
      'shellout: process',
      'zlink-sys: build-script,env,ffi,unsafe',
    ]);
    const y = (k: string) => nodes.find((n) => n.key === k)!.y;
    expect(y('app')).toBe(y('app-utils'));
    expect(y('app')).toBeLessThan(y('demo-fetch'));
    expect(y('zlink-sys')).toBeLessThan(y('cfg-probe'));
    // capabilities are coloured: net and process dots differ
    expect(nodes.find((n) => n.key === 'shellout')!.fill).not.toBe(nodes.find((n) => n.key === 'filekeep')!.fill);
    const edges = await page.$$eval('#graph path.edge', (ps) => ps.map((p) => `${(p as SVGElement).dataset['from']} -> ${(p as SVGElement).dataset['to']}${p.classList.contains('build') ? ' (build)' : ''}`));
    expect(edges).toEqual([
      'app -> demo-fetch',
      'app -> derive-hello (build)',
      'app -> envlogger',
      'app -> ffi-shim',
      'app -> shellout',
      'app-utils -> filekeep',
      'app-utils -> zlink-sys',
      'zlink-sys -> cfg-probe (build)',
    ]);
    await page.click('#graph g.node[data-crate="filekeep"]');
    expect(await page.textContent('#details h2')).toBe('filekeep 1.0.2');
    expect(await page.$$eval('#details li', (ls) => ls.map((l) => l.textContent))).toContain('runtime: app-utils → filekeep');
    await page.click('tr[data-crate="envlogger"] td[data-phase="build"][data-cap="process"] button');

    const shot = join(tmp, 'demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // filter, capability toggle, sort
    await page.fill('#filter', 'tiny');
    expect((await matrix(page)).map((x) => x.name)).toEqual(doc.crates.filter((c) => c.name.includes('tiny')).map((c) => c.name));
    await page.fill('#filter', '');
    await page.uncheck('input[data-cap="env"]');
    expect(await page.$$('#matrix th[data-cap="env"]')).toHaveLength(0);
    expect((await matrix(page)).find((x) => x.name === 'envlogger')!.cells).not.toContain('build:env');
    await page.check('input[data-cap="env"]');
    await page.click('button[data-sort="name"]');
    expect((await matrix(page)).map((x) => x.name)).toEqual(doc.crates.map((c) => c.name).reverse());

    expect(requests).toEqual([pathToFileURL(out).href]);
    await page.close();
  });

  it('check of the demo: every capability the allowlist does not allow is marked', async () => {
    const out = join(tmp, 'check.html');
    const r = await run(['check', '--manifest-path', DEMO, '--offline', '--format', 'html', '-o', out], tmp);
    expect(r.code).toBe(1);
    const js = await run(['check', '--manifest-path', DEMO, '--offline', '--format', 'json'], tmp);
    const v = JSON.parse(js.stdout).violations as { crates: { name: string; version: string; disallowed: { capability: string; phase: string }[] }[] };
    const page = await open(out);
    const marked = await page.$$eval('#matrix button.cell.violation', (bs) => bs.map((b) => { const td = b.closest('td')!; const tr = b.closest('tr')!; return `${tr.dataset['crate']} ${tr.dataset['version']} ${td.dataset['phase']}:${td.dataset['cap']}`; }));
    const want = [...new Set(v.crates.flatMap((c) => c.disallowed.map((d) => `${c.name} ${c.version} ${d.phase}:${d.capability}`)))];
    expect(marked.sort()).toEqual(want.sort());
    expect(await page.textContent('.verdict')).toMatch(/^FAILED: /);
    expect(requests).toEqual([pathToFileURL(out).href]);
    await page.close();
  });

  it('diff: added and removed capabilities are marked', async () => {
    const out = join(tmp, 'diff.html');
    const args = ['diff', '--manifest-path', join(ROOT, 'fixtures/diff/ws/Cargo.toml'), '--base', join(ROOT, 'fixtures/diff/ws/old.Cargo.lock'), '--offline'];
    const r = await run([...args, '--format', 'html', '-o', out], tmp);
    expect(r.code).toBe(0);
    const d = JSON.parse((await run([...args, '--format', 'json'], tmp)).stdout).diff as { packages: { name: string; added: Record<string, string[]>; removed: Record<string, string[]> }[] };
    const page = await open(out);
    const cells = async (cls: string) => (await page.$$eval(`#matrix button.cell.${cls}`, (bs) => bs.map((b) => `${b.closest('tr')!.dataset['crate']} ${b.closest('td')!.dataset['phase']}:${b.closest('td')!.dataset['cap']}`))).sort();
    const want = (k: 'added' | 'removed') => d.packages.flatMap((p) => ['runtime', 'build'].flatMap((ph) => p[k][ph]!.map((c) => `${p.name} ${ph}:${c}`))).sort();
    expect(want('added').length).toBeGreaterThan(0);
    expect(await cells('added')).toEqual(want('added'));
    expect(await cells('removed')).toEqual(want('removed'));
    expect((await matrix(page)).map((x) => x.name)).toEqual(d.packages.map((p) => p.name));
    expect(requests).toEqual([pathToFileURL(out).href]);
    await page.close();
  });

  it('a hostile crate name and evidence stay text: no element, no script, no request', async () => {
    const out = join(tmp, 'hostile.html');
    writeFileSync(out, (html.scan as (i: ScanReport) => string)(scanInput(null)));
    const page = await open(out);
    expect(await page.$$('img')).toHaveLength(0);
    expect((await matrix(page)).map((x) => x.name)).toEqual([HOSTILE]);
    await page.click('#matrix button.cell');
    expect(await page.textContent('#details .evidence')).toBe(HOSTILE);
    expect(dialogs).toEqual([]);
    expect(requests).toEqual([pathToFileURL(out).href]);
    await page.close();
  });
});
