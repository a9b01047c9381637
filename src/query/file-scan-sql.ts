// The SQL that narrows a raw audit log file down to the lines a filter may match, for `query --file`:
// DuckDB reads the file with an explicit schema (no schema inference) and answers with the numbers of
// the candidate lines. The final decision stays with the JavaScript predicate on the
// decoded, normalized and redacted candidates, so the SQL only has to be a superset, and it is built to
// be one:
//
// - A line is read in SQL only when it is an audit.k8s.io/v1 Event that normalization returns unchanged
//   (every field it checks has the type it requires, both timestamps in the API server's own format,
//   no container of records). Any other line (another version or shape, an invalid event) is a candidate.
// - Each term of the filter has two conditions: "may be true" and "may be false" (NOT swaps them, so a
//   negation stays a superset). A term is decided in SQL only on a catalog column that redaction never
//   changes (redaction runs before the filter) and that is read without ambiguity (objects with a
//   duplicate key are left undecided: JSON.parse keeps the last value, DuckDB the first); every other
//   term (free text, JSON paths, annotations, the actor, fields redaction may rewrite) may be both.
//
// The columns carry the store's names (src/store/columns.ts) with the JavaScript reader's values (an
// empty string is absent), so the store's DuckDB dialect (./compile/duckdb.ts) compiles each term.
// Every value is a bound parameter; the file path too.
import { resolveField, type FieldDef } from '../fields/catalog.js';
import { duckdbDialect } from './compile/duckdb.js';
import { SqlBuilder } from './compile/dialect.js';
import type { QueryNode } from './syntax/ast.js';

export interface ScanSqlOptions {
  /** Events at or after (epoch µs). */
  since?: number;
  /** Events before (epoch µs). */
  until?: number;
  /** The cluster name the records get. */
  cluster: string;
  /** Redaction pseudonymizes user names, uids and source IPs: those fields are left undecided. */
  pseudonymized: boolean;
  /** gzip-compressed input. */
  gzip: boolean;
  /** Largest line DuckDB reads (a longer one fails the scan). */
  maxLineBytes: number;
  /** Anchors relative times (epoch ms). */
  now?: number;
}

export interface ScanSql {
  sql: string;
  /** The file path first, then the filter's values. */
  params: unknown[];
  /** True when no line can be left out (every term undecided): scanning would only cost time. */
  everything: boolean;
}

/** JSON text of the four stages and levels normalization accepts. */
const STAGES = `('"RequestReceived"','"ResponseStarted"','"ResponseComplete"','"Panic"')`;
const LEVELS = `('"None"','"Metadata"','"Request"','"RequestResponse"')`;
/** The API server's timestamp, 2024-05-01T10:00:00.123456Z, with every part plainly in range (JSON text). */
const TIMESTAMP = `'"\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d\\.\\d{6}Z"'`;
const TIMESTAMP_SHAPE = `'"____-__-__T__:__:__.______Z"'`;

/**
 * What is read of each line: top-level values as JSON text (so that a type is checked, not coerced),
 * objects as structs of the members the columns need. DuckDB refuses a line where one of these keys
 * appears twice in the same object, or where an object is something else: the whole file is then read
 * by the JavaScript path.
 */
const SCHEMA: readonly (readonly [string, string])[] = [
  ['kind', 'JSON'],
  ['apiVersion', 'JSON'],
  ['auditID', 'JSON'],
  ['stage', 'JSON'],
  ['level', 'JSON'],
  ['verb', 'JSON'],
  ['requestURI', 'JSON'],
  ['stageTimestamp', 'JSON'],
  ['requestReceivedTimestamp', 'JSON'],
  ['user', 'STRUCT(username JSON, groups VARCHAR[])'],
  ['impersonatedUser', 'STRUCT(username JSON)'],
  [
    'objectRef',
    'STRUCT(resource JSON, namespace JSON, name JSON, subresource JSON, apiGroup JSON, apiVersion JSON)',
  ],
  ['responseStatus', 'STRUCT(code JSON, reason JSON)'],
  ['sourceIPs', 'VARCHAR[]'],
  ['records', 'JSON'],
  ['logEvents', 'JSON'],
];

