"""PyTorch peer of bench/kernels/wasm.ts: GFLOP/s of conv2d forward, its input and weight
gradients, and the MLP-head matmuls, at CIFAR ResNet-18 w16 shapes (batch 64), 1 and 2 threads.

    /usr/bin/python3 bench/kernels/torch_peer.py [threads...]      (default: 1 2)

Prints a markdown table. NCHW float32 (PyTorch's native layout). The gradients go through
aten::convolution_backward, what autograd calls (torch.nn.grad.conv2d_input is a slower route).
Best of several runs after a warm-up, as in wasm.ts. Shapes mirror bench/kernels/shapes.ts.
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

BATCH = 64
ONLY = os.environ.get('ONLY', '')  # keep the shapes whose name has this text
CONV = [  # name, h, ci, co, k, stride
    ("stage1 3x3 s1", 32, 16, 16, 3, 1),
    ("stage2 3x3 s2", 32, 16, 32, 3, 2),
    ("stage2 1x1 s2", 32, 16, 32, 1, 2),
    ("stage2 3x3 s1", 16, 32, 32, 3, 1),
    ("stage3 3x3 s2", 16, 32, 64, 3, 2),
    ("stage3 3x3 s1", 8, 64, 64, 3, 1),
    ("stage4 3x3 s2", 8, 64, 128, 3, 2),
    ("stage4 3x3 s1", 4, 128, 128, 3, 1),
]
MATMUL = [  # name, batch, m, k, n, transpose_a, transpose_b
    ("fc 128->512 fwd", 0, BATCH, 128, 512, False, False),
    ("slots 1024->256 fwd", 0, 4096, 1024, 256, False, False),
    ("slots 1024->256 dX (dy W^T)", 0, 4096, 256, 1024, False, True),
    ("slots 1024->256 dW (x^T dy)", 0, 1024, 4096, 256, True, False),
    ("fc 128->512 dX (dy W^T)", 0, BATCH, 512, 128, False, True),
    ("fc 128->512 dW (x^T dy)", 0, 128, BATCH, 512, True, False),
    ("fc 512->128 fwd", 0, BATCH, 512, 128, False, False),
    ("fc 512->128 dW (x^T dy)", 0, 512, BATCH, 128, True, False),
    ("batched 8x16 @ 16x128 fwd", BATCH, 8, 16, 128, False, False),
    ("batched 8x16 @ 16x128 dF", BATCH, 16, 8, 128, True, False),
    ("batched 8x128 @ (16x128)^T dMaps", BATCH, 8, 128, 16, False, True),
]


def best_ms(f):
    for _ in range(3):  # warm-up: oneDNN builds its primitives on first use
        f()
    best, total, i = float("inf"), 0.0, 0
    while i < 15 and (i < 3 or total < 1.5):
        t0 = time.perf_counter()
        f()
        dt = time.perf_counter() - t0
        best, total, i = min(best, dt), total + dt, i + 1
    return best * 1e3


def main():
    threads = [int(a) for a in sys.argv[1:]] or [1, 2]
    torch.manual_seed(0)
    rows, cols = {}, []
    for t in threads:
        torch.set_num_threads(t)
        col = f"torch {torch.get_num_threads()}t"
        cols.append(col)
        with torch.no_grad():
            for name, h, ci, co, k, s in [c for c in CONV if ONLY in c[0]]:
                pad = k // 2
                x = torch.rand(BATCH, ci, h, h) * 2 - 1
                w = torch.rand(co, ci, k, k) * 2 - 1
                y = F.conv2d(x, w, stride=s, padding=pad)
                dy = torch.rand_like(y) * 2 - 1
                flops = 2 * BATCH * y.shape[2] * y.shape[3] * ci * co * k * k
                g = lambda f: f"{flops / best_ms(f) / 1e6:.1f}"
                rows.setdefault((name, "conv2d"), {})[col] = g(lambda: F.conv2d(x, w, stride=s, padding=pad))
                def backward(mask):
                    return lambda: torch.ops.aten.convolution_backward(
                        dy, x, w, None, [s, s], [pad, pad], [1, 1], False, [0, 0], 1, mask)
                rows.setdefault((name, "backprop input"), {})[col] = g(backward([True, False, False]))
                rows.setdefault((name, "backprop filter"), {})[col] = g(backward([False, True, False]))
            for name, batch, m, k, n, ta, tb in [x for x in MATMUL if ONLY in x[0]]:
                lead = (batch,) if batch else ()
                a = torch.rand(*lead, k, m) if ta else torch.rand(*lead, m, k)
                b = torch.rand(*lead, n, k) if tb else torch.rand(*lead, k, n)
                aa = a.transpose(-1, -2) if ta else a
                bb = b.transpose(-1, -2) if tb else b
                ms = best_ms(lambda: aa @ bb)
                flops = 2 * max(batch, 1) * m * k * n
                rows.setdefault((name, "matMul"), {})[col] = f"{flops / ms / 1e6:.1f}"
            # ref_methods.py runs its heads as 1x1 Conv1d over (B, C, tokens): oneDNN, not BLAS.
            if "slots" in ONLY or ONLY == "":
                x = torch.rand(BATCH, 1024, 64) * 2 - 1
                w = torch.rand(256, 1024, 1) * 2 - 1
                dy = torch.rand(BATCH, 256, 64) * 2 - 1
                flops = 2 * BATCH * 64 * 1024 * 256
                conv_bwd = lambda mask: lambda: torch.ops.aten.convolution_backward(
                    dy, x, w, None, [1], [0], [1], False, [0], 1, mask)
                for name, f in [("slots 1024->256 fwd", lambda: F.conv1d(x, w)),
                                ("slots 1024->256 dX (dy W^T)", conv_bwd([True, False, False])),
                                ("slots 1024->256 dW (x^T dy)", conv_bwd([False, True, False]))]:
                    rows.setdefault((name, "as 1x1 conv1d"), {})[col] = f"{flops / best_ms(f) / 1e6:.1f}"
    print(f"| shape (batch {BATCH}) | op | " + " | ".join(cols) + " |")
    print("|---|---|" + "|".join("---:" for _ in cols) + "|")
    for (name, op), cells in rows.items():
        print(f"| {name} | {op} | " + " | ".join(cells.get(c, "") for c in cols) + " |")


if __name__ == "__main__":
    main()
