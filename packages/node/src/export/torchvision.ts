import { ResNet, RESNET_PRESETS, resnetWidths, type Backbone } from '@selfsup/core';

/**
 * The Python that builds the torchvision model a selfsup backbone's state dict loads into with
 * `load_state_dict(strict=True)`, or undefined (with the reason) when torchvision has no such
 * model: torchvision's ResNets have stage widths 64, 128, 256, 512 only.
 */
export function torchvisionBuilder(backbone: Backbone): { lines: string[] } | { reason: string } {
  if (!(backbone instanceof ResNet))
    return { reason: `the backbone is a ${backbone.constructor.name}, not one of selfsup's ResNets` };
  const o = backbone.options;
  const preset = Object.entries(RESNET_PRESETS).find(
    ([, p]) => p.block === o.block && p.blocks.join() === o.blocks.join(),
  );
  if (!preset)
    return { reason: `torchvision has no ResNet with ${o.block} blocks [${o.blocks.join(', ')}] per stage` };
  const standard = resnetWidths(1);
  if (o.widths.join() !== standard.join())
    return {
      reason:
        `its stage widths are [${o.widths.join(', ')}]; torchvision.models.${preset[0]} has [${standard.join(', ')}] ` +
        '(a width multiplier other than 1): load it into a ResNet built with these widths',
    };
  const inCh = o.inChannels ?? 3;
  const lines = [`m = torchvision.models.${preset[0]}()`, 'm.fc = torch.nn.Identity()'];
  if (o.stem === 'cifar') {
    // The two-line change to torchvision's stem: 3x3/1 conv, no max-pool.
    lines.push(
      `m.conv1 = torch.nn.Conv2d(${inCh}, 64, 3, 1, 1, bias=False)`,
      'm.maxpool = torch.nn.Identity()',
    );
  } else if (inCh !== 3) {
    lines.push(`m.conv1 = torch.nn.Conv2d(${inCh}, 64, 7, 2, 3, bias=False)`);
  }
  if (o.lastStride === 1) {
    // The last stage's first block without its stride (on conv1 in a basic block, on conv2 in
    // torchvision's v1.5 bottleneck) and its downsample shortcut likewise.
    const first = `m.layer${o.blocks.length}[0]`;
    lines.push(
      `${first}.${o.block === 'basic' ? 'conv1' : 'conv2'}.stride = (1, 1)`,
      `${first}.downsample[0].stride = (1, 1)`,
    );
  }
  return { lines };
}
