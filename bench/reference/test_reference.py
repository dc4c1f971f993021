"""Self-checks of the SimSiam / SimCLR reference and of its fixtures.

Run: /usr/bin/python3 bench/reference/test_reference.py   (unittest; about a minute on 2 cores)

- the vendored ref_methods.py still reproduces the existing byol / moco / lewel_b / lewel_m fixtures
  (so the new fixtures sit on the same ResNet / LEWEL / heads / codec);
- NT-Xent and its per-slot form against straightforward loops, and gradcheck;
- SimSiam's D and its stop-gradient: no gradient reaches z through the target side, the model's
  gradients equal those with targets computed by a frozen copy, and differ without stop-gradient;
- finite differences of the whole model (float64): every parameter for SimCLR, and for SimSiam with
  the targets held fixed (what stop-gradient means);
- the repo's SGD step equals torch.optim.SGD with 1-D parameters excluded from weight decay;
- the fixtures on disk equal a fresh generation, have the README's names and shapes, and a float64
  rerun from the same init and inputs agrees with them 10x tighter than the project's tolerances;
- make_ref_fixtures.py (ref_methods.py's driver) rewrites the original four bit for bit, and its
  shape / seed / head-count fixtures on disk equal a fresh generation and pass the same float64 check.
"""
import copy, json, os, struct, sys, unittest
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import numpy as np
import torch, torch.nn.functional as F

import ref_methods as R
import make_fixtures as MF
import make_ref_fixtures as MR
from ssl_methods import SiameseMethod, neg_cos, nt_xent, slot_nt_xent, slot_rows, float_state, perturb_bn_affine

FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "test", "fixtures", "parity"))
NEW = ("simsiam", "simclr", "lewel_simsiam", "lewel_simclr")
torch.set_num_threads(1)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for k, v in header.items():
        assert v["dtype"] == "F32", (path, k)
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(blob[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return out


def max_rel(a, b):
    """The project's tensor criterion: max|a-b| / max(1, max|b|)."""
    return ((a.double() - b.double()).abs().max() / max(1.0, b.double().abs().max().item())).item()


def load_into(m, tensors, prefix=""):
    sd = m.state_dict()
    for k in sd:
        if not sd[k].is_floating_point():
            continue
        sd[k] = tensors[prefix + k].to(sd[k].dtype)
    m.load_state_dict(sd)


# ------------------------------------------------------------------ loop references
def nt_xent_loop(a, b, tau):
    a, b = a.double().tolist(), b.double().tolist()
    u = [np.array(r) / max(np.linalg.norm(r), 1e-12) for r in a + b]
    n2, n = len(u), len(a)
    total = 0.0
    for i in range(n2):
        pos = (i + n) % n2
        den = sum(np.exp(u[i] @ u[j] / tau) for j in range(n2) if j != i)
        total += -np.log(np.exp(u[i] @ u[pos] / tau) / den)
    return total / n2


def neg_cos_loop(p, z):
    p, z = p.double().numpy(), z.double().numpy()
    return -np.mean([p[i] @ z[i] / (np.linalg.norm(p[i]) * np.linalg.norm(z[i])) for i in range(len(p))])


class Losses(unittest.TestCase):
    def test_nt_xent_matches_loop(self):
        g = torch.Generator().manual_seed(1)
        for n, d, tau in ((4, 16, 0.5), (5, 7, 0.2), (2, 3, 1.0)):
            a, b = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
            self.assertAlmostEqual(nt_xent(a.double(), b.double(), tau).item(), nt_xent_loop(a, b, tau), places=10)

    def test_nt_xent_symmetric_in_views(self):
        a, b = torch.randn(6, 5, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
        self.assertAlmostEqual(nt_xent(a, b, 0.5).item(), nt_xent(b, a, 0.5).item(), places=12)

    def test_slot_nt_xent_matches_loop(self):
        g = torch.Generator().manual_seed(2)
        a, b = torch.randn(4, 16, 3, generator=g, dtype=torch.float64), torch.randn(4, 16, 3, generator=g, dtype=torch.float64)
        loop = np.mean([nt_xent_loop(a[:, :, s], b[:, :, s], 0.5) for s in range(3)])
        self.assertAlmostEqual(slot_nt_xent(a, b, 0.5).item(), loop, places=10)

    def test_nt_xent_gradcheck(self):
        a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
        b = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda x, y: nt_xent(x, y, 0.5), (a, b)))
        a3 = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
        b3 = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda x, y: slot_nt_xent(x, y, 0.5), (a3, b3)))

    def test_neg_cos_value_and_stopgrad(self):
        p = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
        z = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
        loss = neg_cos(p, z)
        self.assertAlmostEqual(loss.item(), neg_cos_loop(p.detach(), z.detach()), places=12)
        loss.backward()
        self.assertIsNone(z.grad, "D(p, z) must not reach z")
        self.assertGreater(p.grad.abs().sum().item(), 0)
        self.assertTrue(torch.autograd.gradcheck(lambda x: neg_cos(x, z.detach()), (p.detach().clone().requires_grad_(),)))

    def test_slot_rows_layout(self):
        x = torch.arange(2 * 3 * 4.).reshape(2, 3, 4)   # B=2, D=3, S=4
        r = slot_rows(x)
        for b in range(2):
            for s in range(4):
                self.assertTrue(torch.equal(r[b * 4 + s], x[b, :, s]))


