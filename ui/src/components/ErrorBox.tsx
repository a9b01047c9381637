// How API errors are shown: the stable code, the message and the hint, as text. Spans quoted in
// backticks (commands, fields: "run `kubetrail token create`") are shown as code, built as React
// elements from the text (never as HTML, so the text stays inert whatever it holds).
import type { ReactNode } from 'react';
import { ApiError } from '../api.js';

/** Text with `backtick` spans as <code>; text with an unmatched backtick is shown as it is. */
export function InlineCode(props: { text: string }): ReactNode {
  const parts = props.text.split('`');
  if (parts.length < 3 || parts.length % 2 === 0) return props.text;
  return parts.map((p, i) => (i % 2 === 1 ? <code key={i}>{p}</code> : p));
}

export function ErrorBox(props: { error: unknown }): ReactNode {
  const e = props.error;
  if (!e) return null;
  const code = e instanceof ApiError ? e.code : 'ERROR';
  const message = e instanceof Error ? e.message : String(e);
  const hint = e instanceof ApiError ? e.hint : undefined;
  return (
    <div className="error-box" role="alert">
      <strong>{code}</strong>{' '}
      <span className="pre">
        <InlineCode text={message} />
      </span>
      {hint && (
        <div className="hint">
          <InlineCode text={hint} />
        </div>
      )}
    </div>
  );
}

export function Loading(props: { label?: string }): ReactNode {
  return <div className="loading">{props.label ?? 'Loading…'}</div>;
}
