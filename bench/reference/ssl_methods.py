"""PyTorch reference of SimSiam and SimCLR (NT-Xent), each also with LEWEL's aligned branch, as
specified in SIMSIAM_SIMCLR.md next to this file. Backbone, LEWEL aggregator, SGD step and the
safetensors writer are reused unchanged from ref_methods.py (a verbatim copy of the project's
../shared/bench/ref_methods.py, the reference of BYOL / MoCo v2 / LEWEL_B / LEWEL_M).

Variants (config["method"]): simsiam, simclr, lewel_simsiam, lewel_simclr.
Needs Debian's python3-torch (1.13).
"""
import functools
import torch, torch.nn as nn, torch.nn.functional as F

import ref_methods as R

METHODS = ("simsiam", "simclr", "lewel_simsiam", "lewel_simclr")


# ---------------------------------------------------------------- heads
class HeadBN(nn.Module):
    """The repo's `mlp_bn` head over (B, C, T) tokens: 1x1 Conv1d(no bias) - BN1d - ReLU -
    1x1 Conv1d(no bias), plus, when out_bn, a BN1d(affine=False) on the output at `mlp.4`
    (SimSiam's projector ends in a BN without affine). One BN spans all B*T tokens of a call.
    With out_bn=False the names and math equal ref_methods.MLPBN."""
    def __init__(self, cin, hid, cout, out_bn=False):
        super().__init__()
        layers = [nn.Conv1d(cin, hid, 1, bias=False), nn.BatchNorm1d(hid), nn.ReLU(),
                  nn.Conv1d(hid, cout, 1, bias=False)]
        if out_bn:
            layers.append(nn.BatchNorm1d(cout, affine=False))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)


# ---------------------------------------------------------------- losses
def neg_cos(p, z):
    """SimSiam's D(p, z) = -cos(p, stopgrad(z)), mean over the N rows of (N, D) inputs."""
    z = z.detach()
    return -(F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(1).mean()


def slot_rows(x):
    """(B, D, S) -> (B*S, D), row b*S + s = slot s of image b."""
    b, d, s = x.shape
    return x.transpose(2, 1).reshape(b * s, d)


def nt_xent(a, b, tau):
    """NT-Xent (SimCLR) over the 2N rows of [a; b] (a, b: (N, D), not yet normalised).
    u = normalize([a; b]); s_ij = u_i . u_j / tau; for anchor i the positive is the other view
    of the same sample (i +/- N), the 2N - 2 others are negatives, i itself is excluded:
    l_i = -s_{i,pos(i)} + log sum_{j != i} exp(s_ij); L = mean over the 2N anchors."""
    n = a.shape[0]
    u = F.normalize(torch.cat([a, b], dim=0), dim=1)
    sim = u @ u.t() / tau
    eye = torch.eye(2 * n, dtype=torch.bool, device=u.device)
    sim = sim.masked_fill(eye, float("-inf"))
    pos = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(u.device)
    return F.cross_entropy(sim, pos)


def slot_nt_xent(a, b, tau):
    """LEWEL aligned branch for SimCLR: a, b (B, D, S); for each slot s, NT-Xent over the 2B
    slot-s embeddings of both views; mean over the S slots."""
    s = a.shape[2]
    return sum(nt_xent(a[:, :, k], b[:, :, k], tau) for k in range(s)) / s


# ---------------------------------------------------------------- methods
class SiameseMethod(nn.Module):
    """One online encoder (no target, no EMA). SimSiam adds `predictor` (and `predictor_obj` with
    LEWEL); SimCLR adds nothing. State names: online.backbone.*, online.neck.* (global) or
    online.proj.* / online.proj_obj.* (LEWEL), predictor.*, predictor_obj.*."""
    def __init__(self, cfg):
        super().__init__()
        kind = cfg["method"]
        assert kind in METHODS, kind
        self.cfg, self.kind = cfg, kind
        self.lewel = kind.startswith("lewel_")
        self.base = kind[len("lewel_"):] if self.lewel else kind
        neck = functools.partial(HeadBN, out_bn=bool(cfg.get("proj_out_bn", False)))
        enc = R.LewelEncoder if self.lewel else R.GlobalEncoder
        self.online = enc(cfg, neck)
        if self.base == "simsiam":
            ph = cfg.get("pred_hid", cfg["hid"])
            self.predictor = HeadBN(cfg["dim"], ph, cfg["dim"])
            if self.lewel:
                self.predictor_obj = HeadBN(cfg["dim"], ph, cfg["dim"])

    def loss(self, x1, x2):
        c = self.cfg
        w = c.get("loss_weight", 1.0)
        # call order (matters for BN running stats): online(v1), online(v2), then per head v1 before v2
        z1, zo1, maps1 = self.online(x1)
        z2, zo2, _ = self.online(x2)
        if self.base == "simsiam":
            p1 = self.predictor(z1.unsqueeze(-1)).squeeze(-1)
            p2 = self.predictor(z2.unsqueeze(-1)).squeeze(-1)
            lg = neg_cos(p1, z2) / 2 + neg_cos(p2, z1) / 2
            if self.lewel:
                po1, po2 = self.predictor_obj(zo1), self.predictor_obj(zo2)
                la = neg_cos(slot_rows(po1), slot_rows(zo2)) / 2 + neg_cos(slot_rows(po2), slot_rows(zo1)) / 2
        else:
            tau = c["temperature"]
            lg = nt_xent(z1, z2, tau)
            if self.lewel:
                la = slot_nt_xent(zo1, zo2, tau)
        out = {"z_online_v1": z1}
        if self.lewel:
            out.update(loss=w * lg + (1 - w) * la, loss_global=lg, loss_aligned=la,
                       aligned_online_v1=zo1, maps_online_v1=maps1)
        else:
            out.update(loss=lg, loss_global=lg, loss_aligned=torch.tensor(0.))
        return out

    def trainable(self):
        return [(n, p) for n, p in self.named_parameters() if p.requires_grad]


def float_state(module):
    """Every parameter and float buffer by PyTorch name (num_batches_tracked left out, as in the
    existing fixtures)."""
    return {k: v for k, v in module.state_dict().items() if v.is_floating_point()}


def perturb_bn_affine(module, gen_std=0.1):
    """BN weight ~ 1 + 0.1 N(0,1), bias ~ 0.1 N(0,1) (as in the existing fixtures), so that the
    affine parameters' gradients are not degenerate."""
    with torch.no_grad():
        for mod in module.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.affine:
                mod.weight.copy_(1 + gen_std * torch.randn_like(mod.weight))
                mod.bias.copy_(gen_std * torch.randn_like(mod.bias))
