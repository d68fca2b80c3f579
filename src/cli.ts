// Command-line interface. Commands return text and an exit code; nothing calls process.exit mid-output.

import { writeFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { getReporter, reporters } from './report/index.js';
import { ruleIndex, scanCrateDir, scanWorkspace, toolVersion } from './scan.js';
import { defaultScanOptions, type CommandOutput, type CommonOptions, type ScanOptions } from './options.js';
import { UserError } from './types.js';
import { HttpError } from './sources/download.js';

interface RawOptions {
  manifestPath?: string;
  format: string;
  output?: string;
  verbose?: boolean;
  includeDev?: boolean;
  allTargets?: boolean;
  offline?: boolean;
  frozen?: boolean;
  jobs?: string;
  cache?: boolean;
  cacheDir?: string;
  registryUrl?: string;
  allowUnverified?: boolean;
  color: string;
  debug?: boolean;
}

const FORMATS = Object.keys(reporters).join(', ');

function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--manifest-path <path>', 'path to Cargo.toml or its directory (default: the nearest Cargo.toml from the current directory upward, as cargo finds it)')
    .option('-f, --format <format>', `output format: ${FORMATS}`, 'human')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('-v, --verbose', 'show evidence: file:line and the matched path of every finding')
    .option('--include-dev', 'also scan packages reached only through dev-dependencies')
    .option('--all-targets', "also scan dependencies' tests, examples, benches, binaries and cfg(test) code")
    .option('--offline', 'never use the network; crates missing locally are listed as unscanned')
    .option('--frozen', 'same as --offline (as in cargo)')
    .option('-j, --jobs <n>', 'parallel parsing workers (default: number of cores)')
    .option('--no-cache', 'do not read or write the result cache')
    .option('--cache-dir <dir>', 'cache directory (default: $XDG_CACHE_HOME/cap-scan or ~/.cache/cap-scan)')
    .option('--registry-url <url>', 'sparse registry index to download from (env CAP_SCAN_REGISTRY)')
    .option('--allow-unverified', 'unpack downloaded crates that have no checksum in Cargo.lock')
    .addOption(new Option('--color <when>', 'colorize output').choices(['auto', 'always', 'never']).default('auto'))
    .option('--debug', 'print stack traces for errors');
}

/**
 * The nearest Cargo.toml from `dir` upward (cargo's rule when no --manifest-path is given); when there is
 * none, `dir/Cargo.toml`, which commands that need a workspace report as not found.
 */
export function findManifest(dir: string): string {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const p = join(d, 'Cargo.toml');
    if (existsSync(p)) return p;
    if (dirname(d) === d) return join(resolve(dir), 'Cargo.toml');
  }
}

function toOptions(raw: RawOptions): CommonOptions {
  let jobs = 0;
  if (raw.jobs !== undefined) {
    jobs = Number(raw.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UserError(`--jobs must be a whole number from 1 to 256, got '${raw.jobs}'`);
  }
  getReporter(raw.format); // validates the name
  const toTty = raw.output === undefined && process.stdout.isTTY === true;
  const color = raw.color === 'always' || (raw.color === 'auto' && toTty && !process.env.NO_COLOR);
  const scan: ScanOptions = defaultScanOptions({
    manifestPath: raw.manifestPath ?? findManifest(process.cwd()),
    includeDev: !!raw.includeDev,
    allTargets: !!raw.allTargets,
    offline: !!raw.offline || !!raw.frozen,
    jobs,
    cache: raw.cache !== false,
    cacheDir: raw.cacheDir ?? null,
    registryUrl: raw.registryUrl ?? null,
    allowUnverified: !!raw.allowUnverified,
  });
  return { ...scan, format: raw.format, verbose: !!raw.verbose, color };
}

type Runner = (opts: CommonOptions, args: string[], raw: Record<string, unknown>) => Promise<CommandOutput>;

async function runScan(opts: CommonOptions): Promise<CommandOutput> {
  const { project, result } = await scanWorkspace(opts);
  const text = getReporter(opts.format)({ command: 'scan', result, project, verbose: opts.verbose, color: opts.color, workspaceRoot: project.root });
  return { text, exitCode: 0 };
}

async function runCrate(opts: CommonOptions, args: string[], raw: Record<string, unknown>): Promise<CommandOutput> {
  const spec = args[0]!;
  if (existsSync(spec) && statSync(spec).isDirectory() && !raw.deps) {
    const result = await scanCrateDir(spec, opts);
    return { text: getReporter(opts.format)({ command: 'crate', result, project: null, verbose: opts.verbose, color: opts.color, workspaceRoot: null }), exitCode: 0 };
  }
  const mod = (await import(['.', 'commands', 'crate.js'].join('/'))) as {
    runCrate?: (o: CommonOptions & { spec: string; deps: boolean }) => Promise<CommandOutput>;
  };
  if (!mod.runCrate) throw new UserError(`cannot scan '${spec}': only crate directories are supported in this build`);
  return mod.runCrate({ ...opts, spec, deps: !!raw.deps });
}

async function runRules(opts: CommonOptions): Promise<CommandOutput> {
  const index = ruleIndex();
  if (opts.format === 'json') {
    const rules = index.rules.map((r) => ({ id: r.id, capability: r.capability, kind: r.kind, description: r.description, file: r.file }));
    return { text: JSON.stringify({ rulesHash: index.hash, rules }, null, 2) + '\n', exitCode: 0 };
  }
  const rows = index.rules.map((r) => [r.id, r.capability, r.kind, r.description]);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['RULE', 'CAPABILITY', 'KIND'][i]!.length));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd();
  return { text: [line(['RULE', 'CAPABILITY', 'KIND', 'DESCRIPTION']), ...rows.map(line)].join('\n') + '\n', exitCode: 0 };
}

