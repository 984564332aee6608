// Node-only: a random-access source over a file on disk. Reads go straight to the byte ranges asked for,
// so a 1.3 GB checkpoint is never held in memory.
import { open } from 'node:fs/promises';
import type { ByteSource } from './byte-source.ts';
import { checkRange } from './byte-source.ts';
import { CheckpointError } from './errors.ts';

const MAX_READ = 1 << 30; // fs.read takes at most 2^31 − 1 bytes per call

export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new CheckpointError(path, `cannot open: ${(e as Error).message}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new CheckpointError(path, 'not a regular file');
  }
  const size = st.size;
  const handle = fh;
  return {
    name: path,
    size,
    async read(offset, length) {
      checkRange(path, size, offset, length);
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, Math.min(MAX_READ, length - done), offset + done);
        if (bytesRead === 0) throw new CheckpointError(path, `file shrank while reading (at byte ${offset + done})`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => handle.close(),
  };
}
