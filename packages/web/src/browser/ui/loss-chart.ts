/** The live loss curve: every step's loss (thin) and its exponential moving average (bold). */
export class LossChart {
  private points: Array<[number, number]> = [];
  private totalSteps = 1;
  private scheduled = false;

  constructor(private readonly canvas: HTMLCanvasElement) {}

  reset(totalSteps: number, history: Array<[number, number]> = []): void {
    this.totalSteps = Math.max(1, totalSteps);
    this.points = [...history];
    this.schedule();
  }

  add(step: number, loss: number): void {
    this.points.push([step, loss]);
    this.schedule();
  }

  /** Redraws at most once a frame, so a fast run does not flood the page. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  private draw(): void {
    const { canvas } = this;
    const ctx = canvas.getContext('2d')!;
    const w = canvas.width;
    const h = canvas.height;
    const pad = { left: 52, right: 12, top: 10, bottom: 26 };
    ctx.clearRect(0, 0, w, h);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#667';
    ctx.strokeStyle = '#ccd';
    ctx.lineWidth = 1;
    ctx.strokeRect(pad.left, pad.top, w - pad.left - pad.right, h - pad.top - pad.bottom);
    const finite = this.points.filter(([, l]) => Number.isFinite(l));
    if (finite.length === 0) {
      ctx.fillText('loss appears here once training starts', pad.left + 8, pad.top + 18);
      return;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const [, l] of finite) {
      lo = Math.min(lo, l);
      hi = Math.max(hi, l);
    }
    if (hi - lo < 1e-6) {
      hi += 0.5;
      lo -= 0.5;
    }
    const xOf = (s: number) => pad.left + ((w - pad.left - pad.right) * s) / this.totalSteps;
    const yOf = (l: number) => pad.top + ((h - pad.top - pad.bottom) * (hi - l)) / (hi - lo);
    ctx.fillText(hi.toFixed(3), 4, pad.top + 8);
    ctx.fillText(lo.toFixed(3), 4, h - pad.bottom);
    ctx.fillText('0', pad.left, h - 8);
    ctx.fillText(`step ${this.totalSteps}`, w - pad.right - 60, h - 8);
    const line = (pts: Array<[number, number]>, color: string, width: number) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      pts.forEach(([s, l], i) => (i === 0 ? ctx.moveTo(xOf(s), yOf(l)) : ctx.lineTo(xOf(s), yOf(l))));
      ctx.stroke();
    };
    line(finite, '#9bb7e0', 1);
    let ema = finite[0][1];
    line(
      finite.map(([s, l]): [number, number] => [s, (ema = 0.9 * ema + 0.1 * l)]),
      '#1f4e9c',
      2,
    );
  }
}
