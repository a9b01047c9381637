// The contracts of the write path: sources hand batches of records to the pipeline, transforms change or
// drop them in a fixed order, sinks receive them. src/pipeline/topology.ts wires them the same way for
// `serve`, `import` and `query --file`. The rules every stage keeps:
//
// Mutation. A source builds a record and never touches it again once handed on. Transforms run one after
// another on one batch at a time, so each may change its events in place (the policy downgrades and
// strips, the size cap cuts bodies, redaction replaces secrets) or leave records out of the batch it
// returns (dropped); nothing else may change an event. Sinks receive the transformed records read-only:
// a sink that keeps or forwards them must not change them (the store, the live stream and a forwarder
// share the same objects). Records a transform leaves out reach no sink.
//
// Acknowledgement. A source may acknowledge a batch (commit a file position, answer the API server's
// webhook with 200, advance in the segment log) only once every durable sink has it: `Deliver` resolves
// then, and not before. The webhook with `acknowledge: log` is the one exception written down: its
// durable step is its own fsynced segment log, which is fed to the sinks and replayed after a crash.
// Replays are harmless because the store deduplicates (cluster, auditID, stage, content). Follower sinks
// (live stream, alert publication) are told only after the durable sinks have the batch, and only of the
// records newly stored, so that a replay reaches no subscriber twice.
//
// Backpressure. Every queue on the write path is bounded: the ingest queue by pipeline.queueEvents (a
// live source waits for room; the webhook is refused with 429 instead), the webhook's segment log by
// pipeline.segmentMaxBytes (429 beyond), a file source by the chunks it reads ahead, a finite source (import,
// query --file) by the one write in flight while the next batch is read. A follower sink must not block
// the pipeline: it drops or buffers boundedly (the live stream drops slow subscribers).
//
// Errors. What is not an event never stops a source: the decoder (src/ingest/decode.ts) sets it aside in
// the quarantine with its position, after redaction of its text. A transform that throws fails the batch;
// a durable sink that fails fails the batch: the source is not acknowledged and sends the batch again (a
// file source rewinds to its last stored position, the feeder retries the segment log, the API server
// retries the webhook after 503). A follower sink's failure is its own: it cannot fail a stored batch.
//
// Transform is declared in src/core (the lower layer) because policy, redaction and detection, which sit
// below the pipeline, implement it; it is re-exported here so that the three contracts are read together.
import type { EventRecord } from '../core/event.js';

export type { Transform } from '../core/transform.js';

/** Hands a batch to the pipeline; resolves once every durable sink has it (then the source may acknowledge). */
export type Deliver = (records: EventRecord[]) => Promise<unknown>;

/**
 * A live source (a followed file, the webhook's segment log feeder): built with its `Deliver`, started
 * once, stopped once; stopping waits for the batch in hand to be durable and records the position.
 */
export interface Source {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

/**
 * A finite source (files, directories and stdin for `import` and `query --file`): batches pulled one at a
 * time, so that the reader runs ahead of the writer by one batch at most.
 */
export type BatchSource = AsyncIterable<EventRecord[]>;

/** What a durable sink that deduplicates reports about one write. */
export interface SinkWrite {
  /** Records newly stored. */
  stored: number;
  /** Records already there and not stored again. */
  duplicates: number;
  /** Indices of the records newly stored, when asked for (`fresh`). */
  fresh?: number[];
}

export interface SinkWriteOptions {
  /** The source the batch came from (`file:PATH`, `webhook:CLUSTER`, `import`). */
  source: string;
  /** Whether to say which records were new (only when a follower sink will be told). */
  fresh: boolean;
}

export interface Sink {
  readonly name: string;
  /**
   * `durable`: the batch is acknowledged to its source only after write() resolves (the store, later a
   * forwarder that must not lose events); the first durable sink that reports a SinkWrite decides which
   * records are new. `follower`: told after every durable sink has the batch, of the new records only;
   * never blocks, never fails the batch.
   */
  readonly role: 'durable' | 'follower';
  write(records: readonly EventRecord[], opts: SinkWriteOptions): Promise<SinkWrite | void> | void;
  /** Flushes and releases what the sink holds (the pipeline is closing). */
  close?(): Promise<void>;
}
