// Command-line interface. Commands return text and an exit code; nothing calls process.exit mid-output.

import { writeFileSync, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { commands } from './commands/index.js';
import { parseFilter } from './report/filter.js';
import { ProgressLine } from './scan/progress.js';
import { getReporter } from './commands/lazy.js';
import { FORMAT_NAMES } from './report/formats.js';
import { defaultScanOptions, type CommandOutput, type CommonOptions, type ScanOptions } from './options.js';
import { UserError } from './types.js';
import { checkTargets, KNOWN_TARGETS } from './project/targets.js';
import { editDistance } from './util/edit-distance.js';

interface RawOptions {
  manifestPath?: string;
  format: string;
  output?: string;
  verbose?: boolean;
  includeDev?: boolean;
  allTargets?: boolean;
  offline?: boolean;
  locked?: boolean;
  target?: string[];
  frozen?: boolean;
  jobs?: string;
  cache?: boolean;
  cacheDir?: string;
  registryUrl?: string;
  allowUnverified?: boolean;
  color: string;
  debug?: boolean;
  crate: string[];
  capability: string[];
  quiet?: boolean;
  remoteCache?: string;
  remoteCacheReadOnly?: boolean;
}

const FORMATS = FORMAT_NAMES.join(', ');

/** The version in package.json (read here: the scan session, which also reads it, is loaded only to scan). */
function toolVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** Accumulates a repeatable option's values. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function addCommonOptions(cmd: Command, formats: readonly string[] | null): Command {
  return cmd
    .option('--manifest-path <path>', 'path to Cargo.toml or its directory (default: the nearest Cargo.toml from the current directory upward, as cargo finds it)')
    .option('-f, --format <format>', `output format: ${formats ? formats.join(', ') : FORMATS}`, 'human')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('-v, --verbose', 'show evidence: file:line and the matched path of every finding')
    .option('--include-dev', 'also scan packages reached only through dev-dependencies')
    .option('--all-targets', "also scan dependencies' tests, examples, benches, binaries and cfg(test) code")
    .option('--offline', 'never use the network; crates missing locally are listed as unscanned')
    .option('--target <triple>', `only dependencies this target builds (repeatable; default: the policy's targets, else all). Known: ${KNOWN_TARGETS.join(', ')}`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--locked', 'fail (exit 2) when Cargo.lock does not satisfy the manifests, naming the manifest line (as cargo --locked)')
    .option('--frozen', '--locked and --offline (as in cargo)')
    .option('-j, --jobs <n>', 'parallel parsing workers (default: number of cores)')
    .option('--no-cache', 'do not read or write the result cache')
    .option('--cache-dir <dir>', 'cache directory (default: $XDG_CACHE_HOME/cap-scan or ~/.cache/cap-scan)')
    .option('--remote-cache <url>', 'shared result cache read after the local one: GET/PUT <url>/<key>; entries are HMAC-signed with CAP_SCAN_CACHE_KEY (env CAP_SCAN_REMOTE_CACHE; policy remote-cache)')
    .option('--remote-cache-read-only', 'download from the remote cache, never upload (env CAP_SCAN_REMOTE_CACHE_READ_ONLY=1)')
    .option('--registry-url <url>', 'sparse registry index to download from (env CAP_SCAN_REGISTRY)')
    .option('--allow-unverified', 'unpack downloaded crates that have no checksum in Cargo.lock')
    .option('--crate <name[@version]>', 'only report this crate (repeatable)', collect, [])
    .option('--capability <id|kind>', 'only report this capability, e.g. net, or kind, e.g. net.connect (repeatable)', collect, [])
    .addOption(new Option('--color <when>', 'colorize output').choices(['auto', 'always', 'never']).default('auto'))
    .option('-q, --quiet', 'no progress line and no warnings on stderr (errors are still printed)')
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

async function toOptions(raw: RawOptions): Promise<CommonOptions> {
  let jobs = 0;
  if (raw.jobs !== undefined) {
    jobs = Number(raw.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UserError(`--jobs must be a whole number from 1 to 256, got '${raw.jobs}'`);
  }
  await getReporter(raw.format); // validates the name
  // a report that cannot be written should fail now, not after a 30 s scan
  if (raw.output !== undefined) {
    const dir = dirname(resolve(raw.output));
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new UserError(`cannot write --output ${raw.output}: directory ${dir} does not exist`);
  }
  const toTty = raw.output === undefined && process.stdout.isTTY === true;
  const color = raw.color === 'always' || (raw.color === 'auto' && toTty && !process.env.NO_COLOR);
  const scan: ScanOptions = defaultScanOptions({
    manifestPath: raw.manifestPath ?? findManifest(process.cwd()),
    includeDev: !!raw.includeDev,
    allTargets: !!raw.allTargets,
    offline: !!raw.offline || !!raw.frozen,
    locked: !!raw.locked || !!raw.frozen,
    targets: raw.target && raw.target.length ? checkTargets(raw.target) : null,
    jobs,
    cache: raw.cache !== false,
    cacheDir: raw.cacheDir ?? null,
    registryUrl: raw.registryUrl ?? null,
    allowUnverified: !!raw.allowUnverified,
    ...remoteCacheOptions(raw),
    ...(raw.quiet ? { quiet: true } : { warn: warner() }),
    // the scan's progress line: on a terminal only, and not with -q
    ...(process.stderr.isTTY === true && !raw.quiet ? { progress: new ProgressLine(process.stderr) } : {}),
  });
  const filter = parseFilter(raw.crate ?? [], raw.capability ?? []);
  return { ...scan, format: raw.format, verbose: !!raw.verbose, color, filter };
}

/** --remote-cache, else CAP_SCAN_REMOTE_CACHE (the policy's remote-cache is read once the project is loaded). */
function remoteCacheOptions(raw: RawOptions): Pick<ScanOptions, 'remoteCache' | 'remoteCacheReadOnly'> {
  const env = process.env.CAP_SCAN_REMOTE_CACHE;
  const remoteCache =
    raw.remoteCache !== undefined ? { url: raw.remoteCache, where: '--remote-cache' } : env ? { url: env, where: 'CAP_SCAN_REMOTE_CACHE' } : null;
  const ro = process.env.CAP_SCAN_REMOTE_CACHE_READ_ONLY;
  return { remoteCache, remoteCacheReadOnly: !!raw.remoteCacheReadOnly || (ro !== undefined && ro !== '' && ro !== '0') };
}

/** Warnings on stderr, each message once per run (a diff scans twice); clears a progress line first. */
function warner(): (message: string) => void {
  const said = new Set<string>();
  return (message) => {
    if (said.has(message)) return;
    said.add(message);
    process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}cap-scan: warning: ${message}\n`);
  };
}

const HELP_EPILOG = `
Capabilities: fs, net, process, env, ffi, unsafe, link, build-script, proc-macro (kinds: cap-scan rules).
Phases: runtime (library code in your program), build (build scripts, proc-macros and what only they use).

Filters (every command and format, JSON included; repeat a flag for several values):
  --crate NAME[@VERSION]     only these crates (an unknown name is an error)
  --capability ID|KIND       only these capabilities (net) or kinds (net.connect): a crate is kept when
                             it has one; its findings narrow to them; check and diff judge what is shown

Remote result cache (a CI fleet; README "Scaling out"):
  --remote-cache URL         GET/PUT URL/<key> after the local cache (env CAP_SCAN_REMOTE_CACHE, or
                             remote-cache = "URL" in [workspace.metadata.cap-scan])
  CAP_SCAN_CACHE_KEY=SECRET  HMAC key every remote entry (and every batch result) is signed and verified
                             with; without it the remote is not used. --remote-cache-read-only: never upload

Exit codes: 0 ok; 1 check/diff found something not allowed; 2 error (one line on stderr).

Examples:
  cap-scan                                   scan the workspace in the current directory
  cap-scan --manifest-path path/Cargo.toml -v
  cap-scan crate vendor/some-crate           scan one unpacked crate
  cap-scan check --locked --format sarif -o cap-scan.sarif
  cap-scan allow --write                     record today's capabilities (never accepts indicators)
  cap-scan diff --base origin/main --fail-on-growth
  cap-scan why mio net                       how mio is reached from the members, and its net evidence
`;

export function buildProgram(outputs: { result?: CommandOutput; raw?: RawOptions }): Command {
  const program = new Command('cap-scan')
    .description('Static capability scanner for Rust dependencies: what each crate can do, checked against an allowlist in Cargo.toml.')
    .version(toolVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`cap-scan: ${str}`) })
    .addHelpText('after', HELP_EPILOG)
    .exitOverride();

  for (const def of commands) {
    const cmd = def.configure(program.command(def.name, { isDefault: def.isDefault }).description(def.description));
    addCommonOptions(cmd, def.formats).action(async (...a: unknown[]) => {
      const command = a[a.length - 1] as Command;
      const raw = command.opts() as RawOptions & Record<string, unknown>;
      outputs.raw = raw;
      outputs.result = await def.action(await toOptions(raw), command.args, raw);
    });
    cmd.exitOverride();
  }
  return program;
}

/**
 * The one-line message of an error the user can act on: our own UserErrors, network failures, and the
 * operating system refusing a file operation (a missing directory for --output, a full disk). Anything
 * else is a bug in cap-scan (null).
 */
async function userMessage(err: unknown): Promise<string | null> {
  if (err instanceof UserError) return err.message;
  // loaded only now: a download failure has loaded it already, and a --version run never does
  const { HttpError } = await import('./sources/download.js');
  if (err instanceof HttpError) return `cannot download ${err.url}: ${err.message.replace(`${err.url}: `, '')} (--offline skips the network; --registry-url or CAP_SCAN_REGISTRY picks a mirror)`;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && err instanceof Error) return err.message;
  return null;
}

/** Entry point. Sets process.exitCode (once, here); never exits mid-output. */
export async function main(argv: string[], env: { cargoSubcommand?: boolean } = {}): Promise<void> {
  process.exitCode = await run(env.cargoSubcommand && argv[0] === 'cap-scan' ? argv.slice(1) : argv);
}

/**
 * `cap-scan chek`: the default command (scan) takes no argument, so commander said "too many arguments
 * for 'scan'". A first word that is no command is an unknown command, with the nearest one suggested.
 */
function unknownCommand(args: string[]): string | null {
  const first = args[0];
  if (first === undefined || first.startsWith('-')) return null;
  const names = commands.map((c) => c.name.split(' ')[0]!);
  if (names.includes(first) || first === 'help') return null;
  const near = names.map((n) => [n, editDistance(first, n)] as const).sort((a, b) => a[1] - b[1])[0];
  return `unknown command '${first}'${near && near[1] <= 2 ? `; did you mean ${near[0]}?` : ` (commands: ${names.join(', ')})`}`;
}

/** Parses and runs a command line, writes its output; the exit code: 0 ok, 1 from a command, 2 error. */
async function run(args: string[]): Promise<number> {
  // `cap-scan … | head`: a reader that stops early is not an error (Node would throw EPIPE with a stack)
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  const outputs: { result?: CommandOutput; raw?: RawOptions } = {};
  const debug = args.includes('--debug');
  try {
    const unknown = unknownCommand(args);
    if (unknown) {
      process.stderr.write(`cap-scan: error: ${unknown}\n(run with --help for usage)\n`);
      return 2;
    }
    const program = buildProgram(outputs);
    await program.parseAsync(args, { from: 'user' });
    const out = outputs.result;
    if (!out) return 0;
    const data = out.bytes ?? out.text;
    if (outputs.raw?.output) writeFileSync(outputs.raw.output, data);
    else process.stdout.write(data);
    return out.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are not errors
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
    }
    const err = e as Error;
    const user = await userMessage(err);
    if (user !== null) process.stderr.write(`cap-scan: error: ${user}\n`);
    else process.stderr.write(`cap-scan: internal error: ${err?.message ?? String(err)}${debug ? '' : ' (run with --debug for details)'}\n`);
    if (debug && err?.stack) process.stderr.write(err.stack + '\n');
    return 2;
  }
}
