// The sink registry: every sink a topology may write to, in the order they are told. A sink is built
// when what it needs is there (no live stream for `import`). Adding a sink (a forwarder to a SIEM, a
// second store) is a new file in this folder and one line in SINKS.
import type { ForwarderSet } from '../../forward/index.js';
import type { Store } from '../../store/store.js';
import type { Sink } from '../contracts.js';
import { alertSink, type RaisedAlerts } from './alerts.js';
import { forwardSink } from './forward.js';
import { liveSink, type LiveStream } from './live.js';
import { storeSink } from './store.js';

/** What sinks may be built from. */
export interface SinkContext {
  store?: Store;
  live?: LiveStream;
  alerts?: RaisedAlerts;
  /** The event forwarders (src/forward/): opened, and closed, by the caller. */
  forward?: ForwarderSet;
}

export interface SinkFactory {
  readonly name: string;
  /** The sink, or undefined when this topology has no use for it. */
  create(ctx: SinkContext): Sink | undefined;
}

export const SINKS: readonly SinkFactory[] = [
  { name: 'store', create: (ctx) => (ctx.store ? storeSink(ctx.store) : undefined) },
  { name: 'forward', create: (ctx) => (ctx.forward?.size ? forwardSink(ctx.forward) : undefined) },
  { name: 'live', create: (ctx) => (ctx.live ? liveSink(ctx.live) : undefined) },
  { name: 'alerts', create: (ctx) => (ctx.alerts ? alertSink(ctx.alerts) : undefined) },
];

/** The sinks of a topology, from the registry (or the factories given, for tests and embedding). */
export function buildSinks(ctx: SinkContext, factories: readonly SinkFactory[] = SINKS): Sink[] {
  return factories.flatMap((f) => {
    const s = f.create(ctx);
    return s ? [s] : [];
  });
}
