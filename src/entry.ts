// Process entry (bin/ imports this): `cap-scan --version` answers from package.json alone, before the
// command-line parser and the commands are loaded (issue 17: ≤ 1.5× a bare `node -e ''`); every other
// command line goes to cli.ts, which loads the scan session, the reporters and the parser only when a
// command needs them.

import { readFileSync } from 'node:fs';

/** `--version` or `-V` alone (what commander would answer with the version line, exit 0). */
export function isVersionOnly(args: readonly string[]): boolean {
  return args.length === 1 && (args[0] === '--version' || args[0] === '-V');
}

export async function main(argv: string[], env: { cargoSubcommand?: boolean } = {}): Promise<void> {
  const args = env.cargoSubcommand && argv[0] === 'cap-scan' ? argv.slice(1) : argv;
  if (isVersionOnly(args)) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    process.exitCode = 0;
    return;
  }
  await (await import('./cli.js')).main(argv, env);
}
