"""Copies a state (safetensors, PyTorch names) with every online parameter multiplied by
(1 + eps * N(0, 1)), and the target set to the perturbed online network. A perturbation of the
size of float32 rounding starts a new chaotic trajectory of the same run: train both
implementations from a few such copies to see how far one config's result spreads on its own.

  /usr/bin/python3 bench/learning/perturb_state.py IN.safetensors OUT.safetensors --seed N [--eps 1e-6]

Train the reference with `torch_reference_train.py DIR --init OUT.safetensors`, selfsup with
`selfsup train --config CONFIG --init-from OUT.safetensors:online` (the target starts as a copy).
"""
import argparse, os, sys
import torch

ap = argparse.ArgumentParser()
ap.add_argument('src'); ap.add_argument('dst')
ap.add_argument('--seed', type=int, required=True); ap.add_argument('--eps', type=float, default=1e-6)
ap.add_argument('--ref-dir', default=os.environ.get('TORCH_BENCH_DIR', '../shared/bench'))
args = ap.parse_args()
sys.path.insert(0, args.ref_dir)
import ref_methods as R  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import read_safetensors  # noqa: E402

state = {k: v for k, v in read_safetensors(args.src).items() if not k.endswith('num_batches_tracked')}
g = torch.Generator().manual_seed(args.seed)
buffers = ('running_mean', 'running_var')
for k in [k for k in state if k.startswith('online.') and not k.endswith(buffers)]:
    v = state[k]
    state[k] = v * (1 + args.eps * torch.randn(v.shape, generator=g))
for k in [k for k in state if k.startswith('online.')]:
    state['target.' + k[len('online.'):]] = state[k].clone()
R.save_safetensors(args.dst, state)
print(f'{args.dst}: online parameters x (1 + {args.eps} N(0,1)), seed {args.seed}; target = online')
