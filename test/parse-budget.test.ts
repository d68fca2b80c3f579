// The parse budget in the parsing thread's CPU time (src/parse/parse-budget.ts): a parse stopped by
// tree-sitter's wall-clock slice resumes to the same tree, and only CPU time spent decides "over budget".
import { describe, expect, it } from 'vitest';
import { getParser } from '../src/parse/analyze.js';
import { parseWithin, threadCpuMicros } from '../src/parse/parse-budget.js';

/** A source that takes tens of milliseconds to parse: many small functions. */
const SOURCE = Array.from({ length: 6000 }, (_, i) => `fn f${i}(x: u32) -> u32 { let y = x + ${i}; if y > 3 { y * 2 } else { g(y, "s${i}") } }`).join('\n');

describe('parse budget', () => {
  it("reads this thread's CPU time, which grows with work", () => {
    const a = threadCpuMicros();
    expect(a).not.toBeNull();
    let x = 0;
    const until = Date.now() + 60;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    expect(threadCpuMicros()! - a!).toBeGreaterThan(0);
    expect(x).toBeGreaterThan(0);
  });

  it('a parse cut into 1 ms wall-clock slices resumes each time and gives the tree of an unsliced parse', () => {
    const p = getParser();
    p.setTimeoutMicros(0);
    const whole = p.parse(SOURCE).rootNode.toString();
    const sliced = parseWithin(p, SOURCE, 60_000_000, 1000);
    expect(sliced).not.toBeNull();
    expect(sliced!.rootNode.toString()).toBe(whole);
  });

  it('over its CPU budget: null, and the parser starts the next file afresh', () => {
    const p = getParser();
    expect(parseWithin(p, SOURCE, 1, 1000)).toBeNull();
    const next = parseWithin(p, 'fn main() {}', 1_000_000);
    expect(next!.rootNode.toString()).toBe('(source_file (function_item name: (identifier) parameters: (parameters) body: (block)))');
  });
});
