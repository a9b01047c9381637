// Event-rate histogram (uPlot): one stacked area per split value. Dragging across it selects a time range
// (brush to zoom); a click picks the bucket under the cursor. Both report the range to the page. The
// chart is never silently blank: it says when it is loading, when its request failed (and is retried),
// and when the range holds no event. Counts on the y-axis are compact (20k) in an axis sized to them.
import { useEffect, useRef, type ReactNode } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Histogram as HistogramData } from '../api.js';
import { formatAxisCount } from '../format.js';
import { useTheme } from '../theme.js';
import { ErrorBox } from './ErrorBox.js';

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

/** Whole-number steps for a count axis: 1, 2, 5, 10, 20, 50, … */
const COUNT_INCRS = Array.from({ length: 30 }, (_, i) => [1, 2, 5][i % 3]! * 10 ** Math.floor(i / 3));

/** Room for the widest y-axis label (12px labels, ~7.5px a character), ticks and a gap. */
function countAxisSize(_u: uPlot, values: string[] | null): number {
  const longest = (values ?? []).reduce((m, v) => Math.max(m, v.length), 1);
  return Math.max(36, Math.ceil(longest * 7.5) + 22);
}

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
  /** The request failed (or its last attempt did, while it is retried). */
  error?: unknown;
  /** The request has not answered yet. */
  pending?: boolean;
  height?: number;
  group?: (value: string) => string;
  /** A range was brushed or a bucket clicked: times in ms since the epoch. */
  onRange?: (fromMs: number, toMs: number, series?: string) => void;
  testId?: string;
}): ReactNode {
  const { height = 180, group, onRange, error, pending = false } = props;
  // A failed request shows its error, never the chart of an older answer.
  const data = error ? undefined : props.data;
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
      scales: {
        x: { time: true, range: (_u, min, max) => [min, max + step] },
        y: { range: (_u, _min, max) => (max > 0 ? uPlot.rangeNum(0, max, 0.1, true) : [0, 1]) },
      },
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          incrs: COUNT_INCRS,
          values: (_u, splits) => splits.map(formatAxisCount),
          size: countAxisSize,
        },
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

  const empty =
    data !== undefined && data.buckets.every((b) => Object.values(b.counts).every((n) => n === 0));
  return (
    <div
      className="histogram"
      data-testid={props.testId ?? 'histogram'}
      data-state={error ? 'error' : data ? (empty ? 'empty' : 'ready') : pending ? 'loading' : 'none'}
    >
      {error ? (
        <div className="histogram-message" style={{ minHeight: height }}>
          <ErrorBox error={error} />
          {pending && <div className="muted small">Retrying…</div>}
        </div>
      ) : !data ? (
        <div className="histogram-message loading" style={{ minHeight: height }}>
          {pending ? 'Loading…' : 'No data.'}
        </div>
      ) : null}
      <div ref={box} className="histogram-plot" hidden={!data} />
      {empty && <div className="histogram-empty empty">No events in this range.</div>}
    </div>
  );
}
