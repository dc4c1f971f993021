/**
 * Stands in for sharp (native image I/O) in the GPU bench bundle: the benchmark reads no image
 * files and writes no plots, and the pack carries no native modules but Dawn.
 */
export default function sharp(): never {
  throw new Error('sharp is not in the GPU bench pack: image files and plots are not available here');
}
