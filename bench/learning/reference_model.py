"""The PyTorch reference model (shared/bench/ref_methods.py) for an exported config (meta.json of
export-views.ts): one place that maps selfsup's config onto the reference's, and reads a
safetensors state into it. Used by torch_reference_train.py and make_state_fixture.py."""
import json, struct
import numpy as np, torch


def reference_config(C):
    """(kind, cfg) of the reference for selfsup config C."""
    mc, bb, agg = C['method'], C['backbone'], C.get('aggregator') or 'global'
    lewel = isinstance(agg, dict) and agg.get('type') == 'lewel'
    kind = {'byol': 'lewel_b' if lewel else 'byol', 'moco': 'lewel_m' if lewel else 'moco'}[mc['type']]
    if bb['type'] != 'resnet18': raise SystemExit(f"backbone.type {bb['type']}: only resnet18 is mirrored here")
    w = [int(64 * bb.get('widthMultiplier', 1) * f) for f in (1, 2, 4, 8)]
    cfg = dict(method=kind, widths=w, blocks=[2, 2, 2, 2], stem=bb.get('stem', 'cifar'), hid=mc.get('hiddenDim', 4096),
               dim=mc.get('outDim', 256), queue=mc.get('queueSize', 65536), temperature=mc.get('temperature', 0.2))
    if lewel:
        cfg.update(heads=agg.get('heads', 4), scale=agg.get('scale', 1.0), l2norm=agg.get('l2norm', True),
                   loss_weight=agg.get('lossWeight', 0.5))
    return kind, cfg


def read_safetensors(path):
    """name -> tensor; F32 and I64 (BatchNorm's num_batches_tracked) entries."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]; header = json.loads(f.read(n)); blob = f.read()
    dtypes = {'F32': np.float32, 'I64': np.int64}
    return {k: torch.from_numpy(np.frombuffer(blob[v['data_offsets'][0]:v['data_offsets'][1]], dtypes[v['dtype']]).reshape(v['shape']).copy())
            for k, v in header.items() if k != '__metadata__'}


def load_state(model, path):
    """Every parameter and buffer from path; only num_batches_tracked and the queue may be absent."""
    missing, unexpected = model.load_state_dict(read_safetensors(path), strict=False)
    missing = [k for k in missing if not k.endswith('num_batches_tracked') and k != 'queue']
    if missing or unexpected: raise SystemExit(f'{path}: missing {missing[:5]}, unexpected {unexpected[:5]}')
