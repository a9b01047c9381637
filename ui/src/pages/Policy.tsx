// Audit policy workbench: paste or upload a Policy, lint it (problems with their line and path) and
// simulate it on the stored events (what it keeps, downgrades and drops, and what detection would lose).
import { useMutation } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { api } from '../api.js';
import { ErrorBox } from '../components/ErrorBox.js';
import { JsonView } from '../components/JsonView.js';
import { formatCount } from '../format.js';
import { UploadText } from '../components/UploadText.js';

interface Problem {
  severity: string;
  id: string;
  message: string;
  path: string;
  line?: number;
  column?: number;
}

interface Volume {
  events: number;
  bytes: number;
}

interface Simulation {
  rules?: {
    rule: number | null;
    summary: string;
    matched: Volume;
    kept: Volume;
    downgraded: Volume;
    dropped: Volume;
  }[];
  before?: Volume;
  after?: Volume;
  reduction?: { events: number; bytes: number };
  needs?: { id: string; [k: string]: unknown }[];
  lost?: number;
  [k: string]: unknown;
}

function problemsOf(data: unknown): Problem[] {
  if (Array.isArray(data)) return data as Problem[];
  const d = data as { problems?: Problem[] } | undefined;
  return Array.isArray(d?.problems) ? d.problems : [];
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

const EXAMPLE = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    users: ['system:kube-proxy']
  - level: Metadata
    resources: [{ group: '', resources: [secrets, configmaps] }]
  - level: RequestResponse
`;

export function PolicyPage(): ReactNode {
  const [policy, setPolicy] = useState('');
  const [since, setSince] = useState('24h');
  const [q, setQ] = useState('');
  const lint = useMutation({ mutationFn: () => api.post<unknown>('/policy/lint', { policy }) });
  const simulate = useMutation({
    mutationFn: () =>
      api.post<Simulation>('/policy/simulate', { policy, since, ...(q.trim() ? { q: q.trim() } : {}) }),
  });
  const problems = problemsOf(lint.data);
  const sim = simulate.data;
  return (
    <div className="page policy">
      <div className="toolbar">
        <h1>Audit policy</h1>
      </div>
      <div className="policy-grid">
        <div className="panel">
          <div className="panel-head">
            <h2>Policy</h2>
            <UploadText onText={setPolicy} />
            <button type="button" onClick={() => setPolicy(EXAMPLE)}>
              Example
            </button>
          </div>
          <textarea
            aria-label="Policy"
            className="policy-text"
            spellCheck={false}
            value={policy}
            placeholder="Paste an audit.k8s.io/v1 Policy (YAML or JSON)"
            onChange={(e) => setPolicy(e.target.value)}
          />
          <div className="actions">
            <button type="button" disabled={!policy.trim() || lint.isPending} onClick={() => lint.mutate()}>
              Lint
            </button>
            <label>
              on events of the last{' '}
              <input
                aria-label="Since"
                className="short"
                value={since}
                onChange={(e) => setSince(e.target.value)}
              />
            </label>
            <label>
              matching{' '}
              <input aria-label="Simulation filter" value={q} onChange={(e) => setQ(e.target.value)} />
            </label>
            <button
              type="button"
              disabled={!policy.trim() || simulate.isPending}
              onClick={() => simulate.mutate()}
            >
              {simulate.isPending ? 'Simulating…' : 'Simulate'}
            </button>
          </div>
        </div>
        <div className="panel">
          <h2>Lint</h2>
          {lint.error ? (
            <ErrorBox error={lint.error} />
          ) : !lint.data ? (
            <div className="muted">
              Lint checks the policy for mistakes, shadowed rules and costly levels.
            </div>
          ) : problems.length === 0 ? (
            <div className="ok" data-testid="lint-clean">
              No problem found.
            </div>
          ) : (
            <ul className="problems" data-testid="lint-problems">
              {problems.map((p, i) => (
                <li key={i} className={`sev-${p.severity}`}>
                  <span className={`badge sev-${p.severity}`}>{p.severity}</span>{' '}
                  {p.line !== undefined && <span className="muted">line {p.line}: </span>}
                  {p.message}{' '}
                  <span className="muted small">
                    ({p.id}
                    {p.path ? ` at ${p.path}` : ''})
                  </span>
                </li>
              ))}
            </ul>
          )}
          <h2>Simulation</h2>
          {simulate.error ? (
            <ErrorBox error={simulate.error} />
          ) : !sim ? (
            <div className="muted">Simulation replays the stored events through the policy.</div>
          ) : (
            <div data-testid="simulation">
              {sim.before && sim.after && (
                <p>
                  {formatCount(sim.before.events)} events ({bytes(sim.before.bytes)}) →{' '}
                  <strong>
                    {formatCount(sim.after.events)} events ({bytes(sim.after.bytes)})
                  </strong>
                  {sim.reduction && (
                    <span className="muted">
                      {' '}
                      — {Math.round(sim.reduction.events * 100)}% fewer events,{' '}
                      {Math.round(sim.reduction.bytes * 100)}% fewer bytes
                    </span>
                  )}
                </p>
              )}
              {sim.lost !== undefined && sim.lost > 0 && (
                <div className="warning">Detection would lose {sim.lost} requests it needs.</div>
              )}
              {sim.rules && (
                <table className="sim-rules">
                  <thead>
                    <tr>
                      <th>Rule</th>
                      <th>Matched</th>
                      <th>Kept</th>
                      <th>Downgraded</th>
                      <th>Dropped</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sim.rules.map((r, i) => (
                      <tr key={i}>
                        <td>
                          {r.rule === null ? 'no rule' : `#${r.rule + 1}`}{' '}
                          <span className="muted">{r.summary}</span>
                        </td>
                        <td>{formatCount(r.matched.events)}</td>
                        <td>{formatCount(r.kept.events)}</td>
                        <td>{formatCount(r.downgraded.events)}</td>
                        <td>{formatCount(r.dropped.events)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {sim.needs && sim.needs.length > 0 && (
                <details>
                  <summary>Detection needs</summary>
                  <JsonView value={sim.needs} openDepth={1} />
                </details>
              )}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
