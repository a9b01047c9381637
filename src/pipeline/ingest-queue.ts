// The live pipeline's one bounded queue between the live sources and the topology's sinks. Sources hand
// in batches of records; a single writer loop gathers what is waiting into one write per source (group
// commit), runs the topology's transforms on it, writes it to the sinks (durable ones first; followers,
// such as the live stream, hear only the records newly stored, so a batch sent again reaches none), and
// only then settles each submission. A full queue either makes the caller wait (file sources:
// backpressure) or refuses at once (webhook: the API server is told to retry).
import type { EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { runTransforms } from '../core/transform.js';
import type { Topology } from './topology.js';

/** What a write settles each of its submissions with. */
export interface WriteResult {
  stored: number;
  duplicates: number;
}

export interface QueueOptions {
  /** Most events waiting or being written at once; beyond it sources wait or are refused. */
  capacity: number;
  /** Most events in one store write. */
  maxWrite: number;
  /** How long the writer lingers to gather a larger write when little is waiting (ms). */
  lingerMs: number;
}

export interface SourceCounts {
  received: number;
  stored: number;
  duplicates: number;
  dropped: number;
}

export interface QueueListener {
  /** After each write attempt, its duration in seconds and whether it failed. */
  wrote?(seconds: number, source: string, failed: boolean): void;
}

interface Submission {
  source: string;
  records: EventRecord[];
  resolve: (r: WriteResult & { dropped: number }) => void;
  reject: (e: unknown) => void;
}

export class OverloadedError extends KubetrailError {
  constructor(readonly retryAfterSeconds: number) {
    super('KT_OVERLOADED', 'the pipeline is full');
  }
}

export class IngestQueue {
  private waiting: Submission[] = [];
  /** Events waiting or in a write. */
  private inFlight = 0;
  private spaceWaiters: (() => void)[] = [];
  private wake: (() => void) | undefined;
  private closing = false;
  private loop: Promise<void>;
  readonly counts = new Map<string, SourceCounts>();
  private readonly listeners: QueueListener[] = [];

  constructor(
    private readonly topology: Topology,
    private readonly opts: QueueOptions,
  ) {
    this.loop = this.run();
  }

  /** Events waiting or being written. */
  get depth(): number {
    return this.inFlight;
  }

  get capacity(): number {
    return this.opts.capacity;
  }

  listen(l: QueueListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private countsOf(source: string): SourceCounts {
    let c = this.counts.get(source);
    if (!c) {
      c = { received: 0, stored: 0, duplicates: 0, dropped: 0 };
      this.counts.set(source, c);
    }
    return c;
  }

  /**
   * Refuses at once when the batch does not fit (OverloadedError); otherwise resolves once the batch is
   * durably stored. A batch larger than the whole capacity is accepted when the queue is empty.
   */
  offer(records: EventRecord[], source: string): Promise<WriteResult & { dropped: number }> {
    if (this.closing)
      return Promise.reject(new KubetrailError('KT_OVERLOADED', 'the server is shutting down'));
    if (this.inFlight > 0 && this.inFlight + records.length > this.opts.capacity)
      return Promise.reject(new OverloadedError(1));
    return this.enqueue(records, source);
  }

  /** Waits for room (backpressure), then resolves once the batch is durably stored. */
  async submit(records: EventRecord[], source: string): Promise<WriteResult & { dropped: number }> {
    while (this.inFlight > 0 && this.inFlight + records.length > this.opts.capacity && !this.closing) {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    if (this.closing) throw new KubetrailError('KT_OVERLOADED', 'the server is shutting down');
    return this.enqueue(records, source);
  }

  private enqueue(records: EventRecord[], source: string): Promise<WriteResult & { dropped: number }> {
    this.countsOf(source).received += records.length;
    if (records.length === 0) return Promise.resolve({ stored: 0, duplicates: 0, dropped: 0 });
    this.inFlight += records.length;
    return new Promise((resolve, reject) => {
      this.waiting.push({ source, records, resolve, reject });
      this.wake?.();
    });
  }

  private freed(n: number): void {
    this.inFlight -= n;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.waiting.length === 0) {
        if (this.closing) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      const queued = this.waiting.reduce((a, s) => a + s.records.length, 0);
      if (queued < this.opts.maxWrite && this.opts.lingerMs > 0 && !this.closing) {
        await new Promise((r) => setTimeout(r, this.opts.lingerMs));
      }
      // Take the oldest source's submissions, up to maxWrite events (at least one submission).
      const source = this.waiting[0]!.source;
      const taken: Submission[] = [];
      let events = 0;
      this.waiting = this.waiting.filter((s) => {
        if (s.source !== source || (taken.length > 0 && events + s.records.length > this.opts.maxWrite))
          return true;
        taken.push(s);
        events += s.records.length;
        return false;
      });
      await this.write(source, taken, events);
    }
  }

  private async write(source: string, taken: Submission[], events: number): Promise<void> {
    const started = performance.now();
    const c = this.countsOf(source);
    try {
      const batch = taken.length === 1 ? taken[0]!.records : taken.flatMap((s) => s.records);
      const out = await runTransforms(this.topology.transforms, batch);
      const result = await this.topology.sinks.write(out, source);
      const dropped = batch.length - out.length;
      c.stored += result.stored;
      c.duplicates += result.duplicates;
      c.dropped += dropped;
      for (const l of this.listeners) l.wrote?.((performance.now() - started) / 1000, source, false);
      // Per-submission results are the totals of the write they were part of.
      const totals = { stored: result.stored, duplicates: result.duplicates, dropped };
      for (const s of taken) s.resolve(totals);
    } catch (err) {
      for (const l of this.listeners) l.wrote?.((performance.now() - started) / 1000, source, true);
      for (const s of taken) s.reject(err);
    } finally {
      this.freed(events);
    }
  }

  /** Stops accepting, writes everything already accepted, and closes the topology (transforms, sinks). */
  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
    await this.loop;
    await this.topology.close();
  }
}
