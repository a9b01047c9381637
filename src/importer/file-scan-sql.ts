// The SQL of a file query run by DuckDB: reads one newline-delimited file with read_ndjson_objects (each
// line's raw text and its ordinal), builds the store's typed columns from it (same names, so the store's
// DuckDB dialect compiles against them) and says, per line, whether SQL may decide it:
//
// - `ok`: the line is a complete audit.k8s.io/v1 Event that normalization returns unchanged (its fast
//   path), with the types JS checks, timestamps SQL and JS read alike, no duplicate keys in the objects
//   read (JSON.parse keeps the last, DuckDB the first) and too few brackets to be refused as too deep.
//   Any other line (v1beta1, EventList, managed-cluster exports, odd values) is decided by JavaScript.
// - `maybe` and `sure`: redaction runs before the filter, and it may change some fields (bodies,
//   annotations, user agent, message, a request URI with a query string; everything with
//   pseudonymization). A term on such a field is unknown in SQL: `maybe` is true when the filter may
//   accept the line after redaction, `sure` when it certainly does (NOT swaps the two). Lines that are
//   maybe but not sure are decided by JavaScript after decoding and redaction; sure lines are counted
//   without decoding, and decoded only when printed.
import { LEVELS, STAGES } from '../core/event.js';
import { FIELDS, resolveField, type FieldDef, type ResolvedField } from '../fields/catalog.js';
import { duckdbDialect } from '../query/compile/duckdb.js';
import { likePattern, SqlBuilder, type SqlFragment } from '../query/compile/dialect.js';
import type { QueryNode } from '../query/syntax/ast.js';

/** Store columns whose values redaction never changes (pseudonymization aside). */
const STABLE = new Set([
  'ts',
  'received_ts',
  'latency_ms',
  'cluster',
  'audit_id',
  'stage',
  'level',
  'verb',
  'username',
  'user_groups',
  'impersonated_user',
  'source_ips',
  'namespace',
  'resource',
  'subresource',
  'name',
  'api_group',
  'api_version',
  'code',
  'reason',
]);

/** When redaction may change a column, as SQL over the row (columns not listed: always). */
const CONDITIONALLY_STABLE: Record<string, string> = {
  request_uri: `COALESCE(contains("request_uri", '?'), FALSE)`,
};

const PATHS = [
  'kind',
  'apiVersion',
  'auditID',
  'stage',
  'level',
  'stageTimestamp',
  'requestReceivedTimestamp',
  'user',
  'verb',
  'requestURI',
  'impersonatedUser',
  'objectRef',
  'responseStatus',
  'annotations',
  'sourceIPs',
  'records',
  'logEvents',
  'userAgent',
] as const;
const at = (key: (typeof PATHS)[number]) => `x[${PATHS.indexOf(key) + 1}]`;

const str = (j: string) =>
  `NULLIF(CASE WHEN json_type(${j}) = 'VARCHAR' THEN json_extract_string(${j}, '$') END, '')`;
const isStr = (j: string) => `COALESCE(json_type(${j}) = 'VARCHAR', FALSE)`;
const objOrAbsent = (j: string) => `COALESCE(json_type(${j}) IN ('OBJECT', 'NULL'), TRUE)`;
const strings = (j: string) =>
  `COALESCE(list_bool_and(list_transform(json_extract(${j}, '$[*]'), lambda v: json_type(v) = 'VARCHAR')), TRUE)`;
const stringArrayOrAbsent = (j: string) => `(${j} IS NULL OR (json_type(${j}) = 'ARRAY' AND ${strings(j)}))`;
const noDuplicateKeys = (j: string) =>
  `(json_type(${j}) IS DISTINCT FROM 'OBJECT' OR len(json_keys(${j})) = len(list_distinct(json_keys(${j}))))`;
const quoted = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

// RFC 3339 in UTC as the API server writes it; other spellings are left to JavaScript.
const TIME_RE = `'^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?Z$'`;
const micros = (j: string) =>
  `CASE WHEN json_type(${j}) = 'VARCHAR' AND regexp_full_match(json_extract_string(${j}, '$'), ${TIME_RE}) THEN ` +
  `epoch_us(TRY_CAST(substr(json_extract_string(${j}, '$'), 1, 19) AS TIMESTAMP)) + ` +
  `TRY_CAST(rpad(COALESCE(regexp_extract(json_extract_string(${j}, '$'), '\\.([0-9]+)Z$', 1), ''), 6, '0')[1:6] AS BIGINT) END`;

