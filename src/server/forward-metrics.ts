// The forwarders' Prometheus metrics, one series per forwarder (labels `forwarder` = its name and `kind` =
// its destination): records sent, retried, dropped from a full queue and dead-lettered, the queue's bytes,
// records and bound, and the age of the oldest record not yet delivered.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ForwarderStats } from '../forward/index.js';

type Pick = (s: ForwarderStats) => number;

export function registerForwarderMetrics(registry: Registry, stats: () => readonly ForwarderStats[]): void {
  const labelNames = ['forwarder', 'kind'] as const;
  const counter = (name: string, help: string, pick: Pick) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of stats()) this.inc({ forwarder: s.name, kind: s.kind }, pick(s));
      },
    });
  const gauge = (name: string, help: string, pick: Pick) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of stats()) this.set({ forwarder: s.name, kind: s.kind }, pick(s));
      },
    });
  counter('kubetrail_forward_sent_total', 'Events delivered by a forwarder.', (s) => s.sent);
  counter(
    'kubetrail_forward_retried_total',
    'Events a forwarder sent again after a failed try (network error, 429, 5xx, item failure).',
    (s) => s.retried,
  );
  counter(
    'kubetrail_forward_dropped_total',
    'Events dropped from a full forwarder queue (whenFull: drop-oldest).',
    (s) => s.dropped,
  );
  counter(
    'kubetrail_forward_dead_lettered_total',
    'Events a destination refused for good, written to the forwarder dead-letter file.',
    (s) => s.deadLettered,
  );
  gauge(
    'kubetrail_forward_queue_bytes',
    'Bytes in a forwarder queue not yet delivered.',
    (s) => s.queueBytes,
  );
  gauge(
    'kubetrail_forward_queue_events',
    'Events in a forwarder queue not yet delivered.',
    (s) => s.queueRecords,
  );
  gauge(
    'kubetrail_forward_queue_capacity_bytes',
    'The forwarder queue bound (queueBytes); beyond it whenFull applies.',
    (s) => s.queueCapacityBytes,
  );
  gauge(
    'kubetrail_forward_oldest_unsent_seconds',
    'Age of the oldest event in a forwarder queue not yet delivered (0 when none).',
    (s) => s.oldestSeconds,
  );
}
