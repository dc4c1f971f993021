/**
 * safetensors (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`,
 * then the data section, offsets relative to its start. Readers here trust nothing in the file.
 */

/** dtypes decoded to Float32Array. */
export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** The dtypes the serializer writes. */
export type WritableDtype = 'F32' | 'I64';

/** A dense float32 tensor in row-major order (the layout is the caller's business). */
export interface TensorData {
  shape: number[];
  data: Float32Array;
  /**
   * How the serializer stores it (default F32). I64 stores integer values as int64, as torch
   * keeps BatchNorm's num_batches_tracked; every value must then be an integer.
   */
  fileDtype?: WritableDtype;
}

export interface SafetensorsTensor extends TensorData {
  /** dtype in the file; data is always converted to float32. */
  dtype: SafetensorsDtype;
}

export interface SafetensorsHeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) in bytes, relative to the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsHeaderEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/** Map or plain object of tensors to serialize. */
export type TensorsInput = Map<string, TensorData> | Record<string, TensorData>;

/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
export const MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Valid safetensors dtypes we cannot convert; named separately so the error says "unsupported", not "unknown". */
const UNSUPPORTED_DTYPES = new Set(['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

const describeSource = (source: string | undefined) => source ?? '<bytes>';

const fail = (source: string | undefined, what: string): never => {
  throw new Error(`invalid safetensors file ${describeSource(source)}: ${what}`);
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const fmtShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Number of elements of a shape, validating every dim. Returns a number that may exceed
 * MAX_SAFE_INTEGER for absurd shapes; callers compare it with the file size before allocating.
 */
function elementCount(shape: unknown, what: () => string, source: string | undefined): number {
  if (!Array.isArray(shape))
    return fail(source, `${what()}: shape must be an array of integers, got ${JSON.stringify(shape)}`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      fail(
        source,
        `${what()}: shape ${JSON.stringify(shape)} has dim ${JSON.stringify(d)}, expected a non-negative integer`,
      );
    n *= d as number;
  }
  return n;
}

/** Parse and validate the header: every check that needs no tensor data, so a bad file never allocates. */
export function parseSafetensorsHeader(bytes: Uint8Array, source?: string): SafetensorsHeader {
  if (bytes.length < 8) fail(source, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES))
    fail(
      source,
      `header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not safetensors)`,
    );
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length)
    fail(
      source,
      `header length ${headerLength} is larger than the rest of the file (${bytes.length - 8} bytes); truncated?`,
    );

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail(source, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(source, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json))
    fail(source, `header must be a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}`);
  const header = json as Record<string, unknown>;

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsHeaderEntry>();

  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) fail(source, '__metadata__ must be an object of string values');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const what = () => `tensor '${name}'`;
    if (!isPlainObject(raw))
      fail(source, `${what()}: entry must be an object with dtype, shape and data_offsets`);
    const e = raw as Record<string, unknown>;
    for (const key of ['dtype', 'shape', 'data_offsets'])
      if (!(key in e)) fail(source, `${what()}: entry has no '${key}'`);
    const { dtype } = e;
    if (typeof dtype !== 'string')
      return fail(source, `${what()}: dtype must be a string, got ${JSON.stringify(dtype)}`);
    if (!(dtype in ITEM_SIZE)) {
      if (UNSUPPORTED_DTYPES.has(dtype)) fail(source, `${what()}: dtype ${dtype} is not supported`);
      fail(
        source,
        `${what()}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(ITEM_SIZE).join(', ')})`,
      );
    }
    const itemSize = ITEM_SIZE[dtype as SafetensorsDtype];
    const numel = elementCount(e.shape, what, source);
    const shape = e.shape as number[];
    const nbytes = numel * itemSize;
    if (nbytes > dataLength)
      fail(
        source,
        `${what()}: shape ${fmtShape(shape)} of ${dtype} needs ${nbytes} bytes, more than the whole data section (${dataLength} bytes); truncated or corrupt?`,
      );
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    )
      fail(source, `${what()}: data_offsets must be two non-negative integers, got ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    if (begin > end) fail(source, `${what()}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength)
      fail(
        source,
        `${what()}: data_offsets [${begin}, ${end}] out of range of the ${dataLength}-byte data section; truncated?`,
      );
    if (end - begin !== nbytes)
      fail(
        source,
        `${what()}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${fmtShape(shape)} of ${dtype} needs ${nbytes}`,
      );
    entries.set(name, { dtype: dtype as SafetensorsDtype, shape: [...shape], dataOffsets: [begin, end] });
  }

  // Overlap: sorted by begin, each non-empty range must start at or after the previous one's end.
  const ranges = [...entries].filter(([, e]) => e.dataOffsets[1] > e.dataOffsets[0]);
  ranges.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < ranges.length; i++) {
    const [pn, pe] = ranges[i - 1];
    const [n, e] = ranges[i];
    if (e.dataOffsets[0] < pe.dataOffsets[1])
      fail(
        source,
        `tensors '${pn}' [${pe.dataOffsets.join(', ')}] and '${n}' [${e.dataOffsets.join(', ')}] have overlapping data_offsets`,
      );
  }
  return { entries, metadata, dataStart };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decode one tensor's little-endian bytes to float32. */
