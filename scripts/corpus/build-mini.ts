// Builds the `mini` corpus (data/mini/) from Debian packages: real human speech as bona fide and
// ten TTS engines/voices as spoofing "APIs" (spec data.md §5). Run on Debian 12 with
//
//   apt-get install -y asterisk-core-sounds-en-wav asterisk-core-sounds-en pocketsphinx-testdata \
//     espeak-ng espeak flite festival festlex-cmu festlex-poslex festvox-kallpc16k \
//     festvox-kdlpc16k festvox-us-slt-hts flac
//   node --import tsx scripts/corpus/build-mini.ts [--out data/mini] [--sentences 56] [--seed 7]
//
// Every clip, bona fide and synthetic, goes through one chain so that no class is recognisable by
// its sample rate, bandwidth, loudness or leading silence:
//   decode → mono → resample to 8 kHz → common low-pass (flat to 3.4 kHz, ≥ 80 dB down from 3.8 kHz,
//   band-limit.ts) → trim silence (10 ms frames, −40 dB re loudest frame, 50 ms margin) →
//   RMS −23 dBFS (then peak ≤ 0.99) → 16-bit → FLAC (-8) at 8 kHz;
// the loader then resamples 8 → 16 kHz with the same resampler for every class.
// All engines speak the same sentences (the Asterisk prompt transcripts, content-matched with the
// bona fide recordings); the split is by sentence, and three classes are held out of training.
// The build is deterministic for given package versions.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decodeAudio, mixToMono } from '../../train/data/decode.ts';
import { Rng } from '../../train/data/prng.ts';
import { resample, resamplerName } from '../../train/data/resample.ts';
import { encodeWav } from '../../train/data/wav.ts';
import { bandLimit, MINI_BAND_LIMIT } from './band-limit.ts';

const run = promisify(execFile);

const ALLISON = '/usr/share/asterisk/sounds/en_US_f_Allison';
const TRANSCRIPTS = '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz';
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

interface Engine {
  dir: string; // class directory = API name
  engine: string;
  voice: string;
  model: string; // signal model
  pkg: string;
  licence: string;
  seen: boolean;
  synth: (text: string, out: string) => Promise<unknown>;
}

const festival = (voice: string) => async (text: string, out: string) => {
  const esc = text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const scm = `${out}.scm`;
  writeFileSync(scm, `(voice_${voice})\n(utt.save.wave (utt.synth (Utterance Text "${esc}")) "${out}" 'riff)\n`);
  return run('festival', ['-b', scm]);
};

const ENGINES: Engine[] = [
  { dir: 'espeak-ng', engine: 'espeak-ng 1.51', voice: 'en-us', model: 'formant', pkg: 'espeak-ng', licence: 'GPL-3+ (engine)', seen: true,
    synth: (t, o) => run('espeak-ng', ['-v', 'en-us', '-w', o, t]) },
  { dir: 'espeak-ng-klatt', engine: 'espeak-ng 1.51', voice: 'en-us+klatt3', model: 'formant (Klatt)', pkg: 'espeak-ng', licence: 'GPL-3+ (engine)', seen: true,
    synth: (t, o) => run('espeak-ng', ['-v', 'en-us+klatt3', '-w', o, t]) },
  { dir: 'flite-kal', engine: 'flite 2.2', voice: 'kal', model: 'diphone', pkg: 'flite', licence: 'BSD-like (flite)', seen: true,
    synth: (t, o) => run('flite', ['-voice', 'kal', '-t', t, '-o', o]) },
  { dir: 'flite-slt', engine: 'flite 2.2', voice: 'slt', model: 'clustergen (statistical parametric)', pkg: 'flite', licence: 'BSD-like (flite)', seen: true,
    synth: (t, o) => run('flite', ['-voice', 'slt', '-t', t, '-o', o]) },
  { dir: 'flite-awb', engine: 'flite 2.2', voice: 'awb', model: 'clustergen (statistical parametric)', pkg: 'flite', licence: 'BSD-like (flite)', seen: true,
    synth: (t, o) => run('flite', ['-voice', 'awb', '-t', t, '-o', o]) },
  { dir: 'festival-kal', engine: 'festival 2.5', voice: 'kal_diphone', model: 'residual-excited LPC diphone', pkg: 'festvox-kallpc16k', licence: 'X11-style (CMU)', seen: true,
    synth: festival('kal_diphone') },
  { dir: 'festival-ked', engine: 'festival 2.5', voice: 'ked_diphone', model: 'residual-excited LPC diphone', pkg: 'festvox-kdlpc16k', licence: 'X11-style (CSTR Edinburgh)', seen: true,
    synth: festival('ked_diphone') },
  // Held out of training (unseen APIs): a near-duplicate engine, a new voice of a seen engine, a new signal model.
  { dir: 'espeak', engine: 'espeak 1.48', voice: 'en-us', model: 'formant (older engine)', pkg: 'espeak', licence: 'GPL-3+ (engine)', seen: false,
    synth: (t, o) => run('espeak', ['-v', 'en-us', '-w', o, t]) },
  { dir: 'flite-rms', engine: 'flite 2.2', voice: 'rms', model: 'clustergen (statistical parametric)', pkg: 'flite', licence: 'BSD-like (flite)', seen: false,
    synth: (t, o) => run('flite', ['-voice', 'rms', '-t', t, '-o', o]) },
  { dir: 'festival-slt-hts', engine: 'festival 2.5', voice: 'cmu_us_slt_arctic_hts', model: 'HMM (HTS)', pkg: 'festvox-us-slt-hts', licence: 'BSD-3-clause / CMU ARCTIC', seen: false,
    synth: festival('cmu_us_slt_arctic_hts') },
];

