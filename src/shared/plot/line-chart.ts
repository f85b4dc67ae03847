/**
 * A small line chart rendered straight to PNG bytes — validation Dice against iteration, one line
 * per method, a shaded band for the seed spread. Hand-rolled (only pngjs) so that reports need no
 * canvas or native dependency; text uses an embedded 5×7 bitmap font.
 */
import { PNG } from 'pngjs';

export interface ChartSeries {
  name: string;
  points: { x: number; y: number; low?: number; high?: number }[];
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
}

type RGB = readonly [number, number, number];

/** Tableau 10: distinct and colour-blind tolerable; cycled beyond ten series. */
export const CHART_PALETTE: readonly RGB[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

const WHITE: RGB = [255, 255, 255];
const TEXT: RGB = [30, 30, 30];
const AXIS: RGB = [60, 60, 60];
const GRID: RGB = [225, 225, 225];
const BAND_ALPHA = 0.2;
const SCALE = 2; // font scale: 5×7 glyphs become 10×14 pixels

/** The plot rectangle (inclusive pixel bounds); fixed margins leave room for title, labels and legend. */
export function plotArea(width: number, height: number): { left: number; top: number; right: number; bottom: number } {
  const legend = Math.min(300, Math.round(width * 0.27));
  return { left: 110, top: 44, right: width - legend, bottom: height - 56 };
}

// 5×7 font: 7 rows per glyph as two hex digits each, bit 4 is the leftmost column.
const FONT: Record<string, string> = {
  A: '0e11111f111111', B: '1e11111e11111e', C: '0e11101010110e', D: '1e11111111111e',
  E: '1f10101e10101f', F: '1f10101e101010', G: '0e11101711110f', H: '1111111f111111',
  I: '0e04040404040e', J: '0702020202120c', K: '11121418141211', L: '1010101010101f',
  M: '111b1515111111', N: '11111915131111', O: '0e11111111110e', P: '1e11111e101010',
  Q: '0e11111115120d', R: '1e11111e141211', S: '0f10100e01011e', T: '1f040404040404',
  U: '1111111111110e', V: '1111110a0a0404', W: '1111111515150a', X: '11110a040a1111',
  Y: '11110a04040404', Z: '1f01020408101f', '0': '0e11131519110e', '1': '040c040404040e',
  '2': '0e11010204081f', '3': '1f02040201110e', '4': '02060a121f0202', '5': '1f101e0101110e',
  '6': '0608101e11110e', '7': '1f010204080808', '8': '0e11110e11110e', '9': '0e11110f01020c',
  '.': '00000000000c0c', '-': '0000000e000000', '(': '02040808080402', ')': '08040202020408',
  ':': '000c0c000c0c00', '%': '18190204081303', '+': '0004041f040400', ',': '000000000c0408',
  '/': '00010204081000', '=': '00001f001f0000', _: '0000000000001f', '±': '04041f0404001f',
  ' ': '00000000000000',
};
const UNKNOWN = '000e0a0a0a0e00'; // a small box, so missing glyphs are visible rather than silent

export function renderLineChart(series: readonly ChartSeries[], options: LineChartOptions = {}): Uint8Array {
  const width = Math.round(options.width ?? 960);
  const height = Math.round(options.height ?? 560);
  if (!(width >= 200)) throw new Error(`line chart width must be at least 200, got ${options.width}`);
  if (!(height >= 150)) throw new Error(`line chart height must be at least 150, got ${options.height}`);
  const png = new PNG({ width, height });
  const data = png.data;
  const set = (x: number, y: number, c: RGB, alpha = 1) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const o = (y * width + x) * 4;
    for (let k = 0; k < 3; k++) data[o + k] = Math.round(data[o + k]! * (1 - alpha) + c[k]! * alpha);
    data[o + 3] = 255;
  };
  const rect = (x: number, y: number, w: number, h: number, c: RGB) => {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) set(x + i, y + j, c);
  };
  const text = (x: number, y: number, s: string, c: RGB, vertical = false) => {
    let n = 0;
    for (const ch of s.toUpperCase()) {
      const rows = FONT[ch] ?? UNKNOWN;
      for (let r = 0; r < 7; r++) {
        const bits = parseInt(rows.slice(r * 2, r * 2 + 2), 16);
        for (let col = 0; col < 5; col++) {
          if (!(bits & (16 >> col))) continue;
          const along = (n * 6 + col) * SCALE;
          // Vertical text reads bottom to top (rotated 90° anticlockwise), as y-axis labels do.
          if (vertical) rect(x + r * SCALE, y - along - SCALE + 1, SCALE, SCALE, c);
          else rect(x + along, y + r * SCALE, SCALE, SCALE, c);
        }
      }
      n++;
    }
  };
  const textWidth = (s: string) => Math.max(0, [...s.toUpperCase()].length * 6 * SCALE - SCALE);
  rect(0, 0, width, height, WHITE);

  // Only finite values take part; a band needs both ends finite.
  const clean = series.map((s) =>
    s.points
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p) => {
        const band = Number.isFinite(p.low) && Number.isFinite(p.high);
        return { x: p.x, y: p.y, low: band ? Math.min(p.low!, p.high!) : NaN, high: band ? Math.max(p.low!, p.high!) : NaN };
      }),
  );
  const all = clean.flat();
  const xs = all.map((p) => p.x);
  const ys = all.flatMap((p) => (Number.isFinite(p.low) ? [p.y, p.low, p.high] : [p.y]));
  let [x0, x1] = xs.length ? [min(xs), max(xs)] : [0, 1];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  let y0 = 0;
  let y1 = 1;
  let yStep = 0.2;
  if (ys.length) {
    const lo = min(ys);
    const hi = max(ys);
    const pad = hi > lo ? (hi - lo) * 0.05 : 0.05;
    yStep = chooseStep(lo - pad, hi + pad, true);
    y0 = Math.floor((lo - pad) / yStep + 1e-9) * yStep;
    y1 = Math.ceil((hi + pad) / yStep - 1e-9) * yStep;
  }
  const xStep = chooseStep(x0, x1, false);

  const area = plotArea(width, height);
  const { left, top, right, bottom } = area;
  const sx = (x: number) => Math.round(left + ((x - x0) / (x1 - x0)) * (right - left));
  const sy = (y: number) => Math.round(bottom - ((y - y0) / (y1 - y0)) * (bottom - top));

  // Grid and tick labels.
  for (const t of ticks(y0, y1, yStep)) {
    const py = sy(t);
    for (let px = left; px <= right; px++) set(px, py, GRID);
    rect(left - 5, py, 5, 1, AXIS);
    const label = formatTick(t, yStep);
    text(left - 8 - textWidth(label), py - 7, label, TEXT);
  }
  for (const t of ticks(x0, x1, xStep)) {
    const px = sx(t);
    for (let py = top; py <= bottom; py++) set(px, py, GRID);
    rect(px, bottom + 1, 1, 5, AXIS);
    const label = formatTick(t, xStep);
    text(px - Math.floor(textWidth(label) / 2), bottom + 9, label, TEXT);
  }

  // Bands first so lines stay crisp on top; a mask blends each pixel once per series.
  clean.forEach((pts, i) => {
    const colour = CHART_PALETTE[i % CHART_PALETTE.length]!;
    const mask = new Uint8Array(width * height);
    const column = (px: number, a: number, b: number) => {
      for (let py = Math.max(top, Math.min(a, b)); py <= Math.min(bottom, Math.max(a, b)); py++) {
        if (px >= left && px <= right) mask[py * width + px] = 1;
      }
    };
    pts.forEach((p, j) => {
      if (!Number.isFinite(p.low)) return;
      const q = pts[j + 1];
      if (!q || !Number.isFinite(q.low)) {
        // A band point with no banded neighbour to the right still shows, as a single column.
        if (!Number.isFinite(pts[j - 1]?.low)) column(sx(p.x), sy(p.low), sy(p.high));
        return;
      }
      const [ax, bx] = [sx(p.x), sx(q.x)];
      for (let px = ax; px <= bx; px++) {
        const f = bx > ax ? (px - ax) / (bx - ax) : 0;
        const lo = p.low + (q.low - p.low) * f;
        const hi = p.high + (q.high - p.high) * f;
        column(px, sy(lo), sy(hi));
      }
    });
    for (let k = 0; k < mask.length; k++) if (mask[k]) set(k % width, Math.floor(k / width), colour, BAND_ALPHA);
  });

  rect(left, top, 1, bottom - top + 1, AXIS);
  rect(left, bottom, right - left + 1, 1, AXIS);

  clean.forEach((pts, i) => {
    const colour = CHART_PALETTE[i % CHART_PALETTE.length]!;
    for (let j = 1; j < pts.length; j++) {
      line(sx(pts[j - 1]!.x), sy(pts[j - 1]!.y), sx(pts[j]!.x), sy(pts[j]!.y), (x, y) => rect(x, y, 2, 2, colour));
    }
    for (const p of pts) rect(sx(p.x) - 2, sy(p.y) - 2, 5, 5, colour);
  });

  if (options.title) text(Math.round((left + right - textWidth(options.title)) / 2), 14, options.title, TEXT);
  if (options.xLabel) text(Math.round((left + right - textWidth(options.xLabel)) / 2), bottom + 30, options.xLabel, TEXT);
  if (options.yLabel) text(12, Math.round((top + bottom + textWidth(options.yLabel)) / 2), options.yLabel, TEXT, true);

  // Legend: swatch + name per series, including series with no points.
  series.forEach((s, i) => {
    const y = top + i * 24;
    rect(right + 16, y, 14, 14, CHART_PALETTE[i % CHART_PALETTE.length]!);
    text(right + 38, y, fit(s.name, Math.floor((width - right - 40) / (6 * SCALE))), TEXT);
  });

  return PNG.sync.write(png);
}

