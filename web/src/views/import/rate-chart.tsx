import { useEffect, useRef } from 'preact/hooks';
import { formatNumber } from '../../components/formatting';
import type { RatePoints } from './rate-chart-impl';

type Chart = ReturnType<typeof import('./rate-chart-impl').createRateChart>;

/** The import's rate over time; uPlot is fetched the first time a chart is shown. */
export function RateChart({ points }: { points: RatePoints }) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<Chart | null>(null);
  const latest = useRef(points);
  latest.current = points;

  useEffect(() => {
    let disposed = false;
    const element = container.current;
    if (!element) return;
    let create: (() => void) | null = null;
    void import('./rate-chart-impl').then(({ createRateChart }) => {
      if (disposed) return;
      create = () => {
        chart.current?.destroy();
        chart.current = createRateChart(element, latest.current, element.clientWidth || 300);
      };
      create();
    });
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: element.clientWidth || 300, height: 140 }));
    resize.observe(element);
    // Colours come from the theme: draw again when the system switches between light and dark.
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    const redraw = () => create?.();
    scheme.addEventListener('change', redraw);
    return () => {
      disposed = true;
      resize.disconnect();
      scheme.removeEventListener('change', redraw);
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setData([points.seconds, points.rowsPerSecond]);
  }, [points]);

  const last = points.rowsPerSecond[points.rowsPerSecond.length - 1];
  return (
    <figure class="rate-chart">
      <div ref={container} role="img" aria-label={`Import rate over time${last === undefined ? '' : `, now ${formatNumber(last)} rows per second`}`} />
      <figcaption class="muted">Rows per second</figcaption>
    </figure>
  );
}
