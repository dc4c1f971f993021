import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { exportStateDictAsync, IMAGENET_MEAN, IMAGENET_STD } from '@selfsup/core';
import { atomicWriteFile } from '../../io/atomic-write';
import { writeSafetensors } from '../../io/safetensors-files';
import { selectNetwork, EXPORT_PARTS, type SelectedNetwork } from '../../export/network';
import { torchvisionBuilder } from '../../export/torchvision';
import { openCheckpointSession, type LoadedCheckpointInfo } from '../session';
import { SELFSUP_VERSION } from '../version';

export const EXPORT_FORMATS = ['torchvision', 'tfjs'] as const;

export interface ExportOptions {
  checkpoint: string;
  format: string;
  what?: string;
  out?: string;
  config?: string;
  set?: string[];
  backend?: string;
  plugin?: string[];
}

/** Where the weights came from, in every exported file. */
interface Provenance {
  version: string;
  part: string;
  checkpoint: string;
  step: number;
  epoch: number | undefined;
  config: unknown;
}

function provenance(checkpoint: LoadedCheckpointInfo, part: string, config: unknown): Provenance {
  const epoch = (checkpoint.meta as { epoch?: unknown } | undefined)?.epoch;
  return {
    version: SELFSUP_VERSION,
    part,
    checkpoint: checkpoint.path,
    step: checkpoint.step,
    epoch: typeof epoch === 'number' ? epoch : undefined,
    config,
  };
}

/** `selfsup export`: a trained network as a torchvision state dict or a tfjs LayersModel. */
export async function exportCommand(opts: ExportOptions): Promise<number> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format))
    throw new Error(`--format ${opts.format}: expected one of ${EXPORT_FORMATS.join(', ')}`);
  const part = opts.what ?? 'backbone';
  if (!(EXPORT_PARTS as readonly string[]).includes(part))
    throw new Error(`--what ${part}: expected one of ${EXPORT_PARTS.join(', ')}`);
  if (opts.format === 'tfjs' && part === 'online')
    throw new Error(
      "--format tfjs gives a backbone's pooled features: --what backbone (the online network's) or " +
        "--what target (the target network's backbone); the heads export with --format torchvision",
    );
  const session = await openCheckpointSession(opts);
  try {
    const selected = selectNetwork(session.pipeline.method, part);
    const from = provenance(session.checkpoint, part, session.config);
    const exportDir = join(session.located.runDir, 'export');
    if (opts.format === 'torchvision') {
      const out = resolve(opts.out ?? join(exportDir, `${part}-torchvision.safetensors`));
      await writeTorchvision(out, selected, from);
    } else {
      const name = part === 'target' ? 'target-backbone' : 'backbone';
      const out = resolve(opts.out ?? join(exportDir, `${name}-tfjs`));
      await writeTfjs(out, selected, from, session.config.data.imageSize);
    }
    return 0;
  } finally {
    session.pipeline.dispose();
  }
}

async function writeTorchvision(out: string, selected: SelectedNetwork, from: Provenance): Promise<void> {
  const tensors = await exportStateDictAsync(selected.entries);
  const builder = selected.part === 'backbone' ? torchvisionBuilder(selected.backbone) : undefined;
  const metadata: Record<string, string> = {
    format: 'pt',
    'selfsup.version': from.version,
    'selfsup.part': from.part,
    'selfsup.checkpoint': from.checkpoint,
    'selfsup.step': String(from.step),
    'selfsup.config': JSON.stringify(from.config),
  };
  if (from.epoch !== undefined) metadata['selfsup.epoch'] = String(from.epoch);
  if (builder && 'lines' in builder) metadata['selfsup.torchvision'] = builder.lines.join('\n');
  await mkdir(resolve(out, '..'), { recursive: true });
  await writeSafetensors(out, tensors, metadata);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`wrote ${out}: ${tensors.size} tensors of the ${from.part} (step ${from.step}), torchvision names`);
  if (builder === undefined) {
    say("the backbone's tensors are under 'backbone.' (torchvision names after it); load them with:");
    say(
      `  sd = {k[len("backbone."):]: v for k, v in safetensors.torch.load_file("${out}").items() if k.startswith("backbone.")}`,
    );
  } else if ('lines' in builder) {
    say('load it in PyTorch with:');
    say('  import torch, torchvision, safetensors.torch');
    for (const line of builder.lines) say(`  ${line}`);
    say(`  m.load_state_dict(safetensors.torch.load_file("${out}"), strict=True)`);
  } else {
    say(`not a torchvision builder's model: ${builder.reason}`);
  }
}

async function writeTfjs(out: string, selected: SelectedNetwork, from: Provenance, imageSize: number) {
  // Loaded here only: no other command needs tfjs-layers.
  const { layersModelFiles, resnetLayersModel } = await import('../../export/tfjs-layers-model');
  const model = resnetLayersModel(selected.backbone);
  let files: Awaited<ReturnType<typeof layersModelFiles>>;
  try {
    files = await layersModelFiles(
      model,
      {
        selfsup: {
          ...from,
          input: 'NHWC float32 RGB: pixels / 255, then (x - mean) / std per channel, as selfsup evaluates',
          mean: IMAGENET_MEAN,
          std: IMAGENET_STD,
          imageSize,
          output: `global-average-pooled backbone features [N, ${selected.backbone.outChannels}]`,
        },
      },
      `selfsup ${from.version}`,
    );
  } finally {
    model.dispose();
  }
  await mkdir(out, { recursive: true });
  for (const s of files.shards) await atomicWriteFile(join(out, s.name), s.bytes);
  // model.json last: a reader that sees it finds every shard it names.
  await atomicWriteFile(
    join(out, 'model.json'),
    new TextEncoder().encode(`${JSON.stringify(files.modelJson)}\n`),
  );
  const bytes = files.shards.reduce((n, s) => n + s.bytes.length, 0);
  process.stdout.write(
    `wrote ${join(out, 'model.json')} and ${files.shards.length} weight shard(s) (${(bytes / 2 ** 20).toFixed(1)} MiB) ` +
      `of the ${from.part === 'target' ? "target network's backbone" : 'backbone'} (step ${from.step})\n` +
      `load it with tfjs alone: await tf.loadLayersModel('<url>/model.json'), then model.predict(images) ` +
      `-> [N, ${selected.backbone.outChannels}] for NHWC images normalised with ImageNet mean/std ` +
      `(${imageSize}px in training)\n`,
  );
}
