// Format: an audit.k8s.io/v1 Event, as the API server's log and webhook backends write it (one per line,
// or as the items of an EventList). Recognized by `kind: Event`, an `apiVersion` or an `auditID`; an
// apiVersion that is not an audit.k8s.io version is refused by name. Also the shape a record of no known
// shape is read as, so that it is refused with the field it lacks (`verb`).
import { normalizeAuditEvent } from './audit-event.js';
import type { Format } from './shape.js';

export const auditV1: Format = {
  name: 'audit.k8s.io/v1 Event',
  record: {
    name: 'audit.k8s.io/v1 Event',
    recognize: (rec) => rec.kind === 'Event' || rec.apiVersion !== undefined || rec.auditID !== undefined,
    normalize: (rec, opts) => normalizeAuditEvent(rec, opts),
  },
};
