/** `dice.png` of an experiment: validation Dice against iteration, one line per method (mean over seeds), a band from the lowest to the highest seed. */
import { renderLineChart, type ChartSeries } from '../plot/line-chart.js';
import type { ExperimentReport } from './report.js';

export function diceChart(report: ExperimentReport): Uint8Array {
  const series: ChartSeries[] = Object.entries(report.methods).map(([name, m]) => {
    const byIteration = new Map<number, number[]>();
    for (const run of m.runs) for (const p of run.curve) byIteration.set(p.iteration, [...(byIteration.get(p.iteration) ?? []), p.dice]);
    const points = [...byIteration.entries()]
      .sort(([a], [b]) => a - b)
      .map(([x, ys]) => ({ x, y: ys.reduce((a, b) => a + b, 0) / ys.length, ...(ys.length > 1 ? { low: Math.min(...ys), high: Math.max(...ys) } : {}) }));
    return { name, points };
  });
  const seeds = report.seeds.length;
  return renderLineChart(series, {
    title: `validation Dice, ${report.config.name}, ${report.config.data.labeled} labelled (${seeds} seed${seeds === 1 ? '' : 's'}${seeds > 1 ? ', band = min-max' : ''})`,
    xLabel: 'iteration',
    yLabel: 'Dice',
  });
}
