// Body of one data-loader worker thread: reads and decodes files (FLAC/MP3 streamed, read-audio.node.ts), runs the item pipeline, posts the samples back
// (transferred, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import { prepareRead, type ItemJob, type PipelineOptions } from './pipeline.ts';
import { decodeAudioFile } from './read-audio.node.ts';

const opts = workerData as PipelineOptions;

parentPort!.on('message', async (msg: { id: number; job: ItemJob }) => {
  try {
    const r = await prepareRead(decodeAudioFile, msg.job, opts);
    const data = r.data.byteOffset === 0 && r.data.byteLength === r.data.buffer.byteLength ? r.data : r.data.slice();
    parentPort!.postMessage({ id: msg.id, result: { ...r, data } }, [data.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e as Error & { userFacing?: boolean; code?: string };
    const message = err.code === 'ENOENT' ? `${msg.job.path}: file not found` : err.message;
    parentPort!.postMessage({ id: msg.id, error: { message, name: err.name, userFacing: Boolean(err.userFacing) || err.code === 'ENOENT' } });
  }
});
parentPort!.postMessage({ ready: true });
