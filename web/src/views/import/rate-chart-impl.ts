// Loaded on demand (the chart is not needed before an import runs): uPlot and its stylesheet.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatDuration, formatNumber } from '../../components/formatting';

export interface RatePoints {
  /** Seconds since the first point. */
  seconds: number[];
  rowsPerSecond: number[];
}

function cssVariable(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A line chart of rows/s over time in `target`, coloured from the current theme. */
export function createRateChart(target: HTMLElement, points: RatePoints, width: number) {
  const text = cssVariable('--muted');
  const grid = cssVariable('--border');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return new uPlot(
    {
      width,
      height: 140,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false }, y: { range: (_chart, _min, max) => [0, Math.max(10, max * 1.1)] } },
      axes: [
        { ...axis, values: (_chart, ticks) => ticks.map((tick) => formatDuration(tick)) },
        { ...axis, size: 60, values: (_chart, ticks) => ticks.map((tick) => formatNumber(tick)) },
      ],
      series: [{}, { stroke: cssVariable('--accent'), width: 2, fill: cssVariable('--accent-soft'), points: { show: false } }],
    },
    [points.seconds, points.rowsPerSecond],
    target,
  );
}
