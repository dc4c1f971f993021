import { z } from 'zod';
import type { BackboneRegistration, HeadContext, HeadRegistration, Plugin } from '../contracts';
import { defineRegistration } from '../di/define';
import { registerType } from '../di/registry';
import { ResNet, RESNET_PRESETS, resnetWidths } from '../nn/resnet';
import { TokenwiseMLP } from '../nn/heads';
import { globalAggregatorRegistration } from '../method/global-aggregator';
import { cpuBackendRegistration } from '../backend/cpu';
import {
  datasetRegistrations,
  transformRegistrations,
  viewPipelineRegistrations,
} from '../data/registrations';
import { lrScheduleRegistrations, optimizerRegistrations } from '../optim/registrations';

const PLUGIN = '@selfsup/core';

const presetOptions = z
  .object({
    stem: z.enum(['imagenet', 'cifar']).default('imagenet'),
    widthMultiplier: z.number().positive().default(1),
    inChannels: z.number().int().positive().default(3),
    /** Optional, without a default, so configs that do not set it keep their config hash. */
    lastStride: z.union([z.literal(1), z.literal(2)]).optional(),
  })
  .strict();

const customOptions = z
  .object({
    block: z.enum(['basic', 'bottleneck']).default('basic'),
    blocks: z.array(z.number().int().positive()).min(1),
    widths: z.array(z.number().int().positive()).min(1),
    stem: z.enum(['imagenet', 'cifar']).default('imagenet'),
    inChannels: z.number().int().positive().default(3),
    /** Optional, without a default, so configs that do not set it keep their config hash. */
    lastStride: z.union([z.literal(1), z.literal(2)]).optional(),
  })
  .strict();

const presetRegistrations: BackboneRegistration[] = Object.entries(RESNET_PRESETS).map(([type, preset]) =>
  defineRegistration({
    type,
    plugin: PLUGIN,
    description: `torchvision ${type} without fc; options stem (imagenet|cifar), widthMultiplier, lastStride (1|2)`,
    optionsSchema: presetOptions,
    create: (o, seed: number) =>
      new ResNet({
        ...preset,
        widths: resnetWidths(o.widthMultiplier),
        stem: o.stem,
        inChannels: o.inChannels,
        lastStride: o.lastStride,
        seed,
      }),
  }),
);

const customResNet: BackboneRegistration = defineRegistration({
  type: 'resnet',
  plugin: PLUGIN,
  description: 'ResNet with explicit block kind, blocks and widths per stage',
  optionsSchema: customOptions,
  create: (o, seed: number) => new ResNet({ ...o, seed }),
});

const mlpBnOptions = z
  .object({
    /** Append an affine-free BatchNorm on the output as `mlp.4` (SimSiam's projector). */
    outputBatchNorm: z.boolean().default(false),
  })
  .strict();
const headRegistrations: HeadRegistration[] = [
  defineRegistration({
    type: 'mlp_bn',
    plugin: PLUGIN,
    description:
      'Linear(no bias) - BN - ReLU - Linear(no bias), per token (BYOL form); outputBatchNorm adds BN(affine=False)',
    optionsSchema: mlpBnOptions,
    create: (o, dims: HeadContext) =>
      new TokenwiseMLP({ ...dims, batchNorm: true, outputBatchNorm: o.outputBatchNorm }),
  }),
  defineRegistration({
    type: 'mlp',
    plugin: PLUGIN,
    description: 'Linear - ReLU - Linear with biases, per token (MoCo v2 form)',
    optionsSchema: z.object({}).strict(),
    create: (_o, dims: HeadContext) => new TokenwiseMLP({ ...dims, batchNorm: false }),
  }),
];

/** Core's own building blocks, registered like any plugin's: backbones, heads, the global aggregator, optimizers, datasets and augmentations, the cpu backend. */
export const corePlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    for (const r of [...presetRegistrations, customResNet]) registerType(container, 'Backbone', r);
    for (const r of headRegistrations) registerType(container, 'Head', r);
    registerType(container, 'Aggregator', globalAggregatorRegistration);
    for (const r of optimizerRegistrations) registerType(container, 'Optimizer', r);
    for (const r of lrScheduleRegistrations) registerType(container, 'LrSchedule', r);
    registerType(container, 'Backend', cpuBackendRegistration);
    for (const r of datasetRegistrations) registerType(container, 'Dataset', r);
    for (const r of transformRegistrations) registerType(container, 'Transform', r);
    for (const r of viewPipelineRegistrations) registerType(container, 'ViewPipeline', r);
  },
};
