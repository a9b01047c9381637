// Sink: the event forwarders (src/forward/), a durable sink after policy and redaction. Every record of a
// batch, new or a replay, is appended to each forwarder's disk queue (what its filter and fields select)
// before the batch is acknowledged to its source, so that an event stored and then lost in a crash
// before it was queued is queued when the source sends it again: at least once, never "stored but never
// forwarded". The queues are delivered by the forwarders' own loops; the owner of the ForwarderSet (the
// collector, the import command) closes it, after waiting for delivery where it wants to.
import type { ForwarderSet } from '../../forward/index.js';
import type { Sink } from '../contracts.js';

export function forwardSink(set: ForwarderSet): Sink {
  return {
    name: 'forward',
    role: 'durable',
    write: (records) => set.write(records),
  };
}