// ---------- the common processing chain ----------

// Everything is band-limited at 8 kHz and stored at 8 kHz (half the size of 16 kHz FLAC for the same
// information); the loader's standard resampler takes every clip to 16 kHz identically.
const MID_RATE = 8000;
const TARGET_RMS = 10 ** (-23 / 20);

function trimSilence(x: Float32Array, rate: number): Float32Array {
  const frame = Math.round(rate * 0.01);
  const nf = Math.floor(x.length / frame);
  const db = new Float64Array(nf);
  let max = -Infinity;
  for (let f = 0; f < nf; f++) {
    let e = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) e += x[i] * x[i];
    db[f] = 10 * Math.log10(e / frame + 1e-20);
    max = Math.max(max, db[f]);
  }
  let a = 0;
  while (a < nf && db[a] < max - 40) a++;
  let b = nf - 1;
  while (b > a && db[b] < max - 40) b--;
  const margin = Math.round(rate * 0.05);
  return x.slice(Math.max(0, a * frame - margin), Math.min(x.length, (b + 1) * frame + margin));
}

function normaliseLoudness(x: Float32Array): Float32Array {
  let e = 0;
  let peak = 0;
  for (const v of x) {
    e += v * v;
    peak = Math.max(peak, Math.abs(v));
  }
  let g = TARGET_RMS / Math.sqrt(e / x.length);
  if (peak * g > 0.99) g = 0.99 / peak;
  return x.map((v) => v * g);
}

async function processClip(inWav: string, outFlac: string, tmpWav: string): Promise<number> {
  const src = await decodeAudio(new Uint8Array(readFileSync(inWav)), inWav);
  const mono = mixToMono(src.channelData);
  // Material already at 8 kHz skips the resampler; the common low-pass band-limits everything alike.
  const mid = bandLimit(resample(mono, src.sampleRate, MID_RATE), MID_RATE);
  const y = normaliseLoudness(trimSilence(mid, MID_RATE));
  writeFileSync(tmpWav, encodeWav(y, MID_RATE, 'pcm16'));
  mkdirSync(dirname(outFlac), { recursive: true });
  await run('flac', ['-8', '--silent', '--force', '--no-seektable', '-o', outFlac, tmpWav]);
  return y.length / MID_RATE;
}

// ---------- sentences ----------

interface Sentence {
  id: string; // file-name safe
  name: string; // Asterisk prompt name
  text: string;
  split?: 'train' | 'dev' | 'eval';
}

function wavSeconds(path: string): number {
  const b = readFileSync(path);
  return (b.length - 44) / 16000; // 8 kHz s16 mono
}

