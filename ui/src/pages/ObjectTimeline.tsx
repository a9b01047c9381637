// Object timeline: the objects written in a time range as a tree (cluster → kind → namespace → name →
// subresource), and for the chosen object (`kind/name` as kubectl writes it) its revisions as bars drawn
// by what is known of each state, refused requests as marks, and every write with its actor, the state
// it left and what changed against the state before (managedFields on request). A revision's object,
// as it was, is one click away.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import type { Revision, StateAt } from '../../../src/history/changes.js';
import { api, type HistoryEntry } from '../api.js';
import { ErrorBox, Loading } from '../components/ErrorBox.js';
import { JsonView } from '../components/JsonView.js';
import { objectArg, ObjectTree, type ObjectSummary } from '../components/ObjectTree.js';
import { RevisionBars, RevisionLegend, STATE_LABELS } from '../components/RevisionBars.js';
import { term } from '../filter.js';
import { codeClass, formatTime } from '../format.js';
import { href, Link, updateParams, useLocation } from '../router.js';
import { DiffView } from './EventDetail.js';

const STATE_COLORS: Record<string, string> = {
  known: 'var(--accent)',
  derived: 'var(--accent)',
  unknown: 'var(--muted)',
  deleted: 'var(--muted)',
};

function StateBadge(props: { entry: HistoryEntry }): ReactNode {
  const { state, stateSource, patchTypeInferred } = props.entry;
  if (!state) return null;
  const how =
    stateSource && stateSource !== 'none'
      ? `: ${stateSource}${patchTypeInferred ? ' (type inferred)' : ''}`
      : '';
  return (
    <span
      className="badge"
      data-state={state}
      title={STATE_LABELS[state]}
      style={{
        borderColor: STATE_COLORS[state],
        borderStyle: state === 'deleted' ? 'dashed' : 'solid',
        borderWidth: 1,
      }}
    >
      {state}
      {how}
    </span>
  );
}