# ------------------------------------------------------------------ model-level checks
def small(variant, seed=3):
    cfg = dict(MF.VARIANTS[variant]["config"])
    torch.manual_seed(seed)
    m = SiameseMethod(cfg)
    perturb_bn_affine(m)
    m.train()
    x1, x2 = torch.randn(4, 3, 24, 24), torch.randn(4, 3, 24, 24)
    return m, x1, x2


def fixed_target_loss(m, x1, x2, targets, stopgrad=True):
    """Second, independent write-up of the SimSiam objective of SIMSIAM_SIMCLR.md where the
    targets (z, aligned z) are given constants."""
    c = m.cfg
    z1, zo1, _ = m.online(x1)
    z2, zo2, _ = m.online(x2)
    t1, to1, t2, to2 = targets if stopgrad else (z1, zo1, z2, zo2)
    def d(p, z):
        return -F.cosine_similarity(p, z, dim=1, eps=1e-12).mean()
    p1 = m.predictor(z1[:, :, None])[:, :, 0]
    p2 = m.predictor(z2[:, :, None])[:, :, 0]
    lg = 0.5 * d(p1, t2) + 0.5 * d(p2, t1)
    if not m.lewel:
        return lg
    q1, q2 = m.predictor_obj(zo1), m.predictor_obj(zo2)
    la = 0.5 * d(q1.permute(0, 2, 1).flatten(0, 1), to2.permute(0, 2, 1).flatten(0, 1)) \
        + 0.5 * d(q2.permute(0, 2, 1).flatten(0, 1), to1.permute(0, 2, 1).flatten(0, 1))
    w = c["loss_weight"]
    return w * lg + (1 - w) * la


def frozen_targets(m, x1, x2):
    frozen = copy.deepcopy(m)
    with torch.no_grad():
        z1, zo1, _ = frozen.online(x1)
        z2, zo2, _ = frozen.online(x2)
    return z1, zo1, z2, zo2


def grads_of(m, loss):
    for _, p in m.trainable():
        p.grad = None
    loss.backward()
    return {n: p.grad.clone() for n, p in m.trainable()}


