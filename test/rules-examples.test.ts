// Rule examples as data: rules/tests/<capability>.toml holds code snippets with the exact findings
// ("rule line:column phase [kind]") each must give; this file runs them with the rule tester and checks
// that every rule has at least one real example there (an invalid case expecting it).

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import TOML from '@iarna/toml';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../src/rules/load.js';
import { CAPABILITY_KINDS } from '../src/types.js';
import { parseRuleExamples, ruleTester, type ExampleGroup, type ExampleVocabulary } from './rule-tester.js';

const EXAMPLES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'rules', 'tests');
const rules = loadRules().rules;
const vocab: ExampleVocabulary = {
  rules: new Set(rules.map((r) => r.id)),
  capabilities: new Set(Object.keys(CAPABILITY_KINDS)),
  kinds: new Set(Object.values(CAPABILITY_KINDS).flat()),
};

const seen = new Set<string>();
const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.toml')).sort();
const groups: { file: string; group: ExampleGroup }[] = files.flatMap((f) =>
  parseRuleExamples(TOML.parse(readFileSync(path.join(EXAMPLES_DIR, f), 'utf8')) as Record<string, unknown>, `rules/tests/${f}`, vocab, seen).map((group) => ({ file: f, group })),
);

for (const { file, group } of groups) {
  describe(`rules/tests/${file}`, () => ruleTester(group.subject, group.tests));
}

describe('rule examples', () => {
  it('every rule (except the crate-level build-script and proc-macro) has an invalid example expecting it', () => {
    const exercised = new Set(groups.flatMap(({ group }) => group.tests.invalid.flatMap((c) => c.errors.map((e) => e.rule))));
    expect(rules.filter((r) => r.crate === null && !exercised.has(r.id)).map((r) => r.id)).toEqual([]);
  });

  it('the examples are all there: the 114 cases of the old test/rules-content.test.ts (9 valid, 105 invalid) plus 12 for rules that had no example, plus the issue-18 examples and the issue-14 foreign-call ones', () => {
    const count = (kind: 'valid' | 'invalid') => groups.reduce((n, { group }) => n + group.tests[kind].length, 0);
    expect({ valid: count('valid'), invalid: count('invalid') }).toEqual({ valid: 23, invalid: 144 });
  });

  it('every rule says what it means (cap-scan rules prints it)', () => {
    expect(rules.filter((r) => r.description.trim() === '').map((r) => r.id)).toEqual([]);
  });

  it('rejects an invalid case without an expected finding, an unknown subject or rule, and duplicate cases', () => {
    const parse = (text: string) => () => parseRuleExamples(TOML.parse(text) as Record<string, unknown>, 'x.toml', vocab);
    expect(parse("[[invalid]]\ncode = 'pub fn f() {}'\n")).toThrow("x.toml: invalid #1: an invalid case needs at least one expected finding in 'expect'");
    expect(parse("[[invalid]]\ncode = 'pub fn f() {}'\nexpect = []\n")).toThrow("x.toml: invalid #1: an invalid case needs at least one expected finding in 'expect'");
    expect(parse("[[valid]]\ncode = 'pub fn f() {}'\nsubject = ['fss']\n")).toThrow("x.toml: valid #1: unknown subject 'fss' (not a rule id, capability or kind)");
    expect(parse("[[invalid]]\ncode = 'pub fn f() {}'\nexpect = ['std-fs-raed 1:14 runtime']\n")).toThrow("x.toml: invalid #1: unknown rule 'std-fs-raed'");
    expect(parse("[[invalid]]\ncode = 'pub fn f() {}'\nexpect = ['std-fs-read 1 runtime']\n")).toThrow(
      `x.toml: invalid #1: expected finding 'std-fs-read 1 runtime' is not "rule line:column phase [kind]"`,
    );
    expect(parse("[[valid]]\ncode = 'pub fn f() {}'\n[[valid]]\ncode = 'pub fn f() {}'\n")).toThrow('x.toml: valid #2: duplicate case (same code, file, deps and subject as an earlier one)');
    expect(parse("[[valid]]\ncode = 'pub fn f() {}'\nexpect = ['std-fs-read 1:14 runtime']\n")).toThrow('x.toml: valid #1: a valid case expects no finding; move it to [[invalid]]');
    expect(parse("[[valid]]\ncode = 'pub fn f() {}'\ncolumn = 3\n")).toThrow("x.toml: valid #1: unknown key 'column'");
  });
});
