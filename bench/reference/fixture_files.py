"""Writes one parity fixture folder: fixture.json and its three safetensors files."""
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
