// Building filter expressions in the UI: quoting values so they read back as the same value, adding a
// `field:value` term to a filter, and the filters behind dashboard panels.
import { parseQuery } from '../../src/query/syntax/parser.js';

const KEYWORDS = new Set(['AND', 'OR', 'NOT']);

/** A value as the filter language reads it back exactly: a bare word when safe, else quoted. */
export function quoteValue(value: string): string {
  const bare =
    value !== '' && !/[\s()"\\*]/.test(value) && !value.startsWith('-') && !KEYWORDS.has(value.toUpperCase());
  if (bare) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

export function term(field: string, value: string, negate = false): string {
  return `${negate ? '-' : ''}${field}:${quoteValue(value)}`;
}

/** Adds a term to a filter (ANDed); a filter with a top-level OR is parenthesized first. */
export function addTerm(q: string, t: string): string {
  const base = q.trim();
  if (base === '' || base === '*') return t;
  if (base.split(/\s+/).includes(t)) return base;
  const needsParens = /\bOR\b/.test(base) && !(base.startsWith('(') && base.endsWith(')'));
  return `${needsParens ? `(${base})` : base} ${t}`;
}

/** ANDs two filters. */
export function andFilters(a: string, b: string): string {
  const x = a.trim();
  const y = b.trim();
  if (!x || x === '*') return y;
  if (!y || y === '*') return x;
  return `(${x}) (${y})`;
}

export interface FilterProblem {
  code: string;
  message: string;
  hint?: string;
  /** 0-based offset in the filter. */
  offset: number;
}

/** Parses a filter in the browser with the server's parser; a problem with its position, or undefined. */
export function checkFilter(q: string): FilterProblem | undefined {
  try {
    parseQuery(q);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string; hint?: string; where?: { column?: number } };
    return {
      code: e.code ?? 'KT_QUERY_SYNTAX',
      message: (e.message ?? String(err)).split('\n')[0] ?? '',
      ...(e.hint ? { hint: e.hint } : {}),
      offset: Math.max(0, (e.where?.column ?? 1) - 1),
    };
  }
}
