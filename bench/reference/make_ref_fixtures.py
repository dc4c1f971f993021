"""Parity fixtures of BYOL / MoCo v2 / LEWEL_B / LEWEL_M from the independent reference
(ref_methods.py, a verbatim copy of ../shared/bench/ref_methods.py), in the format of
test/fixtures/README.md, at shapes, seeds and head counts the original four do not cover.

Usage:
  /usr/bin/python3 bench/reference/make_ref_fixtures.py --out test/fixtures/parity [--only NAME,...]
      writes the folders of SHAPES (below) under --out; the original byol / moco / lewel_b /
      lewel_m folders are never written.
  /usr/bin/python3 bench/reference/make_ref_fixtures.py --check-originals test/fixtures/parity
      regenerates the original four from their own fixture.json and compares: this driver
      around ref_methods.py reproduces them bit for bit (fixture.json rows and every tensor), so
      the new fixtures come from the same reference and the same protocol.

The protocol (reconstructed from the original fixtures, which it reproduces exactly):
torch.manual_seed(seed); Method(config) (its init draws, then the MoCo queue); in module order,
BN affine weight <- 1 + 0.1 N(0,1), bias <- 0.1 N(0,1), and every Conv1d bias += 0.1 N(0,1);
target <- online; then per step randn views (view1, view2). Each step: loss, backward,
LARS or SGD, EMA of the target's parameters with the step's momentum (cosine: ema_momentum(base,
t, total_steps); constant: base), then the step's keys enter the queue ring at its pointer.
Deterministic (one thread, deterministic algorithms): reruns write byte-identical files.
"""
import argparse, copy, json, os, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import torch, torch.nn as nn

import ref_methods as R
from fixture_files import record_first_step, save_fixture

ORIGINALS = ("byol", "moco", "lewel_b", "lewel_m")

# The originals' architecture: ResNet of 4 stages of 1 BasicBlock, widths 8-16-16-32 (C = 32),
# cifar stem, heads of hidden width 16. What each new fixture changes is in its name and comment.
ARCH = dict(widths=[8, 16, 16, 32], blocks=[1, 1, 1, 1], hid=16)
LEWEL = dict(scale=1.0, l2norm=True, loss_weight=0.5)
LARS = dict(kind="lars", lr=0.2, wd=1.5e-06, momentum=0.9, eta=0.001)
SGD = dict(kind="sgd", lr=0.03, wd=0.0001, momentum=0.9)
BYOL_EMA = dict(base_momentum=0.99, schedule="cosine", total_steps=10)
MOCO_EMA = dict(base_momentum=0.999, schedule="constant", total_steps=10)

# Originals: 24 px (24-12-6-3, final map 3x3), batch 4, seed 0, G = 4 heads, K = D = 16 maps
# (S = 4 slots), queue 24, 2 steps. Each new fixture varies several of these at once:
SHAPES = {
    # G = 2 heads (S = 8 slots); 20 px: 20-10-5-3, an odd map (5) inside; batch 3 (odd); seed 1.
    "lewel_b_g2_r20_b3": dict(seed=1, steps=2, optimizer=LARS, ema=BYOL_EMA, config=dict(
        method="lewel_b", **ARCH, dim=16, heads=2, **LEWEL, batch=3, res=20)),
    # G = 8 heads (S = 2); 16 px: final map 2x2; batch 6; seed 2.
    "lewel_b_g8_r16_b6": dict(seed=2, steps=2, optimizer=LARS, ema=BYOL_EMA, config=dict(
        method="lewel_b", **ARCH, dim=16, heads=8, **LEWEL, batch=6, res=16)),
    # G = 8 heads (S = 2); 28 px: 28-14-7-4, an odd map (7) inside and a 4x4 final map; queue 8
    # over 3 steps of batch 4, so the queue ring wraps (step 2 overwrites step 0's keys); seed 3.
    "lewel_m_g8_r28_q8": dict(seed=3, steps=3, optimizer=SGD, ema=MOCO_EMA, config=dict(
        method="lewel_m", **ARCH, dim=16, heads=8, **LEWEL, queue=8, temperature=0.2, batch=4, res=28)),
    # G = 2 heads with K = D = 8 maps (S = 4); 12 px: 12-6-3-2, final map 2x2; batch 2; queue
    # 12; seed 4.
    "lewel_m_g2_k8_r12_b2": dict(seed=4, steps=2, optimizer=SGD, ema=MOCO_EMA, config=dict(
        method="lewel_m", **ARCH, dim=8, heads=2, **LEWEL, queue=12, temperature=0.2, batch=2, res=12)),
    # The main job's map settings, which no fixture above has: l2norm off (raw per-pixel
    # logits), a sharper softmax (scale 0.5) and a loss weight other than 0.5 (0.75); 32 px:
    # 32-16-8-4, the main job's 4x4 final map; batch 4; seed 5.
    "lewel_b_nol2_s05_w075": dict(seed=5, steps=2, optimizer=LARS, ema=BYOL_EMA, config=dict(
        method="lewel_b", **ARCH, dim=16, heads=4, scale=0.5, l2norm=False, loss_weight=0.75, batch=4, res=32)),
}


def float_state(m):
    """Every parameter and float buffer by PyTorch name (no num_batches_tracked, as the originals)."""
    return {k: v for k, v in m.state_dict().items() if v.is_floating_point()}


