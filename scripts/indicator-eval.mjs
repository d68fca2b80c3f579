#!/usr/bin/env node
// Real-world evaluation of the supply-chain indicators (not a test). Needs a built dist/ (`npx tsc`).
//
//   node scripts/indicator-eval.mjs [REGISTRY_DIR] [--cache-dir DIR] [--out FILE] [--jobs N]
//                                   [--workspace Cargo.toml] [--hits-only]
//
// REGISTRY_DIR (default /tmp/wide-corpus/root/usr/share/cargo/registry, built by scripts/wide-corpus.sh)
// holds one directory per crate. Every crate is scanned with the compiled scanner; the script prints, per
// indicator id, how many crates raise it, every obfuscation / secrets / bidi / native-code hit, and the top
// hosts by number of crates. The full per-crate result goes to --out (JSON).
//
// Typosquat runs on lockfile names, so it is measured separately:
//   - corpus names against the popular list as is (every name is "alone in the lockfile");
//   - leave-one-out: each corpus name with its own entry removed from the popular list, (a) alone and
//     (b) with its non-optional normal and build dependencies beside it, as a lockfile that contains the
//     crate would (the realistic case: a real crate that happens not to be on the list);
//   - the real workspace (--workspace, default /tmp/cap-scan-realworld/Cargo.toml, skipped when absent):
//     its typosquat indicators as scanned, and leave-one-out over its lockfile names with the real lockfile.
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);
const TOML = require('@iarna/toml');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const flag = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const cacheDir = opt('--cache-dir', '/tmp/wide-corpus/cache');
const out = opt('--out', '/tmp/wide-corpus/eval.json');
const jobs = Number(opt('--jobs', '2'));
const workspace = opt('--workspace', '/tmp/cap-scan-realworld/Cargo.toml');
const hitsOnly = flag('--hits-only');
// --rules a,b: also count and list the findings of these rules (new finding kinds), the findings with
// context `disabled` and the `build-generated` unanalyzed entries
const findingRules = (opt('--rules', '') || '').split(',').filter(Boolean);
const allTargets = flag('--all-targets');
const typosquatOnly = flag('--typosquat-only');
const registry = args[0] ?? '/tmp/wide-corpus/root/usr/share/cargo/registry';

const { scanCrateDirs } = await import(pathToFileURL(join(dist, 'scan/session.js')).href);
const { defaultScanOptions } = await import(pathToFileURL(join(dist, 'options.js')).href);
const { typosquats, parsePopularList, normalizeCrateName } = await import(pathToFileURL(join(dist, 'indicators/typosquat.js')).href);

const dirs = readdirSync(registry, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(registry, d.name, 'Cargo.toml')))
  .map((d) => join(registry, d.name))
  .sort();
mkdirSync(cacheDir, { recursive: true });
const t0 = Date.now();
const { result, files } = typosquatOnly
  ? { result: { crates: [] }, files: [] }
  : await scanCrateDirs(dirs, defaultScanOptions({ jobs, cache: true, cacheDir, allTargets }));
const secs = ((Date.now() - t0) / 1000).toFixed(1);
const crates = result.crates;
if (!typosquatOnly) writeFileSync(out, JSON.stringify(crates.map((c) => ({ name: c.name, version: c.version, indicators: c.indicators, urls: c.urls, hosts: c.hosts })), null, 1));

const log = (s = '') => process.stdout.write(s + '\n');
log(`corpus: ${registry}`);
log(`scanned ${crates.length} crates, ${files.length} files in ${secs} s (jobs ${jobs}${allTargets ? ', --all-targets' : ''}); per-crate JSON: ${out}`);

// ---- per indicator id
const byId = new Map();
for (const c of crates) {
  for (const i of c.indicators) {
    const e = byId.get(i.id) ?? { crates: new Set(), hits: [] };
    e.crates.add(`${c.name}-${c.version}`);
    e.hits.push({ crate: `${c.name}-${c.version}`, ...i });
    byId.set(i.id, e);
  }
}
log('\nindicator        crates  hits');
for (const id of ['typosquat', 'secrets', 'obfuscation', 'persistence', 'native-code', 'bidi']) {
  const e = byId.get(id);
  log(`${id.padEnd(16)} ${String(e?.crates.size ?? 0).padStart(6)}  ${String(e?.hits.length ?? 0).padStart(4)}`);
}
for (const id of ['obfuscation', 'secrets', 'persistence', 'typosquat', 'bidi', 'native-code']) {
  const e = byId.get(id);
  if (!e) continue;
  log(`\n== ${id}`);
  for (const h of e.hits) log(`${h.crate}  ${h.file}:${h.line}  ${h.detail}`);
}

