"""Train the independent PyTorch reference (shared/bench/ref_methods.py) on views exported by
export-views.ts, with the config's method, optimizer, schedules and seed-free init, and print
the kNN top-1 of its backbone after every epoch (and untrained). Same data, same recipe, other
implementation: if both learn the same, a learning problem is the recipe's, not a bug.

  /usr/bin/python3 bench/learning/torch_reference_train.py OUT_DIR [--threads 1] [--ref-dir ../shared/bench]
"""
import argparse, json, math, os, sys
import numpy as np, torch, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('dir'); ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--lr', type=float, help='override optimizer.lr (sweeps)')
ap.add_argument('--epochs', type=int, help='train only the first N epochs of the exported views (cosine over those)')
ap.add_argument('--max-steps', type=int, help='stop after N steps (schedules span N, like train.maxSteps)')
ap.add_argument('--print-steps', action='store_true', help='one JSON line per step with the loss terms')
ap.add_argument('--torch-init', action='store_true', help="PyTorch's default init instead of selfsup's init.safetensors")
ap.add_argument('--init', help='start from this state (safetensors, PyTorch names) instead of DIR/init.safetensors')
ap.add_argument('--save-state', help='write the final state (every parameter and buffer, PyTorch names) to this safetensors file')
ap.add_argument('--ref-dir', default=os.environ.get('TORCH_BENCH_DIR', '../shared/bench'))
args = ap.parse_args()
sys.path.insert(0, args.ref_dir)
import ref_methods as R  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import load_state, reference_config  # noqa: E402

torch.set_num_threads(args.threads)
meta = json.load(open(f'{args.dir}/meta.json'))
C = meta['config']; S, B, steps, nb = meta['size'], meta['batch'], meta['steps'], meta['stepsPerEpoch']
views = np.memmap(f'{args.dir}/views.f32', dtype=np.float32, mode='r').reshape(steps, 2, B, S, S, 3)
nchw = lambda a: torch.from_numpy(np.array(a)).permute(0, 3, 1, 2).contiguous()
load_x = lambda n: nchw(np.fromfile(f'{args.dir}/{n}_x.f32', np.float32).reshape(-1, S, S, 3))
load_y = lambda n: torch.from_numpy(np.fromfile(f'{args.dir}/{n}_y.i32', np.int32)).long()
train_x, train_y, test_x, test_y = load_x('train'), load_y('train'), load_x('test'), load_y('test')

mc, oc = C['method'], C['optimizer']
kind, cfg = reference_config(C)
torch.manual_seed(C['train'].get('seed', 0))
model = R.Method(cfg)
init_path = args.init or f'{args.dir}/init.safetensors'
if args.init and not os.path.exists(args.init): raise SystemExit(f'--init {args.init}: no such file')
if os.path.exists(init_path) and not args.torch_init: load_state(model, init_path)  # selfsup's own initial weights
params = [(n, p) for n, p in model.named_parameters() if not n.startswith('target.')]
base_m = mc.get('baseMomentum', 0.99 if mc['type'] == 'byol' else 0.999)
warm = round(C['train'].get('warmupEpochs', 0) * nb)
lr0, wd = args.lr or oc['lr'], oc.get('weightDecay', 0)
if args.epochs: steps = min(steps, args.epochs * nb)
if args.max_steps: steps = min(steps, args.max_steps)

def lr_at(k):
    if k < warm: return lr0 * (k + 1) / warm
    return lr0 * 0.5 * (1 + math.cos(math.pi * (k - warm) / max(1, steps - warm)))

def knn(k=C.get('eval', {}).get('knnK', 20)):
    model.eval()
    with torch.no_grad():
        feats = lambda x: F.normalize(F.adaptive_avg_pool2d(model.online.backbone(x), 1).flatten(1), dim=1)
        mem, qry = feats(train_x), feats(test_x)
    model.train()
    votes = train_y[(qry @ mem.T).topk(k, dim=1).indices]  # nearest first
    return round((vote(votes) == test_y).float().mean().item() * 100, 2)

def vote(votes):
    """Majority vote per row of neighbour labels (nearest first); among the classes with the most
    votes the nearest neighbour's wins (selfsup's tie-break, packages/core/src/eval/knn.ts).
    torch.mode would pick the smallest tied label: 23.44% against 25.59% on one trained network."""
    k = votes.shape[1]
    hits = F.one_hot(votes, int(max(train_y.max(), test_y.max())) + 1)   # rows, k, classes
    counts = hits.sum(1)
    nearest = torch.where(counts > 0, hits.argmax(1), torch.full_like(counts, k))  # argmax: first hit
    tied = counts == counts.max(1, keepdim=True).values
    return torch.where(tied, nearest, torch.full_like(nearest, k)).argmin(1)

print(json.dumps({'impl': 'pytorch-reference', 'method': kind, 'epoch': 0, 'knn': knn()}), flush=True)
state, loss_sum = {}, 0.0
for k in range(steps):
    out, keys = model.loss(nchw(views[k, 0]), nchw(views[k, 1]))
    for _, p in params: p.grad = None
    out['loss'].backward()
    if oc['type'] == 'lars': R.lars_step(params, lr_at(k), wd, oc.get('momentum', 0.9), oc.get('eta', 0.001), state)
    else: R.sgd_step(params, lr_at(k), wd, oc.get('momentum', 0.9), state)
    m = R.ema_momentum(base_m, k, steps) if mc['type'] == 'byol' else base_m
    with torch.no_grad():
        for po, pt in zip(model.online.parameters(), model.target.parameters()): pt.mul_(m).add_(po, alpha=1 - m)
        if keys is not None:  # MoCo family: enqueue this step's keys (FIFO ring)
            q = model.queue; ptr = getattr(model, '_ptr', 0); n = keys.shape[0]
            idx = (torch.arange(n) + ptr) % q.shape[1]; q[:, idx] = keys.T; model._ptr = (ptr + n) % q.shape[1]
    loss_sum += out['loss'].item()
    if args.print_steps:
        print(json.dumps({'step': k + 1, 'loss': out['loss'].item(), 'loss_global': out['loss_global'].item(),
                          'loss_aligned': out['loss_aligned'].item()}), flush=True)
    if (k + 1) % nb == 0:
        print(json.dumps({'impl': 'pytorch-reference', 'method': kind, 'epoch': (k + 1) // nb,
                          'loss': round(loss_sum / nb, 4), 'knn': knn()}), flush=True)
        loss_sum = 0.0
if args.save_state:  # num_batches_tracked left out: the shared writer makes it shape [1], selfsup has it as a scalar
    R.save_safetensors(args.save_state, {k: v for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')})
