// Event-rate histogram (uPlot): one stacked area per split value. Dragging across it selects a time range
// (brush to zoom); a click picks the bucket under the cursor. Both report the range to the page.
import { useEffect, useRef, type ReactNode } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Histogram as HistogramData } from '../api.js';
import { useTheme } from '../theme.js';

export const PALETTE = [
  '#3b82f6',
  '#22c55e',
  '#f59e0b',
  '#ef4444',
  '#a855f7',
  '#14b8a6',
  '#ec4899',
  '#84cc16',
  '#f97316',
  '#64748b',
];

const MAX_SERIES = 9;

/** Turns buckets into uPlot columns: times (s), then cumulative sums so filled series stack. */
function prepare(
  data: HistogramData,
  group?: (value: string) => string,
): { xs: number[]; names: string[]; raw: number[][]; stacked: number[][] } {
  const buckets = data.buckets.map((b) => {
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(b.counts)) {
      const key = group ? group(k) : k;
      counts[key] = (counts[key] ?? 0) + v;
    }
    return { t: new Date(b.start).getTime() / 1000, counts };
  });
  const totals = new Map<string, number>();
  for (const b of buckets)
    for (const [k, v] of Object.entries(b.counts)) totals.set(k, (totals.get(k) ?? 0) + v);
  let names = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const other = names.length > MAX_SERIES ? names.slice(MAX_SERIES) : [];
  if (other.length) names = [...names.slice(0, MAX_SERIES), 'other'];
  const otherSet = new Set(other);
  const raw = names.map((n) =>
    buckets.map((b) =>
      n === 'other' && otherSet.size
        ? Object.entries(b.counts).reduce((s, [k, v]) => s + (otherSet.has(k) ? v : 0), 0)
        : (b.counts[n] ?? 0),
    ),
  );
  const stacked: number[][] = [];
  raw.forEach((row, i) => stacked.push(row.map((v, j) => v + (i > 0 ? stacked[i - 1]![j]! : 0))));
  return { xs: buckets.map((b) => b.t), names, raw, stacked };
}

export function Histogram(props: {
  data: HistogramData | undefined;
  height?: number;
  group?: (value: string) => string;
  /** A range was brushed or a bucket clicked: times in ms since the epoch. */
  onRange?: (fromMs: number, toMs: number, series?: string) => void;
  testId?: string;
}): ReactNode {
  const { data, height = 180, group, onRange } = props;
  const box = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  const rangeRef = useRef(onRange);
  rangeRef.current = onRange;

  useEffect(() => {
    const el = box.current;
    if (!el || !data) return;
    const { xs, names, raw, stacked } = prepare(data, group);
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--muted').trim() || '#888';
    const grid = css.getPropertyValue('--border').trim() || '#444';
    const step = data.intervalMs / 1000;
    const bars = uPlot.paths.bars!({ size: [0.9, 64], align: 1 });
    // Later series paint over earlier ones: draw the tallest (cumulative) first.
    const order = names.map((_, i) => i).reverse();
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height,
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      legend: { show: names.length > 0 },
      scales: { x: { time: true, range: (_u, min, max) => [min, max + step] } },
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 50 },
      ],
      series: [
        {},
        ...order.map((i) => ({
          label: names[i]!,
          stroke: PALETTE[i % PALETTE.length]!,
          fill: PALETTE[i % PALETTE.length]!,
          width: 0,
          paths: bars,
          points: { show: false },
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) =>
            idx === null ? '' : String(raw[i]![idx] ?? 0),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            const w = u.select.width;
            if (w < 4) return;
            const from = u.posToVal(u.select.left, 'x') * 1000;
            const to = u.posToVal(u.select.left + w, 'x') * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            rangeRef.current?.(Math.round(from), Math.round(to));
          },
        ],
      },
    };
    const plotData: uPlot.AlignedData = [xs, ...order.map((i) => stacked[i]!)];
    const plot = new uPlot(opts, plotData, el);
    // A click (no drag) picks the bucket under the cursor and the series drawn there.
    let downX = -1;
    const over = plot.over;
    const down = (e: MouseEvent) => (downX = e.clientX);
    const up = (e: MouseEvent) => {
      if (Math.abs(e.clientX - downX) > 3) return;
      const idx = plot.cursor.idx;
      if (idx === null || idx === undefined || xs[idx] === undefined) return;
      const y = plot.posToVal(plot.cursor.top ?? 0, 'y');
      let series: string | undefined;
      for (let i = 0; i < names.length; i++) {
        if (y <= stacked[i]![idx]!) {
          series = names[i];
          break;
        }
      }
      const start = xs[idx]! * 1000;
      rangeRef.current?.(start, start + data.intervalMs, series === 'other' ? undefined : series);
    };
    over.addEventListener('mousedown', down);
    over.addEventListener('mouseup', up);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      over.removeEventListener('mousedown', down);
      over.removeEventListener('mouseup', up);
      plot.destroy();
    };
  }, [data, height, group, theme]);

  return (
    <div className="histogram" data-testid={props.testId ?? 'histogram'}>
      <div ref={box} className="histogram-plot" />
      {data && data.buckets.length === 0 && <div className="empty">No events in this range.</div>}
    </div>
  );
}
