// The crate scan's pure stages on literals: one unit's findings from its facts, the file budget, the role of
// a file no module reaches, the listing's gaps, and the final sort-and-dedupe.

import { describe, expect, it } from 'vitest';
import { emptySummary, type FileSummary } from '../src/parse/summary.js';
import { ModuleNode, Resolver, placeUnit, type ResolverOptions } from '../src/resolve/resolver.js';
import { RuleIndex } from '../src/rules/engine.js';
import { loadRules } from '../src/rules/load.js';
import { unitFindings, type UnitPlace } from '../src/scan/unit-findings.js';
import { FileBudget, MAX_FILES_PER_CRATE } from '../src/scan/file-budget.js';
import { nearestTargetIsBuild, strayRole, listingGaps } from '../src/scan/unreferenced.js';
import { finishScan, MAX_FINDINGS_PER_RULE } from '../src/scan/scan-output.js';
import type { Finding } from '../src/types.js';

const index = new RuleIndex(loadRules());
const resolverOptions: ResolverOptions = {
  edition: '2021',
  externs: new Map(),
  unknownAsExtern: true,
  isKnownPrefix: (p) => index.isKnownPrefix(p),
  isKnownSegment: (n) => index.isKnownSegment(n),
};

function unitOf(rel: string, facts: Partial<FileSummary>, test = false) {
  const root = new ModuleNode('crate', null);
  const resolver = new Resolver(root, resolverOptions);
  const unit = placeUnit(rel, { ...emptySummary(), ...facts }, root, test);
  return { unit, resolver };
}

const lib: UnitPlace = { role: 'lib', buildSide: false, libPhase: 'runtime', allTargets: false };

describe('unitFindings', () => {
  it('resolves a path through a use binding and matches the path rule', () => {
    const { unit, resolver } = unitOf('src/lib.rs', {
      bindings: [{ scope: 0, name: 'fs', kind: 'use', target: ['std', 'fs'], global: false, line: 1 }],
      refs: [{ scope: 0, segs: ['fs', 'read'], global: false, how: 'value', line: 3, column: 5 }],
    });
    const out = unitFindings(unit, resolver, index, lib);
    expect(out.findings).toEqual([
      { capability: 'fs', kind: 'fs.read', phase: 'runtime', rule: 'std-fs-read', file: 'src/lib.rs', line: 3, column: 5, evidence: 'std::fs::read' },
    ]);
    expect(out.unanalyzed).toEqual([]);
  });

  it('build-side code gets the build phase and its cargo: directives; a test unit is marked test', () => {
    const facts: Partial<FileSummary> = {
      syntax: [{ construct: 'unsafe-block', name: null, evidence: 'unsafe { … }', line: 2, column: 1 }],
      strings: [{ value: 'cargo:rustc-link-lib=z', line: 4, column: 14 }],
    };
    const build = unitOf('build.rs', facts);
    const out = unitFindings(build.unit, build.resolver, index, { ...lib, role: 'build', buildSide: true });
    expect(out.findings.map((f) => [f.rule, f.phase, f.line, f.evidence, f.context ?? null])).toEqual([
      ['unsafe-block', 'build', 2, 'unsafe { … }', null],
      ['build-link-lib', 'build', 4, 'cargo:rustc-link-lib', null],
    ]);
    // the same facts in library code: no directive finding (only build scripts talk to cargo)
    const libUnit = unitOf('src/lib.rs', facts, true);
    expect(unitFindings(libUnit.unit, libUnit.resolver, index, lib).findings.map((f) => [f.rule, f.phase, f.context ?? null])).toEqual([['unsafe-block', 'runtime', 'test']]);
  });

  it('a host:port literal passed to a network API names a host; parse errors and problems are unanalyzed', () => {
    const { unit, resolver } = unitOf('src/net.rs', {
      refs: [{ scope: 0, segs: ['std', 'net', 'TcpStream', 'connect'], global: false, how: 'value', line: 7, column: 9, arg: 'example.com:443' }],
      errors: [12],
      problems: [{ line: 1, reason: 'invalid-utf8' }],
    });
    const out = unitFindings(unit, resolver, index, { ...lib, role: 'unreferenced' });
    expect(out.findings.map((f) => [f.rule, f.file, f.line, f.column, f.context])).toEqual([['std-net-connect', 'src/net.rs', 7, 9, 'unreferenced']]);
    expect(out.hosts).toEqual([{ host: 'example.com', file: 'src/net.rs', line: 7 }]);
    expect(out.unanalyzed).toEqual([
      { file: 'src/net.rs', line: 12, reason: 'parse-error' },
      { file: 'src/net.rs', line: 1, reason: 'invalid-utf8' },
    ]);
  });
});

