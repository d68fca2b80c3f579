// The shape of a command: each module under src/commands exports one definition (name, options, run);
// src/cli.ts registers the list in src/commands/index.ts and is the only place that writes output and
// sets the exit code.

import type { Command } from 'commander';
import type { CommandOutput, CommonOptions } from '../options.js';

/** The flags commander parsed for a command (its own and the common ones), by camel-cased name. */
export type ParsedFlags = Readonly<Record<string, unknown>>;

export interface CommandSpec<O> {
  /** Name with positional arguments, as commander takes it (`crate <spec>`). */
  name: string;
  description: string;
  /** The command run when none is named. */
  isDefault?: boolean;
  /** Adds the command's own options (the common ones are added by the CLI). */
  configure?: (cmd: Command) => Command;
  /** The --format values it can write, when not every reporter's (its --help lists these). */
  formats?: readonly string[];
  /** The command's typed options, from the common options, its positional arguments and its flags. */
  options: (common: CommonOptions, args: readonly string[], flags: ParsedFlags) => O;
  run: (opts: O) => Promise<CommandOutput>;
}

/** A registered command, its option type erased behind `action`. */
export interface CommandDefinition {
  name: string;
  description: string;
  isDefault: boolean;
  configure: (cmd: Command) => Command;
  formats: readonly string[] | null;
  action: (common: CommonOptions, args: readonly string[], flags: ParsedFlags) => Promise<CommandOutput>;
}

/** A command definition; `options` must produce exactly what `run` takes, which the compiler checks. */
export function defineCommand<O>(spec: CommandSpec<O>): CommandDefinition {
  return {
    name: spec.name,
    description: spec.description,
    isDefault: spec.isDefault ?? false,
    configure: spec.configure ?? ((cmd) => cmd),
    formats: spec.formats ?? null,
    action: (common, args, flags) => spec.run(spec.options(common, args, flags)),
  };
}

/** A string flag's value (commander gives strings for `<value>` options). */
export function stringFlag(flags: ParsedFlags, name: string): string | null {
  const v = flags[name];
  return typeof v === 'string' ? v : null;
}
