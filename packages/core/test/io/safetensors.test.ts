import { describe, expect, it } from 'vitest';
import { parseSafetensors, parseSafetensorsWithMetadata, serializeSafetensors } from '../../src/io';

/** A safetensors file from a header (object or raw text) and data bytes, optionally lying about the header length. */
function build(header: unknown, data: ArrayLike<number> = [], headerLength?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(Array.from(data), 8 + h.length);
  return out;
}

const le = (ctor: 'Float64' | 'Int32' | 'Uint16' | 'Int16', values: number[]) => {
  const size = { Float64: 8, Int32: 4, Uint16: 2, Int16: 2 }[ctor];
  const dv = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => dv[`set${ctor}`](i * size, v, true));
  return Array.from(new Uint8Array(dv.buffer));
};
const leI64 = (values: bigint[]) => {
  const dv = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => dv.setBigInt64(i * 8, v, true));
  return Array.from(new Uint8Array(dv.buffer));
};

describe('serializeSafetensors / parseSafetensors', () => {
  it('round-trips float32 tensors with metadata, names sorted, header padded to 8 with spaces', () => {
    const tensors = new Map([
      ['b', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) }],
      ['10', { shape: [1], data: new Float32Array([10]) }],
      ['a.weight', { shape: [], data: new Float32Array([Math.PI]) }],
      ['2', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = serializeSafetensors(tensors, { format: 'pt', note: 'hi' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeLessThanOrEqual(n);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    const header = JSON.parse(text);
    // Code-unit order, data contiguous in that order.
    expect(header['10'].data_offsets).toEqual([0, 4]);
    expect(header['2'].data_offsets).toEqual([4, 4]);
    expect(header['a.weight'].data_offsets).toEqual([4, 8]);
    expect(header.b).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [8, 32] });
    expect(text.indexOf('"10"')).toBeLessThan(text.indexOf('"2"'));
    expect(text.indexOf('"2"')).toBeLessThan(text.indexOf('"a.weight"'));
    expect(bytes.length).toBe(8 + n + 32);

    const { tensors: back, metadata } = parseSafetensorsWithMetadata(bytes, 'mem');
    expect(metadata).toEqual({ format: 'pt', note: 'hi' });
    expect([...back.keys()].sort()).toEqual(['10', '2', 'a.weight', 'b']);
    expect(back.get('b')).toEqual({
      dtype: 'F32',
      shape: [2, 3],
      data: new Float32Array([1, 2, 3, 4, 5, -6.5]),
    });
    expect(back.get('a.weight')!.shape).toEqual([]);
    expect(back.get('a.weight')!.data[0]).toBeCloseTo(Math.PI, 6);
    expect(back.get('2')!.shape).toEqual([0, 4]);
    expect(back.get('2')!.data.length).toBe(0);
  });

  it('parses a view at an odd offset into a larger buffer (as Node Buffers often are)', () => {
    const file = serializeSafetensors({ w: { shape: [3], data: new Float32Array([1, -2, 3]) } });
    const big = new Uint8Array(file.length + 5);
    big.set(file, 3);
    const t = parseSafetensors(big.subarray(3, 3 + file.length));
    expect(Array.from(t.get('w')!.data)).toEqual([1, -2, 3]);
  });

  it('writes I64 where a tensor asks (as torch stores num_batches_tracked) and reads it back', () => {
    const bytes = serializeSafetensors({
      'bn.num_batches_tracked': { shape: [], data: new Float32Array([7]), fileDtype: 'I64' },
      'bn.weight': { shape: [2], data: new Float32Array([0.5, -1]) },
    });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header['bn.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: [0, 8] });
    expect(header['bn.weight']).toEqual({ dtype: 'F32', shape: [2], data_offsets: [8, 16] });
    const data = bytes.subarray(8 + headerLength);
    expect(Array.from(data.subarray(0, 8))).toEqual(leI64([7n]));
    const back = parseSafetensors(bytes);
    expect(back.get('bn.num_batches_tracked')).toEqual({
      dtype: 'I64',
      shape: [],
      data: new Float32Array([7]),
    });
    expect(Array.from(back.get('bn.weight')!.data)).toEqual([0.5, -1]);
  });

  it('refuses a non-integer value in an I64 tensor, naming it', () => {
    expect(() =>
      serializeSafetensors({ n: { shape: [2], data: new Float32Array([1, 2.5]), fileDtype: 'I64' } }),
    ).toThrow("safetensors: tensor 'n' is I64 but value 1 is 2.5, not an integer");
  });

  it('accepts a plain object and no metadata', () => {
    const bytes = serializeSafetensors({ x: { shape: [2], data: new Float32Array([7, 8]) } });
    const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
    expect(metadata).toEqual({});
    expect(Array.from(tensors.get('x')!.data)).toEqual([7, 8]);
  });

  it('refuses to serialize inconsistent tensors, naming them', () => {
    expect(() => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /'w' has 3 values but shape \[2, 2\] needs 4/,
    );
    expect(() => serializeSafetensors({ w: { shape: [-1], data: new Float32Array(1) } })).toThrow(
      /'w'.*invalid dim -1/,
    );
    expect(() => serializeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(
      /invalid tensor name/,
    );
  });

  it('decodes F64, F16, BF16, I64, I32, I16, U8, I8, BOOL to float32, including unaligned offsets', () => {
    const parts: Array<[string, string, number[], number[]]> = [
      ['u8', 'U8', [3], [0, 7, 255]], // 3 bytes: everything after is unaligned
      ['f32', 'F32', [2], Array.from(new Uint8Array(new Float32Array([1.5, -2.25]).buffer))],
      ['f64', 'F64', [2], le('Float64', [0.1, -1e300])],
      // 1, -2, 0.5, 65504 (max half), smallest subnormal 2^-24, +inf
      ['f16', 'F16', [2, 3], le('Uint16', [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00])],
      // 1, -1.5, 3.140625
      ['bf16', 'BF16', [3], le('Uint16', [0x3f80, 0xbfc0, 0x4049])],
      ['i64', 'I64', [3], leI64([-3n, 123456n, 2n ** 40n])],
      ['i32', 'I32', [2], le('Int32', [-7, 2147483647])],
      ['i16', 'I16', [2], le('Int16', [-32768, 5])],
      ['i8', 'I8', [2], [0xff, 0x7f]],
      ['bool', 'BOOL', [3], [0, 1, 2]],
    ];
    const header: Record<string, unknown> = {};
    const data: number[] = [];
    for (const [name, dtype, shape, bytes] of parts) {
      header[name] = { dtype, shape, data_offsets: [data.length, data.length + bytes.length] };
      data.push(...bytes);
    }
    const t = parseSafetensors(build(header, data), 'dtypes.safetensors');
    const values = (k: string) => Array.from(t.get(k)!.data);
    expect(values('u8')).toEqual([0, 7, 255]);
    expect(values('f32')).toEqual([1.5, -2.25]);
    expect(values('f64')).toEqual([Math.fround(0.1), -Infinity]); // -1e300 overflows float32
    expect(values('f16')).toEqual([1, -2, 0.5, 65504, 2 ** -24, Infinity]);
    expect(t.get('f16')!.shape).toEqual([2, 3]);
    expect(t.get('f16')!.dtype).toBe('F16');
    expect(values('bf16')).toEqual([1, -1.5, 3.140625]);
    expect(values('i64')).toEqual([-3, 123456, 2 ** 40]);
    expect(values('i32')).toEqual([-7, 2147483648]); // nearest float32
    expect(values('i16')).toEqual([-32768, 5]);
    expect(values('i8')).toEqual([-1, 127]);
    expect(values('bool')).toEqual([0, 1, 1]);
  });
});

describe('malformed safetensors files give a clear error naming the file', () => {
  const src = 'bad.safetensors';
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /0 bytes, shorter than the 8-byte header length/],
    ['7-byte file', new Uint8Array(7), /7 bytes, shorter than/],
    [
      'header length past the end',
      build({ a: ok }, new Array(8).fill(0), 10_000n),
      /header length 10000 is larger than the rest of the file/,
    ],
    [
      'header length > 100 MB',
      build({}, [], 2n ** 63n),
      /header length 9223372036854775808 exceeds the 100000000-byte limit/,
    ],
    ['header not UTF-8', build('{"a":1}').map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/],
    ['header not JSON', build('{"a": [1, 2', []), /header is not valid JSON/],
    ['header an array', build([1, 2]), /header must be a JSON object, got an array/],
    ['header a number', build('42'), /header must be a JSON object, got number/],
    ['entry not an object', build({ a: 3 }), /tensor 'a': entry must be an object/],
    [
      'entry without dtype',
      build({ a: { shape: [2], data_offsets: [0, 8] } }, new Array(8).fill(0)),
      /tensor 'a': entry has no 'dtype'/,
    ],
    [
      'entry without shape',
      build({ a: { dtype: 'F32', data_offsets: [0, 8] } }, new Array(8).fill(0)),
      /tensor 'a': entry has no 'shape'/,
    ],
    [
      'entry without data_offsets',
      build({ a: { dtype: 'F32', shape: [2] } }, new Array(8).fill(0)),
      /tensor 'a': entry has no 'data_offsets'/,
    ],
    [
      'unknown dtype',
      build({ a: { ...ok, dtype: 'F33' } }, new Array(8).fill(0)),
      /tensor 'a': unknown dtype "F33" \(known: F64, F32/,
    ],
    [
      'unsupported dtype',
      build({ a: { ...ok, dtype: 'F8_E4M3' } }, new Array(8).fill(0)),
      /dtype F8_E4M3 is not supported/,
    ],
    [
      'negative dim',
      build({ a: { ...ok, shape: [-2] } }, new Array(8).fill(0)),
      /tensor 'a': shape \[-2\] has dim -2, expected a non-negative integer/,
    ],
    ['fractional dim', build({ a: { ...ok, shape: [1.5] } }, new Array(8).fill(0)), /has dim 1.5/],
    ['string dim', build({ a: { ...ok, shape: ['2'] } }, new Array(8).fill(0)), /has dim "2"/],
    ['shape not an array', build({ a: { ...ok, shape: 2 } }, new Array(8).fill(0)), /shape must be an array/],
    [
      'declared size larger than the file',
      build({ a: { ...ok, shape: [1e9, 1e9] } }, new Array(8).fill(0)),
      /\[1000000000, 1000000000\] of F32 needs 4000000000000000000 bytes, more than the whole data section \(8 bytes\)/,
    ],
    [
      'offsets past the data',
      build({ a: { ...ok, data_offsets: [8, 16] } }, new Array(12).fill(0)),
      /data_offsets \[8, 16\] out of range of the 12-byte data section/,
    ],
    [
      'offsets reversed',
      build({ a: { ...ok, data_offsets: [8, 0] } }, new Array(8).fill(0)),
      /data_offsets \[8, 0\] end before they begin/,
    ],
    [
      'offsets negative',
      build({ a: { ...ok, data_offsets: [-8, 0] } }, new Array(8).fill(0)),
      /data_offsets must be two non-negative integers, got \[-8,0\]/,
    ],
    [
      'offsets wrong arity',
      build({ a: { ...ok, data_offsets: [0] } }, new Array(8).fill(0)),
      /data_offsets must be two/,
    ],
    [
      'offsets not matching shape',
      build({ a: { ...ok, shape: [3] } }, new Array(12).fill(0)),
      /data_offsets \[0, 8\] span 8 bytes but shape \[3\] of F32 needs 12/,
    ],
    [
      'overlapping',
      build({ a: ok, b: { ...ok, data_offsets: [4, 12] } }, new Array(12).fill(0)),
      /tensors 'a' \[0, 8\] and 'b' \[4, 12\] have overlapping data_offsets/,
    ],
    ['metadata not strings', build({ __metadata__: { k: 1 } }), /__metadata__.k must be a string/],
    [
      'truncated data',
      serializeSafetensors({ w: { shape: [4], data: new Float32Array(4) } }).subarray(0, -3),
      /'w': shape \[4\] of F32 needs 16 bytes, more than the whole data section \(13 bytes\); truncated/,
    ],
    [
      'truncated second tensor',
      serializeSafetensors({
        a: { shape: [4], data: new Float32Array(4) },
        b: { shape: [2], data: new Float32Array(2) },
      }).subarray(0, -3),
      /'b': data_offsets \[16, 24\] out of range of the 21-byte data section; truncated\?/,
    ],
  ];
  it.each(cases)('%s', (_label, bytes, message) => {
    let err: unknown;
    try {
      parseSafetensors(bytes, src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^invalid safetensors file bad\.safetensors: /);
    expect((err as Error).message).toMatch(message);
  });

  it('names <bytes> when no source is given', () => {
    expect(() => parseSafetensors(new Uint8Array(3))).toThrow(/invalid safetensors file <bytes>: /);
  });
});
