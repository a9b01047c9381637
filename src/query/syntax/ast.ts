// The filter language's abstract syntax tree: what the parser produces, the printer prints and every
// back end (DuckDB SQL, ClickHouse SQL, JS predicate) compiles. Browser-safe.

/** A span in the source text: 0-based offsets, end exclusive. */
export interface Span {
  start: number;
  end: number;
}

/** A value as written: `text` is the unescaped value; `quoted` when it was in double quotes. */
export interface ValueLiteral {
  text: string;
  quoted: boolean;
  /** True when an unquoted value contains `*` wildcards (a quoted or escaped `*` is literal). */
  wildcard: boolean;
  /** With `wildcard`: the literal pieces between the wildcards (`a*b` → ['a', 'b']). */
  parts?: string[];
  span?: Span;
}

export type CompareOp = '>' | '>=' | '<' | '<=';

export type QueryNode =
  /** `*` alone, or the empty filter: every event. */
  | { type: 'all'; span?: Span }
  | { type: 'and'; children: QueryNode[]; span?: Span }
  | { type: 'or'; children: QueryNode[]; span?: Span }
  | { type: 'not'; child: QueryNode; span?: Span }
  /** `field:value`, `field:(a OR b)` is expanded by the parser into an `or` of matches. */
  | { type: 'match'; field: string; value: ValueLiteral; span?: Span }
  /** `field>value` and friends, on number, duration and time fields. */
  | { type: 'compare'; field: string; op: CompareOp; value: ValueLiteral; span?: Span }
  /** `field:*`: the field has a (non-empty) value. */
  | { type: 'exists'; field: string; span?: Span }
  /** A bare or quoted term: case-insensitive substring search over the text fields. */
  | { type: 'text'; value: ValueLiteral; span?: Span };
