// One view over every supported weight file: the flat list of named tensors (the state dict), readable
// lazily, plus what the file carries besides (safetensors metadata, the rest of a torch pickle).
import type { ByteSource } from './byte-source.ts';
import type { HostDType, HostTensor } from './dtypes.ts';
import { CheckpointError, listSome } from './errors.ts';
import { describe } from './pickle.ts';
import { isSafetensorsPrefix, openSafetensors } from './safetensors.ts';
import { isLegacyTorchPrefix, isZipPrefix, LEGACY_MESSAGE, openTorchCheckpoint, TorchTensorRef } from './torch.ts';

export interface CheckpointTensor {
  name: string;
  dtype: HostDType;
  shape: number[];
  read(): Promise<HostTensor>;
}

export interface Checkpoint {
  file: string;
  format: 'safetensors' | 'torch-zip';
  /** Tensors of the state dict, in file order. */
  tensors: CheckpointTensor[];
  /** safetensors `__metadata__`. */
  metadata: Record<string, string> | null;
  /** torch: the unpickled top-level object (fairseq keeps `cfg`/`args` here). */
  root: unknown;
  /** torch: where the state dict was found ('' = top level, 'model' for fairseq). */
  stateDictKey: string;
  /** torch: state-dict values that are not tensors (kept out of `tensors`). */
  nonTensors: string[];
}

/** Keys that hold the state dict inside a training checkpoint, in order of preference. */
const STATE_DICT_KEYS = ['model', 'state_dict', 'model_state_dict', 'module'];

export async function openCheckpoint(source: ByteSource): Promise<Checkpoint> {
  const file = source.name;
  if (source.size === 0) throw new CheckpointError(file, 'empty file (0 bytes): an interrupted download or copy?');
  const head = await source.read(0, Math.min(source.size, 16));
  if (isZipPrefix(head) || isLegacyTorchPrefix(head)) {
    if (isLegacyTorchPrefix(head)) throw new CheckpointError(file, LEGACY_MESSAGE);
    const ck = await openTorchCheckpoint(source);
    const { dict, key } = findStateDict(file, ck.root);
    const tensors: CheckpointTensor[] = [];
    const nonTensors: string[] = [];
    for (const [name, v] of dict) {
      if (typeof name !== 'string') continue;
      if (v instanceof TorchTensorRef) tensors.push({ name, dtype: v.dtype, shape: [...v.shape], read: () => ck.read(v, name) });
      else nonTensors.push(name);
    }
    return { file, format: 'torch-zip', tensors, metadata: null, root: ck.root, stateDictKey: key, nonTensors };
  }
  if (isSafetensorsPrefix(head)) {
    const st = await openSafetensors(source);
    const tensors = st.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: [...e.shape], read: () => st.read(e) }));
    return { file, format: 'safetensors', tensors, metadata: st.metadata, root: null, stateDictKey: '', nonTensors: [] };
  }
  throw new CheckpointError(file, 'unknown format: neither safetensors nor a PyTorch zip checkpoint (.pt/.pth/.bin)');
}

function findStateDict(file: string, root: unknown): { dict: Map<unknown, unknown>; key: string } {
  if (!(root instanceof Map)) throw new CheckpointError(file, `the checkpoint holds a ${describe(root)}, not a dict of tensors`);
  const hasTensors = (m: Map<unknown, unknown>) => [...m.values()].some((v) => v instanceof TorchTensorRef);
  if (hasTensors(root)) return { dict: root, key: '' };
  for (const k of STATE_DICT_KEYS) {
    const v = root.get(k);
    if (v instanceof Map && hasTensors(v)) return { dict: v, key: k };
  }
  const keys = [...root.keys()].map(String);
  throw new CheckpointError(file, `no state dict found (top-level keys: ${listSome(keys)})`);
}
