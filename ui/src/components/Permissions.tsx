// An identity's permissions: what it used in the range (API group, resource, verb and namespace, with
// counts and last use), what was refused to it, the suggested least-privilege RBAC as YAML to copy
// (plain text in a <pre>, never rendered as HTML), and, once the cluster's RBAC objects are pasted or
// uploaded, the permissions granted to it that it did not use, dangerous ones first.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { api, type RbacReview, type RbacSuggestion } from '../api.js';
import { ErrorBox, Loading } from './ErrorBox.js';
import { formatCount, formatTime } from '../format.js';
import { UploadText } from './UploadText.js';

function Used(props: { rows: RbacSuggestion['used'] }): ReactNode {
  if (props.rows.length === 0) return <div className="muted small">no allowed request in the range</div>;
  return (
    <table className="sim-rules" data-testid="rbac-used">
      <thead>
        <tr>
          <th>API group</th>
          <th>resource</th>
          <th>verb</th>
          <th>namespace</th>
          <th>count</th>
          <th>last used</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.slice(0, 200).map((r) => (
          <tr key={`${r.apiGroup}|${r.resource}|${r.verb}|${r.namespace}`}>
            <td>{r.apiGroup === '' ? <span className="muted">core</span> : r.apiGroup}</td>
            <td>{r.resource}</td>
            <td>{r.verb}</td>
            <td>{r.namespace === '' ? <span className="muted">cluster-wide</span> : r.namespace}</td>
            <td>{formatCount(r.count)}</td>
            <td>{formatTime(r.last)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Unused(props: { review: RbacReview }): ReactNode {
  const { review } = props;
  return (
    <div data-testid="rbac-unused">
      <p className="muted small">
        {review.rbac.objects} RBAC objects read; {formatCount(review.granted)} permissions granted to this
        identity (directly or through its groups), {formatCount(review.unused.length)} unused in the range.
      </p>
      {review.unused.length > 0 && (
        <table className="sim-rules">
          <thead>
            <tr>
              <th>permission</th>
              <th>namespace</th>
              <th>role</th>
              <th>granted to</th>
              <th>binding</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {review.unused.slice(0, 500).map((g, i) => (
              <tr key={i} className={g.dangerous ? 'sensitive' : ''}>
                <td>{g.permission}</td>
                <td>{g.namespace}</td>
                <td>
                  {g.role}
                  {g.via ? <span className="muted"> via {g.via}</span> : null}
                </td>
                <td>{g.subject}</td>
                <td>{g.binding}</td>
                <td>{g.dangerous && <span className="badge sensitive">{g.dangerous}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function Permissions(props: { user: string; since: string }): ReactNode {
  const { user, since } = props;
  const [rbac, setRbac] = useState('');
  const [copied, setCopied] = useState(false);
  const suggestion = useQuery({
    queryKey: ['rbac-suggest', user, since],
    queryFn: ({ signal }) => api.get<RbacSuggestion>('/rbac/suggest', { user, since }, signal),
    enabled: user !== '',
  });
  const review = useMutation({
    mutationFn: () => api.post<RbacReview>('/rbac/review', { user, since, rbac }),
  });
  const data = suggestion.data;
  return (
    <>
      <h2>Permissions</h2>
      {suggestion.isPending ? (
        <Loading />
      ) : suggestion.error ? (
        <ErrorBox error={suggestion.error} />
      ) : data ? (
        <>
          {data.source.truncated && (
            <div className="warning">
              Only the first {formatCount(data.source.maxEvents)} events of the range were read.
            </div>
          )}
          <div className="policy-grid">
            <div className="panel">
              <h3>Used in the range</h3>
              <Used rows={data.used} />
              {data.refused.length > 0 && (
                <>
                  <h3>Asked for and refused</h3>
                  <ul className="problems" data-testid="rbac-refused">
                    {data.refused.map((r) => (
                      <li key={r.request}>
                        {r.request}{' '}
                        <span className="muted small">
                          ({r.count}×, last {formatTime(r.last)})
                        </span>
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </div>
            <div className="panel">
              <div className="panel-head">
                <h3>Suggested least-privilege RBAC</h3>
                <button
                  type="button"
                  onClick={() => {
                    void navigator.clipboard?.writeText(data.suggestion.yaml).then(() => setCopied(true));
                  }}
                >
                  {copied ? 'Copied' : 'Copy'}
                </button>
              </div>
              <pre className="pre" data-testid="rbac-yaml">
                {data.suggestion.yaml}
              </pre>
            </div>
          </div>
          <div className="panel">
            <div className="panel-head">
              <h3>Granted but unused</h3>
              <UploadText onText={setRbac} />
            </div>
            <textarea
              aria-label="RBAC objects"
              className="policy-text short"
              spellCheck={false}
              value={rbac}
              placeholder="Paste the output of: kubectl get clusterroles,clusterrolebindings,roles,rolebindings -A -o yaml"
              onChange={(e) => setRbac(e.target.value)}
            />
            <div className="actions">
              <button
                type="button"
                disabled={!rbac.trim() || review.isPending}
                onClick={() => review.mutate()}
              >
                Compare with what was used
              </button>
            </div>
            {review.error ? <ErrorBox error={review.error} /> : null}
            {review.data ? <Unused review={review.data} /> : null}
          </div>
        </>
      ) : null}
    </>
  );
}
