// One request: every stage the API server logged for its audit ID, its metadata, annotations, request
// and response bodies as collapsible JSON, and the diff against the object's previous version.
import { useQuery } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { resolveActor } from '../../../src/fields/actor.js';
import { api, type AuditEvent, type EventDetail, type FieldChange } from '../api.js';
import { ErrorBox, Loading } from '../components/ErrorBox.js';
import { JsonView } from '../components/JsonView.js';
import { term } from '../filter.js';
import { formatMs, formatTime, isSensitive, latencyMs } from '../format.js';
import { href, Link } from '../router.js';

function Value(props: { value: unknown }): ReactNode {
  const v = props.value;
  if (v === undefined) return <span className="muted">—</span>;
  if (v !== null && typeof v === 'object') return <JsonView value={v} openDepth={1} />;
  return <code className="diff-scalar">{JSON.stringify(v)}</code>;
}

export function DiffView(props: { changes: FieldChange[] }): ReactNode {
  if (props.changes.length === 0) return <div className="muted">No change to the object.</div>;
  return (
    <table className="diff" data-testid="diff">
      {/* Fixed widths: one long unbroken value (a CA bundle) wraps in its cell instead of squeezing
          the other columns. */}
      <colgroup>
        <col className="diff-col-op" />
        <col className="diff-col-path" />
        <col />
        <col />
      </colgroup>
      <thead>
        <tr>
          <th />
          <th>Path</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {props.changes.map((c, i) => (
          <tr key={`${c.path}-${i}`} className={`diff-${c.op}`}>
            <td className="diff-op">{c.op === 'add' ? '+' : c.op === 'remove' ? '−' : '~'}</td>
            <td className="diff-path">
              <code>{c.path}</code>
            </td>
            <td className="diff-old">{c.op === 'add' ? null : <Value value={c.old} />}</td>
            <td className="diff-new">{c.op === 'remove' ? null : <Value value={c.new} />}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The person or workload behind the request, how it was found, and the token or node it came with. */
function ActorCell(props: { event: AuditEvent }): ReactNode {
  const a = resolveActor(props.event);
  if (!a) return '';
  const details = [
    a.source !== 'user' ? `from ${a.source}` : '',
    a.credential ? `credential ${a.credential}` : '',
    a.node ? `on node ${a.node}` : '',
  ].filter(Boolean);
  return (
    <span data-testid="actor">
      <Link to={href('/explore', { q: term('actor', a.actor) })}>{a.actor}</Link>
      {details.length > 0 && <span className="muted small"> ({details.join(', ')})</span>}
    </span>
  );
}

function Meta(props: { event: AuditEvent; cluster: string }): ReactNode {
  const e = props.event;
  const o = e.objectRef;
  const rows: [string, ReactNode][] = [
    ['Cluster', props.cluster],
    ['Stage', e.stage],
    ['Level', e.level],
    ['Received', formatTime(e.requestReceivedTimestamp)],
    ['Stage time', formatTime(e.stageTimestamp)],
    ['Latency', formatMs(latencyMs(e))],
    ['Actor', <ActorCell key="actor" event={e} />],
    [
      'User',
      e.user?.username ? (
        <Link to={href('/identity', { user: e.user.username })}>{e.user.username}</Link>
      ) : (
        ''
      ),
    ],
    ['Groups', (e.user?.groups ?? []).join(', ')],
    ['Impersonated', e.impersonatedUser?.username ?? ''],
    ['Source IPs', (e.sourceIPs ?? []).join(', ')],
    ['User agent', e.userAgent ?? ''],
    ['Verb', e.verb],
    ['Request URI', e.requestURI],
    [
      'Object',
      o?.resource ? (
        <Link
          to={href('/objects', {
            object: `${o.resource}${o.apiGroup ? `.${o.apiGroup}` : ''}/${o.name ?? ''}`,
            namespace: o.namespace,
            cluster: props.cluster,
          })}
        >
          {[o.apiGroup, o.apiVersion].filter(Boolean).join('/')} {o.resource}
          {o.subresource ? `/${o.subresource}` : ''} {o.namespace ? `${o.namespace}/` : ''}
          {o.name ?? ''}
        </Link>
      ) : (
        ''
      ),
    ],
    [
      'Response',
      e.responseStatus
        ? `${e.responseStatus.code ?? ''} ${e.responseStatus.reason ?? ''} ${e.responseStatus.message ?? ''}`
        : '',
    ],
  ];
  return (
    <dl className="meta">
      {rows
        .filter(([, v]) => v !== '' && v !== undefined)
        .map(([k, v]) => (
          <div key={k} className="meta-row">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

export function EventPage(props: { auditID: string }): ReactNode {
  const { auditID } = props;
  const detail = useQuery({
    queryKey: ['event', auditID],
    queryFn: ({ signal }) => api.get<EventDetail>(`/events/${encodeURIComponent(auditID)}`, {}, signal),
  });
  const [stage, setStage] = useState(-1);
  if (detail.isPending) return <Loading />;
  if (detail.error) {
    return (
      <div className="page">
        <ErrorBox error={detail.error} />
      </div>
    );
  }
  const records = detail.data.records;
  if (records.length === 0) {
    return (
      <div className="page">
        <p>No stored stage of this request is visible to you.</p>
      </div>
    );
  }
  const current = records[stage >= 0 && stage < records.length ? stage : records.length - 1]!;
  const e = current.event;
  const diff = detail.data.diff;
  const withRequest = records.find((r) => r.event.requestObject !== undefined);
  const withResponse = records.find((r) => r.event.responseObject !== undefined);
  return (
    <div className="page event-detail" data-testid="event-detail">
      <div className="toolbar">
        <h1>
          <span className={`verb verb-${e.verb}`}>{e.verb}</span> {e.objectRef?.resource ?? e.requestURI}
          {e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}{' '}
          {e.objectRef?.name && <span className="obj-name">{e.objectRef.name}</span>}{' '}
          {e.responseStatus?.code !== undefined && (
            <span className={`badge code-${Math.floor(e.responseStatus.code / 100)}xx`}>
              {e.responseStatus.code}
            </span>
          )}
          {isSensitive(e) && <span className="badge sensitive">{e.objectRef?.subresource}</span>}
        </h1>
        <Link to={href('/explore', { q: term('auditid', auditID), since: '365d' })}>Open in explorer</Link>
      </div>
      <div className="muted small">
        audit ID <code>{auditID}</code>
      </div>
      <div className="stages" role="tablist" aria-label="Stages">
        {records.map((r, i) => (
          <button
            type="button"
            role="tab"
            key={`${r.cluster}-${r.event.stage}-${i}`}
            aria-selected={r === current}
            className={r === current ? 'stage on' : 'stage'}
            onClick={() => setStage(i)}
          >
            {r.event.stage}
            <span className="muted small"> {formatTime(r.event.stageTimestamp).slice(11)}</span>
          </button>
        ))}
      </div>
      <div className="detail-grid">
        <div className="panel">
          <h2>Request</h2>
          <Meta event={e} cluster={current.cluster} />
          {e.annotations && Object.keys(e.annotations).length > 0 && (
            <>
              <h3>Annotations</h3>
              <dl className="meta annotations">
                {Object.entries(e.annotations).map(([k, v]) => (
                  <div key={k} className="meta-row">
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
              </dl>
            </>
          )}
        </div>
        <div className="panel">
          <h2>
            Changes{' '}
            {diff?.previous && (
              <span className="muted small">
                against the version of{' '}
                <Link to={`/events/${encodeURIComponent(diff.previous.auditID)}`}>
                  {formatTime(diff.previous.time)}
                </Link>
              </span>
            )}
          </h2>
          {diff?.note && <div className="muted">{diff.note}</div>}
          {diff ? (
            (!diff.note || diff.changes.length > 0) && <DiffView changes={diff.changes} />
          ) : (
            <div className="muted">No earlier version of this object is stored to compare with.</div>
          )}
        </div>
      </div>
      <div className="detail-grid">
        <div className="panel">
          <h2>Request body</h2>
          {(current.event.requestObject ?? withRequest?.event.requestObject) !== undefined ? (
            <JsonView value={current.event.requestObject ?? withRequest?.event.requestObject} />
          ) : (
            <div className="muted">Not logged at this level, or not visible to you.</div>
          )}
        </div>
        <div className="panel">
          <h2>Response body</h2>
          {(current.event.responseObject ?? withResponse?.event.responseObject) !== undefined ? (
            <JsonView value={current.event.responseObject ?? withResponse?.event.responseObject} />
          ) : (
            <div className="muted">Not logged at this level, or not visible to you.</div>
          )}
        </div>
      </div>
      <details className="panel raw">
        <summary>Raw event ({e.stage})</summary>
        <JsonView value={e} openDepth={1} />
      </details>
    </div>
  );
}
