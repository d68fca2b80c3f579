// JSON reporter: the foundation schema, plus `violations` (check) and `diff` (diff).

import { diffJson, scanJson, violationsJson, type Reporter } from './common.js';

export const json: Reporter = (input) => {
  const out = scanJson(input.result);
  if (input.violations) out['violations'] = violationsJson(input.violations, input.workspaceRoot);
  if (input.diff) out['diff'] = diffJson(input.diff);
  return `${JSON.stringify(out, null, 2)}\n`;
};
