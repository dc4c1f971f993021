"""What every parity fixture holds: the first step's gradients and outputs, and the folder's files."""
import json, os

import ref_methods as R


def save_fixture(d, fixture, init, inputs, expected):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "fixture.json"), "w") as f:
        json.dump(fixture, f, indent=2)
    R.save_safetensors(os.path.join(d, "init.safetensors"), init)
    R.save_safetensors(os.path.join(d, "inputs.safetensors"), inputs)
    R.save_safetensors(os.path.join(d, "expected.safetensors"), expected)
    return d


def record_first_step(expected, params, out):
    """Step 0's gradients of every parameter and the outputs the runner compares (where made)."""
    for n, p in params:
        expected[f"grad.{n}"] = p.grad.detach().clone()
    for key in ("z_online_v1", "aligned_online_v1", "maps_online_v1"):
        if key in out:
            expected[f"step0.{key}"] = out[key].detach().clone()
