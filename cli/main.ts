// spoofscan command-line entry. Each file in cli/commands/ is one command: it exports
// `summary` (one line for the help listing) and `run(argv)` returning an exit code.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EXIT_OK, EXIT_USAGE, printError, reportError } from '../common/errors.ts';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<Command> {
  return (await import(pathToFileURL(join(commandsDir, `${name}.ts`)).href)) as Command;
}

async function help(): Promise<void> {
  console.log('usage: spoofscan <command> [options]\n\ncommands:');
  for (const name of commandNames()) console.log(`  ${name.padEnd(12)} ${(await load(name)).summary}`);
  console.log('\nRun `spoofscan <command> --help` for the options of one command.');
}

/** The package version (package.json next to cli/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await help();
    return name ? EXIT_OK : EXIT_USAGE;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`spoofscan ${version()}`);
    return EXIT_OK;
  }
  if (!commandNames().includes(name)) {
    console.error(`spoofscan: unknown command '${name}'. Known: ${commandNames().join(', ')}`);
    return EXIT_USAGE;
  }
  try {
    return await (await load(name)).run(rest);
  } catch (e) {
    // One line naming the file and the problem; the stack only with SPOOFSCAN_DEBUG=1 (common/errors.ts).
    const r = reportError(e, `spoofscan ${name}`);
    printError(r);
    return r.exitCode;
  }
}
