/**
 * NumPy .npy files (format 1.0): the magic, a Python-literal header padded with spaces to a
 * multiple of 64 bytes, then the array's little-endian bytes in C order. np.load reads them.
 */
const MAGIC = [0x93, ...new TextEncoder().encode('NUMPY'), 1, 0];

export type NpyData = Float32Array | BigInt64Array;

export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const numel = shape.reduce((a, d) => a * d, 1);
  if (numel !== data.length)
    throw new Error(`npy: ${data.length} values do not fill shape [${shape.join(', ')}] (${numel} values)`);
  const descr = data instanceof Float32Array ? '<f4' : '<i8';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(MAGIC.length + 2 + head.length + data.byteLength);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint16(MAGIC.length, head.length, true);
  out.set(head, MAGIC.length + 2);
  const start = MAGIC.length + 2 + head.length;
  data.forEach((v: number | bigint, i: number) => {
    if (typeof v === 'bigint') dv.setBigInt64(start + i * 8, v, true);
    else dv.setFloat32(start + i * 4, v, true);
  });
  return out;
}
