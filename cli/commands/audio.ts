// spoofscan audio info FILE…        format, rate, channels, duration (and what the model will see)
// spoofscan audio convert IN OUT.wav  what the model sees: 16 kHz mono float32 WAV
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UserError } from '../errors.ts';
import { decodeAudio, loadAudio, MIN_SAMPLES, mixToMono } from '../../train/data/decode.ts';
import { readBytes } from '../../train/data/loader.node.ts';
import { resample, resamplerName, TARGET_RATE, type ResampleWindow } from '../../train/data/resample.ts';
import { encodeWav } from '../../train/data/wav.ts';

export const summary = 'inspect audio files, or convert one to what the model sees (16 kHz mono float32 WAV)';

const USAGE = `usage:
  spoofscan audio info FILE... [--json]
      Format, codec, sample rate, channels, bit depth, length and duration of each file, and the
      length of the 16 kHz mono signal the models receive.
  spoofscan audio convert IN OUT.wav [--rate HZ] [--window hann|kaiser] [--pcm16]
      Decode IN (WAV, FLAC or MP3), average its channels to mono and resample it to 16 kHz
      (band-limited windowed sinc, torchaudio sinc_interp_hann by default) without any
      normalisation: exactly the samples the models see. Written as float32 WAV (--pcm16: 16-bit).`;

function fmtDuration(s: number): string {
  if (s < 60) return `${s.toFixed(3)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${(s - 60 * m).toFixed(3)} s (${s.toFixed(3)} s)`;
}

async function info(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const files = positionals;
  if (!files.length) throw new UserError(`audio info: no file given\n${USAGE}`);
  const rows = [];
  for (const file of files) {
    const loaded = await loadAudio(await readBytes(file), file, { minSamples: 0 });
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
  if (positionals.length !== 2) throw new UserError(`audio convert: need IN and OUT.wav\n${USAGE}`);
  const [input, output] = positionals;
  if (!/\.wav$/i.test(output)) throw new UserError(`audio convert: output must be a .wav file, got ${output}`);
  const rate = values.rate === undefined ? TARGET_RATE : Number(values.rate);
  if (!Number.isInteger(rate) || rate <= 0) throw new UserError(`audio convert: --rate must be a positive integer, got ${values.rate}`);
  if (values.window !== undefined && values.window !== 'hann' && values.window !== 'kaiser')
    throw new UserError(`audio convert: --window must be hann or kaiser, got ${values.window}`);
  const opts = { window: (values.window ?? 'hann') as ResampleWindow };
  const src = await decodeAudio(await readBytes(input), input);
  const mono = mixToMono(src.channelData);
  const y = src.sampleRate === rate ? mono : resample(mono, src.sampleRate, rate, opts);
  await writeFile(output, encodeWav(y, rate, values.pcm16 ? 'pcm16' : 'float32'));
  const how = src.sampleRate === rate ? 'no resampling' : `resampled ${src.sampleRate} → ${rate} Hz with ${resamplerName(opts)}`;
  console.log(
    `${output}: ${y.length} samples, ${(y.length / rate).toFixed(3)} s, ${rate} Hz mono ${values.pcm16 ? 'PCM s16' : 'float32'} ` +
      `(from ${src.channels} channel${src.channels === 1 ? '' : 's'}; ${how})`,
  );
  if (y.length < MIN_SAMPLES) console.error(`warning: ${y.length} samples is fewer than ${MIN_SAMPLES}: XLS-R yields no frame for this file`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return sub ? 0 : 1;
  }
  try {
    if (sub === 'info') return await info(rest);
    if (sub === 'convert') return await convert(rest);
  } catch (e) {
    // parseArgs reports unknown or malformed options as TypeErrors with an ERR_PARSE_ARGS_* code.
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UserError(`audio ${sub}: ${(e as Error).message}\n${USAGE}`);
    throw e;
  }
  throw new UserError(`audio: unknown subcommand '${sub}'\n${USAGE}`);
}
