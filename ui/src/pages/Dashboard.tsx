// The dashboard: event rate over time split by verb or response class, top identities, resources and
// namespaces, denied and failed requests, recent alerts, gaps in the trail (with the webhook's refused
// requests and resent events), and for an admin or analyst the integrity of the trail (the last
// verification of its tamper evidence). Every bar, row, alert and gap opens the explorer (or the alert's events)
// with the matching filter and time range.
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import {
  api,
  type Alert,
  type GapReport,
  type Me,
  type Histogram as HistogramData,
  type TopRows,
} from '../api.js';
import { ErrorBox } from '../components/ErrorBox.js';
import { Histogram } from '../components/Histogram.js';
import { IntegrityPanel } from '../components/IntegrityPanel.js';
import { TimeRange } from '../components/TimeRange.js';
import { quoteValue, term } from '../filter.js';
import { codeClass, formatCount, formatTime } from '../format.js';
import { href, Link, navigate, updateParams, useLocation } from '../router.js';

const CLASS_FILTER: Record<string, string> = {
  '1xx': 'code:1*',
  '2xx': 'code:2*',
  '3xx': 'code:3*',
  '4xx': 'code:4*',
  '5xx': 'code:5*',
  none: '-code:*',
};

function explore(q: string, since: string, until: string): string {
  return href('/explore', { q, since, until });
}

