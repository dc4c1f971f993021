import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createPipeline, tf, UnknownTypeError, type SelfsupConfigInput } from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';

const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };

/** The error createPipeline throws for this config (fails the test if none). */
function errorOf(config: unknown, plugins = [byolPlugin, mocoPlugin, lewelPlugin]): Error {
  try {
    createPipeline(config as SelfsupConfigInput, { plugins, source: 'run.yaml' }).dispose();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected ${JSON.stringify(config)} to be rejected`);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('config errors name the key path, the bad value and what was expected', () => {
  it('wrong type: train.epochs = "ten"', () => {
    const err = errorOf({ method: 'byol', train: { epochs: 'ten' } });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('run.yaml: invalid config');
    expect(err.message).toContain('train.epochs: got "ten"; Expected number, received string');
  });

  it('unknown key: train.epoch', () => {
    const err = errorOf({ method: 'byol', train: { epoch: 10 } });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(
      /train: unknown key\(s\) 'epoch'; expected one of epochs, maxSteps, .*did you mean 'epochs'/,
    );
  });

  it('every problem is listed, one per line, root keys included', () => {
    const err = errorOf({ method: 'byol', data: { imageSize: 4 }, epochs: 3 });
    const lines = err.message.split('\n').slice(1);
    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual(
      expect.stringMatching(/data\.imageSize: got 4; .*greater than or equal to 8/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/\(root\): unknown key\(s\) 'epochs'/));
  });

  it('missing method', () => {
    const err = errorOf({});
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('  method: got missing; expected a type name (e.g. "byol") or a mapping');
  });

  it("a registration's options are checked under its key: method.hiddenDim, backbone.stem, aggregator.heads", () => {
    const m = errorOf({ method: { type: 'byol', hiddenDim: -1 }, backbone: TINY });
    expect(m).toBeInstanceOf(ConfigError);
    expect(m.message).toContain("run.yaml (method 'byol')");
    expect(m.message).toContain('method.hiddenDim: got -1; Number must be greater than 0');
    const b = errorOf({ method: 'byol', backbone: { type: 'resnet18', stem: 'foo' } });
    expect(b.message).toContain('backbone.stem: got "foo"');
    expect(b.message).toContain("Expected 'imagenet' | 'cifar'");
    const unknownOpt = errorOf({ method: 'byol', backbone: { ...TINY, depth: 3 } });
    expect(unknownOpt.message).toContain("backbone: unknown key(s) 'depth'");
    const a = errorOf({ method: 'byol', backbone: TINY, aggregator: { type: 'lewel', heads: 0 } });
    expect(a.message).toContain('aggregator.heads: got 0');
  });

  it('optimizer.lr must be positive, reported as a config error', () => {
    const err = errorOf({ method: 'byol', backbone: TINY, optimizer: { type: 'sgd', lr: -1 } });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('run.yaml: optimizer.lr: got -1; expected a positive number');
  });

  it('a rejected config leaves no tensor behind, even when the failure comes from inside a constructor', () => {
    const before = tf.memory().numTensors;
    // Fails after the model is built (optimizer), and inside the LEWEL constructor (K = 10 not divisible by 4).
    errorOf({ method: 'byol', backbone: TINY, optimizer: { type: 'adam', lr: 1 } });
    expect(tf.memory().numTensors).toBe(before);
    const err = errorOf({
      method: { type: 'byol', hiddenDim: 8, outDim: 10 },
      backbone: TINY,
      aggregator: { type: 'lewel', heads: 4 },
    });
    expect(err.message).toMatch(/heads \(4\) must divide .* K = 10/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('unknown type names list what is registered and which package provides them', () => {
  it("method 'byol' without the byol plugin names @selfsup/plugin-byol", () => {
    const err = errorOf({ method: 'byol' }, [mocoPlugin]);
    expect(err).toBeInstanceOf(UnknownTypeError);
    const u = err as UnknownTypeError;
    expect(u.seam).toBe('Method');
    expect(u.requested).toBe('byol');
    expect(u.registered).toEqual(['moco']);
    expect(u.message).toContain("run.yaml: method: unknown method 'byol'");
    expect(u.message).toContain('Registered: moco;');
    expect(u.message).toContain('install @selfsup/plugin-byol');
  });

  it('no method plugin at all says (none)', () => {
    const err = errorOf({ method: 'moco' }, []);
    expect(err.message).toContain('Registered: (none)');
    expect(err.message).toContain('@selfsup/plugin-moco');
  });

  it("aggregator 'lewel' without the lewel plugin lists 'global' and names @selfsup/plugin-lewel", () => {
    const err = errorOf({ method: 'byol', aggregator: 'lewel' }, [byolPlugin]);
    expect(err).toBeInstanceOf(UnknownTypeError);
    expect(err.message).toContain("aggregator: unknown aggregator 'lewel'. Registered: global;");
    expect(err.message).toContain('install @selfsup/plugin-lewel');
  });

  it('a backbone nobody ships lists the registered backbones and asks for a plugin', () => {
    const err = errorOf({ method: 'byol', backbone: 'vit' });
    expect(err).toBeInstanceOf(UnknownTypeError);
    expect((err as UnknownTypeError).registered).toEqual(['resnet', 'resnet18', 'resnet34', 'resnet50']);
    expect(err.message).toContain(
      "backbone: unknown backbone 'vit'. Registered: resnet, resnet18, resnet34, resnet50;",
    );
    expect(err.message).toContain("register a plugin that provides backbone 'vit'");
  });

  it('an unknown optimizer lists lars and sgd', () => {
    const err = errorOf({ method: 'byol', backbone: TINY, optimizer: { type: 'adam', lr: 1 } });
    expect(err.message).toContain("optimizer: unknown optimizer 'adam'. Registered: lars, sgd;");
  });
});
