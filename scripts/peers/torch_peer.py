#!/usr/bin/python3
"""PyTorch side of `spoofscan bench peers` (issue 15): the native CPU reference for local-window attention and the
XLS-R eval, and the ONNX exports that onnxruntime-node runs.

  torch_peer.py serve THREADS
      line protocol on stdin, one JSON object per line in and out (driven by bench/peers.ts):
        {"op": "matmul", "key": K, "n": N, "a": F, "b": F, "out": F}
        {"op": "local", "key": K, "n": N, "w": W, "h": H, "d": D, "q": F, "k": F, "v": F, "out": F}
        {"op": "xlsr", "key": K, "preset": P, "weights": F, "samples": S, "wav": F, "out": F}
            build the case, run it once (warm-up), write its output (float32) to `out`
        {"op": "export-local", "n": N, "w": W, "h": H, "d": D, "path": F}     the same function as ONNX
        {"op": "run", "key": K, "reps": R}  ->  {"ms": elapsed of R back-to-back runs}
  torch_peer.py weights --preset P --out FILE
      seeded random XLS-R weights (seed 0, the randomisation of scripts/fixtures/xlsr_fixtures.py), saved with
      torch.save in Hugging Face Wav2Vec2Model names, which spoofscan's loader reads (models/io)
  torch_peer.py export-xlsr --preset P --weights FILE --samples S --out FILE.onnx
      the eval forward of that model on a [1, S] clip as ONNX (opset 14); the 300M file is ~1.2 GB, keep it out
      of git (the bench's cache is bench-out/peers/)

The XLS-R is torchaudio's wav2vec2_model (layer-norm extractor, pre-LN encoder), as in the golden fixtures.
Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchaudio 0.13).
"""
import argparse
import json
import math
import os
import sys
import time

import torch

STANDARD_CONV = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
# spoofscan's presets (models/xlsr/config.ts): (conv layers, d, ffn, heads, layers, pos kernel, pos groups)
PRESETS = {
    'xlsr-300m': (STANDARD_CONV, 1024, 4096, 16, 24, 128, 16),
    'xlsr-1b': (STANDARD_CONV, 1280, 5120, 16, 48, 128, 16),
    'tiny': ([(32, k, s) for _, k, s in STANDARD_CONV], 64, 128, 4, 2, 16, 4),
}

