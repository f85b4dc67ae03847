/**
 * A PNG of the three middle slices (axial z, coronal y, sagittal x) of a case, side by side:
 * the image in grey, the reference label's outline in green and the prediction in translucent
 * red — people look before they read the numbers.
 */
import { PNG } from 'pngjs';
import type { Shape3 } from '../volume.js';

const GAP = 4;

/** Panels are upscaled (nearest neighbour) to at least this many pixels on their longer side. */
const MIN_PANEL_PIXELS = 192;

export function renderMiddleSlices(image: Float32Array, label: Uint8Array, prediction: Uint8Array, shape: Shape3): Uint8Array {
  const [X, Y, Z] = shape;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const at = (x: number, y: number, z: number) => (x * Y + y) * Z + z;
  // Each panel: rows × cols with an index function into the volume.
  const panels: { rows: number; cols: number; index: (r: number, c: number) => number }[] = [
    { rows: Y, cols: X, index: (r, c) => at(c, r, Math.floor(Z / 2)) },
    { rows: Z, cols: X, index: (r, c) => at(c, Math.floor(Y / 2), Z - 1 - r) },
    { rows: Z, cols: Y, index: (r, c) => at(Math.floor(X / 2), c, Z - 1 - r) },
  ];
  const zoom = Math.max(1, Math.ceil(MIN_PANEL_PIXELS / Math.max(X, Y, Z)));
  const height = Math.max(...panels.map((p) => p.rows)) * zoom;
  const width = panels.reduce((w, p) => w + p.cols * zoom, 0) + GAP * (panels.length - 1);
  const png = new PNG({ width, height });
  png.data.fill(0);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  let left = 0;
  for (const p of panels) {
    for (let r = 0; r < p.rows; r++) {
      for (let c = 0; c < p.cols; c++) {
        const v = p.index(r, c);
        const grey = (image[v]! - lo) * scale;
        let red = grey;
        let green = grey;
        let blue = grey;
        if (prediction[v]) {
          red = 0.5 * grey + 127;
          green = 0.5 * grey;
          blue = 0.5 * grey;
        }
        if (label[v] && isEdge(p, r, c, label)) {
          red = 0;
          green = 255;
          blue = 0;
        }
        for (let dr = 0; dr < zoom; dr++) {
          for (let dc = 0; dc < zoom; dc++) {
            const o = ((r * zoom + dr) * width + left + c * zoom + dc) * 4;
            png.data[o] = red;
            png.data[o + 1] = green;
            png.data[o + 2] = blue;
          }
        }
      }
    }
    left += p.cols * zoom + GAP;
  }
  return new Uint8Array(PNG.sync.write(png));
}

function isEdge(p: { rows: number; cols: number; index: (r: number, c: number) => number }, r: number, c: number, label: Uint8Array): boolean {
  const here = label[p.index(r, c)];
  for (const [dr, dc] of [[-1, 0], [1, 0], [0, -1], [0, 1]] as const) {
    const rr = r + dr;
    const cc = c + dc;
    if (rr < 0 || cc < 0 || rr >= p.rows || cc >= p.cols) return true;
    if (label[p.index(rr, cc)] !== here) return true;
  }
  return false;
}
