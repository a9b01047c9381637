// One object's revisions on a time axis, one lane per subresource: each state as a bar drawn by what is
// known of it (known solid, derived hatched and lighter, unknown striped, deleted dashed), refused
// requests as red marks, writes to other subresources as ticks. Clicking a bar or a mark picks that write.
import type { ReactNode } from 'react';
import type { HistoryEntry, Revision, RevisionState } from '../../../src/history/changes.js';
import { formatTime } from '../format.js';

const LANE = 26;
const LABEL = 110;
const WIDTH = 900;

export const STATE_LABELS: Record<RevisionState, string> = {
  known: 'known (from a logged body)',
  derived: 'derived (logged patch applied to a known state)',
  unknown: 'unknown (not in the log)',
  deleted: 'deleted',
};

function barStyle(state: RevisionState): { fill: string; stroke: string; dash?: string; opacity?: number } {
  switch (state) {
    case 'known':
      return { fill: 'var(--accent)', stroke: 'var(--accent)' };
    case 'derived':
      return { fill: 'url(#kt-hatch)', stroke: 'var(--accent)', opacity: 0.85 };
    case 'unknown':
      return { fill: 'url(#kt-stripes)', stroke: 'var(--muted)' };
    case 'deleted':
      return { fill: 'none', stroke: 'var(--muted)', dash: '5 4' };
  }
}

/** The legend that explains the bars. */
export function RevisionLegend(): ReactNode {
  return (
    <div
      className="small muted"
      data-testid="revision-legend"
      style={{ display: 'flex', gap: 16, flexWrap: 'wrap' }}
    >
      {(Object.keys(STATE_LABELS) as RevisionState[]).map((s) => {
        const st = barStyle(s);
        return (
          <span key={s}>
            <svg width="28" height="12" aria-hidden="true" style={{ verticalAlign: 'middle' }}>
              <Patterns />
              <rect
                x="1"
                y="1"
                width="26"
                height="10"
                fill={st.fill}
                stroke={st.stroke}
                strokeDasharray={st.dash}
                opacity={st.opacity}
              />
            </svg>{' '}
            {STATE_LABELS[s]}
          </span>
        );
      })}
      <span>
        <svg width="12" height="12" aria-hidden="true" style={{ verticalAlign: 'middle' }}>
          <path d="M1 1 L11 11 M11 1 L1 11" stroke="var(--danger)" strokeWidth="2" />
        </svg>{' '}
        refused request
      </span>
    </div>
  );
}

function Patterns(): ReactNode {
  return (
    <defs>
      <pattern id="kt-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect width="6" height="6" fill="var(--accent)" opacity="0.25" />
        <line x1="0" y1="0" x2="0" y2="6" stroke="var(--accent)" strokeWidth="2" />
      </pattern>
      <pattern
        id="kt-stripes"
        width="8"
        height="8"
        patternUnits="userSpaceOnUse"
        patternTransform="rotate(-45)"
      >
        <rect width="8" height="8" fill="var(--panel-2)" />
        <line x1="0" y1="0" x2="0" y2="8" stroke="var(--muted)" strokeWidth="3" />
      </pattern>
    </defs>
  );
}

