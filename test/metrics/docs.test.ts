// docs/metrics.md shows real commands with real output: every ```console block is run here, command by
// command, in a folder holding the example files (example-files.ts), and its output must match the page.
// A line that is exactly "…" in the page stands for any number of lines.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExampleFiles } from './example-files.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-metrics-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Step {
  command: string;
  expected: string[];
}

/** The `$ command` lines of each console block, with the output lines that follow them. */
function consoleBlocks(markdown: string): Step[][] {
  const blocks: Step[][] = [];
  let cur: Step[] | null = null;
  for (const line of markdown.split('\n')) {
    if (cur === null) {
      if (line.trim() === '```console') cur = [];
      continue;
    }
    if (line.trim() === '```') {
      blocks.push(cur);
      cur = null;
    } else if (line.startsWith('$ ')) cur.push({ command: line.slice(2), expected: [] });
    else if (cur.length > 0) cur[cur.length - 1].expected.push(line);
  }
  return blocks;
}

/** Whether `actual` matches `expected`, where an expected line "…" matches any run of lines. */
function matchesWithEllipsis(expected: string[], actual: string[]): boolean {
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === expected.length) r = j === actual.length;
    else if (expected[i] === '…') r = go(i + 1, j) || (j < actual.length && go(i, j + 1));
    else r = j < actual.length && expected[i] === actual[j] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

function sh(command: string): string[] {
  const script = `spoofscan() { "${process.execPath}" "${join(ROOT, 'bin/spoofscan.mjs')}" "$@"; }\n${command} 2>&1`;
  const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const lines = r.stdout.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

describe('docs/metrics.md', () => {
  it('the ellipsis matcher', () => {
    expect(matchesWithEllipsis(['a', '…', 'd'], ['a', 'b', 'c', 'd'])).toBe(true);
    expect(matchesWithEllipsis(['a', '…'], ['a'])).toBe(true);
    expect(matchesWithEllipsis(['a', 'd'], ['a', 'b', 'd'])).toBe(false);
    expect(matchesWithEllipsis(['a', '…', 'x'], ['a', 'b'])).toBe(false);
  });

  it('every console block prints what the page shows', { timeout: 120_000 }, () => {
    writeExampleFiles(dir);
    const blocks = consoleBlocks(readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    let commands = 0;
    for (const block of blocks) {
      for (const step of block) {
        const expected = [...step.expected];
        while (expected.length > 0 && expected[expected.length - 1] === '') expected.pop();
        const actual = sh(step.command);
        commands++;
        if (!matchesWithEllipsis(expected, actual)) {
          // show the whole difference
          expect(`$ ${step.command}\n${actual.join('\n')}`).toBe(`$ ${step.command}\n${expected.join('\n')}`);
        }
      }
    }
    expect(commands).toBeGreaterThanOrEqual(10);
  });
});
