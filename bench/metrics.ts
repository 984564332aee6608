// `spoofscan bench metrics`: timing of the detection and tracing metrics on large synthetic score sets
// (O(N log N) check). Prints a table and one JSON line. Timings are measurements, never test assertions.

import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { UserError } from '../common/errors.ts';
import { mulberry32 } from '../engine/random.ts';
import {
  detectionBreakdown,
  detectionMetrics,
  fitCalibration,
  sortedScores,
  tracingMetrics,
} from '../train/metrics/index.ts';

export const summary = 'detection and tracing metrics on millions of synthetic trials (EER, DCFs, Cllr, breakdown, calibration)';

export const usage = `usage: spoofscan bench metrics [--trials N] [--groups G] [--decimals D] [--quick]

  --trials N      trials (default 10,000,000; 10 % bona fide)
  --groups G      attack groups of the spoof trials (default 30)
  --decimals D    round scores to D decimals, as real score files do (default 3; D < 0: no rounding, no ties)
  --quick         100,000 trials (a smoke run)`;

const rng = mulberry32;

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, (performance.now() - t0) / 1000];
}


function count(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new UserError(`bench metrics: --${what} must be an integer, not '${text}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { trials: { type: 'string' }, groups: { type: 'string' }, decimals: { type: 'string' }, quick: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const N = values.quick ? 100_000 : count(values.trials, 10_000_000, 'trials');
  const G = count(values.groups, 30, 'groups');
  const D = count(values.decimals, 3, 'decimals');
  if (N < 10 || G < 1) throw new UserError('bench metrics: needs at least 10 trials and 1 group');
  const q = D >= 0 ? (x: number) => Math.round(x * 10 ** D) / 10 ** D : (x: number) => x;
  const nb = Math.round(N * 0.1);
  const ns = N - nb;
  const r = rng(1234);
  // bona fide ~ N(2, 1), spoof ~ N(−2, 1.5); rounded to D decimals (default 3: many ties, as in real score files)
  const bonafide = new Float64Array(nb);
  const spoof = new Float64Array(ns);
  const groups: string[] = new Array(ns);
  const groupNames = Array.from({ length: G }, (_, g) => `api${g}`);
  for (let i = 0; i < nb; i++) bonafide[i] = q(2 + gaussian(r));
  for (let i = 0; i < ns; i++) {
    spoof[i] = q(-2 + 1.5 * gaussian(r));
    groups[i] = groupNames[i % G];
  }

  const rows: [string, number, string][] = [];
  const [, tSort] = time(() => {
    sortedScores(bonafide);
    sortedScores(spoof);
  });
  rows.push(['sort both classes (Float64Array.sort)', tSort, `${N} trials`]);
  const [m, tAll] = time(() => detectionMetrics(bonafide, spoof));
  rows.push(['all detection metrics (EER, ROCCH, DCFs, Cllr, t-DCF)', tAll, `EER ${(m.eer * 100).toFixed(4)} %, ${m.nUnique} unique scores`]);
  const [bd, tBd] = time(() => detectionBreakdown(bonafide, spoof, groups, { unseen: ['api0', 'api1'] }));
  rows.push([`breakdown: overall + ${G} groups + seen/unseen`, tBd, `${Object.keys(bd.perGroup).length} groups`]);
  const [cal, tCal] = time(() => fitCalibration(bonafide, spoof));
  rows.push(['calibration fit (Newton, logistic regression)', tCal, `${cal.iterations} iterations, a ${cal.a.toFixed(4)}, c ${cal.c.toFixed(4)}`]);
  const K = 21;
  const truth = new Int32Array(N);
  const pred = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    truth[i] = Math.floor(r() * (K + 1));
    pred[i] = r() < 0.8 ? truth[i] : Math.floor(r() * (K + 1));
  }
  const [tm, tTrace] = time(() => tracingMetrics(truth, pred, K));
  rows.push([`tracing metrics (${K} + 1 classes)`, tTrace, `accuracy ${tm.accuracy.toFixed(4)}`]);

  const w = Math.max(...rows.map((x) => x[0].length));
  const load = loadavg()[0];
  console.log(
    `spoofscan metrics bench: ${N.toLocaleString('en')} trials (${nb.toLocaleString('en')} bona fide, ${ns.toLocaleString('en')} spoof), ` +
      `node ${process.version}, ${availableParallelism()} CPUs, load average ${load.toFixed(1)} (timings scale with machine load)`,
  );
  console.log(`${'step'.padEnd(w)}  seconds  note`);
  console.log(`${'-'.repeat(w)}  -------  ----`);
  for (const [name, s, note] of rows) console.log(`${name.padEnd(w)}  ${s.toFixed(3).padStart(7)}  ${note}`);
  console.log(
    JSON.stringify({
      bench: 'metrics',
      trials: N,
      decimals: D,
      node: process.version,
      cpus: availableParallelism(),
      load_average_1min: load,
      seconds: {
        sort: tSort,
        detection_metrics: tAll,
        breakdown: tBd,
        calibration_fit: tCal,
        tracing_metrics: tTrace,
      },
      eer: m.eer,
      groups: G,
    }),
  );
  return 0;
}
