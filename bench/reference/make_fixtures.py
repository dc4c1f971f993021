"""Golden parity fixtures for SimSiam, SimCLR, LEWEL+SimSiam and LEWEL+SimCLR, in the format of
the existing ones (test/fixtures/README.md): fixture.json, init/inputs/expected.safetensors.

Usage: /usr/bin/python3 bench/reference/make_fixtures.py --out test/fixtures/parity [--only simsiam,...]
Writes only the folders simsiam, simclr, lewel_simsiam, lewel_simclr under --out; the existing
byol / moco / lewel_b / lewel_m fixtures are never touched. Deterministic (fixed seed, one
thread, deterministic algorithms): two runs write byte-identical files.
"""
import argparse, copy, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import torch

import ref_methods as R
from fixture_files import record_first_step, save_fixture
from ssl_methods import METHODS, SiameseMethod, float_state, perturb_bn_affine

# The existing fixtures' scale: ResNet 4 stages of 1 BasicBlock, widths 8-16-16-32, cifar stem,
# 24 px inputs (3x3 final map), batch 4, heads of width 16, two training steps.
BASE = dict(widths=[8, 16, 16, 32], blocks=[1, 1, 1, 1], hid=16, dim=16, head="mlp_bn")
LEWEL = dict(heads=4, scale=1.0, l2norm=True, loss_weight=0.5)
SHAPE = dict(batch=4, res=24)
STEPS = 2
# Seed and lr were chosen for conditioning, not for a result (test_reference.py's float64 rerun
# measures it):
# - SimSiam's loss is a cosine in [-1, 1] that sits near 0 at init, and the project compares losses
#   with a *relative* 1e-4. Float32 pins the losses to about 1e-7..5e-6 absolute, so a pinned loss
#   near 0 cannot be met reliably. Seed 13 is the only seed in 0..15 whose SimSiam and LEWEL+SimSiam
#   losses (every step, every term) all keep |L| >= 0.05 at lr 0.02; seed 0, the existing fixtures'
#   seed, has one at 0.013.
# - SGD lr 0.02 (not the paper's base 0.05): at 0.05 the first step changes the stem conv by its own
#   size and the second step's gradients lose float32 precision (SimCLR: final conv1 3.6e-3 off the
#   float64 answer, over the 1e-3 tolerance). At 0.02 every fixture stays within ~1e-5 of float64 and
#   every weight tensor still moves by more than the tolerance (BN affine ~1e-3).
SEED = 13

VARIANTS = {
    "simsiam": dict(config=dict(method="simsiam", **BASE, pred_hid=8, proj_out_bn=True, **SHAPE),
                    optimizer=dict(kind="sgd", lr=0.02, wd=1e-4, momentum=0.9)),
    "simclr": dict(config=dict(method="simclr", **BASE, proj_out_bn=False, temperature=0.5, **SHAPE),
                   optimizer=dict(kind="sgd", lr=0.02, wd=1e-6, momentum=0.9)),
    "lewel_simsiam": dict(config=dict(method="lewel_simsiam", **BASE, pred_hid=8, proj_out_bn=True, **LEWEL, **SHAPE),
                          optimizer=dict(kind="sgd", lr=0.02, wd=1e-4, momentum=0.9)),
    "lewel_simclr": dict(config=dict(method="lewel_simclr", **BASE, proj_out_bn=False, temperature=0.5, **LEWEL, **SHAPE),
                         optimizer=dict(kind="sgd", lr=0.02, wd=1e-6, momentum=0.9)),
}


def build(variant, seed=SEED, steps=STEPS):
    """The starting model (BN affine perturbed) and the per-step views, all from torch.manual_seed(seed)."""
    cfg = VARIANTS[variant]["config"]
    torch.manual_seed(seed)
    m = SiameseMethod(cfg)
    perturb_bn_affine(m)
    m.train()
    inputs = {}
    for t in range(steps):
        inputs[f"step{t}.view1"] = torch.randn(cfg["batch"], 3, cfg["res"], cfg["res"])
        inputs[f"step{t}.view2"] = torch.randn(cfg["batch"], 3, cfg["res"], cfg["res"])
    return m, inputs


def run(m, inputs, opt, steps=STEPS):
    """Train m in place for `steps` SGD steps on the given views. Returns (rows, expected)."""
    assert opt["kind"] == "sgd"
    params, state, expected, rows = m.trainable(), {}, {}, []
    for t in range(steps):
        out = m.loss(inputs[f"step{t}.view1"], inputs[f"step{t}.view2"])
        for _, p in params:
            p.grad = None
        out["loss"].backward()
        missing = [n for n, p in params if p.grad is None]
        assert not missing, f"{m.kind}: no gradient for {missing}"
        rows.append(dict(step=t, loss=out["loss"].item(), loss_global=out["loss_global"].item(),
                         loss_aligned=out["loss_aligned"].item()))
        if t == 0:
            record_first_step(expected, params, out)
        R.sgd_step(params, opt["lr"], opt["wd"], opt["momentum"], state)
    for k, v in float_state(m).items():
        expected[f"final.{k}"] = v.clone()
    return rows, expected


def generate(variant, seed=SEED, steps=STEPS):
    """Run the reference for `steps` steps. Returns (fixture_json, init, inputs, expected)."""
    spec = VARIANTS[variant]
    m, inputs = build(variant, seed, steps)
    init = {k: v.clone() for k, v in float_state(m).items()}
    rows, expected = run(m, inputs, spec["optimizer"], steps)
    fixture = dict(variant=variant, seed=seed, config=copy.deepcopy(spec["config"]),
                   optimizer=copy.deepcopy(spec["optimizer"]), ema=None, steps=rows)
    return fixture, init, inputs, expected


def write(out_dir, variant):
    fixture, init, inputs, expected = generate(variant)
    d = os.path.join(out_dir, variant)
    save_fixture(d, fixture, init, inputs, expected)
    return d, fixture


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="parent folder, e.g. test/fixtures/parity")
    ap.add_argument("--only", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for v in a.only.split(","):
        if v not in VARIANTS:
            sys.exit(f"unknown variant '{v}' (this script writes only {', '.join(VARIANTS)})")
        d, fx = write(a.out, v)
        print(d, json.dumps([{k: round(x, 6) if isinstance(x, float) else x for k, x in r.items()} for r in fx["steps"]]))


if __name__ == "__main__":
    main()