def fixtures():
    """The XLS-R fixtures script: its torchaudio → Hugging Face names and its weight randomisation. Imported on
    demand, since it needs torchaudio and numpy, which the matmul and attention peers do not."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
    import xlsr_fixtures
    return xlsr_fixtures


def build_xlsr(preset):
    from torchaudio.models import wav2vec2_model
    conv, d, ffn, heads, layers, pk, pg = PRESETS[preset]
    return wav2vec2_model(
        extractor_mode='layer_norm', extractor_conv_layer_config=conv, extractor_conv_bias=True,
        encoder_embed_dim=d, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=pk, encoder_pos_conv_groups=pg,
        encoder_num_layers=layers, encoder_num_heads=heads, encoder_attention_dropout=0.0, encoder_ff_interm_features=ffn,
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=True, encoder_layer_drop=0.0,
        aux_num_out=None)


def load_xlsr(preset, weights):
    model = build_xlsr(preset)
    sd = torch.load(weights, map_location='cpu')
    mine = model.state_dict()
    hf_name = fixtures().hf_name
    model.load_state_dict({k: sd[hf_name(k)] for k in mine})
    return model.eval()


def make_weights(preset, out):
    fx = fixtures()
    model = build_xlsr(preset)
    fx.randomise(model, torch.Generator().manual_seed(0))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + '.tmp'
    torch.save({fx.hf_name(k): v.detach().float().contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, out)


class Local(torch.nn.Module):
    """Local-window attention, policy 'mask' (spoofscan's localWindowAttention defaults: left = W // 2, scale
    1/sqrt(d)): query n attends to keys n - left ... n - left + W - 1 that exist. K and V are gathered per query
    ([B, H, N, W, d], O(N·W·d) work, as the fused kernel does), out-of-range slots get -inf logits."""

    def __init__(self, n, w):
        super().__init__()
        left = w // 2
        m = torch.arange(n)[:, None] - left + torch.arange(w)[None, :]
        valid = (m >= 0) & (m < n)
        self.register_buffer('idx', m.clamp(0, n - 1).reshape(-1))
        self.register_buffer('bias', torch.where(valid, 0.0, float('-inf')))
        self.n, self.w = n, w

    def forward(self, q, k, v):
        b, h, n, d = q.shape
        kg = k.index_select(2, self.idx).reshape(b, h, n, self.w, d)
        vg = v.index_select(2, self.idx).reshape(b, h, n, self.w, v.shape[3])
        s = torch.matmul(kg, q.unsqueeze(-1)).squeeze(-1) * (1.0 / math.sqrt(d)) + self.bias
        a = torch.softmax(s, dim=-1)
        return torch.matmul(a.unsqueeze(-2), vg).squeeze(-2)


def read_f32(path, shape):
    return torch.frombuffer(bytearray(open(path, 'rb').read()), dtype=torch.float32).reshape(shape)


def export_local(n, w, h, d, path):
    q = torch.zeros(1, h, n, d)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.onnx.export(Local(n, w).eval(), (q, q, q), path, input_names=['q', 'k', 'v'], output_names=['o'], opset_version=14)


def export_xlsr(preset, weights, samples, out):
    model = load_xlsr(preset, weights)

    class Eval(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, wav):
            return self.m(wav)[0]

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + '.tmp'
    with torch.no_grad():
        torch.onnx.export(Eval().eval(), (torch.zeros(1, samples),), tmp, input_names=['wav'], output_names=['x'], opset_version=14)
    os.replace(tmp, out)


def serve(threads):
    torch.set_num_threads(threads)
    print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
    cases = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            op = cmd['op']
            if op == 'matmul':
                n = cmd['n']
                a, b = read_f32(cmd['a'], (n, n)), read_f32(cmd['b'], (n, n))
                torch.matmul(a, b).numpy().tofile(cmd['out'])
                cases[cmd['key']] = (torch.matmul, (a, b))
            elif op == 'local':
                shape = (1, cmd['h'], cmd['n'], cmd['d'])
                f = Local(cmd['n'], cmd['w']).eval()
                args = tuple(read_f32(cmd[x], shape) for x in 'qkv')
                with torch.no_grad():
                    f(*args).numpy().tofile(cmd['out'])
                cases[cmd['key']] = (f, args)
            elif op == 'xlsr':
                model = load_xlsr(cmd['preset'], cmd['weights'])
                wav = read_f32(cmd['wav'], (1, cmd['samples']))
                with torch.no_grad():
                    model(wav)[0].numpy().tofile(cmd['out'])
                cases[cmd['key']] = (lambda w: model(w)[0], (wav,))
            elif op == 'export-local':
                export_local(cmd['n'], cmd['w'], cmd['h'], cmd['d'], cmd['path'])
            elif op == 'run':
                f, args = cases[cmd['key']]
                with torch.no_grad():
                    t0 = time.perf_counter()
                    for _ in range(cmd['reps']):
                        f(*args)
                    ms = (time.perf_counter() - t0) * 1e3
                print(json.dumps({'ms': ms}), flush=True)
                continue
            elif op == 'drop':
                cases.pop(cmd['key'], None)
            else:
                raise ValueError('unknown op %r' % op)
            print(json.dumps({'ok': True}), flush=True)
        except Exception as e:  # reported to the bench, which skips the peer with the reason
            print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('serve')
    s.add_argument('threads', type=int)
    s = sub.add_parser('weights')
    s.add_argument('--preset', default='xlsr-300m', choices=sorted(PRESETS))
    s.add_argument('--out', required=True)
    s = sub.add_parser('export-xlsr')
    s.add_argument('--preset', default='xlsr-300m', choices=sorted(PRESETS))
    s.add_argument('--weights', required=True)
    s.add_argument('--samples', type=int, default=64600)
    s.add_argument('--out', required=True)
    a = ap.parse_args()
    if a.cmd == 'serve':
        serve(a.threads)
    elif a.cmd == 'weights':
        make_weights(a.preset, a.out)
        print('wrote', a.out)
    else:
        if not os.path.exists(a.weights):
            make_weights(a.preset, a.weights)
        export_xlsr(a.preset, a.weights, a.samples, a.out)
        print('wrote', a.out)


if __name__ == '__main__':
    main()
