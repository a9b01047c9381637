// The collector's Prometheus metrics: events received, stored, duplicated, quarantined and dropped per
// source, queue depth, store write latency, checkpoint lag of file sources, store errors and refused
// webhook requests, live-stream clients and refused streams. Each server has its own registry (tests run several in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestQueue } from '../pipeline/ingest-queue.js';

export interface CollectorMetrics {
  registry: Registry;
  quarantined: Counter<'source'>;
  webhookRejected: Counter<'reason'>;
  webhookRequests: Histogram<'code'>;
  streamClients: Gauge;
  /** Live streams refused at a limit: `token` (api.streamsPerToken) or `total` (api.streamsTotal). */
  streamRejected: Counter<'limit'>;
  checkpointLag: Gauge<'file'>;
}

export function createMetrics(
  queue: IngestQueue,
  lag: () => { file: string; bytes: number }[],
): CollectorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubetrail_process_' });
  const bySource = (name: string, help: string, pick: (c: ReturnType<typeof countsOf>[number]) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['source'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of countsOf()) this.inc({ source: c.source }, pick(c));
      },
    });
  const countsOf = () => [...queue.counts.entries()].map(([source, c]) => ({ source, ...c }));
  bySource('kubetrail_events_received_total', 'Events received, per source.', (c) => c.received);
  bySource('kubetrail_events_stored_total', 'Events newly stored, per source.', (c) => c.stored);
  bySource(
    'kubetrail_events_duplicates_total',
    'Events already stored (resent or re-read) and not stored again, per source.',
    (c) => c.duplicates,
  );
  bySource(
    'kubetrail_events_dropped_total',
    'Events dropped by the transforms (audit policy), per source.',
    (c) => c.dropped,
  );
  const quarantined = new Counter({
    name: 'kubetrail_events_quarantined_total',
    help: 'Records that are not events, set aside in the quarantine file, per source.',
    labelNames: ['source'],
    registers: [registry],
  });
  new Gauge({
    name: 'kubetrail_queue_events',
    help: 'Events accepted and not yet stored.',
    registers: [registry],
    collect() {
      this.set(queue.depth);
    },
  });
  new Gauge({
    name: 'kubetrail_queue_capacity_events',
    help: 'Most events accepted and not yet stored before sources wait or the webhook answers 429.',
    registers: [registry],
    collect() {
      this.set(queue.capacity);
    },
  });
  const writeSeconds = new Histogram({
    name: 'kubetrail_store_write_seconds',
    help: 'Duration of store writes (transforms included), per source.',
    labelNames: ['source'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'kubetrail_store_errors_total',
    help: 'Failed store writes.',
    registers: [registry],
  });
  queue.listen({
    wrote(seconds, source, failed) {
      writeSeconds.observe({ source }, seconds);
      if (failed) storeErrors.inc();
    },
  });
  const checkpointLag = new Gauge({
    name: 'kubetrail_file_lag_bytes',
    help: 'Bytes of a followed file not yet stored (checkpoint lag).',
    labelNames: ['file'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of lag()) this.set({ file: l.file }, l.bytes);
    },
  });
  const webhookRejected = new Counter({
    name: 'kubetrail_webhook_rejected_total',
    help: 'Webhook requests refused, by reason (unauthorized, forbidden, too_large, bad_request, disabled, overloaded, store_error).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const webhookRequests = new Histogram({
    name: 'kubetrail_webhook_request_seconds',
    help: 'Time from a webhook request to its answer, by status code.',
    labelNames: ['code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const streamClients = new Gauge({
    name: 'kubetrail_stream_clients',
    help: 'Connected live-stream clients.',
    registers: [registry],
  });
  const streamRejected = new Counter({
    name: 'kubetrail_stream_rejected_total',
    help: 'Live streams refused because a token (limit="token") or the server (limit="total") had the most open.',
    labelNames: ['limit'],
    registers: [registry],
  });
  return {
    registry,
    quarantined,
    webhookRejected,
    webhookRequests,
    streamClients,
    streamRejected,
    checkpointLag,
  };
}
