// spoofscan command-line entry. Each file in cli/commands/ is one command: it exports
// `summary` (one line for the help listing) and `run(argv)` returning an exit code.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await help();
    return name ? 0 : 1;
  }
  if (!commandNames().includes(name)) {
    console.error(`spoofscan: unknown command '${name}'. Known: ${commandNames().join(', ')}`);
    return 2;
  }
  try {
    return await (await load(name)).run(rest);
  } catch (e) {
    // A user-facing error (bad file, bad flag) prints its message only; a bug keeps its stack.
    if (e instanceof Error && (e as { userFacing?: boolean }).userFacing) {
      console.error(`spoofscan ${name}: ${e.message}`);
      return 1;
    }
    // node:util parseArgs rejects unknown or malformed flags with ERR_PARSE_ARGS_* codes: a user error too.
    if (e instanceof Error && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`spoofscan ${name}: ${e.message}\n(spoofscan ${name} --help lists the options)`);
      return 1;
    }
    throw e;
  }
}
