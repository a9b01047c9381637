// The time range picker: relative presets (last 15 minutes … 30 days) or an absolute range (from a
// histogram brush or typed as RFC 3339), as the `since` and `until` parameters the API takes.
import { useEffect, useState, type ReactNode } from 'react';

export const PRESETS: { value: string; label: string }[] = [
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
  { value: '365d', label: 'Last year' },
];

export function TimeRange(props: {
  since: string;
  until: string;
  onChange: (since: string, until: string) => void;
}): ReactNode {
  const { since, until, onChange } = props;
  const preset = !until && PRESETS.some((p) => p.value === since);
  const [from, setFrom] = useState(since);
  const [to, setTo] = useState(until);
  useEffect(() => {
    setFrom(since);
    setTo(until);
  }, [since, until]);
  return (
    <div className="time-range" data-testid="time-range">
      <select
        aria-label="Time range"
        value={preset ? since : 'custom'}
        onChange={(e) => {
          if (e.target.value !== 'custom') onChange(e.target.value, '');
        }}
      >
        {PRESETS.map((p) => (
          <option key={p.value} value={p.value}>
            {p.label}
          </option>
        ))}
        <option value="custom">Custom range</option>
      </select>
      {!preset && (
        <form
          className="custom-range"
          onSubmit={(e) => {
            e.preventDefault();
            onChange(from.trim(), to.trim());
          }}
        >
          <input
            aria-label="From"
            value={from}
            placeholder="2026-11-27T10:00:00Z or 24h"
            onChange={(e) => setFrom(e.target.value)}
          />
          <span>→</span>
          <input aria-label="To" value={to} placeholder="now" onChange={(e) => setTo(e.target.value)} />
          <button type="submit">Apply</button>
        </form>
      )}
    </div>
  );
}