def build(config, seed, steps):
    """The starting model and the per-step views, all from torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    m = R.Method(config)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.affine and mod.weight.requires_grad:
                mod.weight.copy_(1 + 0.1 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.1 * torch.randn_like(mod.bias))
            elif isinstance(mod, nn.Conv1d) and mod.bias is not None and mod.bias.requires_grad:
                mod.bias.add_(0.1 * torch.randn_like(mod.bias))
    m.target.load_state_dict(m.online.state_dict())
    m.train()
    b, r = config["batch"], config["res"]
    inputs = {}
    for t in range(steps):
        inputs[f"step{t}.view1"] = torch.randn(b, 3, r, r)
        inputs[f"step{t}.view2"] = torch.randn(b, 3, r, r)
    return m, inputs


def momentum_at(ema, t):
    if ema["schedule"] == "cosine":
        return R.ema_momentum(ema["base_momentum"], t, ema["total_steps"])
    return ema["base_momentum"]


def run(m, inputs, optimizer, ema, steps):
    """Train m in place. Returns (rows, expected) in the README's names."""
    params = [(n, p) for n, p in m.named_parameters() if p.requires_grad]
    state, expected, rows, ptr = {}, {}, [], 0
    for t in range(steps):
        out, keys = m.loss(inputs[f"step{t}.view1"], inputs[f"step{t}.view2"])
        for _, p in params:
            p.grad = None
        out["loss"].backward()
        mom = momentum_at(ema, t)
        rows.append(dict(step=t, loss=out["loss"].item(), loss_global=out["loss_global"].item(),
                         loss_aligned=out["loss_aligned"].item(), ema_momentum=mom))
        if t == 0:
            record_first_step(expected, params, out)
        if optimizer["kind"] == "lars":
            R.lars_step(params, optimizer["lr"], optimizer["wd"], optimizer["momentum"], optimizer["eta"], state)
        else:
            R.sgd_step(params, optimizer["lr"], optimizer["wd"], optimizer["momentum"], state)
        with torch.no_grad():
            for po, pt in zip(m.online.parameters(), m.target.parameters()):
                pt.mul_(mom).add_(po, alpha=1 - mom)
            if keys is not None:
                b, q = keys.shape[0], m.queue.shape[1]
                assert q % b == 0, "the queue ring needs Q divisible by the batch"
                m.queue[:, ptr:ptr + b] = keys.t()
                ptr = (ptr + b) % q
    for k, v in float_state(m).items():
        expected[f"final.{k}"] = v.clone()
    return rows, expected


def generate(spec, variant):
    """(fixture_json, init, inputs, expected) for one spec: config, seed, steps, optimizer, ema."""
    m, inputs = build(spec["config"], spec["seed"], spec["steps"])
    init = {k: v.clone() for k, v in float_state(m).items()}
    rows, expected = run(m, inputs, spec["optimizer"], spec["ema"], spec["steps"])
    fixture = dict(variant=variant, seed=spec["seed"], config=copy.deepcopy(spec["config"]),
                   optimizer=copy.deepcopy(spec["optimizer"]), ema=copy.deepcopy(spec["ema"]), steps=rows)
    return fixture, init, inputs, expected


def write(out_dir, name, spec, variant):
    fixture, init, inputs, expected = generate(spec, variant)
    d = os.path.join(out_dir, name)
    save_fixture(d, fixture, init, inputs, expected)
    return d, fixture


def spec_of_original(fixture_dir):
    """An original fixture's own settings, read from its fixture.json."""
    with open(os.path.join(fixture_dir, "fixture.json")) as f:
        fx = json.load(f)
    return dict(seed=fx["seed"], steps=len(fx["steps"]), optimizer=fx["optimizer"], ema=fx["ema"],
                config=fx["config"]), fx["variant"]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check_originals(parity_dir):
    """Regenerate the original four into a temporary folder; True when every file is byte-identical
    (fixture.json compared as JSON: the originals' float formatting may differ in whitespace)."""
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in ORIGINALS:
            spec, variant = spec_of_original(os.path.join(parity_dir, name))
            d, _ = write(tmp, name, spec, variant)
            for f in ("init.safetensors", "inputs.safetensors", "expected.safetensors"):
                same = read_bytes(os.path.join(d, f)) == read_bytes(os.path.join(parity_dir, name, f))
                print(f"{name}/{f}: {'identical' if same else 'DIFFERENT'}")
                ok &= same
            with open(os.path.join(d, "fixture.json")) as a, open(os.path.join(parity_dir, name, "fixture.json")) as b:
                same = json.load(a) == json.load(b)
            print(f"{name}/fixture.json: {'identical' if same else 'DIFFERENT'}")
            ok &= same
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="parent folder, e.g. test/fixtures/parity")
    ap.add_argument("--only", default=",".join(SHAPES), help="comma-separated subset of " + ",".join(SHAPES))
    ap.add_argument("--check-originals", metavar="DIR", help="folder holding byol, moco, lewel_b, lewel_m")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if a.check_originals:
        sys.exit(0 if check_originals(a.check_originals) else 1)
    if not a.out:
        ap.error("--out or --check-originals is required")
    for name in a.only.split(","):
        if name not in SHAPES:
            sys.exit(f"unknown fixture '{name}' (this script writes only {', '.join(SHAPES)})")
        spec = SHAPES[name]
        d, fx = write(a.out, name, spec, name)
        print(d, json.dumps([{k: round(x, 6) if isinstance(x, float) else x for k, x in r.items()} for r in fx["steps"]]))


if __name__ == "__main__":
    main()
