import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { CHART_PALETTE, plotArea, renderLineChart, type ChartSeries } from '../../src/shared/plot/line-chart.js';

type Image = { width: number; height: number; at: (x: number, y: number) => [number, number, number] };

function decode(bytes: Uint8Array): Image {
  const png = PNG.sync.read(Buffer.from(bytes));
  return {
    width: png.width,
    height: png.height,
    at: (x, y) => {
      const o = (y * png.width + x) * 4;
      return [png.data[o]!, png.data[o + 1]!, png.data[o + 2]!];
    },
  };
}

type Box = { x0: number; y0: number; x1: number; y1: number };

function count(img: Image, box: Box, pred: (c: [number, number, number]) => boolean): number {
  let n = 0;
  for (let y = box.y0; y <= box.y1; y++) for (let x = box.x0; x <= box.x1; x++) if (pred(img.at(x, y))) n++;
  return n;
}

const same = (a: readonly number[], b: readonly number[]) => a.every((v, i) => v === b[i]);
const first = CHART_PALETTE[0]!;

test('the image has the requested size and a white background', () => {
  const img = decode(renderLineChart([{ name: 'a', points: [{ x: 0, y: 0.5 }, { x: 1, y: 0.7 }] }], { width: 640, height: 400 }));
  assert.equal(img.width, 640);
  assert.equal(img.height, 400);
  assert.deepEqual(img.at(0, 0), [255, 255, 255]);
  assert.deepEqual(img.at(639, 399), [255, 255, 255]);
  const defaults = decode(renderLineChart([]));
  assert.equal(defaults.width, 960);
  assert.equal(defaults.height, 560);
});

test('a series is drawn in the first palette colour, through the midpoint of its segment', () => {
  assert.ok(CHART_PALETTE.length >= 8);
  const width = 800;
  const height = 500;
  // (0,0)→(10,1): the y range is padded symmetrically, so the segment's midpoint is the plot's centre.
  const img = decode(renderLineChart([{ name: 'only', points: [{ x: 0, y: 0 }, { x: 10, y: 1 }] }], { width, height }));
  const { left, top, right, bottom } = plotArea(width, height);
  const inside = count(img, { x0: left + 1, y0: top, x1: right, y1: bottom - 1 }, (c) => same(c, first));
  assert.ok(inside > 100, `expected line pixels inside the plot, found ${inside}`);
  const cx = Math.round((left + right) / 2);
  const cy = Math.round((top + bottom) / 2);
  const near = count(img, { x0: cx - 1, y0: cy - 1, x1: cx + 1, y1: cy + 1 }, (c) => same(c, first));
  assert.ok(near > 0, 'the line passes through the centre of the plot');
  // Far from the line (top-left of the plot) there is no series colour.
  assert.equal(count(img, { x0: left + 5, y0: top + 5, x1: left + 60, y1: top + 60 }, (c) => same(c, first)), 0);
});

test('a band is filled with the series colour blended over the background', () => {
  const width = 800;
  const height = 500;
  const points = Array.from({ length: 11 }, (_, i) => ({ x: i, y: 0.5, low: 0.3, high: 0.7 }));
  const img = decode(renderLineChart([{ name: 'band', points }], { width, height }));
  const { left, top, right, bottom } = plotArea(width, height);
  const x = Math.round(left + (right - left) * 0.3);
  // 20% of the colour over white, allowing for rounding and for grid lines under the band.
  const blended = (c: [number, number, number]) =>
    !same(c, [255, 255, 255]) && !same(c, first) && c.every((v, k) => Math.abs(v - (255 * 0.8 + first[k]! * 0.2)) <= 8);
  const column = count(img, { x0: x, y0: top, x1: x, y1: bottom }, blended);
  assert.ok(column > 40, `expected a band in the column, found ${column} blended pixels`);
  // Without low/high there is no band.
  const plain = decode(renderLineChart([{ name: 'plain', points: points.map(({ x, y }) => ({ x, y })) }], { width, height }));
  assert.equal(count(plain, { x0: x, y0: top, x1: x, y1: bottom }, blended), 0);
});

test('the legend shows a swatch and dark text to the right of the plot', () => {
  const width = 800;
  const height = 500;
  const series: ChartSeries[] = [
    { name: 'TraCoCo', points: [{ x: 0, y: 0.4 }, { x: 1, y: 0.8 }] },
    { name: 'empty', points: [] },
  ];
  const img = decode(renderLineChart(series, { width, height }));
  const { top, right } = plotArea(width, height);
  const dark = (c: [number, number, number]) => c.every((v) => v < 100);
  assert.ok(count(img, { x0: right + 30, y0: top, x1: width - 1, y1: top + 16 }, dark) > 20);
  // The second, empty series still gets a legend row with its own colour.
  assert.ok(count(img, { x0: right + 30, y0: top + 24, x1: width - 1, y1: top + 40 }, dark) > 20);
  assert.ok(count(img, { x0: right, y0: top + 24, x1: right + 36, y1: top + 40 }, (c) => same(c, CHART_PALETTE[1]!)) > 50);
});

test('empty input and non-finite values still render', () => {
  const empty = decode(renderLineChart([], { title: 'nothing yet' }));
  const dark = (c: [number, number, number]) => c.every((v) => v < 100);
  assert.ok(count(empty, { x0: 0, y0: 0, x1: empty.width - 1, y1: 35 }, dark) > 20, 'the title is drawn');
  const odd: ChartSeries[] = [
    { name: 'nan', points: [{ x: 0, y: NaN }, { x: 1, y: 0.5, low: NaN, high: 0.6 }, { x: Infinity, y: 1 }, { x: 2, y: 0.7 }] },
    { name: 'all nan', points: [{ x: NaN, y: NaN }] },
    { name: 'single', points: [{ x: 3, y: 0.2, low: 0.1, high: 0.3 }] },
  ];
  const img = decode(renderLineChart(odd, { width: 300, height: 200 }));
  assert.equal(img.width, 300);
  assert.deepEqual(img.at(0, 0), [255, 255, 255]);
  const flat = decode(renderLineChart([{ name: 'flat', points: [{ x: 5, y: 0.9 }] }]));
  assert.ok(count(flat, { x0: 0, y0: 0, x1: flat.width - 1, y1: flat.height - 1 }, (c) => same(c, first)) >= 25);
  decode(renderLineChart([{ name: 'huge', points: [{ x: -1e308, y: -1e308 }, { x: 1e308, y: 1e308 }] }]));
});

test('too small a canvas is rejected', () => {
  assert.throws(() => renderLineChart([], { width: 100 }), Error);
  assert.throws(() => renderLineChart([], { height: 100 }), Error);
});
