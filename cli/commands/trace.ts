// spoofscan trace [--model CKPT] [--top K] [--threshold τ] [--out FILE] AUDIO|FOLDER…
// Which TTS service (API) made each clip: the tracer's top-k classes with probabilities, or "unseen" when the top
// probability is below the open-set threshold τ (the one chosen on dev and stored in the checkpoint, by default).
import { parseArgs } from 'node:util';
import { initEngine } from '../../engine/node.ts';
import { checkClipOptions, type ClipCrop } from '../../inference/clip.ts';
import { formatTracingScores, SCORE_FORMATS, type ScoreFormat, type TracingRow } from '../../inference/score-writer.ts';
import { traceClip, UNSEEN } from '../../inference/trace.ts';
import { writeFileAtomic } from '../../models/io/atomic-write.node.ts';
import { formatLoadReport, LoadError } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { describeProvenance, readModelInfo } from '../../models/model-info.ts';
import { DEFAULT_OPEN_SET_THRESHOLD } from '../../models/tracer/open-set.ts';
import { TracingModel } from '../../models/tracer/tracing-model.ts';
import { parseWindowLength } from '../../train/data/crop.ts';
import { loadAudio } from '../../train/data/decode.ts';
import { readBytes } from '../../train/data/loader.node.ts';
import { UserError } from '../errors.ts';
import { collectInputs } from '../inputs.ts';
import { defaultModel } from '../pretrained.ts';
import { Progress } from '../progress.ts';
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
    options: {
      model: { type: 'string' },
      top: { type: 'string', default: '3' },
      threshold: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      list: { type: 'string' },
      root: { type: 'string' },
      'list-format': { type: 'string' },
      'skip-bad': { type: 'boolean', default: false },
      crop: { type: 'string', default: 'first' },
      window: { type: 'string' },
      batch: { type: 'string', default: '8' },
      json: { type: 'boolean', default: false },
      ...SHARD_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const format = (values.format ?? (values.json ? 'json' : 'tsv')) as ScoreFormat;
  if (!SCORE_FORMATS.includes(format)) throw new UserError(`--format must be ${SCORE_FORMATS.join(', ')}, not "${values.format}"`);
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new UserError(`--top must be a positive integer, not "${values.top}"`);
  const given = values.threshold === undefined ? undefined : Number(values.threshold);
  if (given !== undefined && !(given >= 0 && given <= 1)) throw new UserError(`--threshold must be a probability in [0, 1], not "${values.threshold}"`);
  if (values.window !== undefined && values.crop !== 'windows') throw new UserError('--window applies to --crop windows only');
  let clip;
  try {
    clip = checkClipOptions({ crop: values.crop as ClipCrop, window: parseWindowLength(values.window), batch: Number(values.batch) });
  } catch (e) {
    throw new UserError(`--${(e as Error).message}`);
  }
  const inputs = await collectInputs({ paths: positionals, list: values.list, root: values.root, format: values['list-format'], skipBad: values['skip-bad'] });
  const plan = planShard(values, inputs.items);
  const out = plan.out;
  const saved = plan.resumable ? await ResumableScoreFile.open({ out: out!, format, ids: plan.items.map((x) => x.item.id), tag: plan.tag, saveEvery: plan.saveEvery }) : null;
  if (saved?.resumed) console.error(`resuming ${out}: ${saved.resumed} of ${plan.items.length} already traced`);
  if (saved && saved.todo.length === 0) {
    await saved.finish();
    console.error(`${out}: all ${plan.items.length} inputs already traced; nothing to do`);
    return 0;
  }
  const modelPath = values.model ?? defaultModel('tracer');

  await initEngine();
  const source = await fileSource(modelPath);
  let model: TracingModel;
  let info;
  try {
    const opened = await TracingModel.open(source);
    model = opened.model;
    info = readModelInfo(opened.weights.metadata ?? undefined, modelPath);
    if (!values.json) console.error(formatLoadReport(opened.weights.report));
  } catch (e) {
    if (e instanceof LoadError) console.error(formatLoadReport(e.report));
    throw e;
  } finally {
    await source.close();
  }
  console.error(`model: ${modelPath} — ${describeProvenance(info)}`);
  if (info.task === 'detect') {
    model.dispose();
    throw new UserError(`${modelPath} is a bona fide / spoof detector; use spoofscan score`);
  }
  const threshold = given ?? info.threshold ?? DEFAULT_OPEN_SET_THRESHOLD;
  const names = info.classes;
  const rows: (TracingRow & { top: { name: string; prob: number }[] })[] = [];
  const skipped = [...inputs.skipped];
  const classNames = Array.from({ length: model.classes }, (_, k) => names?.[k] ?? `class ${k}`);
  const todo = saved ? plan.items.filter((x) => !saved.has(x.item.id)) : plan.items;
  const progress = todo.length > 1 ? new Progress('trace', todo.length, 'files') : null;
  saved?.setLayout(formatTracingScores([], classNames, threshold, format));
  try {
    for (const { item: it } of todo) {
      try {
        const { samples } = await loadAudio(await readBytes(it.path), it.path);
        const r = await traceClip(model, samples, { ...clip, threshold, names, top }, it.path);
        rows.push({ id: it.id, predicted: r.prediction.predicted, label: r.label, probs: r.prediction.probs, top: r.ranked.map(({ name, prob }) => ({ name, prob })) });
        if (saved) await saved.add(it.id, formatTracingScores(rows.slice(-1), classNames, threshold, format));
      } catch (e) {
        if (!values['skip-bad'] || !(e as { userFacing?: boolean }).userFacing) throw e;
        skipped.push({ path: it.path, reason: (e as Error).message });
      }
      progress?.tick();
    }
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
    try {
      await writeFileAtomic(out, formatTracingScores(rows, classNames, threshold, format));
    } catch (e) {
      throw new UserError(`${out}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
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
  if (skipped.length) {
    console.error(`skipped ${skipped.length} input(s):`);
    for (const s of skipped) console.error(`  ${s.path}: ${s.reason}`);
  }
  return 0;
}
