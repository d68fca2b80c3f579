// Every command, in the order `--help` lists them.

import { allowCommand } from './allow.js';
import { batchCommand } from './batch.js';
import { checkCommand } from './check.js';
import type { CommandDefinition } from './command.js';
import { crateCommand } from './crate.js';
import { diffCommand } from './diff.js';
import { rulesCommand } from './rules.js';
import { scanCommand } from './scan.js';
import { whyCommand } from './why.js';

export type { CommandDefinition } from './command.js';

export const commands: readonly CommandDefinition[] = [scanCommand, crateCommand, rulesCommand, checkCommand, allowCommand, diffCommand, whyCommand, batchCommand];
