// Alerts: filtered by severity, rule, status and time; each can be acknowledged and opens the events
// that raised it in the explorer.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, type Alert, type Me, type Rule } from '../api.js';
import { ErrorBox, Loading } from '../components/ErrorBox.js';
import { TimeRange } from '../components/TimeRange.js';
import { formatTime } from '../format.js';
import { href, Link, updateParams, useLocation } from '../router.js';
import { idsFilter } from './Dashboard.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

function ruleList(data: unknown): Rule[] {
  if (Array.isArray(data)) return data as Rule[];
  const rules = (data as { rules?: Rule[] } | undefined)?.rules;
  return Array.isArray(rules) ? rules : [];
}

export function AlertsPage(props: { me: Me }): ReactNode {
  const { params } = useLocation();
  const since = params.get('since') ?? '7d';
  const severity = params.get('severity') ?? '';
  const rule = params.get('rule') ?? '';
  const status = params.get('status') ?? '';
  const client = useQueryClient();
  const alerts = useQuery({
    queryKey: ['alerts', since, severity, rule, status],
    queryFn: ({ signal }) =>
      api.get<{ alerts: Alert[] }>('/alerts', { since, severity, rule, status }, signal),
  });
  const rules = useQuery({
    queryKey: ['rules'],
    queryFn: () => api.get<unknown>('/rules'),
    staleTime: 300_000,
  });
  const ack = useMutation({
    mutationFn: (id: string) => api.post(`/alerts/${encodeURIComponent(id)}/ack`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['alerts'] }),
  });
  const list = alerts.data?.alerts ?? [];
  const canAck = props.me.role !== 'viewer';
  return (
    <div className="page alerts">
      <div className="toolbar">
        <h1>Alerts</h1>
        <select
          aria-label="Severity"
          value={severity}
          onChange={(e) => updateParams({ severity: e.target.value })}
        >
          <option value="">any severity</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="Rule" value={rule} onChange={(e) => updateParams({ rule: e.target.value })}>
          <option value="">any rule</option>
          {ruleList(rules.data).map((r) => (
            <option key={r.id} value={r.id}>
              {r.title ? `${r.id}: ${r.title}` : r.id}
            </option>
          ))}
        </select>
        <select aria-label="Status" value={status} onChange={(e) => updateParams({ status: e.target.value })}>
          <option value="">open and acknowledged</option>
          <option value="open">open</option>
          <option value="acked">acknowledged</option>
        </select>
        <TimeRange since={since} until="" onChange={(s) => updateParams({ since: s })} />
      </div>
      {ack.error && <ErrorBox error={ack.error} />}
      {alerts.isPending ? (
        <Loading />
      ) : alerts.error ? (
        <ErrorBox error={alerts.error} />
      ) : list.length === 0 ? (
        <p className="muted">No alert matches.</p>
      ) : (
        <ul className="alert-list" data-testid="alerts">
          {list.map((a) => (
            <li key={a.id} className={`alert-item sev-${a.severity}`} data-testid="alert">
              <div className="alert-head">
                <span className={`badge sev-${a.severity}`}>{a.severity}</span>
                <strong className="alert-title">{a.title}</strong>
                <span className="muted small">
                  {a.rule} · {formatTime(a.time)}
                  {a.cluster ? ` · ${a.cluster}` : ''}
                </span>
                {a.status && <span className={`badge status-${a.status}`}>{a.status}</span>}
              </div>
              <div className="alert-message">{a.message}</div>
              <div className="alert-actions">
                <Link to={href('/explore', { q: idsFilter(a.auditIDs), since: '365d' })}>
                  Triggering events ({a.auditIDs.length})
                </Link>
                {a.auditIDs[0] && (
                  <Link to={`/events/${encodeURIComponent(a.auditIDs[0])}`}>First event</Link>
                )}
                {a.references.length > 0 && <span className="muted small">{a.references.join(', ')}</span>}
                {canAck && a.status !== 'acked' && (
                  <button type="button" disabled={ack.isPending} onClick={() => ack.mutate(a.id)}>
                    Acknowledge
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
