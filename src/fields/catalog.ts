// The field catalog: every queryable field once, with its aliases, type, description, how to read it from
// an event and the store column that holds it. It drives the query parser's validation, the compilers,
// rule validation, UI autocomplete and docs/fields.md. Browser-safe: imports no node: modules.
import { editDistance, typoDistance } from '../core/did-you-mean.js';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { actorDuckDbSql, actorOf } from './actor.js';

export type FieldType = 'string' | 'number' | 'time' | 'duration';

export interface FieldDef {
  /** Canonical name used in filters. */
  name: string;
  /** Other names accepted in filters. */
  aliases: readonly string[];
  type: FieldType;
  /** True when the field holds several values; a filter matches when any value matches. */
  multi: boolean;
  description: string;
  /** Where the value is in the audit event, as a JSON path for people. */
  source: string;
  /** Store column (same name in every SQL dialect); empty for a computed field. */
  column: string;
  /**
   * A field with no stored column: DuckDB computes it with this SQL expression over the stored columns
   * (constants only, no parameters); ClickHouse evaluates filters on it after the query, with `get`.
   */
  computed?: { duckdb: string };
  /** Included in free-text search. */
  text: boolean;
  /** Value as read from an event: string, number (code; latency in ms; time in epoch µs), string[] or undefined. */
  get(record: EventRecord): string | number | readonly string[] | undefined;
  /** Examples for documentation and autocomplete. */
  examples: readonly string[];
}

let lastSecond = '';
let lastSecondMs = 0;

/** Parses an RFC 3339 timestamp to epoch microseconds (keeps the API server's microsecond precision). */
export function timeToMicros(value: string): number | undefined {
  // Fast path for the API server's own format, 2024-05-01T10:00:00.123456Z; the seconds part repeats
  // from one event to the next, so its parse is remembered.
  if (value.length === 27 && value.charCodeAt(26) === 90 /* Z */ && value.charCodeAt(19) === 46 /* . */) {
    const second = value.slice(0, 19);
    if (second !== lastSecond) {
      const ms = Date.parse(`${second}Z`);
      if (Number.isNaN(ms)) return undefined;
      lastSecond = second;
      lastSecondMs = ms;
    }
    const frac = Number(value.slice(20, 26));
    if (Number.isInteger(frac) && /^\d{6}$/.test(value.slice(20, 26))) return lastSecondMs * 1000 + frac;
  }
  return parseTimeSlow(value);
}

function parseTimeSlow(value: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i.exec(value.trim());
  if (!m) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms * 1000;
  }
  const base = Date.parse(`${m[1]}${m[3]!.toUpperCase() === 'Z' ? 'Z' : m[3]}`);
  if (Number.isNaN(base)) return undefined;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return base * 1000 + Number(frac);
}

/** Formats epoch microseconds as RFC 3339 UTC with microseconds. */
export function microsToTime(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:00.000Z
  const us = String(Math.round(micros - ms * 1000)).padStart(3, '0');
  return `${iso.slice(0, 23)}${us}Z`;
}

/** Event time: when the stage happened (stageTimestamp), else when the request was received. */
export function eventTime(e: AuditEvent): string {
  return e.stageTimestamp || e.requestReceivedTimestamp;
}

