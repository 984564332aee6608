// A minimal ONNX model writer for the peer benchmarks: protobuf bytes of a one-node graph, built by hand
// (no protobuf dependency). Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
// ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).

const enc = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Field `no` as a varint (wire type 0). */
const int = (no: number, v: number): number[] => [...varint(no * 8), ...varint(v)];
/** Field `no` as length-delimited bytes (wire type 2): strings and embedded messages. */
const bytes = (no: number, b: ArrayLike<number>): number[] => [...varint(no * 8 + 2), ...varint(b.length), ...Array.from(b)];
const str = (no: number, s: string): number[] => bytes(no, enc.encode(s));

const FLOAT = 1;

function valueInfo(name: string, dims: readonly number[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, int(1, d)));
  const tensorType = [...int(1, FLOAT), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

/** One-node graph `op(inputs) → outputs`, float32 tensors of the given shapes, opset 13, IR version 8. */
export function onnxModel(op: string, inputs: readonly [string, readonly number[]][], outputs: readonly [string, readonly number[]][]): Uint8Array {
  const node = [...inputs.flatMap(([n]) => str(1, n)), ...outputs.flatMap(([n]) => str(2, n)), ...str(3, `${op.toLowerCase()}0`), ...str(4, op)];
  const graph = [
    ...bytes(1, node),
    ...str(2, `spoofscan-bench-${op.toLowerCase()}`),
    ...inputs.flatMap(([n, d]) => bytes(11, valueInfo(n, d))),
    ...outputs.flatMap(([n, d]) => bytes(12, valueInfo(n, d))),
  ];
  const opset = [...str(1, ''), ...int(2, 13)];
  return Uint8Array.from([...int(1, 8), ...str(2, 'spoofscan'), ...bytes(7, graph), ...bytes(8, opset)]);
}

/** C[M, N] = A[M, K] · B[K, N] with inputs named A, B and output C. */
export function matmulOnnxModel(M: number, N: number, K: number): Uint8Array {
  return onnxModel('MatMul', [['A', [M, K]], ['B', [K, N]]], [['C', [M, N]]]);
}
