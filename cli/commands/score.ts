// spoofscan score [--model CKPT] [--list FILE --root DIR] [--out FILE] [--format tsv|csv|json] AUDIO|FOLDER…
// Eval-mode bona fide scores of the XLS-R → Nes2Net detector (score = logit of class 1; higher = more bona fide),
// written as a score file that `spoofscan eval` and `calibrate` read back by column name.
import { parseArgs } from 'node:util';
import type { ClipCrop } from '../../inference/clip.ts';
import { scoreClip } from '../../inference/detect.ts';
import { formatDetectionScores, type DetectionRow } from '../../inference/score-writer.ts';
import { Detector } from '../../models/detector.ts';
import { receptiveField } from '../../models/xlsr/config.ts';
import { CROP_LENGTH } from '../../train/data/crop.ts';
import { loadAudioFile } from '../../train/data/read-audio.node.ts';
import { UserError } from '../../common/errors.ts';
import { checkHeaders } from '../inputs.ts';
import { CLIP_COMMAND_OPTIONS, clipCommandSetup, forEachInput, openCheckpointModel, reportSkipped, writeScoreFile } from '../clip-command.ts';
import { Progress } from '../../common/progress.ts';
import { planShard, ResumableScoreFile, SHARD_HELP, SHARD_OPTIONS } from '../shard-output.ts';

export const summary = 'score audio with a detector: bona fide score per file, a score file for eval (default: the bundled demo model)';

const HELP = `usage: spoofscan score [--model CKPT] [--out FILE] [--format tsv|csv|json] [--threshold T] [--llr]
                       [--list FILE --root DIR] [--skip-bad] [--crop first|full|windows] [--window N] [--batch N]
                       [--shard i/N|auto [--shards N]] [--resume] [--save-every K]
                       AUDIO|FOLDER...

Scores each audio file (WAV, FLAC or MP3; mixed to mono, resampled to 16 kHz, never normalised) with the
detector in CKPT, in eval mode: score = logit of class 1 (bona fide; higher = more likely bona fide). Without
--model the bundled demo detector is used (a toy trained on data/mini; the output says so). CKPT: a spoofscan
.safetensors (from spoofscan train / convert) or the MultiAPI-Spoof epoch_5_1.422.pth.

inputs:
  AUDIO|FOLDER        files, or folders searched recursively for .wav/.flac/.mp3
  --list FILE         a protocol list (any format spoofscan reads); ids in the output are the list's paths
  --root DIR          the folder the list's paths are relative to
  --skip-bad          score what can be scored and list what was skipped (default: any bad input stops the run
                      before the model loads)

output:
  --out FILE          write a score file (atomically) instead of a table on stdout: a header line and one row
                      per input: id, score, [llr,] decision, [label] — spoofscan eval --scores FILE reads it
  --format tsv|csv|json
                      score file layout (default tsv)
  --threshold T       decision = bonafide when score ≥ T (default: the checkpoint's dev calibration, LLR ≥ 0;
                      without one, the larger logit)
  --llr               add the calibrated LLR column (needs a checkpoint with a calibration)
  --json              print JSON on stdout (same as --format json without --out)

model input:
  --crop first|full|windows
                      first: the first ${CROP_LENGTH.toLocaleString('en-US')} samples (4.04 s), shorter clips repeat-padded
                      (the reference evaluation; default); full: the whole utterance in one pass; windows: the
                      whole utterance in half-overlapping windows, logits and score averaged
  --window N          window length in samples for --crop windows (default ${CROP_LENGTH.toLocaleString('en-US')})
  --batch N           windows per forward pass for --crop windows (default 8)
${SHARD_HELP}
  -h, --help          this help`;

