// Format: GKE Cloud Audit Logs entries → audit.k8s.io/v1 Event. A GKE entry carries the Kubernetes request in
// `protoPayload` (type.googleapis.com/google.cloud.audit.AuditLog): methodName io.k8s.GROUP.VERSION.
// RESOURCE[.SUBRESOURCE].VERB, resourceName GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]], the
// caller in authenticationInfo and requestMetadata, the outcome as a gRPC status.
import type { AuditEvent, Level } from '../../core/event.js';
import { normalizeAuditEvent } from './audit-event.js';
import { isObj, type Format, type Obj } from './shape.js';
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** gRPC status code → HTTP status code, as the API server would have answered. */
const GRPC_TO_HTTP: Record<number, number> = {
  0: 200,
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

export function isGkeEntry(v: Obj): boolean {
  const p = v.protoPayload;
  if (!isObj(p)) return false;
  const m = str(p.methodName) ?? '';
  return m.startsWith('io.k8s.') || p.serviceName === 'k8s.io';
}

interface ParsedResource {
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

/** Parses `core/v1/namespaces/ns/pods/name/exec` and friends. */
export function parseResourceName(text: string): ParsedResource | undefined {
  const parts = text.split('/').filter((p) => p !== '');
  if (parts.length < 3) return undefined;
  const [groupPart, version, ...rest] = parts as [string, string, ...string[]];
  const out: ParsedResource = { group: groupPart === 'core' ? '' : groupPart, version };
  let i = 0;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    out.namespace = rest[1]!;
    i = 2;
  }
  out.resource = rest[i];
  if (rest[i + 1] !== undefined) out.name = rest[i + 1];
  if (rest[i + 2] !== undefined) out.subresource = rest[i + 2];
  if (rest[0] === 'namespaces' && rest.length < 3) {
    out.resource = 'namespaces';
    if (rest[1] !== undefined) out.name = rest[1];
  }
  return out;
}

function verbOf(method: string): string {
  const last = method.split('.').pop() ?? '';
  return last;
}

function requestURI(r: ParsedResource | undefined): string {
  if (!r) return '';
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespace !== undefined && r.resource !== 'namespaces' ? `/namespaces/${r.namespace}` : '';
  return [base + ns, r.resource, r.name, r.subresource].filter((x) => x !== undefined).join('/');
}

export function gkeToEvent(entry: Obj): { event: Partial<AuditEvent> } | { error: string; path?: string } {
  const p = entry.protoPayload as Obj;
  const method = str(p.methodName);
  if (!method)
    return { error: 'GKE audit entry without protoPayload.methodName', path: 'protoPayload.methodName' };
  const resourceName = str(p.resourceName);
  const r = resourceName ? parseResourceName(resourceName) : undefined;
  const auth = isObj(p.authenticationInfo) ? p.authenticationInfo : {};
  const meta = isObj(p.requestMetadata) ? p.requestMetadata : {};
  const status = isObj(p.status) ? p.status : undefined;
  const grpc = typeof status?.code === 'number' ? status.code : 0;
  const verb = verbOf(method);
  let code = GRPC_TO_HTTP[grpc] ?? 500;
  if (code === 200 && verb === 'create') code = 201;
  const time = str(entry.timestamp) ?? str(p.timestamp) ?? str(entry.receiveTimestamp);
  const labels = isObj(entry.labels) ? entry.labels : {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels))
    if (typeof v === 'string' && k.includes('k8s.io/')) annotations[k] = v;
  const authz = Array.isArray(p.authorizationInfo) ? p.authorizationInfo.filter(isObj) : [];
  if (
    !annotations['authorization.k8s.io/decision'] &&
    authz.length > 0 &&
    authz.some((a) => 'granted' in a)
  ) {
    annotations['authorization.k8s.io/decision'] = authz.every((a) => a.granted === true)
      ? 'allow'
      : 'forbid';
  }
  const request = p.request;
  const response = p.response;
  const level: Level = request !== undefined || response !== undefined ? 'RequestResponse' : 'Metadata';
  const operation = isObj(entry.operation) ? str(entry.operation.id) : undefined;
  const event: Partial<AuditEvent> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level,
    stage: 'ResponseComplete',
    verb,
    requestURI: requestURI(r),
    user: { ...(str(auth.principalEmail) ? { username: str(auth.principalEmail)! } : {}) },
    responseStatus: { code, ...(str(status?.message) ? { message: str(status?.message)! } : {}) },
  };
  if (operation) event.auditID = operation;
  else if (str(entry.insertId)) event.auditID = str(entry.insertId)!;
  if (time) {
    const iso = time.includes('T')
      ? time
      : time.replace(' ', 'T') + (/(Z|[+-]\d\d:?\d\d)$/.test(time) ? '' : 'Z');
    event.requestReceivedTimestamp = iso;
    event.stageTimestamp = iso;
  }
  const ip = str(meta.callerIp);
  if (ip) event.sourceIPs = [ip];
  const ua = str(meta.callerSuppliedUserAgent);
  if (ua) event.userAgent = ua;
  if (r?.resource) {
    event.objectRef = {
      resource: r.resource,
      apiVersion: r.group === '' ? r.version : `${r.group}/${r.version}`,
      ...(r.group !== '' ? { apiGroup: r.group } : {}),
      ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
      ...(r.name !== undefined ? { name: r.name } : {}),
      ...(r.subresource !== undefined ? { subresource: r.subresource } : {}),
    };
  }
  if (request !== undefined) event.requestObject = request;
  if (response !== undefined) event.responseObject = response;
  if (Object.keys(annotations).length > 0) event.annotations = annotations;
  const cluster =
    isObj(entry.resource) && isObj(entry.resource.labels)
      ? str(entry.resource.labels.cluster_name)
      : undefined;
  if (cluster) event.annotations = { ...event.annotations, 'kubetrail.io/source-cluster': cluster };
  return { event };
}

export const gkeCloudAudit: Format = {
  name: 'GKE Cloud Audit Logs',
  record: {
    name: 'GKE Cloud Audit Logs entry',
    recognize: isGkeEntry,
    normalize: (rec, opts) => {
      const r = gkeToEvent(rec);
      return 'error' in r ? r : normalizeAuditEvent(r.event as Obj, opts);
    },
  },
};
