// Format: an audit.k8s.io/v1beta1 (or v1alpha1) Event, written by API servers before 1.24 or by audit
// backends configured with an older version: the older `timestamp` stands in for the stage timestamps,
// and the event is rewritten as audit.k8s.io/v1 (kind and apiVersion first, as the API server writes
// them, so that the same event in either version serializes and hashes the same).
import { normalizeAuditEvent } from './audit-event.js';
import type { Format } from './shape.js';

const OLDER = new Set(['audit.k8s.io/v1beta1', 'audit.k8s.io/v1alpha1']);

export const auditV1beta1: Format = {
  name: 'audit.k8s.io/v1beta1 Event',
  record: {
    name: 'audit.k8s.io/v1beta1 Event',
    recognize: (rec) => typeof rec.apiVersion === 'string' && OLDER.has(rec.apiVersion),
    normalize: (rec, opts) => normalizeAuditEvent(rec, opts),
  },
};