const raw = (k: string) => `r."${k}"`;
/** The string a JSON text holds, or NULL when it holds another type. */
const str = (json: string) =>
  `CASE WHEN left(${json}, 1) = '"' THEN CASE WHEN contains(${json}, '\\') THEN json_extract_string(${json}, '$') ELSE ${json}[2:-2] END END`;
/** A string, '' read as absent (the catalog's `str`). */
const text = (json: string) => `nullif(${str(json)}, '')`;
const time = (json: string) => `TRY_CAST(${json}[2:27] AS TIMESTAMP)`;
const isNumber = (json: string) =>
  `left(${json}, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')`;

/**
 * The line is an Event that normalization keeps as it is (src/ingest/formats/audit-event.ts, its fast
 * path), or one it refuses: every value normalization completes is there with the type it checks.
 */
const UNCHANGED = [
  `${raw('kind')} = '"Event"'`,
  `${raw('apiVersion')} = '"audit.k8s.io/v1"'`,
  `left(${raw('auditID')}, 1) = '"'`,
  `${raw('stage')} IN ${STAGES}`,
  `${raw('level')} IN ${LEVELS}`,
  `left(${raw('verb')}, 1) = '"'`,
  `left(${raw('requestURI')}, 1) = '"'`,
  `${raw('stageTimestamp')} LIKE ${TIMESTAMP_SHAPE}`,
  `${time(raw('stageTimestamp'))} IS NOT NULL`,
  `${raw('requestReceivedTimestamp')} LIKE ${TIMESTAMP_SHAPE}`,
  `${time(raw('requestReceivedTimestamp'))} IS NOT NULL`,
  `(${raw('responseStatus')}.code IS NULL OR ${isNumber(`${raw('responseStatus')}.code`)})`,
  `${raw('user')} IS NOT NULL`,
  `${raw('sourceIPs')} IS NOT NULL`,
  `(${raw('records')} IS NULL OR left(${raw('records')}, 1) <> '[')`,
  `(${raw('logEvents')} IS NULL OR left(${raw('logEvents')}, 1) <> '[')`,
].join(' AND ');

interface ColumnSql {
  /** The value, as the store's column would hold it, with the JavaScript reader's meaning. */
  sql: string;
  /** When the value read in SQL is the one the filter sees in JavaScript (after redaction). */
  exact: string;
}

