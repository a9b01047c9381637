// The explorer: filter bar, time range, histogram (brush to zoom), facet sidebar (top values with counts;
// a click adds the filter, the minus excludes it) and the virtualized results table. The whole state is
// in the URL: q, since, until, split and cols. The view exports as an evidence bundle, NDJSON or CSV,
// beside the kubetrail command that gives the same result.
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useCallback, useMemo, useState, type ReactNode } from 'react';
import {
  api,
  exportUrl,
  type EventsPage,
  type ExportFormat,
  type Histogram as HistogramData,
  type TopRows,
} from '../api.js';
import { ErrorBox } from '../components/ErrorBox.js';
import { ColumnChooser, EventTable, type Row } from '../components/EventTable.js';
import { FilterBar } from '../components/FilterBar.js';
import { Histogram } from '../components/Histogram.js';
import { TimeRange } from '../components/TimeRange.js';
import { addTerm, term } from '../filter.js';
import { DEFAULT_COLUMNS, formatCount } from '../format.js';
import { updateParams, useLocation } from '../router.js';

export const FACETS: { field: string; title: string }[] = [
  { field: 'verb', title: 'Verb' },
  { field: 'resource', title: 'Resource' },
  { field: 'ns', title: 'Namespace' },
  { field: 'user', title: 'User' },
  { field: 'code', title: 'Response code' },
  { field: 'subresource', title: 'Subresource' },
  { field: 'cluster', title: 'Cluster' },
  { field: 'ua', title: 'User agent' },
];

const SPLITS = ['verb', 'code', 'resource', 'ns', 'user', 'cluster'];

const PAGE = 200;