function ObjectAt(props: { object: string; namespace: string; cluster: string; at: string }): ReactNode {
  const q = useQuery({
    queryKey: ['history-at', props.object, props.namespace, props.cluster, props.at],
    queryFn: ({ signal }) =>
      api.get<{ at: string } & StateAt>(
        '/history',
        {
          object: props.object,
          namespace: props.namespace,
          cluster: props.cluster,
          at: props.at,
        },
        signal,
      ),
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorBox error={q.error} />;
  return (
    <div data-testid="object-at">
      <p className="small">
        The object at {formatTime(q.data.at)}: <strong>{q.data.state}</strong>
        {q.data.state === 'unknown' && ' — not in the log, so not shown (nothing is invented).'}
        {q.data.state === 'derived' && ' — rebuilt by applying logged requests to a known state.'}
      </p>
      {q.data.object && <JsonView value={q.data.object} />}
    </div>
  );
}

export function ObjectPage(): ReactNode {
  const { params } = useLocation();
  const object = params.get('object') ?? '';
  const namespace = params.get('namespace') ?? '';
  const cluster = params.get('cluster') ?? '';
  const since = params.get('since') ?? '7d';
  const managedFields = params.get('managedFields') === 'true';
  const [form, setForm] = useState({ object, namespace, cluster });
  const [picked, setPicked] = useState<number | undefined>(undefined);
  const [showAt, setShowAt] = useState<string | undefined>(undefined);
  useEffect(() => setForm({ object, namespace, cluster }), [object, namespace, cluster]);
  useEffect(() => {
    setPicked(undefined);
    setShowAt(undefined);
  }, [object, namespace, cluster]);
  const tree = useQuery({
    queryKey: ['objects', since],
    queryFn: ({ signal }) =>
      api.get<{ objects: ObjectSummary[]; truncated?: boolean }>('/objects', { since }, signal),
  });
  const history = useQuery({
    queryKey: ['history', object, namespace, cluster, managedFields],
    queryFn: ({ signal }) =>
      api.get<{ entries: HistoryEntry[]; revisions: Revision[]; bodiesHidden?: boolean }>(
        '/history',
        { object, namespace, cluster, managedFields: managedFields ? 'true' : 'false' },
        signal,
      ),
    enabled: object !== '',
  });
  const entries = history.data?.entries ?? [];
  const revisions = history.data?.revisions ?? [];
  const select = (o: ObjectSummary) =>
    updateParams({ object: objectArg(o), namespace: o.namespace, cluster: o.cluster });
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
      <div style={{ display: 'flex', gap: 16, alignItems: 'flex-start' }}>
        <aside style={{ minWidth: 220, maxWidth: 320, maxHeight: '75vh', overflow: 'auto' }}>
          <div className="small muted">
            Objects written in the last{' '}
            <select
              aria-label="Tree range"
              value={since}
              onChange={(e) => updateParams({ since: e.target.value })}
            >
              {['1h', '24h', '7d', '30d'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </div>
          {tree.isPending ? (
            <Loading />
          ) : tree.error ? (
            <ErrorBox error={tree.error} />
          ) : tree.data.objects.length === 0 ? (
            <p className="muted small">No write in this range.</p>
          ) : (
            <>
              <ObjectTree
                objects={tree.data.objects}
                selected={{ cluster, namespace, object }}
                onSelect={select}
              />
              {tree.data.truncated && (
                <p className="muted small">Only the objects of the newest writes are listed.</p>
              )}
            </>
          )}
        </aside>
        <section style={{ flex: 1, minWidth: 0 }}>
          {object === '' ? (
            <p className="muted">
              Pick an object in the tree, or name one as kubectl does (<code>deployment/web</code>,{' '}
              <code>secret/db-password</code>, <code>clusterrolebinding/admins</code>) to see who changed it
              and how.
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
              <RevisionBars
                entries={entries}
                revisions={revisions}
                {...(picked !== undefined ? { picked } : {})}
                onPick={(i) => {
                  setPicked(i);
                  document.getElementById(`write-${i}`)?.scrollIntoView({ block: 'nearest' });
                }}
              />
              <RevisionLegend />
              <label className="small" style={{ display: 'block', margin: '8px 0' }}>
                <input
                  type="checkbox"
                  data-testid="managed-fields"
                  checked={managedFields}
                  onChange={(e) => updateParams({ managedFields: e.target.checked ? 'true' : undefined })}
                />{' '}
                show managedFields in diffs
              </label>
              <ol className="timeline" data-testid="object-timeline">
                {entries.map((h, i) => (
                  <li
                    id={`write-${i}`}
                    key={`${h.auditID}-${i}`}
                    className={`timeline-item${h.failed ? ' failed' : ''}${
                      h.subresource && ['exec', 'attach', 'portforward'].includes(h.subresource)
                        ? ' sensitive'
                        : ''
                    }`}
                    style={picked === i ? { outline: '2px solid var(--accent)' } : undefined}
                  >
                    <div className="timeline-head">
                      <Link to={`/events/${encodeURIComponent(h.auditID)}`}>{formatTime(h.time)}</Link>{' '}
                      <span className={`verb verb-${h.verb}`}>{h.verb}</span>
                      {h.subresource && <span className="badge">{h.subresource}</span>} by{' '}
                      {h.actor ? (
                        <Link to={href('/explore', { q: term('actor', h.actor) })} data-testid="actor">
                          {h.actor}
                        </Link>
                      ) : (
                        <Link to={href('/identity', { user: h.user })}>{h.user}</Link>
                      )}
                      {h.actor && h.actor !== h.user && (
                        <span className="muted">
                          {' '}
                          (authenticated as <Link to={href('/identity', { user: h.user })}>{h.user}</Link>
                          {h.impersonatedUser && <>, impersonating {h.impersonatedUser}</>})
                        </span>
                      )}
                      {h.code !== undefined && (
                        <span className={`badge code-${codeClass(h.code)}`}>{h.code}</span>
                      )}
                      {h.failed && <span className="badge code-4xx">refused</span>} <StateBadge entry={h} />
                      <span className="muted small">
                        {' '}
                        {h.cluster} {h.sourceIP ?? ''} {h.userAgent ?? ''}
                      </span>
                      {(h.state === 'known' || h.state === 'derived') && (
                        <button
                          type="button"
                          className="small"
                          style={{ marginLeft: 8 }}
                          onClick={() => setShowAt(showAt === h.time ? undefined : h.time)}
                        >
                          {showAt === h.time ? 'hide object' : 'object after this write'}
                        </button>
                      )}
                    </div>
                    {typeof h.note === 'string' && <div className="muted small">{h.note}</div>}
                    {h.changes && h.changes.length > 0 && <DiffView changes={h.changes} />}
                    {h.patch !== undefined && (!h.changes || h.state === 'unknown') && (
                      <details>
                        <summary>Patch as sent</summary>
                        <JsonView value={h.patch} />
                      </details>
                    )}
                    {showAt === h.time && (
                      <ObjectAt object={object} namespace={namespace} cluster={cluster} at={h.time} />
                    )}
                  </li>
                ))}
              </ol>
            </>
          )}
        </section>
      </div>
    </div>
  );
}