/** The catalog columns decided in SQL, by column name. */
function columns(o: ScanSqlOptions): Map<string, ColumnSql> {
  const always = 'TRUE';
  const people = o.pseudonymized ? 'FALSE' : always;
  const ts = time(raw('stageTimestamp'));
  const received = time(raw('requestReceivedTimestamp'));
  const tsExact = `regexp_full_match(${raw('stageTimestamp')}, ${TIMESTAMP})`;
  const receivedExact = `regexp_full_match(${raw('requestReceivedTimestamp')}, ${TIMESTAMP})`;
  const code = `${raw('responseStatus')}.code`;
  const uri = str(raw('requestURI'));
  return new Map<string, ColumnSql>([
    ['ts', { sql: ts, exact: tsExact }],
    ['received_ts', { sql: received, exact: receivedExact }],
    [
      'latency_ms',
      {
        sql: `((epoch_us(${ts}) - epoch_us(${received})) / 1000.0)::DOUBLE`,
        exact: `(${tsExact} AND ${receivedExact})`,
      },
    ],
    ['cluster', { sql: `nullif(?::VARCHAR, '')`, exact: always }],
    ['audit_id', { sql: text(raw('auditID')), exact: always }],
    ['stage', { sql: text(raw('stage')), exact: always }],
    ['level', { sql: text(raw('level')), exact: always }],
    ['verb', { sql: text(raw('verb')), exact: always }],
    ['username', { sql: text(`${raw('user')}.username`), exact: people }],
    ['user_groups', { sql: `coalesce(${raw('user')}.groups, []::VARCHAR[])`, exact: always }],
    ['impersonated_user', { sql: text(`${raw('impersonatedUser')}.username`), exact: people }],
    ['source_ips', { sql: `coalesce(${raw('sourceIPs')}, []::VARCHAR[])`, exact: people }],
    ['namespace', { sql: text(`${raw('objectRef')}.namespace`), exact: always }],
    ['resource', { sql: text(`${raw('objectRef')}.resource`), exact: always }],
    ['subresource', { sql: text(`${raw('objectRef')}.subresource`), exact: always }],
    ['name', { sql: text(`${raw('objectRef')}.name`), exact: always }],
    ['api_group', { sql: text(`${raw('objectRef')}.apiGroup`), exact: always }],
    ['api_version', { sql: text(`${raw('objectRef')}.apiVersion`), exact: always }],
    ['code', { sql: `CASE WHEN ${isNumber(code)} THEN TRY_CAST(${code} AS DOUBLE) END`, exact: always }],
    ['reason', { sql: text(`${raw('responseStatus')}.reason`), exact: always }],
    // Redaction rewrites the query parameters of a URI: one with `?` is left undecided.
    ['request_uri', { sql: `nullif(${uri}, '')`, exact: `NOT contains(${raw('requestURI')}, '?')` }],
  ]);
}

/** SQL with its bound values, in the order of its placeholders. */
interface Frag {
  sql: string;
  params: unknown[];
}

const TRUE: Frag = { sql: 'TRUE', params: [] };
const FALSE: Frag = { sql: 'FALSE', params: [] };

/** A term's two conditions: it may be true, it may be false. */
interface Maybe {
  t: Frag;
  f: Frag;
}

const UNDECIDED: Maybe = { t: TRUE, f: TRUE };

function join(parts: Frag[], op: 'AND' | 'OR'): Frag {
  const absorbing = op === 'AND' ? 'FALSE' : 'TRUE';
  if (parts.some((p) => p.sql === absorbing)) return op === 'AND' ? FALSE : TRUE;
  const rest = parts.filter((p) => p.sql !== (op === 'AND' ? 'TRUE' : 'FALSE'));
  if (rest.length === 0) return op === 'AND' ? TRUE : FALSE;
  if (rest.length === 1) return rest[0]!;
  return { sql: `(${rest.map((p) => p.sql).join(` ${op} `)})`, params: rest.flatMap((p) => p.params) };
}

function not(x: Frag): Frag {
  if (x.sql === 'TRUE') return FALSE;
  if (x.sql === 'FALSE') return TRUE;
  return { sql: `(NOT ${x.sql})`, params: x.params };
}

/** Suffix of the column that says whether a column's value is exact. */
const EXACT = '__exact';

/** The column a term is decided on, or undefined when the term stays undecided. */
function decided(
  name: string,
  cols: Map<string, ColumnSql>,
): { field: FieldDef; col: ColumnSql } | undefined {
  const f = resolveField(name);
  if (!f || f.kind !== 'column' || f.field.computed) return undefined;
  const col = cols.get(f.field.column);
  return col ? { field: f.field, col } : undefined;
}

function leaf(cols: Map<string, ColumnSql>, n: QueryNode, now: number): Maybe {
  if (n.type !== 'match' && n.type !== 'compare' && n.type !== 'exists') return UNDECIDED;
  const d = decided(n.field, cols);
  if (!d) return UNDECIDED;
  const b = new SqlBuilder(now);
  const f = { kind: 'column' as const, field: d.field };
  const term =
    n.type === 'match'
      ? duckdbDialect.match(b, f, n.value)
      : n.type === 'compare'
        ? duckdbDialect.compare(b, f, n.op, n.value)
        : duckdbDialect.exists(b, f);
  const x: Frag = { sql: duckdbDialect.definite(term), params: b.params };
  const inexact: Frag =
    d.col.exact === 'TRUE' ? FALSE : { sql: `(NOT "${d.field.column}${EXACT}")`, params: [] };
  return { t: join([inexact, x], 'OR'), f: join([inexact, not(x)], 'OR') };
}

