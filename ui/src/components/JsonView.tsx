// A collapsible JSON tree for request and response bodies. Every key and value is rendered as React
// text, so whatever an event carries is shown, never interpreted.
import { useState, type ReactNode } from 'react';

function Scalar(props: { value: unknown }): ReactNode {
  const v = props.value;
  if (v === null) return <span className="json-null">null</span>;
  if (typeof v === 'string') return <span className="json-string">{JSON.stringify(v)}</span>;
  if (typeof v === 'number') return <span className="json-number">{String(v)}</span>;
  if (typeof v === 'boolean') return <span className="json-bool">{String(v)}</span>;
  return <span className="json-null">{String(v)}</span>;
}

function Node(props: { name?: string; value: unknown; depth: number; openDepth: number }): ReactNode {
  const { name, value, depth, openDepth } = props;
  const isObj = value !== null && typeof value === 'object';
  const [open, setOpen] = useState(depth < openDepth);
  const label = name !== undefined ? <span className="json-key">{JSON.stringify(name)}: </span> : null;
  if (!isObj) {
    return (
      <div className="json-line">
        {label}
        <Scalar value={value} />
      </div>
    );
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  const [l, r] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    return (
      <div className="json-line">
        {label}
        {l}
        {r}
      </div>
    );
  }
  return (
    <div className="json-node">
      <button type="button" className="json-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'}
      </button>
      {label}
      {l}
      {!open && (
        <span className="json-summary">
          {' '}
          {entries.length} {Array.isArray(value) ? 'items' : 'keys'} {r}
        </span>
      )}
      {open && (
        <div className="json-children">
          {entries.map(([k, v]) => (
            <Node
              key={k}
              name={Array.isArray(value) ? undefined : k}
              value={v}
              depth={depth + 1}
              openDepth={openDepth}
            />
          ))}
        </div>
      )}
      {open && <div className="json-line">{r}</div>}
    </div>
  );
}

export function JsonView(props: { value: unknown; openDepth?: number }): ReactNode {
  return (
    <div className="json-view">
      <Node value={props.value} depth={0} openDepth={props.openDepth ?? 2} />
    </div>
  );
}
