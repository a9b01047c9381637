// The filter bar: the filter language with autocomplete of field names (from the API's field list) and
// of values (the most frequent values of the field, from the API), and inline syntax errors checked in
// the browser by the same parser as the server, with a caret under the position.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { api, type FieldInfo } from '../api.js';
import { checkFilter, quoteValue } from '../filter.js';

interface Token {
  start: number;
  end: number;
  /** The field, when the token under the cursor is `field:prefix`. */
  field?: string;
  prefix: string;
}

interface Suggestion {
  label: string;
  insert: string;
  detail?: string;
}

/** The token under the cursor: from the last space or `(` before it to the cursor. */
function tokenAt(text: string, cursor: number): Token {
  let start = cursor;
  while (start > 0 && !/[\s(]/.test(text[start - 1]!)) start--;
  let word = text.slice(start, cursor);
  let s = start;
  if (word.startsWith('-')) {
    word = word.slice(1);
    s++;
  }
  const colon = word.search(/[:]/);
  if (colon > 0) {
    const field = word.slice(0, colon);
    const rest = word.slice(colon + 1).replace(/^"/, '');
    return { start: s + colon + 1, end: cursor, field, prefix: rest };
  }
  return { start: s, end: cursor, prefix: word };
}

export function useFields(): FieldInfo[] {
  const q = useQuery({
    queryKey: ['fields'],
    queryFn: () => api.get<{ fields: FieldInfo[] }>('/fields'),
    staleTime: Infinity,
  });
  return q.data?.fields ?? [];
}

export function FilterBar(props: {
  value: string;
  since?: string;
  onSubmit: (q: string) => void;
  placeholder?: string;
}): ReactNode {
  const { value, since, onSubmit } = props;
  const [text, setText] = useState(value);
  const [cursor, setCursor] = useState(value.length);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  /** True once the user moved through the suggestions: only then does Enter pick one. */
  const [navigated, setNavigated] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const fields = useFields();
  useEffect(() => setText(value), [value]);

  const problem = useMemo(() => checkFilter(text), [text]);
  const token = tokenAt(text, cursor);
  const fieldNames = useMemo(() => {
    const m = new Map<string, string>();
    for (const f of fields) {
      m.set(f.name.toLowerCase(), f.name);
      for (const a of f.aliases) m.set(a.toLowerCase(), f.name);
    }
    return m;
  }, [fields]);
  const valueField = token.field ? fieldNames.get(token.field.toLowerCase()) : undefined;

  const values = useQuery({
    queryKey: ['values', valueField, token.prefix, since],
    queryFn: ({ signal }) =>
      api.get<{ values: { value: string | number | null; count: number }[] }>(
        '/values',
        { field: valueField, prefix: token.prefix, since },
        signal,
      ),
    enabled: open && valueField !== undefined,
    staleTime: 30_000,
  });

  let suggestions: Suggestion[] = [];
  if (token.field !== undefined) {
    suggestions = (values.data?.values ?? []).slice(0, 12).map((v) => ({
      label: String(v.value ?? ''),
      insert: quoteValue(String(v.value ?? '')),
      detail: String(v.count),
    }));
  } else if (token.prefix !== '' && !/^(AND|OR|NOT)$/.test(token.prefix)) {
    const p = token.prefix.toLowerCase();
    suggestions = fields
      .filter(
        (f) => f.name.toLowerCase().startsWith(p) || f.aliases.some((a) => a.toLowerCase().startsWith(p)),
      )
      .slice(0, 12)
      .map((f) => ({ label: `${f.name}:`, insert: `${f.name}:`, detail: f.description }));
  } else if (token.prefix === '' && open) {
    suggestions = fields
      .slice(0, 14)
      .map((f) => ({ label: `${f.name}:`, insert: `${f.name}:`, detail: f.description }));
  }
  const shown = open && suggestions.length > 0;

  const accept = (s: Suggestion) => {
    const isField = s.insert.endsWith(':');
    let end = token.end;
    while (end < text.length && !/[\s)]/.test(text[end]!)) end++;
    const after = text.slice(end);
    const insert = isField ? s.insert : `${s.insert}${after.startsWith(' ') ? '' : ' '}`;
    const next = text.slice(0, token.start) + insert + after;
    const pos = token.start + insert.length;
    setText(next);
    setCursor(pos);
    setActive(0);
    setNavigated(false);
    setOpen(isField);
    requestAnimationFrame(() => {
      input.current?.focus();
      input.current?.setSelectionRange(pos, pos);
    });
  };

  const keyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (shown && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      const n = suggestions.length;
      if (navigated) setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
      else setActive(e.key === 'ArrowDown' ? 0 : n - 1);
      setNavigated(true);
      return;
    }
    if (shown && e.key === 'Tab') {
      e.preventDefault();
      accept(suggestions[Math.min(active, suggestions.length - 1)]!);
      return;
    }
    if (e.key === 'Escape') {
      setOpen(false);
      return;
    }
    if (e.key === 'Enter') {
      e.preventDefault();
      const s = suggestions[active];
      if (shown && navigated && s) {
        accept(s);
        return;
      }
      setOpen(false);
      if (!problem) onSubmit(text.trim());
    }
  };

  const sync = () => setCursor(input.current?.selectionStart ?? text.length);

  return (
    <div className="filter-bar">
      <form
        className="filter-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!problem) onSubmit(text.trim());
        }}
      >
        <div className="filter-input-wrap">
          <input
            ref={input}
            className={problem ? 'filter-input invalid' : 'filter-input'}
            aria-label="Filter"
            aria-invalid={problem ? true : undefined}
            spellCheck={false}
            autoComplete="off"
            value={text}
            placeholder={props.placeholder ?? 'verb:delete resource:secrets -user:system:*'}
            onChange={(e) => {
              setText(e.target.value);
              setCursor(e.target.selectionStart ?? e.target.value.length);
              setOpen(true);
              setActive(0);
              setNavigated(false);
            }}
            onKeyDown={keyDown}
            onKeyUp={sync}
            onClick={sync}
            onFocus={() => setOpen(true)}
            onBlur={() => setTimeout(() => setOpen(false), 150)}
          />
          {problem && (
            <div className="filter-caret" aria-hidden="true">
              {text.slice(0, problem.offset).replace(/./g, ' ')}^
            </div>
          )}
          {shown && (
            <ul className="suggestions" role="listbox">
              {suggestions.map((s, i) => (
                <li
                  key={s.label}
                  role="option"
                  aria-selected={navigated && i === active}
                  className={navigated && i === active ? 'active' : ''}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    accept(s);
                  }}
                >
                  <span className="s-label">{s.label}</span>
                  {s.detail && <span className="s-detail">{s.detail}</span>}
                </li>
              ))}
            </ul>
          )}
        </div>
        <button type="submit" disabled={Boolean(problem)}>
          Search
        </button>
      </form>
      {problem && (
        <div className="filter-error" role="alert" data-testid="filter-error">
          <strong>{problem.code}</strong> column {problem.offset + 1}: {problem.message}
          {problem.hint && <span className="hint"> — {problem.hint}</span>}
        </div>
      )}
    </div>
  );
}
