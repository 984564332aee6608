// The data pipeline's RNG is the engine's (one generator for the whole project).
export { Rng, hashInts } from '../../engine/random.ts';