function lazy(modName: string, fn: string, extra: (raw: Record<string, unknown>) => Record<string, unknown>): Runner {
  return async (opts, _args, raw) => {
    const mod = (await import(['.', 'commands', `${modName}.js`].join('/'))) as Record<string, (o: unknown) => Promise<CommandOutput>>;
    return mod[fn]!({ ...opts, ...extra(raw) });
  };
}

const HELP_EPILOG = `
Capabilities: fs, net, process, env, ffi, unsafe, link, build-script, proc-macro (kinds: cap-scan rules).
Phases: runtime (library code in your program), build (build scripts, proc-macros and what only they use).

Exit codes: 0 ok; 1 check/diff found something not allowed; 2 error (one line on stderr).

Examples:
  cap-scan                                   scan the workspace in the current directory
  cap-scan --manifest-path path/Cargo.toml -v
  cap-scan crate vendor/some-crate           scan one unpacked crate
  cap-scan check --format sarif -o cap-scan.sarif
  cap-scan allow --write                     record today's capabilities as the allowlist
  cap-scan diff --base origin/main --fail-on-growth
`;

export function buildProgram(outputs: { result?: CommandOutput; raw?: RawOptions }): Command {
  const program = new Command('cap-scan')
    .description('Static capability scanner for Rust dependencies: what each crate can do, checked against an allowlist in Cargo.toml.')
    .version(toolVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`cap-scan: ${str}`) })
    .addHelpText('after', HELP_EPILOG)
    .exitOverride();

  const register = (cmd: Command, runner: Runner) => {
    addCommonOptions(cmd).action(async (...a: unknown[]) => {
      const command = a[a.length - 1] as Command;
      const raw = command.opts() as RawOptions & Record<string, unknown>;
      outputs.raw = raw;
      const args = command.args;
      outputs.result = await runner(toOptions(raw), args, raw);
    });
    cmd.exitOverride();
    return cmd;
  };

  register(program.command('scan', { isDefault: true }).description('scan every dependency of the workspace and print its capabilities (default command)'), runScan);
  register(
    program
      .command('crate <spec>')
      .description('scan one crate: a directory, a .crate file, or NAME@VERSION (a semver requirement) from the registry')
      .option('--deps', 'also scan what the crate pulls in (resolved with cargo generate-lockfile; runs no build scripts)'),
    runCrate,
  );
  register(program.command('rules').description('list the rules with their capability and kind'), runRules);
  register(
    program
      .command('check')
      .description('scan and compare with [workspace.metadata.cap-scan.allow]; exit 1 if anything is not allowed')
      .option('--strict', 'also fail on allowlist entries nothing uses')
      .option('--deny-indicators', 'also fail on supply-chain indicators (without it they are listed as warnings)')
      .option('--deny-unscanned', 'also fail when a crate could not be located or downloaded (listed as unscanned)'),
    lazy('check', 'runCheck', (raw) => ({ strict: !!raw.strict, denyIndicators: !!raw.denyIndicators, denyUnscanned: !!raw.denyUnscanned })),
  );
  register(
    program
      .command('allow')
      .description('generate the allowlist from current findings (prints TOML; --write updates Cargo.toml in place)')
      .option('--write', 'update the allow table in Cargo.toml, keeping every other byte')
      .option('--dry-run', 'print the TOML that --write would write')
      .option('--crate <name>', 'only this crate'),
    lazy('allow', 'runAllow', (raw) => ({ write: !!raw.write, dryRun: !!raw.dryRun, crate: (raw.crate as string | undefined) ?? null })),
  );
  register(
    program
      .command('diff')
      .description('capabilities added and removed by dependency changes since a git revision or an old Cargo.lock')
      .requiredOption('--base <rev-or-lockfile>', 'git revision or path to the old Cargo.lock')
      .option('--fail-on-growth', 'exit 1 when any capability was added'),
    lazy('diff', 'runDiff', (raw) => ({ base: raw.base as string, failOnGrowth: !!raw.failOnGrowth })),
  );
  return program;
}

/**
 * The one-line message of an error the user can act on: our own UserErrors, network failures, and the
 * operating system refusing a file operation (a missing directory for --output, a full disk). Anything
 * else is a bug in cap-scan (null).
 */
function userMessage(err: unknown): string | null {
  if (err instanceof UserError) return err.message;
  if (err instanceof HttpError) return `cannot download ${err.url}: ${err.message.replace(`${err.url}: `, '')} (--offline skips the network; --registry-url or CAP_SCAN_REGISTRY picks a mirror)`;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && err instanceof Error) return err.message;
  return null;
}

/** Entry point. Sets process.exitCode; never exits mid-output. */
export async function main(argv: string[], env: { cargoSubcommand?: boolean } = {}): Promise<void> {
  const args = env.cargoSubcommand && argv[0] === 'cap-scan' ? argv.slice(1) : argv;
  // `cap-scan … | head`: a reader that stops early is not an error (Node would throw EPIPE with a stack)
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  const outputs: { result?: CommandOutput; raw?: RawOptions } = {};
  const debug = args.includes('--debug');
  try {
    const program = buildProgram(outputs);
    await program.parseAsync(args, { from: 'user' });
    const out = outputs.result;
    if (!out) return;
    if (outputs.raw?.output) writeFileSync(outputs.raw.output, out.text);
    else process.stdout.write(out.text);
    process.exitCode = out.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are not errors
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
      return;
    }
    const err = e as Error;
    const user = userMessage(err);
    if (user !== null) process.stderr.write(`cap-scan: error: ${user}\n`);
    else process.stderr.write(`cap-scan: internal error: ${err?.message ?? String(err)}${debug ? '' : ' (run with --debug for details)'}\n`);
    if (debug && err?.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = 2;
  }
}
