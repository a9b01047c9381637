// The one event model: audit.k8s.io/v1 Event, as the API server writes it, plus kubetrail's envelope.
// Everything that arrives in another shape is normalized into these types at the edge (src/ingest).

export type Level = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type Stage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

export const LEVELS: readonly Level[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
export const STAGES: readonly Stage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface ObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

export interface ResponseStatus {
  metadata?: Record<string, unknown>;
  status?: string;
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  code?: number;
}

/** An audit.k8s.io/v1 Event. Timestamps are RFC 3339 strings with microseconds, as the API server writes them. */
export interface AuditEvent {
  kind?: 'Event';
  apiVersion?: string;
  level: Level;
  auditID: string;
  stage: Stage;
  requestURI: string;
  verb: string;
  user: UserInfo;
  impersonatedUser?: UserInfo;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: ObjectReference;
  responseStatus?: ResponseStatus;
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

export interface AuditEventList {
  kind: 'EventList';
  apiVersion?: string;
  metadata?: Record<string, unknown>;
  items: AuditEvent[];
}

/** An event as kubetrail handles it: the event and the cluster it came from. */
export interface EventRecord {
  cluster: string;
  event: AuditEvent;
}

/** The cluster name used when a source does not name one. */
export const DEFAULT_CLUSTER = 'default';

/** Annotation kubetrail adds to an event whose content it changed (redaction); the value lists JSON paths. */
export const REDACTED_ANNOTATION = 'kubetrail.io/redacted';
