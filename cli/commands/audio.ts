// spoofscan audio info FILE…        format, rate, channels, duration (and what the model will see)
// spoofscan audio convert IN OUT.wav  what the model sees: 16 kHz mono float32 WAV
// spoofscan audio list LIST           parse a protocol/list file, count its trials, check its files exist
import { readTextSync } from '../../train/data/text-file.node.ts';
import { writeFileAtomic } from '../../models/io/atomic-write.node.ts';
import { parseArgs } from 'node:util';
import { UsageError, UserError } from '../../common/errors.ts';
import { checkTargetRate } from '../../train/data/limits.ts';
import { MIN_SAMPLES, mixToMono } from '../../train/data/decode.ts';
import { decodeAudioFile, loadAudioFile } from '../../train/data/read-audio.node.ts';
import { checkFilesExist } from '../../train/data/loader.node.ts';

import { countLabels, detectProtocolFormat, parseProtocol, PROTOCOL_FORMATS, type ProtocolFormat, type TrialRecord } from '../../train/data/protocols.ts';
import { resample, resamplerName, TARGET_RATE, type ResampleWindow } from '../../train/data/resample.ts';
import { encodeWav } from '../../train/data/wav.ts';

export const summary = 'inspect audio files, convert one to what the model sees (16 kHz mono float32 WAV), check a protocol list';

const USAGE = `usage:
  spoofscan audio info FILE... [--json]
      Format, codec, sample rate, channels, bit depth, length and duration of each file, and the
      length of the 16 kHz mono signal the models receive.
  spoofscan audio convert IN OUT.wav [--rate HZ] [--window hann|kaiser] [--pcm16]
      Decode IN (WAV, FLAC or MP3), average its channels to mono and resample it to 16 kHz
      (band-limited windowed sinc, torchaudio sinc_interp_hann by default) without any
      normalisation: exactly the samples the models see. Written as float32 WAV (--pcm16: 16-bit).
  spoofscan audio list LIST [--format F] [--root DIR] [--subset S]... [--no-check] [--json]
      Parse a protocol or list file (every malformed line is reported with its line number), count its
      trials per label and per group (API/attack), and check that every audio file exists (all missing
      files reported at once). --format: ${PROTOCOL_FORMATS.join(', ')}
      (default: guessed from the first line); --root: directory the audio paths are relative to;
      --subset: ASVspoof 2021 subsets to keep (e.g. eval).`;

function fmtDuration(s: number): string {
  if (s < 60) return `${s.toFixed(3)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${(s - 60 * m).toFixed(3)} s (${s.toFixed(3)} s)`;
}

async function info(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const files = positionals;
  if (!files.length) throw new UsageError(`audio info: no file given\n${USAGE}`);
  const rows = [];
  for (const file of files) {
    const loaded = await loadAudioFile(file, { minSamples: 0 });
    const src = loaded.source;
    rows.push({
      file,
      format: src.format.toUpperCase(),
      codec: src.codec,
      sampleRate: src.sampleRate,
      channels: src.channels,
      bitDepth: src.bitDepth ?? null,
      frames: src.frames,
      durationSeconds: src.frames / src.sampleRate,
      modelInput: {
        sampleRate: loaded.sampleRate,
        samples: loaded.samples.length,
        resampler: loaded.resampler,
        tooShort: loaded.samples.length < MIN_SAMPLES,
      },
    });
  }
  if (values.json) {
    console.log(JSON.stringify(files.length === 1 ? rows[0] : rows, null, 2));
    return 0;
  }
  for (const row of rows) {
    if (files.length > 1) console.log(`${row.file}:`);
    const m = row.modelInput;
    const lines: [string, string][] = [
      ['format', `${row.format} (${row.codec})`],
      ['sample rate', `${row.sampleRate} Hz`],
      ['channels', String(row.channels)],
      ['bit depth', row.bitDepth === null ? 'n/a (lossy)' : String(row.bitDepth)],
      ['frames', String(row.frames)],
      ['duration', fmtDuration(row.durationSeconds)],
      [
        'model input',
        `${m.samples} samples at 16 kHz mono float32` +
          (row.channels > 1 ? ', channels averaged' : '') +
          (m.resampler ? `, resampled with ${m.resampler}` : ', no resampling') +
          (m.tooShort ? ` — TOO SHORT (fewer than ${MIN_SAMPLES} samples: XLS-R yields no frame)` : ''),
      ],
    ];
    for (const [k, v] of lines) console.log(`  ${(k + ':').padEnd(13)}${v}`);
  }
  return 0;
}