/** Request latency in milliseconds: stageTimestamp minus requestReceivedTimestamp. */
export function eventLatencyMs(e: AuditEvent): number | undefined {
  if (!e.stageTimestamp || !e.requestReceivedTimestamp) return undefined;
  const a = timeToMicros(e.requestReceivedTimestamp);
  const b = timeToMicros(e.stageTimestamp);
  if (a === undefined || b === undefined) return undefined;
  return (b - a) / 1000;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function def(
  name: string,
  aliases: string[],
  type: FieldType,
  column: string,
  source: string,
  description: string,
  get: FieldDef['get'],
  opts: { multi?: boolean; text?: boolean; examples?: string[]; computed?: { duckdb: string } } = {},
): FieldDef {
  return {
    ...(opts.computed ? { computed: opts.computed } : {}),
    name,
    aliases,
    type,
    column,
    source,
    description,
    get,
    multi: opts.multi ?? false,
    text: opts.text ?? false,
    examples: opts.examples ?? [],
  };
}

export const FIELDS: readonly FieldDef[] = [
  def(
    'time',
    ['timestamp', 'ts'],
    'time',
    'ts',
    'stageTimestamp',
    'When the stage happened (UTC, microseconds).',
    (r) => {
      const t = eventTime(r.event);
      return t ? timeToMicros(t) : undefined;
    },
    { examples: ['time>=2024-05-01T00:00:00Z', 'time<2024-05-02'] },
  ),
  def(
    'received',
    [],
    'time',
    'received_ts',
    'requestReceivedTimestamp',
    'When the API server received the request.',
    (r) => (r.event.requestReceivedTimestamp ? timeToMicros(r.event.requestReceivedTimestamp) : undefined),
  ),
  def(
    'latency',
    [],
    'duration',
    'latency_ms',
    'stageTimestamp - requestReceivedTimestamp',
    'Time from receipt to this stage.',
    (r) => eventLatencyMs(r.event),
    { examples: ['latency>1s', 'latency>=250ms'] },
  ),
  def(
    'cluster',
    [],
    'string',
    'cluster',
    '(kubetrail) source cluster',
    'The cluster the event came from.',
    (r) => str(r.cluster),
    {
      examples: ['cluster:prod-eu'],
    },
  ),
  def(
    'auditid',
    ['id'],
    'string',
    'audit_id',
    'auditID',
    'The request ID; shared by all stages of one request.',
    (r) => str(r.event.auditID),
  ),
  def(
    'stage',
    [],
    'string',
    'stage',
    'stage',
    'RequestReceived, ResponseStarted, ResponseComplete or Panic.',
    (r) => str(r.event.stage),
    {
      examples: ['stage:ResponseComplete'],
    },
  ),
  def(
    'level',
    [],
    'string',
    'level',
    'level',
    'Metadata, Request or RequestResponse.',
    (r) => str(r.event.level),
    {
      examples: ['level:RequestResponse'],
    },
  ),
  def(
    'verb',
    [],
    'string',
    'verb',
    'verb',
    'get, list, watch, create, update, patch, delete, deletecollection, or an HTTP verb for non-resource requests.',
    (r) => str(r.event.verb),
    { examples: ['verb:delete', 'verb:(create OR patch)'] },
  ),
  def(
    'user',
    ['username'],
    'string',
    'username',
    'user.username',
    'The authenticated user (before impersonation).',
    (r) => str(r.event.user?.username),
    { text: true, examples: ['user:alice@example.com', 'user:system:serviceaccount:*'] },
  ),
  def(
    'group',
    ['groups'],
    'string',
    'user_groups',
    'user.groups[]',
    "The authenticated user's groups.",
    (r) => r.event.user?.groups,
    {
      multi: true,
      examples: ['group:system:masters'],
    },
  ),
  def(
    'impersonated',
    ['impersonateduser', 'as'],
    'string',
    'impersonated_user',
    'impersonatedUser.username',
    'The user impersonated, if any.',
    (r) => str(r.event.impersonatedUser?.username),
    { examples: ['impersonated:*', 'impersonated:bob'] },
  ),
  def(
    'actor',
    [],
    'string',
    '',
    'user, impersonatedUser and their extra',
    'The person or workload behind the request: the impersonated user (the authenticated one stays in `user`), the end user a proxy names (kube-oidc-proxy, Pinniped, Rancher), `pod:NS/POD (sa NAME)` for a pod-bound service-account token, `sa:NS/NAME`, `node:NAME`, the IAM identity on EKS (docs/investigations.md).',
    (r) => actorOf(r.event),
    {
      computed: { duckdb: actorDuckDbSql() },
      examples: ['actor:alice@example.com', 'actor:pod:kube-system/*', 'actor:node:*'],
    },
  ),
  def(
    'ip',
    ['sourceip', 'sourceips'],
    'string',
    'source_ips',
    'sourceIPs[]',
    'Source IP addresses (client first, then proxies).',
    (r) => r.event.sourceIPs,
    { multi: true, examples: ['ip:10.0.0.*'] },
  ),
  def(
    'ua',
    ['useragent'],
    'string',
    'user_agent',
    'userAgent',
    'The client user agent (attacker-controlled).',
    (r) => str(r.event.userAgent),
    { text: true, examples: ['ua:kubectl/*'] },
  ),
  def(
    'ns',
    ['namespace'],
    'string',
    'namespace',
    'objectRef.namespace',
    'Namespace of the object; empty for cluster-scoped requests.',
    (r) => str(r.event.objectRef?.namespace),
    { examples: ['ns:kube-system', '-ns:*'] },
  ),
  def(
    'resource',
    [],
    'string',
    'resource',
    'objectRef.resource',
    'Resource type (plural): pods, secrets, deployments…',
    (r) => str(r.event.objectRef?.resource),
    { examples: ['resource:secrets'] },
  ),
  def(
    'subresource',
    [],
    'string',
    'subresource',
    'objectRef.subresource',
    'Subresource: exec, attach, log, status, portforward…',
    (r) => str(r.event.objectRef?.subresource),
    { examples: ['subresource:(exec OR attach)'] },
  ),
  def(
    'name',
    ['objectname'],
    'string',
    'name',
    'objectRef.name',
    'Name of the object.',
    (r) => str(r.event.objectRef?.name),
    {
      text: true,
      examples: ['name:web-*'],
    },
  ),
  def(
    'apigroup',
    [],
    'string',
    'api_group',
    'objectRef.apiGroup',
    'API group; empty for the core group.',
    (r) => str(r.event.objectRef?.apiGroup),
    { examples: ['apigroup:rbac.authorization.k8s.io'] },
  ),
  def('apiversion', [], 'string', 'api_version', 'objectRef.apiVersion', 'API version of the object.', (r) =>
    str(r.event.objectRef?.apiVersion),
  ),
  def(
    'code',
    ['status'],
    'number',
    'code',
    'responseStatus.code',
    'HTTP status code of the response.',
    (r) => {
      const c = r.event.responseStatus?.code;
      return typeof c === 'number' ? c : undefined;
    },
    { examples: ['code>=400', 'code:403'] },
  ),
  def(
    'reason',
    [],
    'string',
    'reason',
    'responseStatus.reason',
    'Reason of a failed response: Forbidden, NotFound…',
    (r) => str(r.event.responseStatus?.reason),
    { text: true },
  ),
  def(
    'message',
    ['msg'],
    'string',
    'message',
    'responseStatus.message',
    'Message of a failed response.',
    (r) => str(r.event.responseStatus?.message),
    { text: true },
  ),
  def(
    'uri',
    ['requesturi', 'path'],
    'string',
    'request_uri',
    'requestURI',
    'The request path with its query string.',
    (r) => str(r.event.requestURI),
    { text: true, examples: ['uri:/healthz*'] },
  ),
  def(
    'decision',
    [],
    'string',
    'decision',
    "annotations['authorization.k8s.io/decision']",
    'Authorization decision: allow or forbid.',
    (r) => str(r.event.annotations?.['authorization.k8s.io/decision']),
    { examples: ['decision:forbid'] },
  ),
];

const BY_NAME = new Map<string, FieldDef>();
for (const f of FIELDS) {
  BY_NAME.set(f.name.toLowerCase(), f);
  for (const a of f.aliases) BY_NAME.set(a.toLowerCase(), f);
}

/** Top-level event keys that may be followed by a dotted JSON path (requestObject.spec.containers.image). */
export const JSON_ROOTS = [
  'requestObject',
  'responseObject',
  'objectRef',
  'user',
  'impersonatedUser',
  'responseStatus',
] as const;
export type JsonRoot = (typeof JSON_ROOTS)[number];

/** How a name used in a filter is read. */
export type ResolvedField =
  | { kind: 'column'; field: FieldDef }
  /** A JSON path into the event: path[0] is a JsonRoot, the rest are object keys; arrays are crossed. */
  | { kind: 'json'; path: readonly string[] }
  /** An annotation by its full key. */
  | { kind: 'annotation'; key: string };

const ANNOTATION_PREFIXES = ['annotations.', 'annotation.'];

/** Resolves a field name as written in a filter; undefined when it names nothing. */
export function resolveField(name: string): ResolvedField | undefined {
  const f = BY_NAME.get(name.toLowerCase());
  if (f) return { kind: 'column', field: f };
  for (const p of ANNOTATION_PREFIXES) {
    if (name.startsWith(p) && name.length > p.length)
      return { kind: 'annotation', key: name.slice(p.length) };
  }
  const dot = name.indexOf('.');
  if (dot > 0) {
    const root = JSON_ROOTS.find((r) => r.toLowerCase() === name.slice(0, dot).toLowerCase());
    const rest = name.slice(dot + 1).split('.');
    if (root && rest.every((s) => s.length > 0)) return { kind: 'json', path: [root, ...rest] };
  }
  return undefined;
}

export function getField(name: string): FieldDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Every name a filter may start a term with, for suggestions and autocomplete. */
export function allFieldNames(): string[] {
  return [
    ...FIELDS.flatMap((f) => [f.name, ...f.aliases]),
    ...JSON_ROOTS.map((r) => `${r}.`),
    'annotations.',
  ];
}

/** The closest known field name to an unknown one, when close enough to be a likely typo. */
export function suggestField(name: string): string | undefined {
  const lower = name.toLowerCase();
  let best: { n: string; d: number } | undefined;
  for (const f of FIELDS) {
    for (const n of [f.name, ...f.aliases]) {
      const d = editDistance(lower, n.toLowerCase());
      if (!best || d < best.d) best = { n: f.name, d };
    }
  }
  for (const r of JSON_ROOTS) {
    const head = lower.split('.')[0]!;
    const d = editDistance(head, r.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { n: `${r}${name.slice(head.length)}`, d };
  }
  return best && best.d <= typoDistance(lower) ? best.n : undefined;
}