function decode(dtype: SafetensorsDtype, raw: Uint8Array, numel: number): Float32Array {
  // Copy first (new Uint8Array, not slice: Buffer.slice is a view), so the copy is aligned and owns its buffer.
  const buf = new Uint8Array(raw).buffer;
  const dv = new DataView(buf);
  const out = new Float32Array(numel);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) return new Float32Array(buf);
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    case 'F64':
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    case 'F16':
      for (let i = 0; i < numel; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      return out;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I64':
      for (let i = 0; i < numel; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      return out;
    case 'U64':
      for (let i = 0; i < numel; i++) out[i] = Number(dv.getBigUint64(i * 8, true));
      return out;
    case 'I32':
      for (let i = 0; i < numel; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    case 'U32':
      for (let i = 0; i < numel; i++) out[i] = dv.getUint32(i * 4, true);
      return out;
    case 'I16':
      for (let i = 0; i < numel; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    case 'U16':
      for (let i = 0; i < numel; i++) out[i] = dv.getUint16(i * 2, true);
      return out;
    case 'I8':
      for (let i = 0; i < numel; i++) out[i] = dv.getInt8(i);
      return out;
    case 'U8':
      for (let i = 0; i < numel; i++) out[i] = dv.getUint8(i);
      return out;
    case 'BOOL':
      for (let i = 0; i < numel; i++) out[i] = dv.getUint8(i) !== 0 ? 1 : 0;
      return out;
  }
}

/** Parse a safetensors file, keeping its `__metadata__`. */
export function parseSafetensorsWithMetadata(
  bytes: Uint8Array,
  source?: string,
): { tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> } {
  const header = parseSafetensorsHeader(bytes, source);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, e] of header.entries) {
    const [begin, end] = e.dataOffsets;
    const numel = (end - begin) / ITEM_SIZE[e.dtype];
    const raw = bytes.subarray(header.dataStart + begin, header.dataStart + end);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: decode(e.dtype, raw, numel) });
  }
  return { tensors, metadata: header.metadata };
}

/** Parse a safetensors file; every numeric dtype is converted to float32. `source` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, source?: string): Map<string, SafetensorsTensor> {
  return parseSafetensorsWithMetadata(bytes, source).tensors;
}

const toEntries = (tensors: TensorsInput): Array<[string, TensorData]> =>
  tensors instanceof Map ? [...tensors] : Object.entries(tensors);

/**
 * The dtype and little-endian bytes a tensor is stored as (checkpoints hash exactly these).
 * `name` is for errors.
 */
export function tensorBytes(name: string, t: TensorData): { dtype: WritableDtype; bytes: Uint8Array } {
  if (!(t.data instanceof Float32Array))
    throw new Error(`safetensors: tensor '${name}' data must be a Float32Array`);
  const dtype = t.fileDtype ?? 'F32';
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN_HOST)
      return { dtype, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
    const out = new Uint8Array(t.data.length * 4);
    const dv = new DataView(out.buffer);
    t.data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return { dtype, bytes: out };
  }
  if (dtype !== 'I64')
    throw new Error(
      `safetensors: tensor '${name}' has fileDtype ${JSON.stringify(dtype)}, expected F32 or I64`,
    );
  const out = new Uint8Array(t.data.length * 8);
  const dv = new DataView(out.buffer);
  t.data.forEach((v, i) => {
    if (!Number.isInteger(v))
      throw new Error(`safetensors: tensor '${name}' is I64 but value ${i} is ${v}, not an integer`);
    dv.setBigInt64(i * 8, BigInt(v), true);
  });
  return { dtype, bytes: out };
}

/**
 * Serialize tensors (F32, or I64 where a tensor says so): names sorted (code-unit order, as Python's sorted()), contiguous data
 * in that order, header padded with spaces to a multiple of 8 so the data section stays aligned.
 */
export function serializeSafetensors(tensors: TensorsInput, metadata?: Record<string, string>): Uint8Array {
  const entries = toEntries(tensors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // The header is built by hand: JSON.stringify of an object would move integer-like names first.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string')
        throw new Error(`safetensors metadata '${k}' must be a string, got ${typeof v}`);
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  const blobs: Uint8Array[] = [];
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__')
      throw new Error(`safetensors: invalid tensor name ${JSON.stringify(name)}`);
    if (!(t.data instanceof Float32Array))
      throw new Error(`safetensors: tensor '${name}' data must be a Float32Array`);
    const numel = t.shape.reduce((n, d) => {
      if (!Number.isSafeInteger(d) || d < 0)
        throw new Error(`safetensors: tensor '${name}' has invalid dim ${d} in shape ${fmtShape(t.shape)}`);
      return n * d;
    }, 1);
    if (numel !== t.data.length)
      throw new Error(
        `safetensors: tensor '${name}' has ${t.data.length} values but shape ${fmtShape(t.shape)} needs ${numel}`,
      );
    const { dtype, bytes } = tensorBytes(name, t);
    const end = offset + bytes.length;
    parts.push(
      `${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: t.shape, data_offsets: [offset, end] })}`,
    );
    blobs.push(bytes);
    offset = end;
  }
  let header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(header);
    header = p;
  }
  const out = new Uint8Array(8 + header.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let pos = 8 + header.length;
  for (const bytes of blobs) {
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}
