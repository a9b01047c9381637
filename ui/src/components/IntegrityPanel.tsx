// The dashboard's Integrity panel (GET /api/v1/integrity): the last verification of the store's tamper
// evidence (when, by whom, the events and range verified, clean or the findings counted by kind, the first
// findings), the state of the digest chain, and the command that verifies by hand. An admin can run a
// verification now (POST /api/v1/integrity/verify). Every finding's text is shown as text, never as HTML.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, type IntegrityFinding, type IntegrityState } from '../api.js';
import { formatCount, formatMs, formatTime } from '../format.js';
import { ErrorBox } from './ErrorBox.js';

/** Findings listed in the panel at most; the command shows them all. */
const SHOWN = 8;

const KINDS = ['modified', 'deleted', 'inserted', 'chain'] as const;

/** "3 modified, 1 deleted": the findings counted by kind, in a fixed order. */
export function findingCounts(findings: readonly IntegrityFinding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  const order = [...KINDS, ...[...counts.keys()].filter((k) => !(KINDS as readonly string[]).includes(k))];
  return order
    .filter((k) => counts.has(k))
    .map((k) => `${counts.get(k)} ${k}`)
    .join(', ');
}

function Findings(props: { findings: readonly IntegrityFinding[] }): ReactNode {
  const { findings } = props;
  return (
    <>
      <ul className="finding-list" data-testid="integrity-findings">
        {findings.slice(0, SHOWN).map((f, i) => (
          <li key={i}>
            <span className="badge sev-high">{f.kind}</span>
            {f.auditID && <code className="finding-id">{f.auditID}</code>}
            {f.time && <span className="muted small">{formatTime(f.time)}</span>}
            <span className="finding-detail">{f.detail}</span>
          </li>
        ))}
      </ul>
      {findings.length > SHOWN && (
        <div className="muted small">and {formatCount(findings.length - SHOWN)} more</div>
      )}
    </>
  );
}

export function IntegrityPanel(props: { canVerify: boolean }): ReactNode {
  const client = useQueryClient();
  const state = useQuery({
    queryKey: ['integrity'],
    queryFn: ({ signal }) => api.get<IntegrityState>('/integrity', {}, signal),
  });
  const verify = useMutation({
    mutationFn: () => api.post('/integrity/verify'),
    onSettled: () => client.invalidateQueries({ queryKey: ['integrity'] }),
  });
  const last = state.data?.last;
  const chain = state.data?.chain;
  return (
    <div className="panel" data-testid="integrity">
      <div className="panel-head">
        <h2>
          Integrity
          {last && (
            <span className={`small ${last.ok ? 'ok' : 'warning'}`} data-testid="integrity-status">
              {' '}
              {last.ok ? 'clean' : findingCounts(last.findings)}
            </span>
          )}
        </h2>
        {props.canVerify && (
          <button type="button" disabled={verify.isPending} onClick={() => verify.mutate()}>
            {verify.isPending ? 'Verifying…' : 'Verify now'}
          </button>
        )}
      </div>
      {verify.error && <ErrorBox error={verify.error} />}
      {state.error ? (
        <ErrorBox error={state.error} />
      ) : !state.data ? (
        <div className="empty">Loading…</div>
      ) : (
        <>
          {last ? (
            <div data-testid="integrity-last">
              Verified {formatCount(last.verified.events)} events
              {last.verified.from && last.verified.to
                ? ` from ${formatTime(last.verified.from)} to ${formatTime(last.verified.to)}`
                : ''}{' '}
              <span className="muted small">
                at {formatTime(last.at)} by the {last.by === 'cli' ? 'command' : 'server'} in{' '}
                {formatMs(last.durationMs)}
              </span>
            </div>
          ) : (
            <div className="empty">The store has not been verified yet.</div>
          )}
          {last && last.findings.length > 0 && <Findings findings={last.findings} />}
          {chain && (
            <div className="muted small" data-testid="integrity-chain">
              Digest chain: {formatCount(chain.records)} records
              {chain.headSeq !== undefined ? `, head ${chain.headSeq}` : ''}
              {chain.lastSigned ? `, last signed ${formatTime(chain.lastSigned)}` : ', not signed yet'}
              {chain.publicKeyFingerprint ? `; signer ${chain.publicKeyFingerprint}` : ''}
            </div>
          )}
          <div className="muted small">
            Verify by hand: <code>kubetrail verify</code>
          </div>
        </>
      )}
    </div>
  );
}
