// Preloaded (node --import) into a spoofscan child by kill.test.ts: SIGKILLs the process at a chosen point of
// an atomic write, so the test lands its kill -9 exactly where it hurts instead of racing a fast writer.
//   SPOOFSCAN_TEST_KILL_AT=write   right after the first bytes reach the temporary file
//   SPOOFSCAN_TEST_KILL_AT=rename  when the complete temporary file is about to be renamed over the output
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const MARK = '.spoofscan-tmp-';
const at = process.env.SPOOFSCAN_TEST_KILL_AT;
const isTemp = (p) => String(p).includes(MARK);
function die() {
  process.kill(process.pid, 'SIGKILL');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000); // never returns: the signal lands first
}

if (at === 'rename') {
  const rename = fs.promises.rename;
  fs.promises.rename = async (a, b) => (isTemp(a) ? die() : rename(a, b));
  const renameSync = fs.renameSync;
  fs.renameSync = (a, b) => (isTemp(a) ? die() : renameSync(a, b));
} else if (at === 'write') {
  const open = fs.promises.open;
  fs.promises.open = async (p, ...rest) => {
    const fh = await open(p, ...rest);
    if (isTemp(p)) {
      const write = fh.write.bind(fh);
      fh.write = async (...args) => {
        const r = await write(...args);
        die();
        return r;
      };
    }
    return fh;
  };
  const temps = new Set();
  const openSync = fs.openSync;
  fs.openSync = (p, ...rest) => {
    const fd = openSync(p, ...rest);
    if (isTemp(p)) temps.add(fd);
    return fd;
  };
  const writeSync = fs.writeSync;
  fs.writeSync = (fd, ...rest) => {
    const n = writeSync(fd, ...rest);
    if (temps.has(fd)) die();
    return n;
  };
}
syncBuiltinESMExports();
