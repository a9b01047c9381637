// The field catalog: every queryable field once (field.ts says what a field holds), and looking fields up
// by the names filters use, with suggestions for typos. A field with a store column declares the
// column's name and type here; the stored columns and the row builder in src/store/columns.ts are derived
// from them. It drives the query parser's validation, the compilers, rule validation, UI autocomplete and
// docs/fields.md. Browser-safe: imports no node: modules.
import { editDistance, typoDistance } from '../core/did-you-mean.js';
import { eventLatencyMs, eventTime, timeToMicros } from '../core/time.js';
import { actorDuckDbSql, actorOf } from './actor.js';
import { field, type FieldDef } from './field.js';

export type { ColumnType, FieldDef, FieldType, StoredColumn } from './field.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Every field, in the order of docs/fields.md. */
export const FIELDS = [
  field({
    name: 'time',
    aliases: ['timestamp', 'ts'],
    type: 'time',
    store: { column: 'ts', type: 'timestamp', required: true },
    source: 'stageTimestamp',
    description: 'When the stage happened (UTC, microseconds).',
    get: (r) => {
      const t = eventTime(r.event);
      return t ? timeToMicros(t) : undefined;
    },
    examples: ['time>=2024-05-01T00:00:00Z', 'time<2024-05-02'],
  }),
  field({
    name: 'received',
    type: 'time',
    store: { column: 'received_ts', type: 'timestamp' },
    source: 'requestReceivedTimestamp',
    description: 'When the API server received the request.',
    get: (r) =>
      r.event.requestReceivedTimestamp ? timeToMicros(r.event.requestReceivedTimestamp) : undefined,
  }),
  field({
    name: 'latency',
    type: 'duration',
    store: { column: 'latency_ms', type: 'double' },
    source: 'stageTimestamp - requestReceivedTimestamp',
    description: 'Time from receipt to this stage.',
    get: (r) => eventLatencyMs(r.event),
    examples: ['latency>1s', 'latency>=250ms'],
  }),
  field({
    name: 'cluster',
    type: 'string',
    store: { column: 'cluster', type: 'varchar', required: true },
    source: '(kubetrail) source cluster',
    description: 'The cluster the event came from.',
    get: (r) => str(r.cluster),
    examples: ['cluster:prod-eu'],
  }),
  field({
    name: 'auditid',
    aliases: ['id'],
    type: 'string',
    store: { column: 'audit_id', type: 'varchar', required: true },
    source: 'auditID',
    description: 'The request ID; shared by all stages of one request.',
    get: (r) => str(r.event.auditID),
  }),
  field({
    name: 'stage',
    type: 'string',
    store: { column: 'stage', type: 'varchar', required: true },
    source: 'stage',
    description: 'RequestReceived, ResponseStarted, ResponseComplete or Panic.',
    get: (r) => str(r.event.stage),
    examples: ['stage:ResponseComplete'],
  }),
  field({
    name: 'level',
    type: 'string',
    store: { column: 'level', type: 'varchar', required: true },
    source: 'level',
    description: 'Metadata, Request or RequestResponse.',
    get: (r) => str(r.event.level),
    examples: ['level:RequestResponse'],
  }),
  field({
    name: 'verb',
    type: 'string',
    store: { column: 'verb', type: 'varchar', required: true },
    source: 'verb',
    description:
      'get, list, watch, create, update, patch, delete, deletecollection, or an HTTP verb for non-resource requests.',
    get: (r) => str(r.event.verb),
    examples: ['verb:delete', 'verb:(create OR patch)'],
  }),
  field({
    name: 'user',
    aliases: ['username'],
    type: 'string',
    store: { column: 'username', type: 'varchar' },
    source: 'user.username',
    description: 'The authenticated user (before impersonation).',
    get: (r) => str(r.event.user?.username),
    text: true,
    examples: ['user:alice@example.com', 'user:system:serviceaccount:*'],
  }),
  field({
    name: 'group',
    aliases: ['groups'],
    type: 'string',
    multi: true,
    store: { column: 'user_groups', type: 'varchar[]' },
    source: 'user.groups[]',
    description: "The authenticated user's groups.",
    get: (r) => r.event.user?.groups,
    examples: ['group:system:masters'],
  }),
  field({
    name: 'impersonated',
    aliases: ['impersonateduser', 'as'],
    type: 'string',
    store: { column: 'impersonated_user', type: 'varchar' },
    source: 'impersonatedUser.username',
    description: 'The user impersonated, if any.',
    get: (r) => str(r.event.impersonatedUser?.username),
    examples: ['impersonated:*', 'impersonated:bob'],
  }),
  field({
    name: 'actor',
    type: 'string',
    computed: { duckdb: actorDuckDbSql() },
    source: 'user, impersonatedUser and their extra',
    description:
      'The person or workload behind the request: the impersonated user (the authenticated one stays in `user`), the end user a proxy names (kube-oidc-proxy, Pinniped, Rancher), `pod:NS/POD (sa NAME)` for a pod-bound service-account token, `sa:NS/NAME`, `node:NAME`, the IAM identity on EKS (docs/investigations.md).',
    get: (r) => actorOf(r.event),
    examples: ['actor:alice@example.com', 'actor:pod:kube-system/*', 'actor:node:*'],
  }),
  field({
    name: 'ip',
    aliases: ['sourceip', 'sourceips'],
    type: 'string',
    multi: true,
    store: { column: 'source_ips', type: 'varchar[]' },
    source: 'sourceIPs[]',
    description: 'Source IP addresses (client first, then proxies).',
    get: (r) => r.event.sourceIPs,
    examples: ['ip:10.0.0.*'],
  }),
  field({
    name: 'ua',
    aliases: ['useragent'],
    type: 'string',
    store: { column: 'user_agent', type: 'varchar' },
    source: 'userAgent',
    description: 'The client user agent (attacker-controlled).',
    get: (r) => str(r.event.userAgent),
    text: true,
    examples: ['ua:kubectl/*'],
  }),
  field({
    name: 'ns',
    aliases: ['namespace'],
    type: 'string',
    store: { column: 'namespace', type: 'varchar' },
    source: 'objectRef.namespace',
    description: 'Namespace of the object; empty for cluster-scoped requests.',
    get: (r) => str(r.event.objectRef?.namespace),
    examples: ['ns:kube-system', '-ns:*'],
  }),
  field({
    name: 'resource',
    type: 'string',
    store: { column: 'resource', type: 'varchar' },
    source: 'objectRef.resource',
    description: 'Resource type (plural): pods, secrets, deployments…',
    get: (r) => str(r.event.objectRef?.resource),
    examples: ['resource:secrets'],
  }),
  field({
    name: 'subresource',
    type: 'string',
    store: { column: 'subresource', type: 'varchar' },
    source: 'objectRef.subresource',
    description: 'Subresource: exec, attach, log, status, portforward…',
    get: (r) => str(r.event.objectRef?.subresource),
    examples: ['subresource:(exec OR attach)'],
  }),
  field({
    name: 'name',
    aliases: ['objectname'],
    type: 'string',
    store: { column: 'name', type: 'varchar' },
    source: 'objectRef.name',
    description: 'Name of the object.',
    get: (r) => str(r.event.objectRef?.name),
    text: true,
    examples: ['name:web-*'],
  }),
  field({
    name: 'apigroup',
    type: 'string',
    store: { column: 'api_group', type: 'varchar' },
    source: 'objectRef.apiGroup',
    description: 'API group; empty for the core group.',
    get: (r) => str(r.event.objectRef?.apiGroup),
    examples: ['apigroup:rbac.authorization.k8s.io'],
  }),
  field({
    name: 'apiversion',
    type: 'string',
    store: { column: 'api_version', type: 'varchar' },
    source: 'objectRef.apiVersion',
    description: 'API version of the object.',
    get: (r) => str(r.event.objectRef?.apiVersion),
  }),
  field({
    name: 'code',
    aliases: ['status'],
    type: 'number',
    store: { column: 'code', type: 'integer' },
    source: 'responseStatus.code',
    description: 'HTTP status code of the response.',
    get: (r) => {
      const c = r.event.responseStatus?.code;
      return typeof c === 'number' ? c : undefined;
    },
    examples: ['code>=400', 'code:403'],
  }),
  field({
    name: 'reason',
    type: 'string',
    store: { column: 'reason', type: 'varchar' },
    source: 'responseStatus.reason',
    description: 'Reason of a failed response: Forbidden, NotFound…',
    get: (r) => str(r.event.responseStatus?.reason),
    text: true,
  }),
  field({
    name: 'message',
    aliases: ['msg'],
    type: 'string',
    store: { column: 'message', type: 'varchar' },
    source: 'responseStatus.message',
    description: 'Message of a failed response.',
    get: (r) => str(r.event.responseStatus?.message),
    text: true,
  }),
  field({
    name: 'uri',
    aliases: ['requesturi', 'path'],
    type: 'string',
    store: { column: 'request_uri', type: 'varchar' },
    source: 'requestURI',
    description: 'The request path with its query string.',
    get: (r) => str(r.event.requestURI),
    text: true,
    examples: ['uri:/healthz*'],
  }),
  field({
    name: 'decision',
    type: 'string',
    store: { column: 'decision', type: 'varchar' },
    source: "annotations['authorization.k8s.io/decision']",
    description: 'Authorization decision: allow or forbid.',
    get: (r) => str(r.event.annotations?.['authorization.k8s.io/decision']),
    examples: ['decision:forbid'],
  }),
] as const;

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