class Model(unittest.TestCase):
    def test_simsiam_stopgrad(self):
        for v in ("simsiam", "lewel_simsiam"):
            m, x1, x2 = small(v)
            ref = grads_of(m, m.loss(x1, x2)["loss"])
            m2 = copy.deepcopy(m)
            alt = grads_of(m2, fixed_target_loss(m2, x1, x2, frozen_targets(m2, x1, x2)))
            worst = max(max_rel(ref[k], alt[k]) for k in ref)
            self.assertLess(worst, 1e-5, f"{v}: stop-gradient grads differ from frozen-target grads")
            m3 = copy.deepcopy(m)
            nosg = grads_of(m3, fixed_target_loss(m3, x1, x2, None, stopgrad=False))
            self.assertGreater(max(max_rel(ref[k], nosg[k]) for k in ref if k.startswith("online.")), 1e-4,
                               f"{v}: removing stop-gradient should change the encoder's gradients")
            for k in ref:
                if k.startswith("predictor"):   # the predictor never sees the target side
                    self.assertLess(max_rel(ref[k], nosg[k]), 1e-5, k)

    def test_lewel_weighting(self):
        for v in ("lewel_simsiam", "lewel_simclr"):
            m, x1, x2 = small(v)
            with torch.no_grad():
                o = m.loss(x1, x2)
            w = m.cfg["loss_weight"]
            self.assertAlmostEqual(o["loss"].item(), w * o["loss_global"].item() + (1 - w) * o["loss_aligned"].item(), places=5)
            self.assertEqual(tuple(o["aligned_online_v1"].shape), (4, 16, 4))
            self.assertEqual(tuple(o["maps_online_v1"].shape), (4, 16, 9))
            self.assertTrue(torch.allclose(o["maps_online_v1"].sum(2), torch.ones(4, 16), atol=1e-5))

    def test_simclr_loss_is_nt_xent_of_embeddings(self):
        for v in ("simclr", "lewel_simclr"):
            m, x1, x2 = small(v)
            with torch.no_grad():
                o = m.loss(x1, x2)
                z2 = m.online(x2)   # second pass changes only running stats, not train-mode outputs
            tau = m.cfg["temperature"]
            self.assertAlmostEqual(o["loss_global"].item(), nt_xent_loop(o["z_online_v1"], z2[0], tau), places=5)
            if m.lewel:
                loop = np.mean([nt_xent_loop(o["aligned_online_v1"][:, :, s], z2[1][:, :, s], tau) for s in range(4)])
                self.assertAlmostEqual(o["loss_aligned"].item(), loop, places=5)

    def test_finite_differences(self):
        """Central differences in float64 on a few entries of every trainable tensor."""
        h = 1e-6
        for v in NEW:
            m, x1, x2 = small(v)
            m.double(); x1, x2 = x1.double(), x2.double()
            simsiam = m.base == "simsiam"
            targets = frozen_targets(m, x1, x2) if simsiam else None
            f = (lambda: fixed_target_loss(m, x1, x2, targets)) if simsiam else (lambda: m.loss(x1, x2)["loss"])
            g = grads_of(m, m.loss(x1, x2)["loss"])
            gen = torch.Generator().manual_seed(0)
            worst = 0.0
            for name, p in m.trainable():
                flat = p.data.view(-1)
                for i in torch.randint(0, flat.numel(), (2,), generator=gen).tolist():
                    old = flat[i].item()
                    with torch.no_grad():
                        flat[i] = old + h; lp = f().item()
                        flat[i] = old - h; lm = f().item()
                        flat[i] = old
                    fd, an = (lp - lm) / (2 * h), g[name].view(-1)[i].item()
                    err = abs(fd - an) / max(1e-3, abs(an), abs(fd))
                    worst = max(worst, err)
                    self.assertLess(err, 1e-4, f"{v}: {name}[{i}] fd {fd} vs autograd {an}")
            print(f"  finite differences {v}: worst relative error {worst:.2e}")

    def test_projector_out_bn_names(self):
        m, _, _ = small("simsiam")
        sd = float_state(m)
        self.assertIn("online.neck.mlp.4.running_mean", sd)
        self.assertIn("online.neck.mlp.4.running_var", sd)
        self.assertNotIn("online.neck.mlp.4.weight", sd)
        m, _, _ = small("lewel_simsiam")
        for h in ("proj", "proj_obj"):
            self.assertIn(f"online.{h}.mlp.4.running_var", float_state(m))
        self.assertNotIn("predictor.mlp.4.running_var", float_state(m))
        m, _, _ = small("simclr")
        self.assertFalse(any(".mlp.4." in k for k in float_state(m)))
        self.assertFalse(any(k.startswith(("target.", "predictor")) for k in float_state(m)))

    def test_sgd_matches_torch_sgd(self):
        m, x1, x2 = small("lewel_simsiam")
        m2 = copy.deepcopy(m)
        params = m.trainable()
        opt = torch.optim.SGD([{"params": [p for n, p in m2.trainable() if p.ndim > 1], "weight_decay": 1e-2},
                               {"params": [p for n, p in m2.trainable() if p.ndim <= 1], "weight_decay": 0.0}],
                              lr=0.05, momentum=0.9)
        state = {}
        for _ in range(3):
            grads_of(m, m.loss(x1, x2)["loss"]); R.sgd_step(params, 0.05, 1e-2, 0.9, state)
            opt.zero_grad(set_to_none=True); m2.loss(x1, x2)["loss"].backward(); opt.step()
        for (n, p), (_, q) in zip(m.trainable(), m2.trainable()):
            self.assertLess(max_rel(p.data, q.data), 1e-6, n)