export function RevisionBars(props: {
  entries: readonly HistoryEntry[];
  revisions: readonly Revision[];
  picked?: number;
  onPick: (entry: number) => void;
}): ReactNode {
  const { entries, revisions } = props;
  if (entries.length === 0) return null;
  const times = entries.map((e) => Date.parse(e.time));
  const start = Math.min(...times);
  const lastTime = Math.max(...times);
  // The last state lasts until the end of the axis; leave it some room.
  const end = lastTime + Math.max(60_000, (lastTime - start) * 0.1);
  const x = (t: number) => LABEL + ((t - start) / (end - start)) * (WIDTH - LABEL - 8);
  const lanes = ['', ...new Set(entries.map((e) => e.subresource ?? '').filter((s) => s !== ''))];
  const laneOf = (e: HistoryEntry) => lanes.indexOf(e.subresource ?? '');
  const height = lanes.length * LANE + 22;
  // Bars of the object itself (subresources such as status and scale change it too).
  const bars = revisions.map((r, i) => {
    const from = Date.parse(r.from);
    const to = r.to ? Date.parse(r.to) : end;
    return { r, i, x0: x(from), x1: Math.max(x(from) + 3, x(to) - 1) };
  });
  return (
    <svg
      width="100%"
      viewBox={`0 0 ${WIDTH} ${height}`}
      role="img"
      aria-label="Revisions of the object over time"
      data-testid="revision-bars"
      style={{ maxWidth: WIDTH, display: 'block' }}
    >
      <Patterns />
      {lanes.map((lane, i) => (
        <g key={lane}>
          <text x="4" y={i * LANE + 17} fontSize="12" fill="var(--muted)">
            {lane === '' ? 'object' : lane}
          </text>
          <line x1={LABEL} x2={WIDTH - 8} y1={i * LANE + 13} y2={i * LANE + 13} stroke="var(--border)" />
        </g>
      ))}
      {bars.map(({ r, i, x0, x1 }) => {
        const st = barStyle(r.state);
        const e = entries[r.entry]!;
        return (
          <rect
            key={`r${i}`}
            data-state={r.state}
            x={x0}
            y={5}
            width={x1 - x0}
            height={16}
            rx={2}
            fill={st.fill}
            stroke={props.picked === r.entry ? 'var(--fg)' : st.stroke}
            strokeWidth={props.picked === r.entry ? 2 : 1}
            strokeDasharray={st.dash}
            opacity={st.opacity}
            style={{ cursor: 'pointer' }}
            onClick={() => props.onPick(r.entry)}
          >
            <title>
              {`${STATE_LABELS[r.state]} from ${formatTime(r.from)}${r.to ? ` to ${formatTime(r.to)}` : ''}: ${e.verb}${
                e.subresource ? ` ${e.subresource}` : ''
              } by ${e.actor ?? e.user}`}
            </title>
          </rect>
        );
      })}
      {entries.map((e, i) => {
        const cx = x(Date.parse(e.time));
        const cy = laneOf(e) * LANE + 13;
        if (e.failed) {
          return (
            <g key={`f${i}`} data-mark="failed" style={{ cursor: 'pointer' }} onClick={() => props.onPick(i)}>
              <path
                d={`M${cx - 5} ${cy - 5} L${cx + 5} ${cy + 5} M${cx + 5} ${cy - 5} L${cx - 5} ${cy + 5}`}
                stroke="var(--danger)"
                strokeWidth="2.5"
              />
              <title>{`refused ${e.code ?? ''}: ${e.verb}${e.subresource ? ` ${e.subresource}` : ''} by ${e.actor ?? e.user} at ${formatTime(e.time)}`}</title>
            </g>
          );
        }
        if (laneOf(e) === 0 && e.state !== undefined) return null;
        return (
          <g key={`m${i}`} data-mark="write" style={{ cursor: 'pointer' }} onClick={() => props.onPick(i)}>
            <line x1={cx} x2={cx} y1={cy - 7} y2={cy + 7} stroke="var(--fg)" strokeWidth="2" />
            <title>{`${e.verb}${e.subresource ? ` ${e.subresource}` : ''} by ${e.actor ?? e.user} at ${formatTime(e.time)}`}</title>
          </g>
        );
      })}
      <text x={LABEL} y={height - 4} fontSize="11" fill="var(--muted)">
        {formatTime(new Date(start).toISOString())}
      </text>
      <text x={WIDTH - 8} y={height - 4} fontSize="11" fill="var(--muted)" textAnchor="end">
        {formatTime(new Date(lastTime).toISOString())}
      </text>
    </svg>
  );
}
