// The example files of docs/metrics.md: a synthetic ASVspoof 2019 LA-style dev and eval set (protocols and
// score files), the tracing vectors of the spec, and two broken score files for the error examples.
// docs.test.ts regenerates them and checks every `console` block of the page against real output.
//   npx tsx test/metrics/example-files.ts DIR     writes the files into DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../../engine/random.ts';

const rng = mulberry32;

/** One split: bona fide ~ N(2, 1.2); each attack's spoof ~ N(mean, 1.3); scores rounded to 4 decimals. */
function split(first: number, seed: number, attacks: [string, number][], nBona: number, nPerAttack: number) {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const protocol: string[] = [];
  const scores: string[] = ['# score_type=logit_diff'];
  let id = first;
  const add = (speaker: string, attack: string, key: string, score: number) => {
    protocol.push(`${speaker} LA_E_${id} - ${attack} ${key}`);
    scores.push(`LA_E_${id} ${score.toFixed(4)}`);
    id++;
  };
  for (let i = 0; i < nBona; i++) add(`LA_${String(1 + (i % 30)).padStart(4, '0')}`, '-', 'bonafide', 2 + 1.2 * normal());
  for (const [attack, mean] of attacks) {
    for (let i = 0; i < nPerAttack; i++) add(`LA_${String(31 + (i % 30)).padStart(4, '0')}`, attack, 'spoof', mean + 1.3 * normal());
  }
  return { protocol: protocol.join('\n') + '\n', scores: scores.join('\n') + '\n' };
}

// spec §7 tracing vectors: truth, then the probabilities over K = 3 seen classes (label 3 = unseen)
export const TRACE: [number, number[]][] = [
  [0, [0.95, 0.03, 0.02]],
  [0, [0.4, 0.35, 0.25]],
  [1, [0.1, 0.8, 0.1]],
  [1, [0.1, 0.3, 0.6]],
  [2, [0.02, 0.03, 0.95]],
  [3, [0.45, 0.4, 0.15]],
  [3, [0.2, 0.7, 0.1]],
  [3, [0.34, 0.33, 0.33]],
  [2, [0.2, 0.1, 0.7]],
];

/** Writes the example files into `dir`; returns their names. */
export function writeExampleFiles(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  const dev = split(2000000, 11, [['A01', -1.5], ['A02', -2], ['A03', -0.5], ['A04', -1]], 300, 150);
  const evl = split(1000000, 12, [['A07', -1.5], ['A08', -1.2], ['A16', -0.3], ['A19', 1.2]], 300, 150);
  files['ASVspoof2019.LA.cm.dev.trl.txt'] = dev.protocol;
  files['scores_dev.txt'] = dev.scores;
  files['ASVspoof2019.LA.cm.eval.trl.txt'] = evl.protocol;
  files['scores_eval.txt'] = evl.scores;
  const evalLines = evl.scores.split('\n');
  files['bad.txt'] = [evalLines[1], evalLines[2].replace(/\S+$/, 'abc'), evalLines[3]].join('\n') + '\n';
  files['partial.txt'] = [evalLines[1], evalLines[2], 'LA_E_9 0.5'].join('\n') + '\n';
  // scorer's class column = argmax (no open-set rule applied yet)
  files['trace_scores.txt'] = TRACE.map(([, p], i) => `clip${i + 1} ${p.indexOf(Math.max(...p))} ${p.join(' ')}`).join('\n') + '\n';
  files['trace_list.txt'] = TRACE.map(([t], i) => `apis/clip${i + 1}.wav ${t}`).join('\n') + '\n';
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return Object.keys(files);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx test/metrics/example-files.ts DIR');
    process.exit(2);
  }
  for (const f of writeExampleFiles(dir)) console.log(join(dir, f));
}
