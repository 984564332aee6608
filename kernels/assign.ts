// In-place update of a tensor's storage (parameters after an optimizer step). Not recorded by
// autograd: assigning into a tensor that a live graph saved would silently change its gradient,
// so that is refused.
import { formatShape, shapesEqual } from '../engine/shape.ts';
import { BYTES, engineOf, type Tensor } from '../engine/tensor.ts';

export function assign(dst: Tensor, src: Tensor): void {
  const op = 'assign';
  if (!shapesEqual(dst.shape, src.shape) || dst.dtype !== src.dtype) {
    throw new Error(`${op}: source ${formatShape(src.shape)} ${src.dtype} does not match destination ${formatShape(dst.shape)} ${dst.dtype}`);
  }
  if (dst.gradFn) throw new Error(`${op}: destination ${dst.describe()} is the output of a recorded op; assign into leaf tensors only`);
  const bytes = Math.ceil((dst.size * BYTES[dst.dtype]) / 4) * 4;
  if (bytes > 0) engineOf(op, [dst, src]).copy(op, src.bufferFor(op), 0, dst.bufferFor(op), 0, bytes);
  dst.storageFor(op).version++; // as launch() does for kernel outputs
}
