// Format: Amazon EKS control-plane audit logs exported from CloudWatch Logs. A log event carries the
// audit event as JSON text in `message` (its `timestamp` stands in for an event without one); an export
// or subscription payload holds them in `logEvents`. An error names the record (`logEvents[2].message.verb`).
import { expandList, parseEmbedded, withOuterTime, withPath, type Format } from './shape.js';

export const eksCloudWatch: Format = {
  name: 'EKS CloudWatch Logs',
  document: {
    name: 'EKS CloudWatch Logs export (logEvents)',
    recognize: (doc) => Array.isArray(doc.logEvents),
    expand: (doc, opts, record) => expandList(doc.logEvents as unknown[], 'logEvents', opts, record),
  },
  record: {
    name: 'EKS CloudWatch Logs event',
    recognize: (rec) => typeof rec.message === 'string' && rec.message.trimStart().startsWith('{'),
    normalize: (rec, opts, record) =>
      withPath(parseEmbedded(rec.message as string, withOuterTime(rec, opts), record), 'message'),
  },
};
