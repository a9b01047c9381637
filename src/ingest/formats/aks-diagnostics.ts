// Format: Azure AKS diagnostic logs (category kube-audit or kube-audit-admin), as exported to a storage
// account or Event Hub: each record carries the audit event as JSON text in `properties.log` (its `time`
// stands in for an event without a timestamp); an export holds them in `records`. A record of another
// category is refused by name.
import { expandList, fail, isObj, parseEmbedded, withOuterTime, withPath, type Format } from './shape.js';

export const aksDiagnostics: Format = {
  name: 'AKS diagnostic logs',
  document: {
    name: 'AKS diagnostic logs export (records)',
    recognize: (doc) => Array.isArray(doc.records),
    expand: (doc, opts, record) => expandList(doc.records as unknown[], 'records', opts, record),
  },
  record: {
    name: 'AKS diagnostic record',
    recognize: (rec) => typeof rec.category === 'string' && isObj(rec.properties),
    normalize: (rec, opts, record) => {
      const category = rec.category as string;
      if (!/^kube-audit/.test(category))
        return fail(`AKS record of category ${JSON.stringify(category)} is not an audit log`, 'category');
      const log = (rec.properties as Record<string, unknown>).log;
      if (typeof log !== 'string') return fail('AKS audit record without properties.log', 'properties.log');
      return withPath(parseEmbedded(log, withOuterTime(rec, opts), record), 'properties.log');
    },
  },
};