/** One scored input (the JSON layout): the score file's fields plus what the model saw. */
export interface ScoreRow extends DetectionRow {
  /** The input as given (same as id). */
  file: string;
  /** Samples of the 16 kHz signal before cropping. */
  samples: number;
  /** Samples of one model input. */
  input: number;
  crop: ClipCrop;
  /** --crop windows: how many windows were averaged. */
  windows?: number;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIP_COMMAND_OPTIONS, ...SHARD_OPTIONS, threshold: { type: 'string' }, llr: { type: 'boolean', default: false } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !Number.isFinite(threshold)) throw new UserError(`--threshold must be a number, not "${values.threshold}"`);
  const { format, clip, inputs } = await clipCommandSetup(values, positionals);
  const plan = planShard(values, inputs.items);
  const out = plan.out;
  const saved = plan.resumable ? await ResumableScoreFile.open({ out: out!, format, ids: plan.items.map((x) => x.item.id), tag: plan.tag, saveEvery: plan.saveEvery }) : null;
  if (saved?.resumed) console.error(`resuming ${out}: ${saved.resumed} of ${plan.items.length} already scored`);
  if (saved && saved.todo.length === 0) {
    await saved.finish();
    console.error(`${out}: all ${plan.items.length} inputs already scored; nothing to do`);
    return 0;
  }
  // Every file this run reads, and its header, is checked before the model loads (--skip-bad: listed and skipped).
  const checked = await checkHeaders((saved ? plan.items.filter((x) => !saved.has(x.item.id)) : plan.items).map((x) => x.item), Boolean(values['skip-bad']));
  const skipped = [...inputs.skipped, ...checked.skipped];
  const todo = checked.items;
  const opened = await openCheckpointModel(values.model, 'detector', async (s) => {
    const r = await Detector.open(s);
    return { weights: r.weights, model: r.detector };
  }, format !== 'json' || out !== undefined);
  const { model: detector, info, path: modelPath } = opened;
  try {
    if (info.task === 'trace') throw new UserError(`${modelPath} is an API tracer; use spoofscan trace`);
    if (detector.backend.config.nOut !== 2) throw new UserError(`${modelPath}: the back-end has ${detector.backend.config.nOut} outputs; score needs a 2-class (spoof / bona fide) detector`);
    if (values.llr && !info.calibration) throw new UserError(`--llr: ${modelPath} carries no calibration (train one with spoofscan train, or fit it with spoofscan calibrate)`);
  } catch (e) {
    detector.dispose();
    throw e;
  }
  const cal = info.calibration;
  if (cal?.separable) console.error(`note: ${modelPath}'s dev scores were perfectly separated, so its calibration is overconfident (LLRs and probabilities near the extremes)`);
  // Decision rule: the given threshold, else LLR ≥ 0 under the stored calibration, else the larger logit.
  const rule = threshold !== undefined ? `score >= ${threshold}` : cal ? `calibrated LLR >= 0 (score >= ${(-cal.c / cal.a).toPrecision(6)})` : 'logit1 >= logit0 (uncalibrated)';
  const decide = (score: number, logits: number[]): 'bonafide' | 'spoof' =>
    (threshold !== undefined ? score >= threshold : cal ? cal.a * score + cal.c >= 0 : logits[1] >= logits[0]) ? 'bonafide' : 'spoof';

  // A clip shorter than XLS-R's receptive field is tiled for first/windows; --crop full needs one frame.
  const minSamples = clip.crop === 'full' ? receptiveField(detector.xlsr.config.convLayers) : 1;
  const comments = [`score_type=bona_logit`, `model=${modelPath}`, `decision: ${rule}`, `crop=${clip.crop}`];
  const rows: ScoreRow[] = [];
  const progress = todo.length > 1 ? new Progress('score', todo.length, 'files') : null;
  saved?.setLayout(formatDetectionScores([], format, comments));
  try {
    await forEachInput(todo, values['skip-bad'], skipped, async (it) => {
      const { samples } = await loadAudioFile(it.path, { minSamples });
      const r = await scoreClip(detector, samples, clip, it.path);
      rows.push({
        id: it.id,
        file: it.id,
        samples: samples.length,
        input: r.input,
        crop: clip.crop,
        ...(clip.crop === 'windows' ? { windows: r.windows.length } : {}),
        score: r.score,
        logits: r.logits,
        ...(values.llr && cal ? { llr: cal.a * r.score + cal.c } : {}),
        decision: decide(r.score, r.logits),
        ...(it.label !== undefined ? { label: it.label } : {}),
      });
      if (saved) await saved.add(it.id, formatDetectionScores(rows.slice(-1), format, comments));
    }, () => progress?.tick());
  } catch (e) {
    await saved?.flush().catch(() => undefined);
    throw e;
  } finally {
    detector.dispose();
  }
  if (saved) {
    const n = await saved.finish();
    console.error(`wrote ${n} scores to ${out} (${rows.length} new, ${saved.resumed} resumed)`);
  } else if (out) {
    await writeScoreFile(out, formatDetectionScores(rows, format, comments));
    console.error(`wrote ${rows.length} scores to ${out}`);
  } else if (format === 'json') console.log(formatDetectionScores(rows, 'json'));
  else {
    const width = Math.max(4, ...rows.map((r) => r.id.length));
    console.log(`${'file'.padEnd(width)}  ${'logit0'.padStart(10)}  ${'logit1'.padStart(10)}  ${'score'.padStart(10)}  decision`);
    for (const r of rows) console.log(`${r.id.padEnd(width)}  ${r.logits.map((v) => v.toFixed(5).padStart(10)).join('  ')}  ${r.score.toFixed(5).padStart(10)}  ${r.decision === 'bonafide' ? 'bona fide' : 'SPOOF'}`);
    console.error(`decision: ${rule}`);
  }
  reportSkipped(skipped);
  return 0;
}