function TopPanel(props: {
  title: string;
  field: string;
  q?: string;
  since: string;
  until: string;
  testId: string;
  empty?: string;
}): ReactNode {
  const { field, since, until } = props;
  const q = props.q ?? '';
  const top = useQuery({
    queryKey: ['top', field, q, since, until, 10],
    queryFn: ({ signal }) => api.get<TopRows>('/top', { field, q, since, until, limit: 10 }, signal),
  });
  const rows = (top.data?.rows ?? []).map((r) => ({
    value: r.value === null ? '' : String(r.value),
    count: r.count,
  }));
  const max = rows.reduce((m, r) => Math.max(m, r.count), 1);
  return (
    <div className="panel" data-testid={props.testId}>
      <div className="panel-head">
        <h2>
          <Link to={explore(q, since, until)}>{props.title}</Link>
          {top.data && <span className="muted small"> {formatCount(top.data.total)} events</span>}
        </h2>
      </div>
      {top.error ? (
        <ErrorBox error={top.error} />
      ) : rows.length === 0 ? (
        <div className="empty">{top.isPending ? 'Loading…' : (props.empty ?? 'Nothing in this range.')}</div>
      ) : (
        <ul className="top-list">
          {rows.map((r) => (
            <li key={r.value}>
              <Link to={explore(q ? `${q} ${term(field, r.value)}` : term(field, r.value), since, until)}>
                <span className="bar" style={{ width: `${(100 * r.count) / max}%` }} />
                <span className="top-label">{r.value === '' ? '(none)' : r.value}</span>
                <span className="top-count">{formatCount(r.count)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function RecentAlerts(props: { since: string }): ReactNode {
  const alerts = useQuery({
    queryKey: ['alerts', 'recent', props.since],
    queryFn: ({ signal }) => api.get<{ alerts: Alert[] }>('/alerts', { since: props.since }, signal),
  });
  const list = (alerts.data?.alerts ?? []).slice(0, 8);
  return (
    <div className="panel" data-testid="recent-alerts">
      <div className="panel-head">
        <h2>
          <Link to={href('/alerts', { since: props.since })}>Recent alerts</Link>
          {alerts.data && <span className="muted small"> {alerts.data.alerts.length}</span>}
        </h2>
      </div>
      {alerts.error ? (
        <ErrorBox error={alerts.error} />
      ) : list.length === 0 ? (
        <div className="empty">{alerts.isPending ? 'Loading…' : 'No alerts in this range.'}</div>
      ) : (
        <ul className="alert-list compact">
          {list.map((a) => (
            <li key={a.id} className={`sev-${a.severity}`}>
              <Link to={explore(idsFilter(a.auditIDs), '365d', '')}>
                <span className={`badge sev-${a.severity}`}>{a.severity}</span>
                <span className="alert-title">{a.title}</span>
                <span className="muted small">{formatTime(a.time)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A length in seconds as people read it: 4m20s, 2h05m. */
function lengthText(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

const total = (r: Record<string, number>) => Object.values(r).reduce((s, v) => s + v, 0);

function GapsPanel(props: { since: string; until: string }): ReactNode {
  const { since, until } = props;
  const gaps = useQuery({
    queryKey: ['gaps', since, until],
    queryFn: ({ signal }) => api.get<GapReport>('/gaps', { since, until }, signal),
  });
  const list = gaps.data?.gaps ?? [];
  const hook = gaps.data?.webhook;
  return (
    <div className="panel" data-testid="gaps">
      <div className="panel-head">
        <h2>
          Gaps in the trail
          {gaps.data && <span className="muted small"> {list.length}</span>}
        </h2>
      </div>
      {gaps.error ? (
        <ErrorBox error={gaps.error} />
      ) : list.length === 0 ? (
        <div className="empty">
          {gaps.isPending ? 'Loading…' : 'No gap: every watched stream kept going in this range.'}
        </div>
      ) : (
        <ul className="alert-list compact">
          {list.slice(0, 8).map((g) => (
            <li key={`${g.cluster} ${g.start}`} className={`sev-${g.level === 'high' ? 'high' : 'medium'}`}>
              <Link
                to={explore(term('cluster', g.cluster), g.start, g.end ?? '')}
                title={`silent: ${g.silent.join(', ')}${g.goingOn.length > 0 ? `; went on: ${g.goingOn.join(', ')}` : ''}; about ${g.expectedMissing} events missing`}
              >
                <span className="badge">{g.level}</span>
                <span className="alert-title">
                  {g.cluster}: {lengthText(g.seconds)}
                  {g.open ? ' (not back yet)' : ''}
                  {g.allClusters ? ' (every cluster)' : ''}
                </span>
                <span className="muted small">{formatTime(g.start)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      {hook && (
        <div className="muted small" data-testid="webhook-evidence">
          Webhook since {formatTime(hook.since)}: {formatCount(total(hook.refused))} requests refused
          {total(hook.refused) > 0
            ? ` (${Object.entries(hook.refused)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')})`
            : ''}
          , {formatCount(total(hook.duplicates))} events received again (retries).
        </div>
      )}
    </div>
  );
}

export function idsFilter(ids: string[]): string {
  const unique = [...new Set(ids)].slice(0, 50);
  if (unique.length === 1) return term('auditid', unique[0]!);
  return `auditid:(${unique.map(quoteValue).join(' OR ')})`;
}

const classOf = (v: string) => codeClass(v);

export function Dashboard(props: { me: Me }): ReactNode {
  const { params } = useLocation();
  const since = params.get('since') ?? '24h';
  const until = params.get('until') ?? '';
  const split = params.get('split') === 'class' ? 'class' : 'verb';
  const histogram = useQuery({
    queryKey: ['histogram', '', since, until, split === 'class' ? 'code' : 'verb'],
    queryFn: ({ signal }) =>
      api.get<HistogramData>(
        '/histogram',
        { since, until, interval: 'auto', split: split === 'class' ? 'code' : 'verb' },
        signal,
      ),
  });
  return (
    <div className="page dashboard">
      <div className="toolbar">
        <h1>Cluster activity</h1>
        <TimeRange since={since} until={until} onChange={(s, u) => updateParams({ since: s, until: u })} />
      </div>
      <div className="panel" data-testid="rate-panel">
        <div className="panel-head">
          <h2>Event rate</h2>
          <div className="segmented" role="group" aria-label="Split">
            <button
              type="button"
              className={split === 'verb' ? 'on' : ''}
              onClick={() => updateParams({ split: 'verb' })}
            >
              by verb
            </button>
            <button
              type="button"
              className={split === 'class' ? 'on' : ''}
              onClick={() => updateParams({ split: 'class' })}
            >
              by response class
            </button>
          </div>
        </div>
        <Histogram
          data={histogram.data}
          error={histogram.error ?? histogram.failureReason}
          pending={histogram.isFetching}
          height={220}
          testId="rate-histogram"
          {...(split === 'class' ? { group: classOf } : {})}
          onRange={(from, to, series) => {
            const q = series ? (split === 'class' ? (CLASS_FILTER[series] ?? '') : term('verb', series)) : '';
            navigate(explore(q, new Date(from).toISOString(), new Date(to).toISOString()));
          }}
        />
      </div>
      <div className="grid3">
        <TopPanel title="Top identities" field="user" since={since} until={until} testId="top-users" />
        <TopPanel title="Top resources" field="resource" since={since} until={until} testId="top-resources" />
        <TopPanel title="Top namespaces" field="ns" since={since} until={until} testId="top-namespaces" />
      </div>
      <div className="grid3">
        <TopPanel
          title="Denied requests (401/403) by identity"
          field="user"
          q="code:(401 OR 403)"
          since={since}
          until={until}
          testId="denied"
          empty="No denied requests."
        />
        <TopPanel
          title="Failed requests (5xx) by resource"
          field="resource"
          q="code>=500"
          since={since}
          until={until}
          testId="failed"
          empty="No failed requests."
        />
        <RecentAlerts since={since} />
      </div>
      <div className="grid3">
        <GapsPanel since={since} until={until} />
        {(props.me.role === 'admin' || props.me.role === 'analyst') && (
          <IntegrityPanel canVerify={props.me.role === 'admin'} />
        )}
      </div>
    </div>
  );
}
