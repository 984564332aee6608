// spoofscan score --model CKPT [--crop first|full|windows] [--window N] [--batch N] [--json] AUDIO…
// Eval-mode scores of the XLS-R → Nes2Net detector: per file the two logits and the score (logit of class 1,
// bona fide; higher = more bona fide).
import { parseArgs } from 'node:util';
import { initEngine } from '../../engine/node.ts';
import { scoreClip } from '../../inference/detect.ts';
import { Detector } from '../../models/detector.ts';
import { formatLoadReport, LoadError } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { receptiveField } from '../../models/xlsr/config.ts';
import { CROP_LENGTH } from '../../train/data/crop.ts';
import { loadAudio } from '../../train/data/decode.ts';
import { readBytes } from '../../train/data/loader.node.ts';
import { UserError } from '../errors.ts';
import { Progress } from '../progress.ts';

export const summary = 'score audio files with an XLS-R + Nes2Net-LA detector (logits and bona fide score)';

const HELP = `usage: spoofscan score --model CKPT [--crop first|full|windows] [--window N] [--batch N] [--json] AUDIO...

Scores each audio file (WAV, FLAC or MP3; mixed to mono and resampled to 16 kHz, never normalised) with the
detector in CKPT (the MultiAPI-Spoof epoch_5_1.422.pth, or a spoofscan .safetensors from spoofscan convert),
in eval mode. Prints per file the two logits and the score = logit of class 1 (bona fide; higher = more
likely bona fide).

options:
  --model CKPT        detector weights (XLS-R + Nes2Net-LA or Nes2Net-X)
  --crop first|full|windows
                      first: the first ${CROP_LENGTH.toLocaleString('en-US')} samples (4.04 s), shorter clips repeat-padded
                      as the reference evaluation does (default); full: the whole utterance in one pass;
                      windows: the whole utterance in windows of --window samples overlapping by half (the
                      last one aligned to the end), logits and score averaged over the windows; long
                      files never go through the model whole
  --window N          window length in samples for --crop windows (default ${CROP_LENGTH.toLocaleString('en-US')})
  --batch N           windows per forward pass for --crop windows (default 8)
  --json              one JSON array on stdout
  -h, --help          this help`;

export interface ScoreRow {
  file: string;
  /** Samples of the 16 kHz signal before cropping. */
  samples: number;
  /** Samples the model saw. */
  input: number;
  crop: 'first' | 'full' | 'windows';
  /** --crop windows: how many windows were averaged. */
  windows?: number;
  logits: number[];
  score: number;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      crop: { type: 'string', default: 'first' },
      window: { type: 'string' },
      batch: { type: 'string', default: '8' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const { values, positionals: files } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UserError(`--model CKPT is required\n${HELP}`);
  if (values.crop !== 'first' && values.crop !== 'full' && values.crop !== 'windows') throw new UserError(`--crop must be first, full or windows, not "${values.crop}"`);
  if (!files.length) throw new UserError(`no audio file given\n${HELP}`);
  const crop = values.crop;
  if (values.window !== undefined && crop !== 'windows') throw new UserError('--window applies to --crop windows only');
  const windowLength = Number(values.window ?? CROP_LENGTH);
  const batch = Number(values.batch);
  if (!Number.isInteger(windowLength) || windowLength < 400) throw new UserError(`--window must be an integer ≥ 400 samples (one XLS-R frame), not "${values.window}"`);
  if (!Number.isInteger(batch) || batch < 1) throw new UserError(`--batch must be a positive integer, not "${values.batch}"`);

  await initEngine();
  const source = await fileSource(values.model);
  let detector: Detector;
  try {
    const opened = await Detector.open(source);
    detector = opened.detector;
    if (!values.json) console.error(formatLoadReport(opened.weights.report));
  } catch (e) {
    if (e instanceof LoadError) console.error(formatLoadReport(e.report));
    throw e;
  } finally {
    await source.close();
  }
  if (detector.backend.config.nOut !== 2) {
    detector.dispose();
    throw new UserError(`${values.model}: the back-end has ${detector.backend.config.nOut} outputs; score needs a 2-class (spoof / bona fide) detector`);
  }

  // --crop first and windows tile any non-empty clip to the crop or window length, as the reference does, so even
  // a clip shorter than XLS-R's receptive field is scored; --crop full needs at least one frame.
  const minSamples = crop === 'full' ? receptiveField(detector.xlsr.config.convLayers) : 1;
  const rows: ScoreRow[] = [];
  const progress = files.length > 1 ? new Progress('score', files.length, 'files') : null;
  try {
    for (const file of files) {
      const { samples } = await loadAudio(await readBytes(file), file, { minSamples });
      const r = await scoreClip(detector, samples, { crop, window: windowLength, batch });
      rows.push({ file, samples: samples.length, input: r.input, crop, ...(crop === 'windows' ? { windows: r.windows.length } : {}), logits: r.logits, score: r.score });
      progress?.tick();
    }
  } finally {
    detector.dispose();
  }

  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else {
    const width = Math.max(4, ...rows.map((r) => r.file.length));
    console.log(`${'file'.padEnd(width)}  ${'logit0'.padStart(10)}  ${'logit1'.padStart(10)}  ${'score'.padStart(10)}`);
    for (const r of rows) console.log(`${r.file.padEnd(width)}  ${r.logits.map((v) => v.toFixed(5).padStart(10)).join('  ')}  ${r.score.toFixed(5).padStart(10)}`);
  }
  return 0;
}
