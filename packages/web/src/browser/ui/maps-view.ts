/**
 * The alignment maps over their images: one row per fixed image, the image first, then each
 * shown slot's map over the upscaled image, coloured with turbo and upsampled bilinearly, as
 * `selfsup maps` draws its PNG grid; but stretched to the map's own min..max (the grid scales
 * 0..max), so that early, nearly flat maps still show where they lean.
 */
import type { MapsFrame } from '../../hooks';
import { turbo } from './colors';

export interface ShownImage {
  height: number;
  width: number;
  /** RGB floats in [0, 1], HWC. */
  data: Float32Array;
}

export interface MapsViewOptions {
  /** Pixel size of a cell (default 72). */
  cell?: number;
  /** Slots shown per image: the first ones (default 8). */
  maxSlots?: number;
  /** Heatmap opacity over the image (default 0.55). */
  alpha?: number;
}

function rgbaCanvas(width: number, height: number, fill: (rgba: Uint8ClampedArray) => void): OffscreenCanvas {
  const c = new OffscreenCanvas(width, height);
  const ctx = c.getContext('2d')!;
  const im = ctx.createImageData(width, height);
  fill(im.data);
  ctx.putImageData(im, 0, 0);
  return c;
}

export class MapsView {
  /** How many frames were drawn. */
  drawn = 0;
  private readonly cell: number;
  private readonly maxSlots: number;
  private readonly alpha: number;
  private readonly tiles: OffscreenCanvas[];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    images: ShownImage[],
    opts: MapsViewOptions = {},
  ) {
    this.cell = opts.cell ?? 72;
    this.maxSlots = opts.maxSlots ?? 8;
    this.alpha = opts.alpha ?? 0.55;
    this.tiles = images.map((im) =>
      rgbaCanvas(im.width, im.height, (px) => {
        for (let p = 0; p < im.width * im.height; p++) {
          for (let c = 0; c < 3; c++)
            px[p * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, im.data[p * 3 + c])));
          px[p * 4 + 3] = 255;
        }
      }),
    );
  }

  draw(frame: MapsFrame): void {
    const slots = Math.min(this.maxSlots, frame.slots);
    const rows = Math.min(frame.images, this.tiles.length);
    const gap = 4;
    const header = 16;
    const { cell } = this;
    this.canvas.width = (slots + 1) * (cell + gap) - gap;
    this.canvas.height = header + rows * (cell + gap) - gap;
    const ctx = this.canvas.getContext('2d')!;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#556';
    for (let s = 0; s <= slots; s++) ctx.fillText(s === 0 ? 'image' : `map ${s}`, s * (cell + gap) + 2, 11);
    const hw = frame.height * frame.width;
    for (let i = 0; i < rows; i++) {
      const y = header + i * (cell + gap);
      for (let s = 0; s <= slots; s++) {
        const x = s * (cell + gap);
        ctx.imageSmoothingEnabled = false;
        ctx.globalAlpha = 1;
        ctx.drawImage(this.tiles[i], x, y, cell, cell);
        if (s === 0) continue;
        const offset = (i * frame.slots + (s - 1)) * hw;
        let lo = Infinity;
        let hi = -Infinity;
        for (let p = 0; p < hw; p++) {
          lo = Math.min(lo, frame.data[offset + p]);
          hi = Math.max(hi, frame.data[offset + p]);
        }
        const range = hi - lo;
        const heat = rgbaCanvas(frame.width, frame.height, (px) => {
          for (let p = 0; p < hw; p++) {
            const [r, g, b] = turbo(range > 0 ? (frame.data[offset + p] - lo) / range : 0);
            px.set([r, g, b, 255], p * 4);
          }
        });
        ctx.imageSmoothingEnabled = true;
        ctx.globalAlpha = this.alpha;
        ctx.drawImage(heat, x, y, cell, cell);
      }
    }
    ctx.globalAlpha = 1;
    this.drawn++;
  }
}
