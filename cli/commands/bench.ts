// spoofscan bench NAME [options]: runs the benchmark bench/NAME.ts. A benchmark module exports
// `summary`, `usage` and `run(argv)` (bench/matmul.ts); adding bench/<name>.ts adds
// `spoofscan bench <name>`. A plain script there (no `run` export) is run in a child process
// with the remaining arguments. Sources are only read, never imported, to list them: importing
// a script would run it.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../../common/errors.ts';

export const summary = 'run a benchmark (matmul, conv, local-attention, xlsr, metrics) side by side; table + JSON with adapter info';

interface BenchModule {
  summary: string;
  usage?: string;
  run(argv: string[]): Promise<number>;
}

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');

interface BenchEntry {
  name: string;
  file: string;
  isModule: boolean;
  summary: string;
}

function benches(): BenchEntry[] {
  return readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => {
      const file = join(benchDir, f);
      const src = readFileSync(file, 'utf8');
      const isModule = /export\s+async\s+function\s+run\s*\(/.test(src);
      const declared = /export\s+const\s+summary\s*=\s*(['"`])(.*?)\1/.exec(src)?.[2];
      const firstComment = /^\/\/\s*(.*)$/m.exec(src)?.[1];
      return { name: f.slice(0, -3), file, isModule, summary: declared ?? firstComment ?? '' };
    });
}

function help(): void {
  console.log('usage: spoofscan bench <benchmark> [options]\n\nbenchmarks:');
  for (const b of benches()) console.log(`  ${b.name.padEnd(16)} ${b.summary}`);
  console.log('\nRun `spoofscan bench <benchmark> --help` for its options. Results: bench/results/, docs/bench.md.');
}

function runScript(file: string, argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...argv], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    help();
    return name ? 0 : 1;
  }
  const entry = benches().find((b) => b.name === name);
  if (!entry) throw new UserError(`unknown benchmark '${name}'. Known: ${benches().map((b) => b.name).join(', ')}`);
  if (!entry.isModule) return runScript(entry.file, rest);
  const mod = (await import(pathToFileURL(entry.file).href)) as BenchModule;
  return mod.run(rest);
}
