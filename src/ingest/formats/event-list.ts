// Format: an audit.k8s.io EventList (what the webhook backend posts, and `kubectl get --raw` exports):
// `kind: EventList`, or an object with an `items` array and neither kind nor verb. Each item is
// normalized as a record; an error names the item (`items[3].verb`).
import { expandList, fail, type Format } from './shape.js';

export const eventList: Format = {
  name: 'audit.k8s.io EventList',
  document: {
    name: 'audit.k8s.io EventList',
    recognize: (doc) =>
      doc.kind === 'EventList' ||
      (Array.isArray(doc.items) && doc.kind === undefined && doc.verb === undefined),
    expand: (doc, opts, record) =>
      Array.isArray(doc.items)
        ? expandList(doc.items, 'items', opts, record)
        : [fail('EventList without an items array', 'items')],
  },
};
