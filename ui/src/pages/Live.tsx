// Live view: new events matching a filter and new alerts as they are stored, over server-sent events
// (`/api/v1/stream`). Keeps the newest events on screen; pausing holds the view while the stream goes on.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { queryString, type Alert, type AuditEvent } from '../api.js';
import { FilterBar } from '../components/FilterBar.js';
import { codeClass, formatTime, isSensitive } from '../format.js';
import { Link, updateParams, useLocation } from '../router.js';

const KEEP = 500;

interface LiveEvent {
  key: number;
  cluster: string;
  event: AuditEvent;
}

export function LivePage(): ReactNode {
  const { params } = useLocation();
  const q = params.get('q') ?? '';
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [state, setState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  const [dropped, setDropped] = useState(0);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const seq = useRef(0);

  useEffect(() => {
    setEvents([]);
    setState('connecting');
    const source = new EventSource(`/api/v1/stream${queryString({ q })}`, { withCredentials: true });
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.addEventListener('audit', (m) => {
      if (pausedRef.current) return;
      const data = JSON.parse((m as MessageEvent<string>).data) as { cluster: string; event: AuditEvent };
      const item = { key: seq.current++, cluster: data.cluster, event: data.event };
      setEvents((prev) => [item, ...prev].slice(0, KEEP));
    });
    source.addEventListener('alert', (m) => {
      const a = JSON.parse((m as MessageEvent<string>).data) as Alert;
      setAlerts((prev) => [a, ...prev.filter((x) => x.id !== a.id)].slice(0, 50));
    });
    source.addEventListener('lagged', (m) => {
      const d = JSON.parse((m as MessageEvent<string>).data) as { dropped?: number };
      setDropped((n) => n + (d.dropped ?? 0));
    });
    return () => source.close();
  }, [q]);

  return (
    <div className="page live">
      <div className="toolbar">
        <FilterBar value={q} onSubmit={(next) => updateParams({ q: next })} placeholder="filter the stream" />
        <span className={`live-state ${state}`} data-testid="live-state">
          {state === 'live' ? '● live' : state}
        </span>
        <button type="button" onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={() => setEvents([])}>
          Clear
        </button>
      </div>
      {dropped > 0 && (
        <div className="warning">{dropped} events were skipped because the view fell behind.</div>
      )}
      <div className="live-grid">
        <div className="panel">
          <h2>Events</h2>
          {events.length === 0 ? (
            <div className="empty">Waiting for events…</div>
          ) : (
            <ul className="live-events" data-testid="live-events">
              {events.map(({ key, cluster, event: e }) => (
                <li key={key} className={isSensitive(e) ? 'sensitive' : ''} data-testid="live-event">
                  <Link to={`/events/${encodeURIComponent(e.auditID)}`}>
                    {formatTime(e.stageTimestamp).slice(11)}
                  </Link>{' '}
                  <span className="muted">{cluster}</span>{' '}
                  <span className={`verb verb-${e.verb}`}>{e.verb}</span>{' '}
                  <span className="user">{e.user?.username}</span> {e.objectRef?.resource}
                  {e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}{' '}
                  {e.objectRef?.namespace ? `${e.objectRef.namespace}/` : ''}
                  {e.objectRef?.name ?? ''}{' '}
                  {e.responseStatus?.code !== undefined && (
                    <span className={`badge code-${codeClass(e.responseStatus.code)}`}>
                      {e.responseStatus.code}
                    </span>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="panel">
          <h2>Alerts</h2>
          {alerts.length === 0 ? (
            <div className="empty">No alert since this page opened.</div>
          ) : (
            <ul className="alert-list" data-testid="live-alerts">
              {alerts.map((a) => (
                <li key={a.id} className={`alert-item sev-${a.severity}`} data-testid="live-alert">
                  <span className={`badge sev-${a.severity}`}>{a.severity}</span>{' '}
                  <strong className="alert-title">{a.title}</strong>{' '}
                  <span className="muted small">{formatTime(a.time)}</span>
                  <div className="alert-message">{a.message}</div>
                  {a.auditIDs[0] && <Link to={`/events/${encodeURIComponent(a.auditIDs[0])}`}>Event</Link>}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </div>
  );
}
