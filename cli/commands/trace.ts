// spoofscan trace [--model CKPT] [--top K] [--threshold τ] [--out FILE] AUDIO|FOLDER…
// Which TTS service (API) made each clip: the tracer's top-k classes with probabilities, or "unseen" when the top
// probability is below the open-set threshold τ (the one chosen on dev and stored in the checkpoint, by default).
import { parseArgs } from 'node:util';
import { formatTracingScores, type TracingRow } from '../../inference/score-writer.ts';
import { traceClip, UNSEEN } from '../../inference/trace.ts';
import { DEFAULT_OPEN_SET_THRESHOLD } from '../../models/tracer/open-set.ts';
import { TracingModel } from '../../models/tracer/tracing-model.ts';
import { loadAudioFile } from '../../train/data/read-audio.node.ts';
import { UserError } from '../../common/errors.ts';
import { checkHeaders } from '../inputs.ts';
import { CLIP_COMMAND_OPTIONS, clipCommandSetup, forEachInput, openCheckpointModel, reportSkipped, writeScoreFile } from '../clip-command.ts';
import { Progress } from '../../common/progress.ts';
import { planShard, ResumableScoreFile, SHARD_HELP, SHARD_OPTIONS } from '../shard-output.ts';

export const summary = 'API tracing: which TTS service made each clip (top-k with probabilities, or "unseen")';

const HELP = `usage: spoofscan trace [--model CKPT] [--top K] [--threshold T] [--out FILE] [--format tsv|csv|json]
                       [--list FILE --root DIR] [--skip-bad] [--crop first|full|windows] [--window N] [--json]
                       [--shard i/N|auto [--shards N]] [--resume] [--save-every K]
                       AUDIO|FOLDER...

Runs an API tracer (XLS-R + a tracing head, from spoofscan train --task trace) on each clip: the top K classes
(APIs) with their softmax probabilities, and the verdict: the top class, or "unseen" when its probability is
below the open-set threshold T (default: the T chosen on dev and stored in the checkpoint; else 0.5). Without
--model the bundled demo tracer is used (a toy trained on data/mini). Class names come from the checkpoint.

options:
  --model CKPT        a tracer checkpoint (.safetensors from spoofscan train, or the reference tracer .pth)
  --top K             classes listed per clip (default 3)
  --threshold T       open-set threshold in [0, 1]
  --out FILE          write a score file (id, predicted class index, one probability per class) that
                      spoofscan eval --task trace reads; --format tsv|csv|json (default tsv)
  --list FILE --root DIR, --skip-bad, --crop, --window, --batch: as in spoofscan score (default --crop first)
  --json              JSON on stdout
${SHARD_HELP}
  -h, --help          this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIP_COMMAND_OPTIONS, ...SHARD_OPTIONS, top: { type: 'string', default: '3' }, threshold: { type: 'string' } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new UserError(`--top must be a positive integer, not "${values.top}"`);
  const given = values.threshold === undefined ? undefined : Number(values.threshold);
  if (given !== undefined && !(given >= 0 && given <= 1)) throw new UserError(`--threshold must be a probability in [0, 1], not "${values.threshold}"`);
  const { format, clip, inputs } = await clipCommandSetup(values, positionals);
  const plan = planShard(values, inputs.items);
  const out = plan.out;
  const saved = plan.resumable ? await ResumableScoreFile.open({ out: out!, format, ids: plan.items.map((x) => x.item.id), tag: plan.tag, saveEvery: plan.saveEvery }) : null;
  if (saved?.resumed) console.error(`resuming ${out}: ${saved.resumed} of ${plan.items.length} already traced`);
  if (saved && saved.todo.length === 0) {
    await saved.finish();
    console.error(`${out}: all ${plan.items.length} inputs already traced; nothing to do`);
    return 0;
  }
  // Every file this run reads, and its header, is checked before the model loads (--skip-bad: listed and skipped).
  const checked = await checkHeaders((saved ? plan.items.filter((x) => !saved.has(x.item.id)) : plan.items).map((x) => x.item), Boolean(values['skip-bad']));
  const skipped = [...inputs.skipped, ...checked.skipped];
  const todo = checked.items;
  const { model, info, path: modelPath } = await openCheckpointModel(values.model, 'tracer', (s) => TracingModel.open(s), !values.json);
  if (info.task === 'detect') {
    model.dispose();
    throw new UserError(`${modelPath} is a bona fide / spoof detector; use spoofscan score`);
  }
  const threshold = given ?? info.threshold ?? DEFAULT_OPEN_SET_THRESHOLD;
  const names = info.classes;
  const classNames = Array.from({ length: model.classes }, (_, k) => names?.[k] ?? `class ${k}`);
  const rows: (TracingRow & { top: { name: string; prob: number }[] })[] = [];
  const progress = todo.length > 1 ? new Progress('trace', todo.length, 'files') : null;
  saved?.setLayout(formatTracingScores([], classNames, threshold, format));
  try {
    await forEachInput(todo, values['skip-bad'], skipped, async (it) => {
      const { samples } = await loadAudioFile(it.path);
      const r = await traceClip(model, samples, { ...clip, threshold, names, top }, it.path);
      rows.push({ id: it.id, predicted: r.prediction.predicted, label: r.label, probs: r.prediction.probs, top: r.ranked.map(({ name, prob }) => ({ name, prob })) });
      if (saved) await saved.add(it.id, formatTracingScores(rows.slice(-1), classNames, threshold, format));
    }, () => progress?.tick());
  } catch (e) {
    await saved?.flush().catch(() => undefined);
    throw e;
  } finally {
    model.dispose();
  }
  if (saved) {
    const n = await saved.finish();
    console.error(`wrote ${n} predictions to ${out} (${rows.length} new, ${saved.resumed} resumed)`);
  } else if (out) {
    await writeScoreFile(out, formatTracingScores(rows, classNames, threshold, format));
    console.error(`wrote ${rows.length} predictions to ${out}`);
  } else if (format === 'json') console.log(JSON.stringify({ threshold, classes: classNames, trials: rows }, null, 1));
  else {
    const width = Math.max(4, ...rows.map((r) => r.id.length));
    console.log(`${'file'.padEnd(width)}  ${'verdict'.padEnd(16)}  top ${top}`);
    for (const r of rows) {
      const verdict = r.label === UNSEEN ? 'unseen API' : r.label;
      console.log(`${r.id.padEnd(width)}  ${verdict.padEnd(16)}  ${r.top.map((t) => `${t.name} ${(100 * t.prob).toFixed(1)}%`).join(', ')}`);
    }
    console.error(`open-set threshold τ = ${threshold}${given === undefined && info.threshold !== undefined ? ' (chosen on dev, from the checkpoint)' : ''}: top probability below τ → unseen`);
  }
  reportSkipped(skipped);
  return 0;
}