describe('FileBudget', () => {
  it('full analysis up to the cap, then the token pass, then skipped files in one entry', () => {
    const b = new FileBudget();
    for (let i = 0; i < MAX_FILES_PER_CRATE; i++) expect(b.take(`f${i}.rs`, 10)).toBe('');
    expect(b.take('next.rs', 10)).toBe(`files-per-crate-cap (${MAX_FILES_PER_CRATE}): analysed as tokens`);
    expect(b.skippedEntry()).toBeNull();
    expect(b.take('huge.rs', 65 * 1024 * 1024)).toBeNull();
    expect(b.take('huge2.rs', 65 * 1024 * 1024)).toBeNull();
    expect(b.skippedEntry()).toEqual({
      file: 'huge.rs',
      line: 1,
      reason: 'skipped: 2 files (136314880 bytes) not analysed, past the files-per-crate cap (5000) and the token-pass budget (50000 files, 67108864 bytes)',
    });
  });
});

describe('unreferenced files', () => {
  it('take the role of the target directory that holds them', () => {
    expect(['tests/a.rs', 'benches/b.rs', 'examples/c.rs', 'src/bin/d.rs', 'src/e.rs'].map(strayRole)).toEqual(['test', 'bench', 'example', 'bin', 'unreferenced']);
    const targets = [
      { role: 'lib' as const, root: 'src/lib.rs' },
      { role: 'build' as const, root: 'build.rs' },
    ];
    expect(nearestTargetIsBuild(targets, 'build_helper.rs')).toBe(true);
    expect(nearestTargetIsBuild(targets, 'src/unused.rs')).toBe(false);
    expect(nearestTargetIsBuild([{ role: 'lib', root: 'lib.rs' }, { role: 'build', root: './build.rs' }], 'x.rs')).toBe(false);
  });

  it('the listing says what it left out', () => {
    expect(listingGaps({ files: [], truncatedAt: 'z/y.rs', unreadable: [{ dir: 'src/locked', code: 'EACCES' }] })).toEqual([
      {
        file: 'z/y.rs',
        line: 1,
        reason: 'skipped: package listing stopped at the entry cap (200000): from this path on, files no module reaches were not analysed and no file was checked for native code',
      },
      { file: 'src/locked', line: 1, reason: 'skipped: directory not readable (EACCES): files no module reaches in it were not analysed' },
    ]);
  });
});

describe('finishScan', () => {
  const f = (rule: string, file: string, line: number, column: number, evidence = rule): Finding => ({ capability: 'fs', kind: 'read', phase: 'runtime', rule, file, line, column, evidence });
  it('keeps the first of each finding, indicator and unanalyzed entry, and sorts them once', () => {
    const out = finishScan({
      findings: [f('b', 'src/z.rs', 1, 1), f('a', 'src/a.rs', 2, 1, 'first'), f('a', 'src/a.rs', 2, 1, 'second'), f('a', 'src/a.rs', 1, 9)],
      crateFindings: [f('build-script', 'build.rs', 1, 1)],
      indicators: [
        { id: 'y', file: 'b', line: 1, detail: 'd' },
        { id: 'x', file: 'a', line: 3, detail: 'd' },
        { id: 'y', file: 'b', line: 1, detail: 'd' },
      ],
      hosts: [{ host: 'z', file: 'z.rs', line: 1 }, { host: 'a', file: 'a.rs', line: 1 }],
      urls: [],
      unanalyzed: [
        { file: 'b', line: 1, reason: 'r' },
        { file: 'a', line: 1, reason: 'r' },
        { file: 'b', line: 1, reason: 'r' },
      ],
      files: [{ rel: 'src/z.rs', role: 'lib' }, { rel: 'build.rs', role: 'build' }],
    });
    expect(out.findings.map((x) => `${x.file}:${x.line}:${x.column} ${x.rule} ${x.evidence}`)).toEqual([
      'build.rs:1:1 build-script build-script',
      'src/a.rs:1:9 a a',
      'src/a.rs:2:1 a first',
      'src/z.rs:1:1 b b',
    ]);
    expect(out.indicators.map((i) => `${i.file}:${i.line} ${i.id}`)).toEqual(['a:3 x', 'b:1 y']);
    expect(out.unanalyzed).toEqual([{ file: 'a', line: 1, reason: 'r' }, { file: 'b', line: 1, reason: 'r' }]);
    expect(out.hosts.map((h) => h.host)).toEqual(['z', 'a']); // scan order
    expect(out.files.map((x) => x.rel)).toEqual(['build.rs', 'src/z.rs']);
  });

  it('keeps at most MAX_FINDINGS_PER_RULE findings per file, rule, phase and context, and says how many more there were', () => {
    const many = Array.from({ length: MAX_FINDINGS_PER_RULE + 5 }, (_, i) => f('unsafe-block', 'src/a.rs', i + 2, 1));
    const out = finishScan({ findings: [...many, f('other', 'src/a.rs', 1, 1)], crateFindings: [], indicators: [], hosts: [], urls: [], unanalyzed: [], files: [] });
    expect(out.findings.length).toBe(MAX_FINDINGS_PER_RULE + 1);
    expect(out.findings.at(-1)!.line).toBe(MAX_FINDINGS_PER_RULE + 1);
    expect(out.unanalyzed).toEqual([{ file: 'src/a.rs', line: 2, reason: `findings-cap (${MAX_FINDINGS_PER_RULE} per rule and file): 5 more unsafe-block findings (runtime) not listed` }]);
  });
});