// ---- finding kinds (--rules)
if (findingRules.length > 0) {
  log('\nfinding kind                      crates  hits');
  const kinds = [
    ...findingRules.map((r) => [r, (c) => c.findings.filter((f) => f.rule === r).map((f) => `${f.file}:${f.line}  ${f.evidence}`)]),
    ['context disabled', (c) => c.findings.filter((f) => f.context === 'disabled').map((f) => `${f.file}:${f.line}  ${f.rule} ${f.evidence}`)],
    ['unanalyzed build-generated', (c) => c.unanalyzed.filter((u) => u.reason.startsWith('build-generated')).map((u) => `${u.file}:${u.line}  ${u.reason}`)],
  ];
  const lists = kinds.map(([name, get]) => [name, crates.map((c) => [`${c.name}-${c.version}`, get(c)]).filter(([, l]) => l.length > 0)]);
  for (const [name, l] of lists) log(`${name.padEnd(32)} ${String(l.length).padStart(6)}  ${String(l.reduce((n, [, x]) => n + x.length, 0)).padStart(4)}`);
  for (const [name, l] of lists) {
    if (l.length === 0) continue;
    log(`\n== ${name}`);
    for (const [crate, hits] of l) for (const h of hits) log(`${crate}  ${h}`);
  }
}

// ---- hosts
if (!hitsOnly) {
  const hostCrates = new Map();
  for (const c of crates) for (const h of new Set(c.hosts)) hostCrates.set(h, (hostCrates.get(h) ?? 0) + 1);
  const withUrls = crates.filter((c) => c.urls.length > 0).length;
  log(`\nhosts: ${hostCrates.size} distinct; ${withUrls} crates have URLs, ${crates.filter((c) => c.hosts.length > 0).length} have hosts`);
  const top = [...hostCrates].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 20);
  for (const [h, n] of top) log(`${String(n).padStart(5)}  ${h}`);
}

// ---- typosquat
const popular = parsePopularList(readFileSync(join(root, 'rules/popular-crates.txt'), 'utf8'));
const fmt = (list) => list.map((t) => `${t.name} ~ ${t.similarTo} (${t.how})`);
const depsOf = new Map();
/** Every dependency name any corpus manifest mentions (all kinds, optional and target-specific too). */
const allDeps = new Map(); // name -> Set of crates naming it
const renameKeys = new Set(); // dependency keys that rename a package (`syslog6 = { package = "syslog" }`)
for (const d of dirs) {
  try {
    const m = TOML.parse(readFileSync(join(d, 'Cargo.toml'), 'utf8'));
    const deps = new Set();
    const take = (tbl) => {
      for (const [k, v] of Object.entries(tbl ?? {})) {
        if (typeof v === 'object' && v !== null && v.optional) continue;
        deps.add(typeof v === 'object' && v !== null && typeof v.package === 'string' ? v.package : k);
      }
    };
    take(m.dependencies);
    take(m['build-dependencies']);
    for (const t of Object.values(m.target ?? {})) {
      take(t.dependencies);
      take(t['build-dependencies']);
    }
    depsOf.set(m.package?.name, [...deps]);
    for (const tbl of [m, ...Object.values(m.target ?? {})]) {
      for (const kind of ['dependencies', 'build-dependencies', 'dev-dependencies']) {
        for (const [k, v] of Object.entries(tbl[kind] ?? {})) {
          const dep = typeof v === 'object' && v !== null && typeof v.package === 'string' ? v.package : k;
          if (dep !== k) renameKeys.add(k);
          const set = allDeps.get(dep) ?? new Set();
          set.add(m.package?.name);
          allDeps.set(dep, set);
        }
      }
    }
  } catch {
    /* unparsable manifest: no deps */
  }
  // Debian's patches drop dependencies it does not package: their names are real, less popular crates
  const patches = join(d, 'debian', 'patches');
  if (existsSync(patches)) {
    for (const f of readdirSync(patches)) {
      let text = '';
      try {
        text = readFileSync(join(patches, f), 'utf8');
      } catch {
        continue;
      }
      // `[dependencies.key]` then, within its table, an optional `package = "real-name"` (a rename)
      const re = /^[-+ ]\[(?:target\.[^\]]*\.)?(?:dev-|build-)?dependencies\.([A-Za-z0-9_-]+)\]\n((?:(?![-+ ]\[)[^\n]*\n){0,6})/gm;
      for (const m of text.matchAll(re)) {
        const pkg = /^[^[\n]*package\s*=\s*"([^"]+)"/m.exec(m[2]);
        const dep = pkg ? pkg[1] : m[1];
        const set = allDeps.get(dep) ?? new Set();
        set.add(basename(d).replace(/-\d+\.\d+\.\d+.*$/, ''));
        allDeps.set(dep, set);
      }
    }
  }
}
const names = [...new Set([...depsOf.keys()].filter(Boolean))].sort();
const notListed = names.filter((n) => !popular.some((p) => normalizeCrateName(p) === normalizeCrateName(n)));
const asIs = typosquats(names.map((n) => n), popular).length; // all names in one lockfile
const alone = names.flatMap((n) => typosquats([n], popular));
log(`\ntyposquat: ${names.length} distinct corpus crate names, ${notListed.length} not on the popular list (${popular.length} names)`);
log(`  not listed: ${notListed.join(', ')}`);
log(`  each name alone vs the list as is: ${alone.length} hits${alone.length ? ': ' + fmt(alone).join('; ') : ''}`);
log(`  all names as one lockfile: ${asIs} hits`);
const looAlone = [];
const looDeps = [];
for (const n of names) {
  const norm = normalizeCrateName(n);
  const without = popular.filter((p) => normalizeCrateName(p) !== norm);
  looAlone.push(...typosquats([n], without));
  looDeps.push(...typosquats([n, ...(depsOf.get(n) ?? [])], without).filter((t) => t.name === n));
}
const crateCount = (list) => new Set(list.map((t) => t.name)).size;
log(`  leave-one-out, alone: ${crateCount(looAlone)} of ${names.length} crates flagged (${((100 * crateCount(looAlone)) / names.length).toFixed(1)}%)`);
for (const s of fmt(looAlone)) log(`    ${s}`);
log(`  leave-one-out, with its dependencies in the lockfile: ${crateCount(looDeps)} of ${names.length} flagged (${((100 * crateCount(looDeps)) / names.length).toFixed(1)}%)`);
for (const s of fmt(looDeps)) log(`    ${s}`);