function sentences(count: number, seed: number): Sentence[] {
  const lines = gunzipSync(readFileSync(TRANSCRIPTS)).toString('utf8').split('\n');
  const all: Sentence[] = [];
  const texts = new Set<string>();
  for (const line of lines) {
    const m = /^([\w\-/]+):\s+(.+)$/.exec(line.trim());
    if (!m) continue;
    const [, name, raw] = m;
    const text = raw.trim();
    if (text.includes('[') || /[^\x20-\x7e]/.test(text)) continue;
    const words = text.split(/\s+/).length;
    if (words < 4 || words > 14) continue;
    const wav = join(ALLISON, `${name}.wav`);
    if (!existsSync(wav)) continue;
    const secs = wavSeconds(wav);
    if (secs < 1.2 || secs > 6) continue;
    const key = text.toLowerCase().replace(/[^a-z ]/g, '');
    if (texts.has(key)) continue; // no duplicate texts across splits
    texts.add(key);
    all.push({ id: name.replace(/\//g, '_'), name, text });
  }
  all.sort((a, b) => (a.name < b.name ? -1 : 1));
  const picked = Rng.derive(seed, 1).shuffle(all).slice(0, count);
  const nTrain = Math.round(count * 0.6);
  const nDev = Math.round(count * 0.2);
  picked.forEach((s, i) => (s.split = i < nTrain ? 'train' : i < nTrain + nDev ? 'dev' : 'eval'));
  return picked.sort((a, b) => (a.split! < b.split! ? -1 : a.split! > b.split! ? 1 : a.id < b.id ? -1 : 1));
}

// ---------- main ----------

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

async function packageVersions(pkgs: string[]): Promise<Record<string, string>> {
  const { stdout } = await run('dpkg-query', ['-W', '-f', '${Package}\t${Version}\n', ...pkgs]);
  return Object.fromEntries(stdout.trim().split('\n').map((l) => l.split('\t')));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : def;
  };
  const out = resolve(opt('--out', 'data/mini'));
  const count = Number(opt('--sentences', '56'));
  const seed = Number(opt('--seed', '7'));
  for (const p of [ALLISON, TRANSCRIPTS, LIBRIVOX])
    if (!existsSync(p)) throw new Error(`missing ${p}: install the packages listed at the top of this script`);
  for (const cmd of ['espeak-ng', 'espeak', 'flite', 'festival', 'flac'])
    await run('sh', ['-c', `command -v ${cmd}`]).catch(() => {
      throw new Error(`missing command ${cmd}: install the packages listed at the top of this script`);
    });

  const work = join(tmpdir(), `spoofscan-mini-${process.pid}`);
  mkdirSync(work, { recursive: true });
  for (const d of readdirSync(out, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name))
    if (d === 'protocols' || d.startsWith('bonafide') || ENGINES.some((e) => e.dir === d)) rmSync(join(out, d), { recursive: true });
  mkdirSync(join(out, 'protocols'), { recursive: true });

  const sents = sentences(count, seed);
  type Clip = { rel: string; label: 'bonafide' | 'spoof'; split: string; cls: string; seconds?: number; make: (tmp: string) => Promise<string> };
  const clips: Clip[] = [];
  for (const s of sents) {
    clips.push({ rel: `bonafide/${s.id}.flac`, label: 'bonafide', split: s.split!, cls: 'bonafide', make: async () => join(ALLISON, `${s.name}.wav`) });
    for (const e of ENGINES) {
      if (!e.seen && s.split !== 'eval') continue; // unseen APIs only in eval
      clips.push({
        rel: `${e.dir}/${s.id}.flac`,
        label: 'spoof',
        split: s.split!,
        cls: e.dir,
        make: async (tmp) => {
          await e.synth(s.text, tmp);
          return tmp;
        },
      });
    }
  }
  // A second bona fide speaker (wideband LibriVox read speech), evaluation only.
  for (const f of readdirSync(LIBRIVOX).filter((f) => f.endsWith('.wav')).sort())
    clips.push({ rel: `bonafide-librivox/${f.replace(/\.wav$/, '')}.flac`, label: 'bonafide', split: 'eval', cls: 'bonafide-librivox', make: async () => join(LIBRIVOX, f) });

  let done = 0;
  await pool(clips, 2, async (c) => {
    const tmp = join(work, c.rel.replace(/\//g, '__') + '.wav');
    const src = await c.make(tmp);
    c.seconds = await processClip(src, join(out, c.rel), `${tmp}.out.wav`);
    if (++done % 50 === 0 || done === clips.length) process.stderr.write(`${done}/${clips.length} clips\n`);
  });
  rmSync(work, { recursive: true, force: true });

  // Protocols: MultiAPI-Spoof detection lists (<path> <label>) and tracing lists (<path> <class>;
  // seen APIs 0..K−1 in the order of classes.tsv, K = unseen; spoofed clips only).
  const seen = ENGINES.filter((e) => e.seen);
  const unseenId = seen.length;
  const traceId = (cls: string) => {
    const i = seen.findIndex((e) => e.dir === cls);
    return i >= 0 ? i : unseenId;
  };
  for (const split of ['train', 'dev', 'eval']) {
    const mine = clips.filter((c) => c.split === split).sort((a, b) => (a.rel < b.rel ? -1 : 1));
    writeFileSync(join(out, 'protocols', `${split}.txt`), mine.map((c) => `${c.rel} ${c.label === 'bonafide' ? 'bona-fide' : 'spoof'}\n`).join(''));
    writeFileSync(
      join(out, 'protocols', `${split}_tracing.txt`),
      mine.filter((c) => c.label === 'spoof').map((c) => `${c.rel} ${traceId(c.cls)}\n`).join(''),
    );
  }
  const classRows = [
    ['dir', 'label', 'tracing_class', 'splits', 'source', 'voice', 'signal_model', 'debian_package', 'licence'].join('\t'),
    ['bonafide', 'bona-fide', '-', 'train,dev,eval', 'Allison Smith (Asterisk core sounds, US English)', '-', 'human speech, 8 kHz telephone recording', 'asterisk-core-sounds-en-wav', 'CC-BY-SA-3.0'].join('\t'),
    ['bonafide-librivox', 'bona-fide', '-', 'eval', 'LibriVox reader (Sense and Sensibility)', '-', 'human speech, 16 kHz read speech', 'pocketsphinx-testdata', 'public domain recording; package BSD-2'].join('\t'),
    ...ENGINES.map((e) =>
      [e.dir, 'spoof', String(traceId(e.dir)), e.seen ? 'train,dev,eval' : 'eval (unseen)', e.engine, e.voice, e.model, e.pkg, e.licence].join('\t'),
    ),
  ];
  writeFileSync(join(out, 'classes.tsv'), classRows.join('\n') + '\n');
  writeFileSync(join(out, 'sentences.tsv'), ['id\tsplit\tasterisk_prompt\ttext', ...sents.map((s) => `${s.id}\t${s.split}\t${s.name}\t${s.text}`)].join('\n') + '\n');

  const bySplit: Record<string, { clips: number; bonafide: number; spoof: number; seconds: number }> = {};
  for (const c of clips) {
    const b = (bySplit[c.split] ??= { clips: 0, bonafide: 0, spoof: 0, seconds: 0 });
    b.clips++;
    b[c.label]++;
    b.seconds = Math.round((b.seconds + c.seconds!) * 1000) / 1000;
  }
  const bytes = clips.reduce((s, c) => s + statSync(join(out, c.rel)).size, 0);
  const digest = createHash('sha256');
  for (const c of [...clips].sort((a, b) => (a.rel < b.rel ? -1 : 1))) digest.update(c.rel).update(readFileSync(join(out, c.rel)));
  const info = {
    builder: relative(process.cwd(), new URL(import.meta.url).pathname),
    seed,
    sentences: sents.length,
    chain: `mono → ${resamplerName()} to 8 kHz → Kaiser low-pass (flat to ${MINI_BAND_LIMIT.passHz} Hz, ≥ 80 dB down from ${MINI_BAND_LIMIT.stopHz} Hz) → trim silence (−40 dB, 50 ms margin) → RMS −23 dBFS (peak ≤ 0.99) → s16 → flac -8, stored at 8 kHz (loaders resample to 16 kHz)`,
    splits: bySplit,
    audioBytes: bytes,
    sha256: digest.digest('hex'),
    debianPackages: await packageVersions([
      'asterisk-core-sounds-en-wav',
      'pocketsphinx-testdata',
      ...new Set(ENGINES.map((e) => e.pkg)),
      'festival',
      'flac',
    ]),
  };
  writeFileSync(join(out, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
  console.log(JSON.stringify(info, null, 2));
}

await main();