# ------------------------------------------------------------------ fixtures
class Fixtures(unittest.TestCase):
    def test_vendored_reference_reproduces_existing_fixtures(self):
        for v in ("byol", "moco", "lewel_b", "lewel_m"):
            d = os.path.join(FIXTURES, v)
            if not os.path.isdir(d):
                self.skipTest(f"{d} absent")
            with open(os.path.join(d, "fixture.json")) as f:
                fx = json.load(f)
            init = load_safetensors(os.path.join(d, "init.safetensors"))
            inputs = load_safetensors(os.path.join(d, "inputs.safetensors"))
            exp = load_safetensors(os.path.join(d, "expected.safetensors"))
            m = R.Method(fx["config"]); m.train()
            self.assertEqual({k for k, t in m.state_dict().items() if t.is_floating_point()}, set(init), v)
            load_into(m, init)
            out, _ = m.loss(inputs["step0.view1"], inputs["step0.view2"])
            params = [(n, p) for n, p in m.named_parameters() if p.requires_grad]
            for _, p in params: p.grad = None
            out["loss"].backward()
            self.assertLess(abs(out["loss"].item() - fx["steps"][0]["loss"]) / abs(fx["steps"][0]["loss"]), 1e-5, v)
            for n, p in params:
                self.assertLess(max_rel(p.grad, exp[f"grad.{n}"]), 1e-4, f"{v}: grad.{n}")
            self.assertLess(max_rel(out["z_online_v1"].detach(), exp["step0.z_online_v1"]), 1e-4, v)

    def test_new_fixtures_match_generator_and_readme(self):
        for v in NEW:
            d = os.path.join(FIXTURES, v)
            if not os.path.isdir(d):
                self.skipTest(f"{d} not generated yet")
            fx, init, inputs, exp = MF.generate(v)
            with open(os.path.join(d, "fixture.json")) as f:
                self.assertEqual(json.load(f), json.loads(json.dumps(fx)), v)
            for name, want in (("init", init), ("inputs", inputs), ("expected", exp)):
                got = load_safetensors(os.path.join(d, f"{name}.safetensors"))
                self.assertEqual(set(got), set(want), f"{v}/{name}")
                for k in want:
                    self.assertTrue(torch.equal(got[k], want[k].float()), f"{v}/{name}: {k}")
            cfg = fx["config"]
            self.assertIsNone(fx["ema"])
            self.assertFalse(any(k.startswith("target.") for k in init))
            m = SiameseMethod(cfg)
            trainable = {n for n, _ in m.trainable()}
            self.assertEqual({k[5:] for k in exp if k.startswith("grad.")}, trainable, v)
            self.assertEqual({k[6:] for k in exp if k.startswith("final.")}, set(init), v)
            b, dim = cfg["batch"], cfg["dim"]
            self.assertEqual(tuple(exp["step0.z_online_v1"].shape), (b, dim))
            hw = (cfg["res"] // 2 ** (len(cfg["widths"]) - 1)) ** 2
            if cfg["method"].startswith("lewel_"):
                self.assertEqual(tuple(exp["step0.aligned_online_v1"].shape), (b, dim, dim // cfg["heads"]))
                self.assertEqual(tuple(exp["step0.maps_online_v1"].shape), (b, dim, hw))
            else:
                self.assertFalse(any(k.startswith(("step0.aligned", "step0.maps")) for k in exp))
            self.assertEqual(sorted(inputs), [f"step{t}.view{i}" for t in range(len(fx["steps"])) for i in (1, 2)])
            for r in fx["steps"]:
                self.assertTrue(all(np.isfinite([r["loss"], r["loss_global"], r["loss_aligned"]])))

    def test_float64_rerun_agrees(self):
        """Same init and inputs in float64: how far float32 is from the exact answer. A fixture is
        only useful if this is well inside the project's tolerances (1e-4 losses, 1e-3 tensors)."""
        for v in NEW:
            fx, init, inputs, exp = MF.generate(v)
            m, _ = MF.build(v)
            m.double()
            rows, exp64 = MF.run(m, {k: t.double() for k, t in inputs.items()}, MF.VARIANTS[v]["optimizer"])
            worst_loss = max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12)
                             for a, b in zip(fx["steps"], rows) for k in ("loss", "loss_global", "loss_aligned") if b[k] != 0)
            worst_t, name = max((max_rel(exp[k], exp64[k]), k) for k in exp)
            min_abs = min(abs(r[k]) for r in rows for k in ("loss", "loss_global", "loss_aligned") if r[k] != 0)
            print(f"  float32 vs float64 {v}: worst loss rel {worst_loss:.1e}, min |loss| {min_abs:.3f}, "
                  f"worst tensor {worst_t:.1e} ({name})")
            self.assertLess(worst_loss, 2e-5, v)       # 5x inside the 1e-4 loss tolerance
            self.assertGreater(min_abs, 0.05, v)        # a relative tolerance needs losses away from 0
            self.assertLess(worst_t, 1e-4, f"{v}: {name}")   # 10x inside the 1e-3 tensor tolerance


class RefShapeFixtures(unittest.TestCase):
    """The LEWEL_B / LEWEL_M fixtures of other shapes, seeds and head counts (make_ref_fixtures.py)."""

    def test_driver_reproduces_the_original_fixtures_bit_for_bit(self):
        self.assertTrue(MR.check_originals(FIXTURES))

    def test_on_disk_equal_a_fresh_generation_and_vary_the_originals(self):
        for name, spec in MR.SHAPES.items():
            d = os.path.join(FIXTURES, name)
            fx, init, inputs, exp = MR.generate(spec, name)
            with open(os.path.join(d, "fixture.json")) as f:
                self.assertEqual(json.load(f), json.loads(json.dumps(fx)), name)
            for part, want in (("init", init), ("inputs", inputs), ("expected", exp)):
                got = load_safetensors(os.path.join(d, f"{part}.safetensors"))
                self.assertEqual(set(got), set(want), f"{name}/{part}")
                for k in want:
                    self.assertTrue(torch.equal(got[k], want[k].float()), f"{name}/{part}: {k}")
            c = fx["config"]
            b, dim, g = c["batch"], c["dim"], c["heads"]
            side = c["res"]
            for _ in range(len(c["widths"]) - 1):
                side = (side - 1) // 2 + 1   # 3x3 conv, stride 2, padding 1
            self.assertEqual(tuple(exp["step0.aligned_online_v1"].shape), (b, dim, dim // g), name)
            self.assertEqual(tuple(exp["step0.maps_online_v1"].shape), (b, dim, side * side), name)
            self.assertNotEqual((c["res"], b, fx["seed"], g), (24, 4, 0, 4), name)

    def test_float64_rerun_agrees(self):
        for name, spec in MR.SHAPES.items():
            fx, init, inputs, exp = MR.generate(spec, name)
            m, _ = MR.build(spec["config"], spec["seed"], spec["steps"])
            m.double()
            rows, exp64 = MR.run(m, {k: t.double() for k, t in inputs.items()}, spec["optimizer"], spec["ema"], spec["steps"])
            keys = ("loss", "loss_global", "loss_aligned")
            worst_loss = max(abs(a[k] - b[k]) / abs(b[k]) for a, b in zip(fx["steps"], rows) for k in keys)
            worst_t, tensor = max((max_rel(exp[k], exp64[k]), k) for k in exp)
            min_abs = min(abs(r[k]) for r in rows for k in keys)
            print(f"  float32 vs float64 {name}: worst loss rel {worst_loss:.1e}, min |loss| {min_abs:.3f}, "
                  f"worst tensor {worst_t:.1e} ({tensor})")
            self.assertLess(worst_loss, 2e-5, name)
            self.assertGreater(min_abs, 0.05, name)
            self.assertLess(worst_t, 1e-4, f"{name}: {tensor}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
