// Identity timeline: what one user or service account did: totals by verb, resource, namespace, source
// IP and user agent, its requests grouped into sessions, with exec, attach and port-forward marked, and
// its permissions (used in the range, suggested least-privilege RBAC, granted but unused).
import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, type AuditEvent, type Counted, type Identity } from '../api.js';
import { ErrorBox, Loading } from '../components/ErrorBox.js';
import { Permissions } from '../components/Permissions.js';
import { TimeRange } from '../components/TimeRange.js';
import { addTerm, term } from '../filter.js';
import { codeClass, formatCount, formatTime, isSensitive } from '../format.js';
import { href, Link, updateParams, useLocation } from '../router.js';

function Counts(props: {
  title: string;
  rows: Counted[];
  field: string;
  user: string;
  since: string;
}): ReactNode {
  return (
    <div className="panel">
      <h3>{props.title}</h3>
      {props.rows.length === 0 ? (
        <div className="muted small">none</div>
      ) : (
        <ul className="top-list">
          {props.rows.slice(0, 8).map((r) => (
            <li key={String(r.value)}>
              <Link
                to={href('/explore', {
                  q: addTerm(term('user', props.user), term(props.field, String(r.value ?? ''))),
                  since: props.since,
                })}
              >
                <span className="top-label">{r.value === '' || r.value === null ? '(none)' : r.value}</span>
                <span className="top-count">{formatCount(r.count)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function IdentityPage(): ReactNode {
  const { params } = useLocation();
  const user = params.get('user') ?? '';
  const since = params.get('since') ?? '7d';
  const [input, setInput] = useState(user);
  useEffect(() => setInput(user), [user]);
  const identity = useQuery({
    queryKey: ['identity', user, since],
    queryFn: ({ signal }) => api.get<Identity>('/identity', { user, since }, signal),
    enabled: user !== '',
  });
  const data = identity.data;
  const grouped = useMemo(() => {
    if (!data) return [];
    const events: AuditEvent[] = data.events;
    return data.sessions.map((s) => {
      const a = Date.parse(s.start);
      const b = Date.parse(s.end);
      return {
        session: s,
        events: events.filter((e) => {
          const t = Date.parse(e.stageTimestamp);
          return t >= a && t <= b;
        }),
      };
    });
  }, [data]);
  return (
    <div className="page identity">
      <div className="toolbar">
        <h1>Identity timeline</h1>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            updateParams({ user: input.trim() });
          }}
        >
          <input
            aria-label="User"
            placeholder="alice@example.com or system:serviceaccount:ci:deployer"
            value={input}
            onChange={(e) => setInput(e.target.value)}
          />
          <button type="submit">Show</button>
        </form>
        <TimeRange since={since} until="" onChange={(s) => updateParams({ since: s })} />
      </div>
      {user === '' ? (
        <p className="muted">Name a user or service account to see what it did, session by session.</p>
      ) : identity.isPending ? (
        <Loading />
      ) : identity.error ? (
        <ErrorBox error={identity.error} />
      ) : data ? (
        <>
          <p>
            <strong>{data.user}</strong>: {formatCount(data.total)} requests, {data.sessions.length} sessions.{' '}
            <Link to={href('/explore', { q: term('user', data.user), since })}>Open in explorer</Link>
          </p>
          <div className="grid5">
            <Counts title="Verbs" rows={data.verbs} field="verb" user={data.user} since={since} />
            <Counts title="Resources" rows={data.resources} field="resource" user={data.user} since={since} />
            <Counts title="Namespaces" rows={data.namespaces} field="ns" user={data.user} since={since} />
            <Counts title="Source IPs" rows={data.sourceIPs} field="ip" user={data.user} since={since} />
            <Counts title="User agents" rows={data.userAgents} field="ua" user={data.user} since={since} />
          </div>
          <Permissions user={data.user} since={since} />
          <h2>Sessions</h2>
          <ol className="sessions" data-testid="sessions">
            {grouped.map(({ session, events }) => (
              <li
                key={session.start}
                className={`session${session.sensitive ? ' sensitive' : ''}`}
                data-testid="session"
              >
                <div className="session-head">
                  <Link
                    to={href('/explore', {
                      q: term('user', data.user),
                      since: new Date(Date.parse(session.start)).toISOString(),
                      until: new Date(Date.parse(session.end) + 1).toISOString(),
                    })}
                  >
                    {formatTime(session.start)} → {formatTime(session.end).slice(11)}
                  </Link>{' '}
                  <span className="muted">{formatCount(session.count)} requests</span>
                  {Boolean(session.sensitive) && (
                    <span
                      className="badge sensitive"
                      title="exec, attach, port-forward, secrets, impersonation"
                    >
                      {typeof session.sensitive === 'number' ? `${session.sensitive} ` : ''}sensitive
                    </span>
                  )}
                </div>
                {events.length > 0 && (
                  <ul className="session-events">
                    {events.slice(0, 200).map((e, i) => (
                      <li
                        key={`${e.auditID}-${e.stage}-${i}`}
                        className={isSensitive(e) ? 'sensitive' : ''}
                        data-testid={isSensitive(e) ? 'sensitive-event' : undefined}
                      >
                        <Link to={`/events/${encodeURIComponent(e.auditID)}`}>
                          {formatTime(e.stageTimestamp).slice(11)}
                        </Link>{' '}
                        <span className={`verb verb-${e.verb}`}>{e.verb}</span> {e.objectRef?.resource}
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
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </div>
  );
}
