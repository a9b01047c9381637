// Turns whatever a source delivers into audit.k8s.io/v1 Events: plain v1 events (fast path), v1beta1
// and v1alpha1 events, EventLists, EKS CloudWatch Logs records, AKS diagnostic records and GKE Cloud
// Audit Logs entries. Says precisely why a record is not an event (reason and field path).
//
// What an event needs: a JSON object with `verb` or `requestURI` (a string) and a parseable timestamp
// (`stageTimestamp`, `requestReceivedTimestamp`, or the older `timestamp`). Filled in when absent:
// `stage` (ResponseComplete), `level` (Metadata), `user` ({}), and `auditID` (a hash of the content,
// marked with the annotation kubetrail.io/synthesized-auditid).
import { createHash } from 'node:crypto';
import { LEVELS, STAGES, type AuditEvent } from '../core/event.js';
import { timeToMicros } from '../fields/catalog.js';
import { gkeToEvent, isGkeEntry } from './gke.js';
import { parseJsonText, TooDeepRecord } from './json-text.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export type Normalized = { event: AuditEvent } | { error: string; path?: string };

export const SYNTHESIZED_ID_ANNOTATION = 'kubetrail.io/synthesized-auditid';

const API_VERSIONS = new Set(['audit.k8s.io/v1', 'audit.k8s.io/v1beta1', 'audit.k8s.io/v1alpha1']);

function fail(error: string, path?: string): Normalized {
  return path === undefined ? { error } : { error, path };
}

function typeName(v: unknown): string {
  return v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? 'an object'
        : `a ${typeof v}`;
}

function checkStringArray(v: unknown, path: string): Normalized | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    return fail(`${path} must be an array of strings`, path);
  return undefined;
}

function checkObject(v: unknown, path: string): Normalized | undefined {
  if (v === undefined || v === null) return undefined;
  return isObj(v) ? undefined : fail(`${path} must be an object, not ${typeName(v)}`, path);
}

/** Validates and completes one audit event object (any audit.k8s.io version); mutates nothing given. */
export interface NormalizeOptions {
  /** Timestamp to use when a record has none (otherwise such a record is refused). */
  defaultTime?: string;
}

export function normalizeAuditEvent(v: Obj, opts: NormalizeOptions = {}): Normalized {
  if ('kind' in v && v.kind !== 'Event' && v.kind !== undefined) {
    return fail(`kind must be "Event", not ${JSON.stringify(v.kind)}`, 'kind');
  }
  if (v.apiVersion !== undefined && (typeof v.apiVersion !== 'string' || !API_VERSIONS.has(v.apiVersion))) {
    return fail(`apiVersion ${JSON.stringify(v.apiVersion)} is not an audit.k8s.io version`, 'apiVersion');
  }
  const verb = v.verb;
  const uri = v.requestURI;
  if (verb !== undefined && typeof verb !== 'string')
    return fail(`verb must be a string, not ${typeName(verb)}`, 'verb');
  if (uri !== undefined && typeof uri !== 'string')
    return fail(`requestURI must be a string, not ${typeName(uri)}`, 'requestURI');
  if (verb === undefined && uri === undefined)
    return fail('not an audit event: it has neither verb nor requestURI', 'verb');
  for (const [k, check] of [
    ['user', checkObject],
    ['impersonatedUser', checkObject],
    ['objectRef', checkObject],
    ['responseStatus', checkObject],
    ['annotations', checkObject],
    ['sourceIPs', checkStringArray],
  ] as const) {
    const bad = check(v[k], k);
    if (bad) return bad;
  }
  if (isObj(v.annotations)) {
    for (const [k, a] of Object.entries(v.annotations)) {
      if (typeof a !== 'string') return fail(`annotation values must be strings`, `annotations.${k}`);
    }
  }
  if (isObj(v.user)) {
    const g = checkStringArray(v.user.groups, 'user.groups');
    if (g) return g;
  }
  if (
    isObj(v.responseStatus) &&
    v.responseStatus.code !== undefined &&
    typeof v.responseStatus.code !== 'number'
  ) {
    return fail('responseStatus.code must be a number', 'responseStatus.code');
  }
  if (v.stage !== undefined && !(STAGES as readonly unknown[]).includes(v.stage)) {
    return fail(`stage ${JSON.stringify(v.stage)} is not one of ${STAGES.join(', ')}`, 'stage');
  }
  if (v.level !== undefined && !(LEVELS as readonly unknown[]).includes(v.level)) {
    return fail(`level ${JSON.stringify(v.level)} is not one of ${LEVELS.join(', ')}`, 'level');
  }
  if (v.auditID !== undefined && typeof v.auditID !== 'string')
    return fail('auditID must be a string', 'auditID');

  const meta = isObj(v.metadata) ? v.metadata : undefined;
  const fallbackTime = [v.timestamp, meta?.creationTimestamp, opts.defaultTime].find(
    (t): t is string => typeof t === 'string',
  );
  const stageTs = typeof v.stageTimestamp === 'string' ? v.stageTimestamp : undefined;
  const recvTs = typeof v.requestReceivedTimestamp === 'string' ? v.requestReceivedTimestamp : undefined;
  const stage = stageTs ?? recvTs ?? fallbackTime;
  if (stage === undefined)
    return fail(
      'no timestamp: stageTimestamp, requestReceivedTimestamp or timestamp is needed',
      'stageTimestamp',
    );
  for (const [name, t] of [
    ['stageTimestamp', stageTs ?? stage],
    ['requestReceivedTimestamp', recvTs ?? stage],
  ] as const) {
    if (timeToMicros(t) === undefined)
      return fail(`${name} ${JSON.stringify(t)} is not an RFC 3339 time`, name);
  }

  // Fast path: a complete v1 event is returned as it is.
  const complete =
    v.apiVersion === 'audit.k8s.io/v1' &&
    v.kind === 'Event' &&
    typeof v.auditID === 'string' &&
    v.stage !== undefined &&
    v.level !== undefined &&
    stageTs !== undefined &&
    recvTs !== undefined &&
    isObj(v.user) &&
    typeof verb === 'string' &&
    typeof uri === 'string';
  if (complete) return { event: v as unknown as AuditEvent };

  // kind and apiVersion first, as the API server writes them, so that the same event arriving in
  // either shape serializes (and so hashes) the same.
  const e: Obj = { kind: 'Event', apiVersion: 'audit.k8s.io/v1', ...v };
  e.kind = 'Event';
  e.apiVersion = 'audit.k8s.io/v1';
  e.stageTimestamp = stageTs ?? stage;
  e.requestReceivedTimestamp = recvTs ?? stage;
  if (e.stage === undefined) e.stage = 'ResponseComplete';
  if (e.level === undefined) e.level = 'Metadata';
  if (!isObj(e.user)) e.user = {};
  if (e.verb === undefined) e.verb = '';
  if (e.requestURI === undefined) e.requestURI = '';
  for (const k of Object.keys(e)) if (k.startsWith('p_')) delete e[k];
  if (typeof e.auditID !== 'string' || e.auditID === '') {
    e.auditID = syntheticId(e);
    e.annotations = {
      ...(isObj(e.annotations) ? (e.annotations as Record<string, string>) : {}),
      [SYNTHESIZED_ID_ANNOTATION]: 'true',
    };
  }
  return { event: e as unknown as AuditEvent };
}