/** The typed rows of one file: `ord` (line order), `line` (raw text), `ok`, `t` (µs) and the columns. */
export function projection(): string {
  const u = 'u';
  const ref = 'ref';
  const rs = 'rs';
  const imp = 'imp';
  const ann = 'ann';
  const code = `json_extract(${rs}, '$.code')`;
  const groups = `json_extract(${u}, '$.groups')`;
  return (
    `src AS (SELECT ordinality AS ord, json AS line, json_extract(json, [${quoted(PATHS.map((p) => `$.${p}`))}]) AS x ` +
    `FROM read_ndjson_objects(?, compression = ?, maximum_object_size = ?) WITH ORDINALITY), ` +
    `n AS (SELECT ord, line, x, ${at('user')} AS ${u}, ${at('objectRef')} AS ${ref}, ${at('responseStatus')} AS ${rs}, ` +
    `${at('impersonatedUser')} AS ${imp}, ${at('annotations')} AS ${ann}, ` +
    `${micros(at('stageTimestamp'))} AS t, ${micros(at('requestReceivedTimestamp'))} AS tr FROM src), ` +
    `p AS (SELECT ord, line, t, ` +
    [
      `${isStr(at('kind'))} AND json_extract_string(${at('kind')}, '$') = 'Event'`,
      `${isStr(at('apiVersion'))} AND json_extract_string(${at('apiVersion')}, '$') = 'audit.k8s.io/v1'`,
      isStr(at('auditID')),
      `${isStr(at('stage'))} AND json_extract_string(${at('stage')}, '$') IN (${quoted(STAGES)})`,
      `${isStr(at('level'))} AND json_extract_string(${at('level')}, '$') IN (${quoted(LEVELS)})`,
      isStr(at('verb')),
      isStr(at('requestURI')),
      `COALESCE(json_type(${u}) = 'OBJECT', FALSE)`,
      objOrAbsent(imp),
      objOrAbsent(ref),
      objOrAbsent(rs),
      objOrAbsent(ann),
      stringArrayOrAbsent(at('sourceIPs')),
      stringArrayOrAbsent(groups),
      `json_type(${at('records')}) IS DISTINCT FROM 'ARRAY'`,
      `json_type(${at('logEvents')}) IS DISTINCT FROM 'ARRAY'`,
      `t IS NOT NULL AND tr IS NOT NULL`,
      `(${code} IS NULL OR (json_type(${code}) IN ('BIGINT', 'UBIGINT') AND abs(TRY_CAST(json_extract_string(${code}, '$') AS DOUBLE)) <= 9007199254740991))`,
      `(json_type(${ann}) IS DISTINCT FROM 'OBJECT' OR COALESCE(list_bool_and(list_transform(json_extract(${ann}, '$.*'), lambda v: json_type(v) = 'VARCHAR')), TRUE))`,
      `len(json_keys(line)) = len(list_distinct(json_keys(line)))`,
      ...[u, ref, rs, imp, ann].map(noDuplicateKeys),
      `length(line) - length(replace(replace(line, '{', ''), '[', '')) <= 512`,
    ]
      .map((c) => `(${c})`)
      .join(' AND ') +
    ` AS ok, ` +
    [
      `make_timestamp(t) AS ts`,
      `make_timestamp(tr) AS received_ts`,
      `(t - tr) / 1000.0 AS latency_ms`,
      `?::VARCHAR AS cluster`,
      `${str(at('auditID'))} AS audit_id`,
      `${str(at('stage'))} AS stage`,
      `${str(at('level'))} AS level`,
      `${str(at('verb'))} AS verb`,
      `${str(`json_extract(${u}, '$.username')`)} AS username`,
      `CASE WHEN json_type(${groups}) = 'ARRAY' THEN json_extract_string(${groups}, '$[*]') ELSE []::VARCHAR[] END AS user_groups`,
      `${str(`json_extract(${imp}, '$.username')`)} AS impersonated_user`,
      `CASE WHEN json_type(${at('sourceIPs')}) = 'ARRAY' THEN json_extract_string(${at('sourceIPs')}, '$[*]') ELSE []::VARCHAR[] END AS source_ips`,
      `${str(at('userAgent'))} AS user_agent`,
      ...(
        [
          ['namespace', 'namespace'],
          ['resource', 'resource'],
          ['subresource', 'subresource'],
          ['name', 'name'],
          ['apiGroup', 'api_group'],
          ['apiVersion', 'api_version'],
        ] as const
      ).map(([k, c]) => `${str(`json_extract(${ref}, '$.${k}')`)} AS ${c}`),
      `CASE WHEN json_type(${code}) IN ('BIGINT', 'UBIGINT') THEN TRY_CAST(json_extract_string(${code}, '$') AS BIGINT) END AS code`,
      `${str(`json_extract(${rs}, '$.reason')`)} AS reason`,
      `${str(`json_extract(${rs}, '$.message')`)} AS message`,
      `${str(at('requestURI'))} AS request_uri`,
    ].join(', ') +
    ` FROM n)`
  );
}

interface Pair {
  maybe: SqlFragment;
  sure: SqlFragment;
}