/**
 * A 1/2/5×10^k step giving about five ticks. When the range is snapped outward to the ticks,
 * empty space is penalised too, so a range just over 1 gets 0.2 steps rather than 0.5.
 */
function chooseStep(lo: number, hi: number, snap: boolean): number {
  const span = hi - lo;
  const base = 10 ** Math.floor(Math.log10(span / 5));
  let best = base;
  let bestScore = Infinity;
  for (const m of [1, 2, 5, 10, 20]) {
    const step = base * m;
    const first = snap ? Math.floor(lo / step + 1e-9) : Math.ceil(lo / step - 1e-9);
    const last = snap ? Math.ceil(hi / step - 1e-9) : Math.floor(hi / step + 1e-9);
    const count = last - first + 1;
    const waste = snap ? 1 - span / ((last - first) * step) : 0;
    const score = Math.abs(count - 5) / 5 + 2 * waste;
    if (score < bestScore) [best, bestScore] = [step, score];
  }
  return best;
}

// Loops rather than Math.min(...v): spreading a long series overflows the stack.
const min = (v: number[]) => v.reduce((a, b) => (b < a ? b : a), Infinity);
const max = (v: number[]) => v.reduce((a, b) => (b > a ? b : a), -Infinity);

/** Long names are cut to the legend's width, '..' marking the cut. */
function fit(name: string, chars: number): string {
  const all = [...name];
  return all.length <= chars ? name : all.slice(0, Math.max(0, chars - 2)).join('') + '..';
}

function ticks(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  if (!((hi - lo) / step <= 100)) return out; // degenerate ranges (overflow, underflow): no ticks, no endless loop
  for (let i = Math.ceil(lo / step - 1e-9); i <= Math.floor(hi / step + 1e-9); i++) out.push(i * step);
  return out;
}

/** Enough decimals for the step, none of the float noise (0.30000000000000004). */
function formatTick(value: number, step: number): string {
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  const s = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Bresenham; plot() receives each pixel of the segment. */
function line(x0: number, y0: number, x1: number, y1: number, plot: (x: number, y: number) => void): void {
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const stepX = x0 < x1 ? 1 : -1;
  const stepY = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  if (![x0, y0, x1, y1].every(Number.isFinite)) return; // NaN would never reach the end point
  for (;;) {
    plot(x0, y0);
    if (x0 === x1 && y0 === y1) return;
    const e2 = 2 * err;
    if (e2 >= dy) [err, x0] = [err + dy, x0 + stepX];
    if (e2 <= dx) [err, y0] = [err + dx, y0 + stepY];
  }
}
