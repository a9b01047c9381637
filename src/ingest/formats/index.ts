// The format registry: every input shape kubetrail reads, one file each, in the order they are tried.
// A document is first offered to the document formats (containers of records); a record (a document
// that is no container, or an item of one) to the record formats. The first format that recognizes it
// normalizes it; a record no format recognizes is read as a bare audit event and refused with the field
// it lacks. Adding a shape is a new file here and one line in FORMATS.
import { aksDiagnostics } from './aks-diagnostics.js';
import { auditV1 } from './audit-v1.js';
import { auditV1beta1 } from './audit-v1beta1.js';
import { eksCloudWatch } from './eks-cloudwatch.js';
import { eventList } from './event-list.js';
import { gkeCloudAudit } from './gke-cloud-audit.js';
import type { DocumentFormat, Format, RecordFormat } from './shape.js';

export const FORMATS: readonly Format[] = [
  eventList,
  auditV1beta1,
  auditV1,
  aksDiagnostics,
  eksCloudWatch,
  gkeCloudAudit,
];

export const DOCUMENT_FORMATS: readonly DocumentFormat[] = FORMATS.flatMap((f) =>
  f.document ? [f.document] : [],
);
export const RECORD_FORMATS: readonly RecordFormat[] = FORMATS.flatMap((f) => (f.record ? [f.record] : []));

/** How a record that no format recognizes is read (and refused, naming what it lacks). */
export const FALLBACK_FORMAT: RecordFormat = auditV1.record!;
