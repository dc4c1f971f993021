import * as tfl from '@tensorflow/tfjs-layers';
import { BatchNorm, Conv2d, ResNet, tf, type Backbone, type Module } from '@selfsup/core';

/**
 * A selfsup ResNet as a tfjs LayersModel: NHWC images in, the global-average-pooled features
 * out ([N, C], what kNN and the probes use), loadable with `tf.loadLayersModel` and nothing of
 * selfsup. Layer names are the PyTorch module names, so `conv1`, `layer2.0.downsample.0`, ...
 * PyTorch pads symmetrically; Keras 'same' does not, so every padded conv is an explicit
 * ZeroPadding2D and a 'valid' conv.
 */
export function resnetLayersModel(backbone: Backbone, name = 'selfsup_backbone'): tfl.LayersModel {
  if (!(backbone instanceof ResNet)) {
    throw new Error(
      `tfjs export builds selfsup's ResNets only; this backbone is a ${backbone.constructor.name} ` +
        '(export it with --format torchvision)',
    );
  }
  const modules = new Map<string, Module>(backbone.namedModules());
  const conv2d = (n: string): Conv2d => {
    const m = modules.get(n);
    if (!(m instanceof Conv2d)) throw new Error(`tfjs export: ResNet module '${n}' is not a Conv2d`);
    return m;
  };
  const batchNorm = (n: string): BatchNorm => {
    const m = modules.get(n);
    if (!(m instanceof BatchNorm)) throw new Error(`tfjs export: ResNet module '${n}' is not a BatchNorm`);
    return m;
  };
  type Sym = tfl.SymbolicTensor;
  const apply = (layer: tfl.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;

  const conv = (x: Sym, n: string): Sym => {
    const c = conv2d(n);
    const padded =
      c.padding > 0 ? apply(tfl.layers.zeroPadding2d({ padding: c.padding, name: `${n}.pad` }), x) : x;
    const layer = tfl.layers.conv2d({
      name: n,
      filters: c.outChannels,
      kernelSize: c.kernelSize,
      strides: c.stride,
      padding: 'valid',
      useBias: c.bias !== undefined,
      kernelInitializer: 'zeros',
      biasInitializer: 'zeros',
    });
    const y = apply(layer, padded);
    // Both keep the kernel as HWIO: [kh, kw, in, out].
    layer.setWeights(c.bias ? [c.weight, c.bias] : [c.weight]);
    return y;
  };
  const bn = (x: Sym, n: string): Sym => {
    const b = batchNorm(n);
    const layer = tfl.layers.batchNormalization({
      name: n,
      axis: -1,
      epsilon: b.eps,
      // Keras' momentum weighs the old value; unused at inference.
      momentum: 1 - b.momentum,
    });
    const y = apply(layer, x);
    layer.setWeights([b.weight, b.bias, b.runningMean, b.runningVar]);
    return y;
  };
  const relu = (x: Sym, n: string) => apply(tfl.layers.reLU({ name: n }), x);

  const o = backbone.options;
  const input = tfl.input({ shape: [null, null, o.inChannels ?? 3], name: 'images' });
  let h = relu(bn(conv(input, 'conv1'), 'bn1'), 'relu');
  if (o.stem === 'imagenet') {
    // torch's MaxPool2d(3, 2, padding=1) pads with -inf; after a ReLU every value is >= 0, so
    // zero padding gives the same maxima.
    h = apply(tfl.layers.zeroPadding2d({ padding: 1, name: 'maxpool.pad' }), h);
    h = apply(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'maxpool' }), h);
  }
  o.blocks.forEach((count, i) => {
    for (let j = 0; j < count; j++) {
      const p = `layer${i + 1}.${j}`;
      const identity = modules.has(`${p}.downsample`)
        ? bn(conv(h, `${p}.downsample.0`), `${p}.downsample.1`)
        : h;
      let y = relu(bn(conv(h, `${p}.conv1`), `${p}.bn1`), `${p}.relu1`);
      if (o.block === 'basic') {
        y = bn(conv(y, `${p}.conv2`), `${p}.bn2`);
      } else {
        y = relu(bn(conv(y, `${p}.conv2`), `${p}.bn2`), `${p}.relu2`);
        y = bn(conv(y, `${p}.conv3`), `${p}.bn3`);
      }
      h = relu(apply(tfl.layers.add({ name: `${p}.add` }), [y, identity]), `${p}.relu`);
    }
  });
  const pooled = apply(tfl.layers.globalAveragePooling2d({ name: 'avgpool' }), h);
  return tfl.model({ inputs: input, outputs: pooled, name });
}

/** tfjs-converter's default shard size: browsers cache files of this size well. */
export const SHARD_BYTES = 4 * 1024 * 1024;

export interface TfjsModelFiles {
  /** model.json: topology, weights manifest, userDefinedMetadata. */
  modelJson: Record<string, unknown>;
  /** Weight shards in manifest order, named as model.json's paths. */
  shards: Array<{ name: string; bytes: Uint8Array }>;
}

/** The files of a tfjs LayersModel (as `tensorflowjs_converter` writes them), in memory. */
export async function layersModelFiles(
  model: tfl.LayersModel,
  userDefinedMetadata: Record<string, unknown>,
  convertedBy: string,
): Promise<TfjsModelFiles> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightData || !artifacts.weightSpecs)
    throw new Error('tfjs export: tfjs-layers saved no weights');
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const count = Math.max(1, Math.ceil(data.length / SHARD_BYTES));
  const shards = Array.from({ length: count }, (_, i) => ({
    name: `group1-shard${i + 1}of${count}.bin`,
    bytes: data.subarray(i * SHARD_BYTES, Math.min(data.length, (i + 1) * SHARD_BYTES)),
  }));
  const modelJson = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: shards.map((s) => s.name), weights: artifacts.weightSpecs }],
    userDefinedMetadata,
  };
  return { modelJson, shards };
}
