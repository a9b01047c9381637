// How API errors are shown: the stable code, the message and the hint, as text.
import type { ReactNode } from 'react';
import { ApiError } from '../api.js';

export function ErrorBox(props: { error: unknown }): ReactNode {
  const e = props.error;
  if (!e) return null;
  const code = e instanceof ApiError ? e.code : 'ERROR';
  const message = e instanceof Error ? e.message : String(e);
  const hint = e instanceof ApiError ? e.hint : undefined;
  return (
    <div className="error-box" role="alert">
      <strong>{code}</strong> <span className="pre">{message}</span>
      {hint && <div className="hint">{hint}</div>}
    </div>
  );
}

export function Loading(props: { label?: string }): ReactNode {
  return <div className="loading">{props.label ?? 'Loading…'}</div>;
}
