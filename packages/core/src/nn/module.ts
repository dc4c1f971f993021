import { tf } from '../tf';

/**
 * How a tensor's tfjs layout maps to PyTorch's, so state dicts keep PyTorch names and shapes:
 * - `identity`: same layout (BN vectors, biases, buffers, the MoCo queue);
 * - `conv2d`: PyTorch (O, I, kh, kw) <-> tfjs (kh, kw, I, O);
 * - `tokenwise`: PyTorch 1x1 Conv1d (O, I, 1) <-> tfjs (I, O);
 * - `linear`: PyTorch Linear (O, I) <-> tfjs (I, O).
 */
export type TorchLayout = 'identity' | 'conv2d' | 'tokenwise' | 'linear';

/**
 * The dtype PyTorch keeps a tensor in, where it is not float32: BatchNorm's num_batches_tracked
 * is int64 in torch. tfjs holds it as a float32 variable (exact up to 2^24, and data parallel
 * ships state as float32); state dicts write it as I64, so torch's load_state_dict accepts it.
 */
export type TorchDtype = 'int64';

export interface StateEntry {
  /** Dotted PyTorch-style name relative to the module it was collected from. */
  name: string;
  variable: tf.Variable;
  layout: TorchLayout;
  kind: 'parameter' | 'buffer';
  /** Absent: float32. */
  torchDtype?: TorchDtype;
}

interface OwnEntry {
  variable: tf.Variable;
  layout: TorchLayout;
  kind: 'parameter' | 'buffer';
  torchDtype?: TorchDtype;
}

const join = (prefix: string, name: string) =>
  prefix === '' ? name : name === '' ? prefix : `${prefix}.${name}`;

/**
 * A PyTorch-like module tree: named parameters and buffers, children in registration order,
 * train/eval mode. Parameters are trainable tf.Variables; buffers are non-trainable ones.
 */
export abstract class Module {
  private readonly own = new Map<string, OwnEntry>();
  private readonly children = new Map<string, Module>();
  protected training = true;

  protected registerParameter(name: string, value: tf.Tensor, layout: TorchLayout = 'identity'): tf.Variable {
    return this.addEntry(name, value, layout, 'parameter');
  }

  protected registerBuffer(
    name: string,
    value: tf.Tensor,
    layout: TorchLayout = 'identity',
    torchDtype?: TorchDtype,
  ): tf.Variable {
    return this.addEntry(name, value, layout, 'buffer', torchDtype);
  }

  /** Register a child. An empty name adopts the child's entries at this level. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    if (this.children.has(name)) throw new Error(`module '${name}' is already registered`);
    this.children.set(name, module);
    return module;
  }

  private addEntry(
    name: string,
    value: tf.Tensor,
    layout: TorchLayout,
    kind: 'parameter' | 'buffer',
    torchDtype?: TorchDtype,
  ) {
    if (this.own.has(name)) throw new Error(`'${name}' is already registered`);
    // No name: tfjs variable names are process-global, and two pipelines must coexist.
    const variable = tf.variable(value, kind === 'parameter');
    value.dispose();
    this.own.set(name, torchDtype ? { variable, layout, kind, torchDtype } : { variable, layout, kind });
    return variable;
  }

  /** Every parameter and buffer below this module, PyTorch order and names. */
  stateEntries(prefix = ''): StateEntry[] {
    const out: StateEntry[] = [];
    for (const [name, e] of this.own) out.push({ name: join(prefix, name), ...e });
    for (const [name, child] of this.children) out.push(...child.stateEntries(join(prefix, name)));
    return out;
  }

  namedParameters(prefix = ''): StateEntry[] {
    return this.stateEntries(prefix).filter((e) => e.kind === 'parameter');
  }

  namedBuffers(prefix = ''): StateEntry[] {
    return this.stateEntries(prefix).filter((e) => e.kind === 'buffer');
  }

  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Number of scalar parameters (buffers excluded), as torch's sum(p.numel()). */
  parameterCount(): number {
    return this.namedParameters().reduce((n, e) => n + e.variable.size, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  get isTraining(): boolean {
    return this.training;
  }

  /** Copy every parameter and buffer value from a module of the same structure. */
  copyFrom(source: Module): void {
    const src = source.stateEntries();
    const dst = this.stateEntries();
    if (src.length !== dst.length) throw new Error(`copyFrom: ${src.length} entries into ${dst.length}`);
    dst.forEach((d, i) => {
      if (d.name !== src[i].name) throw new Error(`copyFrom: '${src[i].name}' into '${d.name}'`);
      d.variable.assign(src[i].variable);
    });
  }

  dispose(): void {
    for (const e of this.own.values()) e.variable.dispose();
    for (const child of this.children.values()) child.dispose();
  }
}
