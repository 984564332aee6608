// fast-check arbitraries for op property tests: shapes with size-1 and odd dims, broadcast-
// compatible operand shapes, axis subsets, and value seeds. Runs stay few because every new
// rank compiles new pipelines, which costs 10–100 ms each on CPU adapters.
import fc from 'fast-check';

/** Fixed seed: failures reproduce; fast-check prints the counterexample and its path. */
export const FC_SEED = 20240611;

export function runs(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, seed: FC_SEED };
}

/** Dims 1..maxDim with size 1 over-represented (the broadcasting and collapsing edge case). */
export const dim = (maxDim = 7): fc.Arbitrary<number> =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: maxDim }) });

export const shape = (minRank = 0, maxRank = 4, maxDim = 7): fc.Arbitrary<number[]> =>
  fc.array(dim(maxDim), { minLength: minRank, maxLength: maxRank });

export const seed = fc.integer({ min: 0, max: 0x7fffffff });

/** Derives an operand shape that broadcasts to `out`: drops some leading dims, sets some dims to 1. */
function broadcastable(out: readonly number[], drop: number, ones: readonly boolean[]): number[] {
  const kept = out.slice(Math.min(drop, out.length));
  return kept.map((d, i) => (ones[i] ? 1 : d));
}

/** `count` operand shapes whose broadcast is a random shape of rank 0..maxRank. */
export const broadcastShapes = (count: number, maxRank = 4, maxDim = 6): fc.Arbitrary<number[][]> =>
  fc
    .tuple(
      shape(0, maxRank, maxDim),
      fc.array(fc.tuple(fc.integer({ min: 0, max: maxRank }), fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank })), {
        minLength: count,
        maxLength: count,
      }),
    )
    .map(([out, ops]) => ops.map(([drop, ones]) => broadcastable(out, drop, ones)));

/** [x shape, target shape] where x broadcasts (expands) to the target. */
export const expandable = (maxRank = 4, maxDim = 6): fc.Arbitrary<[number[], number[]]> =>
  fc
    .tuple(shape(0, maxRank, maxDim), fc.integer({ min: 0, max: maxRank }), fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }))
    .map(([out, drop, ones]) => [broadcastable(out, drop, ones), out]);

/** A shape of rank ≥ 1 with a random subset of its axes, written with mixed signs, and keepDims. */
export const shapeWithAxes = (minRank = 1, maxRank = 4, maxDim = 6) =>
  shape(minRank, maxRank, maxDim).chain((s) =>
    fc.record({
      shape: fc.constant(s),
      axes: fc.subarray([...s.keys()]).chain((a) => fc.tuple(...a.map((v) => fc.constantFrom(v, v - s.length)))),
      keepDims: fc.boolean(),
    }),
  );

/** A shape of rank ≥ 1 and one axis of it (positive or negative). */
export const shapeWithAxis = (minRank = 1, maxRank = 4, maxDim = 6) =>
  shape(minRank, maxRank, maxDim).chain((s) =>
    fc.record({ shape: fc.constant(s), axis: fc.integer({ min: -s.length, max: s.length - 1 }) }),
  );
