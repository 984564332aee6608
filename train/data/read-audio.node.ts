// Node: audio files decoded without reading them whole. The header is checked from the first 64 KiB (limits.ts);
// a WAV is then read up to the end of its data chunk (readBytes), and a FLAC or MP3 is fed to its decoder in
// 1 MiB pieces, decoding stopping at the budget (stream-decode.ts). Every problem is an error naming the file.

import { open, type FileHandle } from 'node:fs/promises';
import { decodeAudio, prepareAudio, probeAudio, type LoadedAudio, type LoadOptions } from './decode.ts';
import { AudioError, DataError } from './errors.ts';
import { sniffFormat } from './headers.ts';
import { checkSamples, type AudioLimits } from './limits.ts';
import { fsProblem, readBytes, regularFileSize } from './loader.node.ts';
import { fsPath } from './raw-path.node.ts';
import { decodeFlacStream, decodeMp3Stream, type DecodedAudio } from './stream-decode.ts';

const PROBE_BYTES = 1 << 16;
const CHUNK_BYTES = 1 << 20;

async function readAt(fh: FileHandle, buf: Uint8Array, pos: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** The file from byte `from` on, in pieces of at most CHUNK_BYTES (a fresh buffer each: decoders may keep them). */
async function* fileChunks(fh: FileHandle, first: Uint8Array, path: string): AsyncGenerator<Uint8Array> {
  yield first;
  let pos = first.length;
  for (;;) {
    const buf = new Uint8Array(CHUNK_BYTES);
    let n: number;
    try {
      n = await readAt(fh, buf, pos);
    } catch (e) {
      throw fsProblem(e, path);
    }
    if (n === 0) return;
    yield buf.subarray(0, n);
    pos += n;
  }
}

/** Decodes an audio file to per-channel samples at its own rate, never holding a whole FLAC or MP3 file. */
export async function decodeAudioFile(path: string, limits: AudioLimits = {}): Promise<DecodedAudio> {
  const size = await regularFileSize(path);
  if (size === 0) throw new AudioError('empty file (0 bytes)', path);
  let fh: FileHandle;
  try {
    fh = await open(await fsPath(path), 'r');
  } catch (e) {
    throw fsProblem(e, path);
  }
  try {
    const prefix = new Uint8Array(Math.min(size, PROBE_BYTES));
    let got: number;
    try {
      got = await readAt(fh, prefix, 0);
    } catch (e) {
      throw fsProblem(e, path);
    }
    const head = prefix.subarray(0, got);
    probeAudio(head, size, path, limits); // every header limit, before anything large is read
    const fmt = sniffFormat(head);
    if (fmt === 'flac' || fmt === 'mp3') {
      const decode = fmt === 'flac' ? decodeFlacStream : decodeMp3Stream;
      const d = await decode(head, size, fileChunks(fh, head, path), path, limits);
      checkSamples(d.channelData, path);
      return d;
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw fsProblem(e, path);
  } finally {
    await fh.close();
  }
  return decodeAudio(await readBytes(path, limits), path, limits);
}

/** What the model sees, from a file: decode (bounded, streamed), mix to mono, resample to 16 kHz. */
export async function loadAudioFile(path: string, opts: LoadOptions = {}): Promise<LoadedAudio> {
  return prepareAudio(await decodeAudioFile(path, { maxDecodedSamples: opts.maxDecodedSamples }), path, opts);
}


