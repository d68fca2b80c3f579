// JSON reporter: the foundation schema, plus `violations` (check) and `diff` (diff).

import { diffJson, scanJson, violationsJson, type Reporter } from './common.js';

const text = (out: Record<string, unknown>): string => `${JSON.stringify(out, null, 2)}\n`;

export const json: Reporter = {
  scan: (input) => text(scanJson(input.result)),
  check: (input) => text({ ...scanJson(input.result), violations: violationsJson(input.violations, input.workspaceRoot, input.result) }),
  diff: (input) => text({ ...scanJson(input.result), diff: diffJson(input.diff) }),
};
