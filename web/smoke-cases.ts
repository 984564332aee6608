// Pieces shared by the smoke-suite groups (web/smoke-suite.ts, web/smoke-nn.ts). Browser-shared:
// imports only engine/index.ts.
import { backward, type Tensor } from '../engine/index.ts';

/** One group's outputs by case name; the suite runner reads them back and disposes them. */
export type SmokeCases = Record<string, Tensor>;

/**
 * Runs backward(loss) and returns `${prefix}grad.NAME` for every leaf. Throws when a leaf got no
 * gradient, so a broken tape fails the page instead of silently dropping a case.
 */
export function gradCases(loss: Tensor, leaves: Record<string, Tensor>, prefix = ''): SmokeCases {
  backward(loss);
  const grads: SmokeCases = {};
  for (const [name, leaf] of Object.entries(leaves)) {
    if (!leaf.grad) throw new Error(`smoke suite: backward() left no gradient on '${prefix}${name}'`);
    grads[`${prefix}grad.${name}`] = leaf.grad;
  }
  return grads;
}
