// Object timeline: every change to one object (`kind/name` as kubectl writes it, in a namespace and a
// cluster), newest first, who made it and what changed against the version before.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import { api, type HistoryEntry } from '../api.js';
import { ErrorBox, Loading } from '../components/ErrorBox.js';
import { JsonView } from '../components/JsonView.js';
import { codeClass, formatTime } from '../format.js';
import { href, Link, updateParams, useLocation } from '../router.js';
import { DiffView } from './EventDetail.js';

export function ObjectPage(): ReactNode {
  const { params } = useLocation();
  const object = params.get('object') ?? '';
  const namespace = params.get('namespace') ?? '';
  const cluster = params.get('cluster') ?? '';
  const [form, setForm] = useState({ object, namespace, cluster });
  useEffect(() => setForm({ object, namespace, cluster }), [object, namespace, cluster]);
  const history = useQuery({
    queryKey: ['history', object, namespace, cluster],
    queryFn: ({ signal }) =>
      api.get<{ entries: HistoryEntry[]; bodiesHidden?: boolean }>(
        '/history',
        { object, namespace, cluster },
        signal,
      ),
    enabled: object !== '',
  });
  const entries = history.data?.entries ?? [];
  return (
    <div className="page object-timeline">
      <div className="toolbar">
        <h1>Object timeline</h1>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            updateParams(form);
          }}
        >
          <input
            aria-label="Object"
            placeholder="deployment/web"
            value={form.object}
            onChange={(e) => setForm({ ...form, object: e.target.value })}
          />
          <input
            aria-label="Namespace"
            placeholder="namespace"
            value={form.namespace}
            onChange={(e) => setForm({ ...form, namespace: e.target.value })}
          />
          <input
            aria-label="Cluster"
            placeholder="cluster"
            value={form.cluster}
            onChange={(e) => setForm({ ...form, cluster: e.target.value })}
          />
          <button type="submit">Show</button>
        </form>
      </div>
      {object === '' ? (
        <p className="muted">
          Name an object as kubectl does (<code>deployment/web</code>, <code>secret/db-password</code>,{' '}
          <code>clusterrolebinding/admins</code>) to see who changed it and how.
        </p>
      ) : history.isPending ? (
        <Loading />
      ) : history.error ? (
        <ErrorBox error={history.error} />
      ) : entries.length === 0 ? (
        <p className="muted">No stored change to this object.</p>
      ) : (
        <>
          {history.data.bodiesHidden && (
            <p className="muted" data-testid="bodies-hidden">
              Request and response bodies are hidden from this token, so no change shows what it changed.
            </p>
          )}
          <ol className="timeline" data-testid="object-timeline">
            {entries.map((h, i) => (
              <li
                key={`${h.auditID}-${i}`}
                className={`timeline-item${h.failed ? ' failed' : ''}${
                  h.subresource && ['exec', 'attach', 'portforward'].includes(h.subresource)
                    ? ' sensitive'
                    : ''
                }`}
              >
                <div className="timeline-head">
                  <Link to={`/events/${encodeURIComponent(h.auditID)}`}>{formatTime(h.time)}</Link>{' '}
                  <span className={`verb verb-${h.verb}`}>{h.verb}</span>
                  {h.subresource && <span className="badge">{h.subresource}</span>} by{' '}
                  <Link to={href('/identity', { user: h.user })}>{h.user}</Link>
                  {h.impersonatedUser && <span className="muted"> as {h.impersonatedUser}</span>}
                  {h.code !== undefined && (
                    <span className={`badge code-${codeClass(h.code)}`}>{h.code}</span>
                  )}
                  {h.failed && <span className="badge code-4xx">refused</span>}
                  <span className="muted small">
                    {' '}
                    {h.cluster} {h.sourceIP ?? ''} {h.userAgent ?? ''}
                  </span>
                </div>
                {typeof h.note === 'string' && <div className="muted small">{h.note}</div>}
                {h.changes && h.changes.length > 0 && <DiffView changes={h.changes} />}
                {!h.changes && h.patch !== undefined && (
                  <details>
                    <summary>Patch as sent</summary>
                    <JsonView value={h.patch} />
                  </details>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