// Real crates.io names that are not on the popular list: dependencies the corpus manifests name (dev,
// optional and platform dependencies too) or Debian's patches remove, that Debian does not package. Each is checked alone (no
// lockfile context) against the full list, and with the dependencies of a crate that names it.
const listed = new Set(popular.map(normalizeCrateName));
const unlisted = [...allDeps.keys()].filter((n) => !listed.has(normalizeCrateName(n)) && !renameKeys.has(n)).sort();
const unAlone = unlisted.flatMap((n) => typosquats([n], popular));
const unCtx = unlisted.flatMap((n) => {
  const ctx = new Set();
  for (const user of allDeps.get(n)) for (const dep of depsOf.get(user) ?? []) ctx.add(dep);
  for (const user of allDeps.get(n)) ctx.add(user);
  return typosquats([n, ...[...ctx].filter((x) => x !== n)], popular).filter((t) => t.name === n);
});
log(`\ntyposquat on real crates.io names not on the popular list (${unlisted.length} dependency names from corpus manifests and Debian patches):`);
log(`  alone: ${crateCount(unAlone)} flagged (${((100 * crateCount(unAlone)) / unlisted.length).toFixed(1)}%)`);
for (const s of fmt(unAlone)) log(`    ${s}  [named by ${[...allDeps.get(s.split(' ')[0])].slice(0, 3).join(', ')}]`);
log(`  with the naming crates and their dependencies in the lockfile: ${crateCount(unCtx)} flagged (${((100 * crateCount(unCtx)) / unlisted.length).toFixed(1)}%)`);
for (const s of fmt(unCtx)) log(`    ${s}`);

if (workspace && existsSync(workspace)) {
  const json = JSON.parse(
    execFileSync(process.execPath, [join(root, 'bin/cap-scan.js'), '--manifest-path', workspace, '--format', 'json', '--offline'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    }),
  );
  const hits = json.crates.flatMap((c) => c.indicators.filter((i) => i.id === 'typosquat').map((i) => `${c.name}: ${i.detail}`));
  const lock = readFileSync(join(dirname(workspace), 'Cargo.lock'), 'utf8');
  const lockNames = [...new Set([...lock.matchAll(/^name = "([^"]+)"/gm)].map((m) => m[1]))];
  const members = new Set([TOML.parse(readFileSync(workspace, 'utf8')).package?.name].filter(Boolean));
  const deps = lockNames.filter((n) => !members.has(n));
  const loo = [];
  for (const n of deps) {
    const norm = normalizeCrateName(n);
    loo.push(...typosquats(deps, popular.filter((p) => normalizeCrateName(p) !== norm)).filter((t) => t.name === n));
  }
  log(`\nreal workspace ${workspace}: ${json.crates.length} crates scanned, ${deps.length} lockfile names`);
  log(`  typosquat indicators as scanned: ${hits.length}${hits.length ? '\n    ' + hits.join('\n    ') : ''}`);
  log(`  leave-one-out with the real lockfile: ${crateCount(loo)} of ${deps.length} flagged`);
  for (const s of fmt(loo)) log(`    ${s}`);
}
