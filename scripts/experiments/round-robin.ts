// Timing shared by the raw-WebGPU matmul experiments: candidates run round robin (machine noise hits them
// alike), wall and process CPU time per run, medians reported as GFLOP/s and GFLOP per CPU-second.

export interface Candidate {
  name: string;
  /** Records and submits one run. */
  run: () => void;
  /** Wall ms of the first (compiling) run, filled by the caller. */
  first: number;
  wall: number[];
  cpu: number[];
}

export const median = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor((x.length - 1) / 2)];

/** `rounds` timed runs of each candidate, one after another, each waited for on `device`. */
export async function roundRobin(device: GPUDevice, candidates: Candidate[], rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (const v of candidates) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      v.run();
      await device.queue.onSubmittedWorkDone();
      v.wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      v.cpu.push((c.user + c.system) / 1e3);
    }
  }
}

/** One line per candidate: first run, median wall and CPU ms and the GFLOP rates for `gflop` of work per run. */
export function report(candidates: Candidate[], gflop: number, width: number): void {
  for (const v of candidates) {
    const wall = median(v.wall);
    const cpu = median(v.cpu);
    console.log(
      `${v.name.padEnd(width)} first ${v.first.toFixed(0)} ms, median ${wall.toFixed(1)} ms = ${(gflop / (wall / 1e3)).toFixed(2)} GFLOP/s, ` +
        `CPU ${cpu.toFixed(1)} ms = ${(gflop / (cpu / 1e3)).toFixed(2)} GFLOP/cpu-s`,
    );
  }
}