const TRUE: SqlFragment = { sql: 'TRUE', params: [] };
const FALSE: SqlFragment = { sql: 'FALSE', params: [] };
const UNKNOWN: Pair = { maybe: TRUE, sure: FALSE };

function join(op: 'AND' | 'OR', parts: SqlFragment[]): SqlFragment {
  return { sql: `(${parts.map((p) => p.sql).join(` ${op} `)})`, params: parts.flatMap((p) => p.params) };
}
const not = (f: SqlFragment): SqlFragment => ({ sql: `(NOT ${f.sql})`, params: f.params });

/** A term read from stable columns, or (when `taint` is SQL) from columns that redaction may change. */
function term(build: (b: SqlBuilder) => string, now: number, taint: string | undefined): Pair {
  const one = () => {
    const b = new SqlBuilder(now);
    const sql = duckdbDialect.definite(build(b));
    return { sql, params: b.params };
  };
  if (taint === undefined) {
    const f = one();
    return { maybe: f, sure: f };
  }
  const m = one();
  const s = one();
  return {
    maybe: { sql: `(${m.sql} OR ${taint})`, params: m.params },
    sure: { sql: `(${s.sql} AND NOT ${taint})`, params: s.params },
  };
}

/** Redaction taint of a resolved field: undefined (never changed), SQL, or 'always'. */
function taintOf(f: ResolvedField): string | undefined | 'always' {
  if (f.kind !== 'column') return 'always';
  const c = f.field.column;
  if (STABLE.has(c)) return undefined;
  return CONDITIONALLY_STABLE[c] ?? 'always';
}

const NON_ASCII = (c: string) => `COALESCE(regexp_matches("${c}", '[^\\x00-\\x7F]'), FALSE)`;

function textTerm(value: { text: string; wildcard: boolean; parts?: readonly string[] }, now: number): Pair {
  const parts = (value.wildcard ? (value.parts ?? [value.text]) : [value.text]).map((p) => p.toLowerCase());
  // Lower-casing agrees between JS and DuckDB on ASCII only.
  const asciiPattern = parts.every((p) => /^[\x00-\x7f]*$/.test(p));
  const pieces = FIELDS.filter((f) => f.text).map((f: FieldDef): Pair => {
    const t = taintOf({ kind: 'column', field: f });
    if (t === 'always' || !asciiPattern || f.type !== 'string' || f.multi) return UNKNOWN;
    const taint = [t, NON_ASCII(f.column)].filter(Boolean).join(' OR ');
    return term(
      (b) => {
        b.params.push(likePattern(parts, true));
        return `("${f.column}" IS NOT NULL AND lower("${f.column}") LIKE ? ESCAPE '\\')`;
      },
      now,
      `(${taint})`,
    );
  });
  return {
    maybe: join(
      'OR',
      pieces.map((p) => p.maybe),
    ),
    sure: join(
      'OR',
      pieces.map((p) => p.sure),
    ),
  };
}

function field(name: string): ResolvedField {
  const f = resolveField(name);
  if (!f) throw new Error(`unknown field ${name}`);
  return f;
}

/**
 * The `maybe` and `sure` conditions of a filter over the projection. `allChanged`: redaction may change
 * any field (pseudonymization is on), so every term is left to JavaScript.
 */
export function compileFileScan(node: QueryNode, now: number, allChanged: boolean): Pair {
  const leaf = (f: ResolvedField, build: (b: SqlBuilder) => string, wildcardOnNonString = false): Pair => {
    const t = taintOf(f);
    if (allChanged || t === 'always' || wildcardOnNonString) return UNKNOWN;
    return term(build, now, t);
  };
  switch (node.type) {
    case 'all':
      return { maybe: TRUE, sure: TRUE };
    case 'and':
    case 'or': {
      const kids = node.children.map((c) => compileFileScan(c, now, allChanged));
      const op = node.type === 'and' ? 'AND' : 'OR';
      return {
        maybe: join(
          op,
          kids.map((k) => k.maybe),
        ),
        sure: join(
          op,
          kids.map((k) => k.sure),
        ),
      };
    }
    case 'not': {
      const k = compileFileScan(node.child, now, allChanged);
      return { maybe: not(k.sure), sure: not(k.maybe) };
    }
    case 'exists': {
      const f = field(node.field);
      return leaf(f, (b) => duckdbDialect.exists(b, f));
    }
    case 'match': {
      const f = field(node.field);
      // A wildcard over a number or time compares its text, which SQL and JS spell differently.
      const nonString = node.value.wildcard && f.kind === 'column' && f.field.type !== 'string';
      return leaf(f, (b) => duckdbDialect.match(b, f, node.value), nonString);
    }
    case 'compare': {
      const f = field(node.field);
      return leaf(f, (b) => duckdbDialect.compare(b, f, node.op, node.value));
    }
    case 'text':
      return allChanged ? UNKNOWN : textTerm(node.value, now);
  }
}