/** A deterministic auditID for a record that has none: the same record always gets the same ID. */
function syntheticId(e: Obj): string {
  const h = createHash('sha256').update(JSON.stringify(e)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Expands one JSON document into the records it holds (an EventList's items, AKS `records`, CloudWatch
 * `logEvents`), normalized. Each result is an event or the reason the record is not one.
 */
export function normalizeDocument(value: unknown, opts: NormalizeOptions = {}): Normalized[] {
  if (value instanceof TooDeepRecord) return [fail(value.message)];
  if (!isObj(value)) return [fail(`not an audit event: the record is ${typeName(value)}, not an object`)];
  if (
    value.kind === 'EventList' ||
    (Array.isArray(value.items) && value.kind === undefined && value.verb === undefined)
  ) {
    if (!Array.isArray(value.items)) return [fail('EventList without an items array', 'items')];
    return value.items.map((item, i) => withPath(normalizeEvent(item, opts), `items[${i}]`));
  }
  if (Array.isArray(value.records))
    return value.records.map((r, i) => withPath(normalizeEvent(r, opts), `records[${i}]`));
  if (Array.isArray(value.logEvents))
    return value.logEvents.map((r, i) => withPath(normalizeEvent(r, opts), `logEvents[${i}]`));
  return [normalizeEvent(value, opts)];
}

function withPath(n: Normalized, prefix: string): Normalized {
  if ('event' in n) return n;
  return { error: n.error, path: n.path ? `${prefix}.${n.path}` : prefix };
}

/** Normalizes one record that should be a single event, in any of the supported shapes. */
export function normalizeEvent(value: unknown, opts: NormalizeOptions = {}): Normalized {
  if (value instanceof TooDeepRecord) return fail(value.message);
  if (!isObj(value)) return fail(`not an audit event: the record is ${typeName(value)}, not an object`);
  if (value.kind === 'Event' || value.apiVersion !== undefined || value.auditID !== undefined) {
    return normalizeAuditEvent(value, opts);
  }
  const outerTime =
    typeof value.time === 'string'
      ? value.time
      : typeof value.timestamp === 'string'
        ? value.timestamp
        : undefined;
  const inner: NormalizeOptions = outerTime && !opts.defaultTime ? { defaultTime: outerTime } : opts;
  // AKS diagnostic record: the event is a JSON string in properties.log.
  if (typeof value.category === 'string' && isObj(value.properties)) {
    if (!/^kube-audit/.test(value.category))
      return fail(`AKS record of category ${JSON.stringify(value.category)} is not an audit log`, 'category');
    const log = value.properties.log;
    if (typeof log !== 'string') return fail('AKS audit record without properties.log', 'properties.log');
    return withPath(parseEmbedded(log, inner), 'properties.log');
  }
  // EKS CloudWatch Logs record: the event is a JSON string in `message`.
  if (typeof value.message === 'string' && value.message.trimStart().startsWith('{')) {
    return withPath(parseEmbedded(value.message, inner), 'message');
  }
  if (isGkeEntry(value)) {
    const r = gkeToEvent(value);
    if ('error' in r) return r;
    return normalizeAuditEvent(r.event as Obj, opts);
  }
  return normalizeAuditEvent(value, opts);
}

function parseEmbedded(text: string, opts: NormalizeOptions): Normalized {
  let inner: unknown;
  try {
    inner = parseJsonText(text);
  } catch (err) {
    return fail(`embedded event is not valid JSON: ${(err as Error).message}`);
  }
  return normalizeEvent(inner, opts);
}
