// Sharding an input list across the tasks of a job array (Slurm `sbatch --array`, Kubernetes Indexed Jobs):
// `--shard i/N` (0-based i) or `--shard auto` (from the scheduler's environment). Pure TypeScript: the caller
// passes the environment in.
//
// The split is by index, strided: item k of the collected input list (list order) goes to shard k mod N.
// Deterministic (no hashing, no randomness; the same list and N give the same split on every machine), every
// item in exactly one shard, shard sizes differ by at most one, and a list sorted by length, class or speaker
// is spread evenly over the shards. Because the split is strided, `spoofscan merge` can put the shards' rows
// back in list order from the `# shard=i/N of M` line each shard file carries.

export interface Shard {
  /** 0-based shard index. */
  index: number;
  /** Number of shards. */
  count: number;
  /** Where the shard came from, for messages: "--shard 1/4", "SLURM_ARRAY_TASK_ID=1 …". */
  source: string;
}

/** A shard-selection problem the user must fix (printed as one line without a stack). */
export class ShardError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'ShardError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Env var giving the number of shards where the scheduler does not (Kubernetes: set it to spec.completions). */
export const SHARDS_ENV = 'SPOOFSCAN_SHARDS';

function intOf(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (!/^\s*\d+\s*$/.test(text)) throw new ShardError(`${what} must be a non-negative integer, not "${text}"`);
  return Number(text);
}

function checked(index: number, count: number, source: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1) throw new ShardError(`${source}: the number of shards must be at least 1`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new ShardError(`${source}: shard index ${index} is outside 0…${count - 1} (shards are numbered from 0)`);
  return { index, count, source };
}

/**
 * `spec`: "i/N" or "auto". `shards`: the value of --shards, if given (the count for `auto` where the scheduler
 * gives none; checked against the scheduler's count where it does).
 *
 * auto, in order:
 *  - Slurm: SLURM_ARRAY_TASK_ID; index = ID − SLURM_ARRAY_TASK_MIN (0 if unset); count =
 *    SLURM_ARRAY_TASK_COUNT, else MAX − MIN + 1, else --shards / SPOOFSCAN_SHARDS. Arrays with a step or a
 *    list (`--array=0-9:2`, `--array=1,5,7`) are refused: their ids are not 0…N−1.
 *  - Kubernetes Indexed Job: JOB_COMPLETION_INDEX; count = --shards, else SPOOFSCAN_SHARDS.
 */
export function parseShard(spec: string, env: Env, shards?: string): Shard {
  const given = intOf(shards, '--shards');
  if (spec !== 'auto') {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
    if (!m) throw new ShardError(`--shard must be i/N (0-based shard i of N, e.g. 0/4) or auto, not "${spec}"`);
    if (given !== undefined && given !== Number(m[2])) throw new ShardError(`--shard ${spec} and --shards ${given} disagree`);
    return checked(Number(m[1]), Number(m[2]), `--shard ${spec.trim()}`);
  }
  const fromEnv = intOf(env[SHARDS_ENV], SHARDS_ENV);
  const slurmId = intOf(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID');
  if (slurmId !== undefined) {
    const min = intOf(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const max = intOf(env.SLURM_ARRAY_TASK_MAX, 'SLURM_ARRAY_TASK_MAX');
    const count = intOf(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT');
    const step = intOf(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP');
    const source = `SLURM_ARRAY_TASK_ID=${slurmId}` + (count !== undefined ? ` SLURM_ARRAY_TASK_COUNT=${count}` : '') + (max !== undefined ? ` MIN=${min} MAX=${max}` : '');
    if (step !== undefined && step !== 1) throw new ShardError(`${source}: the array has step ${step}; spoofscan needs consecutive task ids (sbatch --array=0-${'N−1'})`);
    if (count !== undefined && max !== undefined && max - min + 1 !== count) {
      throw new ShardError(`${source}: the array's task ids are not consecutive (${count} tasks in ${min}…${max}); use sbatch --array=0-N−1 (a % limit is fine)`);
    }
    const n = count ?? (max !== undefined ? max - min + 1 : (given ?? fromEnv));
    if (n === undefined) throw new ShardError(`${source}: no SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX; give --shards N`);
    if (given !== undefined && given !== n) throw new ShardError(`${source}: the array has ${n} tasks but --shards says ${given}`);
    return checked(slurmId - min, n, source);
  }
  const k8s = intOf(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    const n = given ?? fromEnv;
    const source = `JOB_COMPLETION_INDEX=${k8s}`;
    if (n === undefined) throw new ShardError(`${source}: a Kubernetes Indexed Job does not tell its completion count; give --shards N or set ${SHARDS_ENV} (= spec.completions)`);
    return checked(k8s, n, `${source} of ${n}`);
  }
  throw new ShardError(
    '--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm array task, sbatch --array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; run it inside one, or give --shard i/N',
  );
}

/** Indices (into a list of `total` items) of the items in `shard`, in list order: k with k mod N = i. */
export function shardIndices(total: number, shard: Pick<Shard, 'index' | 'count'>): number[] {
  const out: number[] = [];
  for (let k = shard.index; k < total; k += shard.count) out.push(k);
  return out;
}

/** The items of `shard` with their index in the whole list, in list order. */
export function takeShard<T>(items: readonly T[], shard: Pick<Shard, 'index' | 'count'>): { item: T; index: number }[] {
  return shardIndices(items.length, shard).map((index) => ({ item: items[index], index }));
}

export interface ShardTag {
  index: number;
  count: number;
  /** Items in the whole (unsharded) list. */
  total: number;
}

/** The comment line (without "# ") a shard's score file starts with; parseShardTag reads it back. */
export function formatShardTag(t: ShardTag): string {
  return `shard=${t.index}/${t.count} of ${t.total} (items k with k mod ${t.count} = ${t.index})`;
}

export function parseShardTag(comment: string): ShardTag | null {
  const m = /^\s*#?\s*shard=(\d+)\/(\d+) of (\d+)\b/.exec(comment);
  return m ? { index: Number(m[1]), count: Number(m[2]), total: Number(m[3]) } : null;
}