function Facet(props: {
  field: string;
  title: string;
  q: string;
  since: string;
  until: string;
  onFilter: (t: string) => void;
}): ReactNode {
  const { field, q, since, until } = props;
  const top = useQuery({
    queryKey: ['top', field, q, since, until],
    queryFn: ({ signal }) => api.get<TopRows>('/top', { field, q, since, until, limit: 8 }, signal),
  });
  const rows = (top.data?.rows ?? []).map((r) => ({
    value: r.value === null ? '' : String(r.value),
    count: r.count,
  }));
  const max = rows.reduce((m, r) => Math.max(m, r.count), 1);
  return (
    <section className="facet" data-testid={`facet-${field}`}>
      <h3>{props.title}</h3>
      {top.error ? (
        <div className="muted small">{(top.error as Error).message.split('\n')[0]}</div>
      ) : rows.length === 0 ? (
        <div className="muted small">{top.isPending ? '…' : 'none'}</div>
      ) : (
        <ul>
          {rows.map((r) => (
            <li key={r.value}>
              <button
                type="button"
                className="facet-value"
                title={`Add ${term(field, r.value)}`}
                onClick={() => props.onFilter(term(field, r.value))}
              >
                <span className="bar" style={{ width: `${(100 * r.count) / max}%` }} />
                <span className="facet-label">{r.value === '' ? '(none)' : r.value}</span>
                <span className="facet-count">{formatCount(r.count)}</span>
              </button>
              <button
                type="button"
                className="facet-exclude"
                title={`Exclude: ${term(field, r.value, true)}`}
                aria-label={`Exclude ${r.value}`}
                onClick={() => props.onFilter(term(field, r.value, true))}
              >
                −
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const EXPORTS: { format: ExportFormat; label: string; title: string }[] = [
  {
    format: 'bundle',
    label: 'Bundle',
    title: 'Signed evidence bundle: events, object histories, alerts, manifest',
  },
  { format: 'ndjson', label: 'NDJSON', title: 'One audit event per line' },
  { format: 'csv', label: 'CSV', title: 'One row per event' },
];

/** A download link drawn as the UI's buttons are. */
const EXPORT_LINK = {
  border: '1px solid var(--border)',
  borderRadius: 6,
  padding: '3px 10px',
  background: 'var(--panel-2)',
  color: 'var(--fg)',
  textDecoration: 'none',
} as const;

/** Downloads of the current view, and the command line that gives the same result. */
function ExportBar(props: { q: string; since: string; until: string }): ReactNode {
  const { q, since, until } = props;
  const [format, setFormat] = useState<ExportFormat>('bundle');
  const command = useQuery({
    queryKey: ['export-command', format, q, since, until],
    queryFn: ({ signal }) =>
      api.get<{ command: string }>('/export', { q, since, until, format, command: 'only' }, signal),
  });
  return (
    <div
      className="export-bar"
      data-testid="export"
      style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap', margin: '6px 0' }}
    >
      <span className="muted small">Export:</span>
      {EXPORTS.map((x) => (
        <a
          key={x.format}
          className="small"
          style={EXPORT_LINK}
          href={exportUrl(x.format, { q, since, until })}
          title={x.title}
          download
          onMouseEnter={() => setFormat(x.format)}
          onFocus={() => setFormat(x.format)}
        >
          {x.label}
        </a>
      ))}
      {command.data && (
        <code
          className="cli-command small"
          data-testid="export-command"
          title="The same from the command line"
        >
          {command.data.command}
        </code>
      )}
    </div>
  );
}

export function Explorer(): ReactNode {
  const { params } = useLocation();
  const q = params.get('q') ?? '';
  const since = params.get('since') ?? '24h';
  const until = params.get('until') ?? '';
  const split = params.get('split') ?? 'verb';
  const columns = useMemo(
    () => (params.get('cols') ? params.get('cols')!.split(',').filter(Boolean) : DEFAULT_COLUMNS),
    [params],
  );

  const histogram = useQuery({
    queryKey: ['histogram', q, since, until, split],
    queryFn: ({ signal }) =>
      api.get<HistogramData>('/histogram', { q, since, until, interval: 'auto', split }, signal),
  });
  const events = useInfiniteQuery({
    queryKey: ['events', q, since, until],
    initialPageParam: '',
    queryFn: ({ pageParam, signal }) =>
      api.get<EventsPage>('/events', { q, since, until, limit: PAGE, cursor: pageParam }, signal),
    getNextPageParam: (last) => last.nextCursor || undefined,
  });
  const rows: Row[] = useMemo(
    () =>
      (events.data?.pages ?? []).flatMap((p) =>
        p.events.map((event, i) => ({ event, cluster: p.clusters[i] ?? '' })),
      ),
    [events.data],
  );
  const addFilter = useCallback((t: string) => updateParams({ q: addTerm(q, t) }), [q]);
  const more = useCallback(() => void events.fetchNextPage(), [events]);

  return (
    <div className="page explorer">
      <div className="toolbar">
        <FilterBar value={q} since={since} onSubmit={(next) => updateParams({ q: next })} />
        <TimeRange since={since} until={until} onChange={(s, u) => updateParams({ since: s, until: u })} />
      </div>
      <div className="explorer-body">
        <aside className="facets">
          {FACETS.map((f) => (
            <Facet key={f.field} {...f} q={q} since={since} until={until} onFilter={addFilter} />
          ))}
        </aside>
        <div className="explorer-main">
          <div className="panel">
            <div className="panel-head">
              <h2>
                Events over time{' '}
                {histogram.data && (
                  <span className="muted small">
                    ({formatCount(histogram.data.buckets.reduce((s, b) => s + sum(b.counts), 0))} events,{' '}
                    {Math.round(histogram.data.intervalMs / 1000)}s buckets; drag to zoom)
                  </span>
                )}
              </h2>
              <label className="split">
                split by{' '}
                <select value={split} onChange={(e) => updateParams({ split: e.target.value })}>
                  {SPLITS.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <Histogram
              data={histogram.data}
              error={histogram.error ?? histogram.failureReason}
              pending={histogram.isFetching}
              onRange={(from, to, series) =>
                updateParams({
                  since: new Date(from).toISOString(),
                  until: new Date(to).toISOString(),
                  ...(series ? { q: addTerm(q, term(split, series)) } : {}),
                })
              }
            />
          </div>
          <div className="panel results-panel">
            <div className="panel-head">
              <h2>
                Results{' '}
                <span className="muted small" data-testid="result-count">
                  {rows.length}
                  {events.hasNextPage ? '+' : ''} shown
                </span>
              </h2>
              <ColumnChooser columns={columns} onChange={(c) => updateParams({ cols: c.join(',') })} />
            </div>
            <ExportBar q={q} since={since} until={until} />
            {events.error ? (
              <ErrorBox error={events.error} />
            ) : (
              <EventTable
                rows={rows}
                columns={columns}
                hasMore={Boolean(events.hasNextPage)}
                loadingMore={events.isFetchingNextPage || events.isPending}
                onMore={more}
                onCellFilter={(field, value) => addFilter(term(field, value))}
              />
            )}
          </div>
        </div>
      </div>
    </div>
  );
}

function sum(counts: Record<string, number>): number {
  let s = 0;
  for (const v of Object.values(counts)) s += v;
  return s;
}
