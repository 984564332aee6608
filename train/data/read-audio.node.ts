// Node: audio files decoded without reading them whole. The header is checked from the first 64 KiB (limits.ts);
// a WAV is then read up to the end of its data chunk (readBytes), and a FLAC or MP3 is fed to its decoder in
// 1 MiB pieces, decoding stopping at the budget (stream-decode.ts). Every problem is an error naming the file.
// probeAudioFile checks only the header (the CLI runs it on every input before a model loads).

import { open, type FileHandle } from 'node:fs/promises';
import { decodeAudio, prepareAudio, probeAudio, type AudioProbe, type LoadedAudio, type LoadOptions } from './decode.ts';
import { AudioError, DataError } from './errors.ts';
import { id3Length, sniffFormat } from './headers.ts';
import { checkSamples, type AudioLimits } from './limits.ts';
import { fsProblem, readBytes, regularFileSize } from './files.node.ts';
import { fsPath } from './raw-path.node.ts';
import { decodeFlacStream, decodeMp3Stream, type DecodedAudio } from './stream-decode.ts';

const PROBE_BYTES = 1 << 16;
const CHUNK_BYTES = 1 << 20;
/** Longest ID3 tag read past to find an MP3's first frame. */
const MAX_ID3_BYTES = 16 << 20;

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

/** The first `bytes` of a regular file (a DataError naming the file for a missing, empty or special file). */
async function openWithPrefix(path: string, bytes: number): Promise<{ fh: FileHandle; head: Uint8Array; size: number }> {
  const size = await regularFileSize(path);
  if (size === 0) throw new AudioError('empty file (0 bytes)', path);
  let fh: FileHandle;
  try {
    fh = await open(await fsPath(path), 'r');
  } catch (e) {
    throw fsProblem(e, path);
  }
  try {
    let prefix = new Uint8Array(Math.min(size, bytes));
    let got = await readAt(fh, prefix, 0);
    // An MP3 may start with a long ID3 tag (cover art): read past it, so the first frame is in the prefix.
    const tag = id3Length(prefix.subarray(0, got));
    if (tag > MAX_ID3_BYTES) throw new AudioError(`ID3 tag of ${tag} bytes before the audio (more than ${MAX_ID3_BYTES >> 20} MiB): corrupt, or not audio`, path);
    if (got === prefix.length && tag + bytes > got && got < size) {
      const more = new Uint8Array(Math.min(size, tag + bytes));
      more.set(prefix);
      got += await readAt(fh, more.subarray(got), got);
      prefix = more;
    }
    return { fh, head: prefix.subarray(0, got), size };
  } catch (e) {
    await fh.close();
    if (e instanceof DataError) throw e;
    throw fsProblem(e, path);
  }
}

/**
 * Checks a file's header against every limit (format, rate, channels, length vs the budget, FLAC size vs
 * STREAMINFO) from its first 4 KiB (64 KiB when the header runs further), without decoding anything. Null: the
 * header lies past 64 KiB (decoding checks it). Throws a DataError/AudioError naming the file.
 */
export async function probeAudioFile(path: string, limits: AudioLimits = {}): Promise<AudioProbe | null> {
  for (const bytes of [1 << 12, PROBE_BYTES]) {
    const { fh, head, size } = await openWithPrefix(path, bytes);
    await fh.close();
    const probe = probeAudio(head, size, path, limits);
    if (probe || head.length >= size) return probe;
  }
  return null;
}

/** Decodes an audio file to per-channel samples at its own rate, never holding a whole FLAC or MP3 file. */
export async function decodeAudioFile(path: string, limits: AudioLimits = {}): Promise<DecodedAudio> {
  const { fh, head, size } = await openWithPrefix(path, PROBE_BYTES);
  try {
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


