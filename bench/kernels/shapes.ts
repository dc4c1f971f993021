/** The layer shapes of a CIFAR ResNet-18 at width 16, 32x32 input, batch 64. */
export const BATCH = 64;

export interface ConvShape {
  name: string;
  h: number; // input height = width
  ci: number;
  co: number;
  k: number;
  stride: number;
}

export const convShapes: ConvShape[] = [
  { name: 'stage1 3x3 s1', h: 32, ci: 16, co: 16, k: 3, stride: 1 },
  { name: 'stage2 3x3 s2', h: 32, ci: 16, co: 32, k: 3, stride: 2 },
  { name: 'stage2 1x1 s2', h: 32, ci: 16, co: 32, k: 1, stride: 2 },
  { name: 'stage2 3x3 s1', h: 16, ci: 32, co: 32, k: 3, stride: 1 },
  { name: 'stage3 3x3 s2', h: 16, ci: 32, co: 64, k: 3, stride: 2 },
  { name: 'stage3 3x3 s1', h: 8, ci: 64, co: 64, k: 3, stride: 1 },
  { name: 'stage4 3x3 s2', h: 8, ci: 64, co: 128, k: 3, stride: 2 },
  { name: 'stage4 3x3 s1', h: 4, ci: 128, co: 128, k: 3, stride: 1 },
];

/** PyTorch-style padding k//2; output side ceil(h / stride). */
export const convOut = (s: ConvShape) => Math.floor((s.h + 2 * Math.floor(s.k / 2) - s.k) / s.stride) + 1;
export const convFlops = (s: ConvShape) => 2 * BATCH * convOut(s) ** 2 * s.ci * s.co * s.k * s.k;

/** MLP head on the 128-d pooled features: forward x W and its two gradients. */
export interface MatMulShape {
  name: string;
  /** Batch of independent products (batched matMul), 1 for plain 2-D. */
  batch?: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}
export const matMulShapes: MatMulShape[] = [
  { name: 'fc 128->512 fwd', m: BATCH, k: 128, n: 512, transposeA: false, transposeB: false },
  // The bench model's LEWEL heads over 64 slots x 64 images = 4096 tokens, hidden 1024, dim 256.
  { name: 'slots 1024->256 fwd', m: 4096, k: 1024, n: 256, transposeA: false, transposeB: false },
  { name: 'slots 1024->256 dX (dy W^T)', m: 4096, k: 256, n: 1024, transposeA: false, transposeB: true },
  { name: 'slots 1024->256 dW (x^T dy)', m: 1024, k: 4096, n: 256, transposeA: true, transposeB: false },
  { name: 'fc 128->512 dX (dy W^T)', m: BATCH, k: 512, n: 128, transposeA: false, transposeB: true },
  { name: 'fc 128->512 dW (x^T dy)', m: 128, k: BATCH, n: 512, transposeA: true, transposeB: false },
  { name: 'fc 512->128 fwd', m: BATCH, k: 512, n: 128, transposeA: false, transposeB: false },
  { name: 'fc 512->128 dW (x^T dy)', m: 512, k: BATCH, n: 128, transposeA: true, transposeB: false },
  // LEWEL-style aligned pooling: per image, 8 maps over 16 positions times [16, 128] features.
  {
    name: 'batched 8x16 @ 16x128 fwd',
    batch: BATCH,
    m: 8,
    k: 16,
    n: 128,
    transposeA: false,
    transposeB: false,
  },
  {
    name: 'batched 8x16 @ 16x128 dF',
    batch: BATCH,
    m: 16,
    k: 8,
    n: 128,
    transposeA: true,
    transposeB: false,
  },
  {
    name: 'batched 8x128 @ (16x128)^T dMaps',
    batch: BATCH,
    m: 8,
    k: 128,
    n: 16,
    transposeA: false,
    transposeB: true,
  },
];
export const matMulFlops = (s: MatMulShape) => 2 * (s.batch ?? 1) * s.m * s.k * s.n;
