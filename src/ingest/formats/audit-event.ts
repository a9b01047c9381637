// The completion every audit.k8s.io Event goes through, whatever its version (v1, v1beta1, v1alpha1) or
// the record that carried it (an EventList item, an EKS, AKS or GKE entry): checks the fields kubetrail
// reads and says precisely which one is wrong (reason and field path), fills in what is absent.
//
// What an event needs: a JSON object with `verb` or `requestURI` (a string) and a parseable timestamp
// (`stageTimestamp`, `requestReceivedTimestamp`, or the older `timestamp`). Filled in when absent:
// `stage` (ResponseComplete), `level` (Metadata), `user` ({}), and `auditID` (a hash of the content,
// marked with the annotation kubetrail.io/synthesized-auditid). A complete v1 event is returned as it is.
import { createHash } from 'node:crypto';
import { LEVELS, STAGES, type AuditEvent } from '../../core/event.js';
import { timeToMicros } from '../../core/time.js';
import { fail, isObj, typeName, type Normalized, type NormalizeOptions, type Obj } from './shape.js';

export const SYNTHESIZED_ID_ANNOTATION = 'kubetrail.io/synthesized-auditid';

const API_VERSIONS = new Set(['audit.k8s.io/v1', 'audit.k8s.io/v1beta1', 'audit.k8s.io/v1alpha1']);

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