async function convert(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { rate: { type: 'string' }, window: { type: 'string' }, pcm16: { type: 'boolean' } },
  });
  if (positionals.length !== 2) throw new UsageError(`audio convert: need IN and OUT.wav\n${USAGE}`);
  const [input, output] = positionals;
  if (!/\.wav$/i.test(output)) throw new UserError(`audio convert: output must be a .wav file, got ${output}`);
  const rate = values.rate === undefined ? TARGET_RATE : Number(values.rate);
  if (!/^\d+$/.test(values.rate ?? '16000')) throw new UsageError(`audio convert: --rate must be a positive integer, got ${values.rate}`);
  try {
    checkTargetRate(rate);
  } catch (e) {
    throw new UsageError(`audio convert: ${(e as Error).message}`);
  }
  if (values.window !== undefined && values.window !== 'hann' && values.window !== 'kaiser')
    throw new UsageError(`audio convert: --window must be hann or kaiser, got ${values.window}`);
  const opts = { window: (values.window ?? 'hann') as ResampleWindow };
  const src = await decodeAudioFile(input);
  const mono = mixToMono(src.channelData);
  const y = src.sampleRate === rate ? mono : resample(mono, src.sampleRate, rate, opts);
  await writeFileAtomic(output, encodeWav(y, rate, values.pcm16 ? 'pcm16' : 'float32'));
  const how = src.sampleRate === rate ? 'no resampling' : `resampled ${src.sampleRate} → ${rate} Hz with ${resamplerName(opts)}`;
  console.log(
    `${output}: ${y.length} samples, ${(y.length / rate).toFixed(3)} s, ${rate} Hz mono ${values.pcm16 ? 'PCM s16' : 'float32'} ` +
      `(from ${src.channels} channel${src.channels === 1 ? '' : 's'}; ${how})`,
  );
  if (y.length < MIN_SAMPLES) console.error(`warning: ${y.length} samples is fewer than ${MIN_SAMPLES}: XLS-R yields no frame for this file`);
  return 0;
}

function counts(records: TrialRecord[], key: (r: TrialRecord) => string | number | undefined): Record<string, number> {
  const m: Record<string, number> = {};
  for (const r of records) {
    const k = String(key(r) ?? '-');
    m[k] = (m[k] ?? 0) + 1;
  }
  return sortedByKey(m);
}

const sortedByKey = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));

async function list(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      root: { type: 'string' },
      subset: { type: 'string', multiple: true },
      'no-check': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`audio list: need exactly one LIST file\n${USAGE}`);
  const [file] = positionals;
  const text = readTextSync(file);
  let format = values.format as ProtocolFormat | undefined;
  if (format !== undefined && !PROTOCOL_FORMATS.includes(format))
    throw new UserError(`audio list: unknown --format '${format}' (one of ${PROTOCOL_FORMATS.join(', ')})`);
  format ??= detectProtocolFormat(text, file) ?? undefined;
  if (!format) throw new UserError(`${file}: cannot guess the list format from its first line; give --format (${PROTOCOL_FORMATS.join(', ')})`);
  const records = parseProtocol(text, format, { file, root: values.root, subsets: values.subset });
  const labels = sortedByKey(Object.fromEntries([...countLabels(records)].map(([k, v]) => [String(k), v])));
  const groups = counts(records, (r) => r.group);
  if (!values['no-check']) await checkFilesExist(records);
  const summary = { file, format, trials: records.length, labels, groups, filesChecked: !values['no-check'] };
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  }
  const fmt = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`${file}: ${format}, ${records.length} trials`);
  console.log(`  labels: ${fmt(labels)}`);
  console.log(`  groups: ${fmt(groups)}`);
  console.log(values['no-check'] ? '  audio files not checked (--no-check)' : `  all ${records.length} audio files present`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return sub ? 0 : 1;
  }
  if (sub === 'info') return await info(rest);
  if (sub === 'convert') return await convert(rest);
  if (sub === 'list') return await list(rest);
  throw new UsageError(`audio: unknown subcommand '${sub}'\n${USAGE}`);
}