function walk(cols: Map<string, ColumnSql>, n: QueryNode, now: number): Maybe {
  switch (n.type) {
    case 'all':
      return { t: TRUE, f: FALSE };
    case 'and': {
      const parts = n.children.map((c) => walk(cols, c, now));
      return {
        t: join(
          parts.map((p) => p.t),
          'AND',
        ),
        f: join(
          parts.map((p) => p.f),
          'OR',
        ),
      };
    }
    case 'or': {
      const parts = n.children.map((c) => walk(cols, c, now));
      return {
        t: join(
          parts.map((p) => p.t),
          'OR',
        ),
        f: join(
          parts.map((p) => p.f),
          'AND',
        ),
      };
    }
    case 'not': {
      const inner = walk(cols, n.child, now);
      return { t: inner.f, f: inner.t };
    }
    default:
      return leaf(cols, n, now);
  }
}

/**
 * The condition a line must meet to be a candidate, over the columns of `columns()`: the filter may be
 * true and the time range may hold. TRUE when nothing can be left out.
 */
export function candidateCondition(filter: QueryNode, o: ScanSqlOptions): Frag {
  const cols = columns(o);
  const now = o.now ?? Date.now();
  const range: Frag[] = [];
  if (o.since !== undefined)
    range.push({ sql: `"ts" >= make_timestamp(?::BIGINT)`, params: [Math.round(o.since)] });
  if (o.until !== undefined)
    range.push({ sql: `"ts" < make_timestamp(?::BIGINT)`, params: [Math.round(o.until)] });
  return join([walk(cols, filter, now).t, ...range], 'AND');
}

/**
 * The query: one row, the numbers of the candidate lines (1 for the first non-blank line, in file
 * order) and the number of non-blank lines DuckDB read.
 * Parameters, in order: the path, the cluster name (when the filter reads it), the filter's values.
 */
export function scanSql(path: string, filter: QueryNode, o: ScanSqlOptions): ScanSql {
  const cols = columns(o);
  const candidate = candidateCondition(filter, o);
  const names = [...cols.keys()].filter((c) => candidate.sql.includes(`"${c}"`));
  const select = names.map((c) => `${cols.get(c)!.sql} AS "${c}"`);
  for (const c of cols.keys()) {
    if (candidate.sql.includes(`"${c}${EXACT}"`))
      select.push(`COALESCE(${cols.get(c)!.exact}, FALSE) AS "${c}${EXACT}"`);
  }
  const schema = SCHEMA.map(([k, t]) => `"${k}": '${t}'`).join(', ');
  const compression = o.gzip ? 'gzip' : 'uncompressed';
  // WITH ORDINALITY numbers the lines DuckDB reads in file order (its output order is not: a parallel
  // scan may hand the last lines first).
  const sql =
    `WITH lines AS (SELECT ${[`COALESCE(${UNCHANGED}, FALSE) AS "unchanged"`, '"ordinality" AS "line_no"', ...select].join(', ')} ` +
    `FROM read_json(?, format='newline_delimited', compression='${compression}', ` +
    `maximum_object_size=${Math.max(1, Math.floor(o.maxLineBytes))}, columns={${schema}}) WITH ORDINALITY AS r) ` +
    `SELECT list("line_no" ORDER BY "line_no") FILTER (WHERE candidate) AS candidates, count(*) AS lines ` +
    `FROM (SELECT "line_no", (NOT "unchanged") OR ${candidate.sql} AS candidate FROM lines)`;
  return {
    sql,
    params: [path, ...(names.includes('cluster') ? [o.cluster] : []), ...candidate.params],
    everything: candidate.sql === 'TRUE',
  };
}
