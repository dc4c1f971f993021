"""Writes a parity fixture (shared/fixtures format, read by `selfsup parity DIR`) for a config's
full-size model from any state, not only from initial weights: the PyTorch reference
(shared/bench/ref_methods.py) takes N steps on exported views at the config's peak lr, and the
fixture pins step 0's gradients, embeddings and maps and the state after the last step.
From a trained state (maps off uniform, large lr) it checks what the init-state fixtures cannot.

  /usr/bin/python3 bench/learning/make_state_fixture.py VIEWS_DIR STATE.safetensors OUT_DIR [--from-step K] [--steps N]

VIEWS_DIR comes from export-views.ts; STATE from torch_reference_train.py --save-state (or a
VIEWS_DIR/init.safetensors). Every step uses the constant lr optimizer.lr, as the parity run does.
"""
import argparse, json, os, sys
import numpy as np, torch

ap = argparse.ArgumentParser()
ap.add_argument('views'); ap.add_argument('state'); ap.add_argument('out')
ap.add_argument('--from-step', type=int, default=0, help='first exported step whose views the fixture uses')
ap.add_argument('--steps', type=int, default=4)
ap.add_argument('--ref-dir', default=os.environ.get('TORCH_BENCH_DIR', '../shared/bench'))
args = ap.parse_args()
sys.path.insert(0, args.ref_dir)
import ref_methods as R  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import load_state, read_safetensors, reference_config  # noqa: E402

torch.set_num_threads(1)
meta = json.load(open(f'{args.views}/meta.json'))
C = meta['config']; S, B, total = meta['size'], meta['batch'], meta['steps']
if args.from_step + args.steps > total: raise SystemExit(f'{args.views}: has {total} steps, asked for {args.from_step}+{args.steps}')
views = np.memmap(f'{args.views}/views.f32', dtype=np.float32, mode='r').reshape(total, 2, B, S, S, 3)
nchw = lambda a: torch.from_numpy(np.array(a)).permute(0, 3, 1, 2).contiguous()
kind, cfg = reference_config(C)
if kind not in ('byol', 'lewel_b'): raise SystemExit(f'{kind}: only the BYOL family is written here (no queue state)')
model = R.Method(cfg); load_state(model, args.state); model.train()
mc, oc = C['method'], C['optimizer']
opt = dict(kind=oc['type'], lr=oc['lr'], wd=oc.get('weightDecay', 0), momentum=oc.get('momentum', 0.9))
if oc['type'] == 'lars': opt['eta'] = oc.get('eta', 0.001)
base_m = mc.get('baseMomentum', 0.99)
params = [(n, p) for n, p in model.named_parameters() if not n.startswith('target.')]
inputs, expected, steps, state = {}, {}, [], {}
for t in range(args.steps):
    v1, v2 = nchw(views[args.from_step + t, 0]), nchw(views[args.from_step + t, 1])
    inputs[f'step{t}.view1'], inputs[f'step{t}.view2'] = v1, v2
    out, _ = model.loss(v1, v2)
    for _, p in params: p.grad = None
    out['loss'].backward()
    m = R.ema_momentum(base_m, t, args.steps)
    steps.append(dict(step=t, loss=out['loss'].item(), loss_global=out['loss_global'].item(),
                      loss_aligned=out['loss_aligned'].item(), ema_momentum=m))
    if t == 0:
        expected.update({f'grad.{n}': p.grad.clone() for n, p in params})
        expected.update({f'step0.{k}': v.detach().clone() for k, v in out.items() if not k.startswith('loss')})
    if opt['kind'] == 'lars': R.lars_step(params, opt['lr'], opt['wd'], opt['momentum'], opt['eta'], state)
    else: R.sgd_step(params, opt['lr'], opt['wd'], opt['momentum'], state)
    with torch.no_grad():
        for po, pt in zip(model.online.parameters(), model.target.parameters()): pt.mul_(m).add_(po, alpha=1 - m)
expected.update({f'final.{k}': v for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')})
os.makedirs(args.out, exist_ok=True)
init = {k: v for k, v in read_safetensors(args.state).items() if not k.endswith('num_batches_tracked')}
R.save_safetensors(f'{args.out}/init.safetensors', init)
R.save_safetensors(f'{args.out}/inputs.safetensors', inputs)
R.save_safetensors(f'{args.out}/expected.safetensors', expected)
spec_cfg = {k: v for k, v in cfg.items() if k not in ('queue', 'temperature')}  # MoCo's keys: BYOL takes neither
fixture = dict(variant=kind, seed=C['train'].get('seed', 0), config=dict(spec_cfg, batch=B, res=S), optimizer=opt,
               ema=dict(base_momentum=base_m, schedule='cosine', total_steps=args.steps), steps=steps,
               source=dict(views=args.views, state=args.state, from_step=args.from_step))
json.dump(fixture, open(f'{args.out}/fixture.json', 'w'), indent=1)
print(f"{args.out}: {kind}, {args.steps} steps from exported step {args.from_step}, losses {[round(s['loss'], 6) for s in steps]}")
