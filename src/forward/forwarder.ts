// One forwarder: the write path appends selected records to its disk queue; its own delivery loop takes
// batches from the queue, sends them, retries what the destination refused for a while (exponential
// backoff with full jitter, or the Retry-After it asked for), writes what it refused for good to the
// dead-letter file (NDJSON, with the error), and only then marks the batch done in the queue. A slow or
// dead destination holds up only its own loop. With a data key, the queue's payloads are sealed, and so
// is each dead-letter line but for its time, forwarder, cluster and hash (src/crypto/sealed-records.ts).
import { open } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DataKey } from '../crypto/cipher.js';
import { resealJsonLinesFile, sealFields, type Reseal } from '../crypto/sealed-records.js';
import { DiskQueue } from './disk-queue.js';
import type { ResolvedForwarder } from './spec.js';
import type { Destination, ForwardRecord } from './types.js';

export interface ForwarderStats {
  name: string;
  kind: string;
  /** Records delivered. */
  sent: number;
  /** Records sent again after a failure. */
  retried: number;
  /** Records dropped from a full queue (`drop-oldest`). */
  dropped: number;
  /** Records written to the dead-letter file. */
  deadLettered: number;
  queueBytes: number;
  queueRecords: number;
  queueCapacityBytes: number;
  /** Age of the oldest record not delivered, in seconds (0 when none). */
  oldestSeconds: number;
}

export interface ForwarderLog {
  (level: 'warn' | 'error' | 'info', message: string, fields: Record<string, unknown>): void;
}

/** Full-jitter backoff: a random delay up to initial·2^(attempt-1), capped. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(random() * cap);
}

/** The AAD of a sealed dead-letter line. */
export const DEAD_LETTER_AAD = 'kubetrail dead letter';
/** Fields of a dead-letter line kept in clear when the rest is sealed. */
const DEAD_LETTER_CLEAR = ['time', 'forwarder', 'cluster', 'hash'];

/** Seals a dead-letter file again with another key (`kubetrail key rotate`); returns its records. */
export function resealDeadLetterFile(file: string, r: Reseal): Promise<number> {
  return resealJsonLinesFile(file, DEAD_LETTER_CLEAR, DEAD_LETTER_AAD, r);
}

export class Forwarder {
  private stats = { sent: 0, retried: 0, deadLettered: 0 };
  private stopping = false;
  private wake: () => void = () => undefined;
  private readonly stopSignal = new Promise<void>((r) => (this.wake = r));
  private loop: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(
    readonly def: ResolvedForwarder,
    private readonly queue: DiskQueue,
    private readonly destination: Destination,
    private readonly log: ForwarderLog,
    private readonly key?: DataKey,
  ) {}

  /** Opens the forwarder's queue; with `key`, the queue and the dead-letter file are sealed with it. */
  static async open(
    def: ResolvedForwarder,
    destination: Destination,
    log: ForwarderLog,
    key?: DataKey,
  ): Promise<Forwarder> {
    const queue = await DiskQueue.open(
      path.join(def.dir, 'queue'),
      def.config.queueBytes,
      def.config.whenFull,
      key,
    );
    return new Forwarder(def, queue, destination, log, key);
  }

  get name(): string {
    return this.def.name;
  }

  /** Appends records (already selected) to the queue, durably; waits when full under `block`. */
  async write(records: readonly ForwardRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { batchEvents, batchBytes } = this.def.config;
    // Frames of at most a quarter of the queue's bound, appended at most half the bound at a time, so
    // that a large store write fits the bound under either policy.
    const frameBytes = Math.max(1024, Math.min(batchBytes, Math.floor(this.queue.maxBytes / 4)));
    const frames: { payload: Buffer; count: number }[] = [];
    let lines: string[] = [];
    let bytes = 0;
    const flush = () => {
      if (lines.length === 0) return;
      frames.push({ payload: Buffer.from(lines.join('')), count: lines.length });
      lines = [];
      bytes = 0;
    };
    for (const r of records) {
      const line = `${JSON.stringify({ c: r.cluster, h: r.hash, e: r.event })}\n`;
      if (lines.length >= batchEvents || (lines.length > 0 && bytes + line.length > frameBytes)) flush();
      lines.push(line);
      bytes += line.length;
    }
    flush();
    let group: typeof frames = [];
    let groupBytes = 0;
    for (const f of frames) {
      if (group.length > 0 && groupBytes + f.payload.length > this.queue.maxBytes / 2) {
        await this.queue.append(group);
        group = [];
        groupBytes = 0;
      }
      group.push(f);
      groupBytes += f.payload.length;
    }
    if (group.length > 0) await this.queue.append(group);
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      this.log('error', 'forwarder stopped on an internal error', {
        forwarder: this.name,
        err: (err as Error).message,
      });
    });
  }

  snapshot(): ForwarderStats {
    const oldest = this.queue.oldestTime;
    return {
      name: this.name,
      kind: this.def.target.kind,
      ...this.stats,
      dropped: this.queue.dropped,
      queueBytes: this.queue.pendingBytes,
      queueRecords: this.queue.pendingRecords,
      queueCapacityBytes: this.queue.maxBytes,
      oldestSeconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    };
  }

  private async run(): Promise<void> {
    const { batchEvents, batchBytes } = this.def.config;
    while (!this.stopping) {
      await this.queue.waitForData(this.stopSignal);
      if (this.stopping) return;
      // A batch being sent cannot be dropped: it takes at most half the queue's bound, so that
      // drop-oldest can always keep the queue within it.
      const frames = await this.queue.take(
        batchEvents,
        Math.min(batchBytes, Math.floor(this.queue.maxBytes / 2)),
      );
      if (frames.length === 0) continue;
      const records: ForwardRecord[] = [];
      const unreadable: string[] = [];
      for (const f of frames) {
        for (const line of f.payload.toString('utf8').split('\n')) {
          if (line === '') continue;
          try {
            const o = JSON.parse(line) as { c: string; h: string; e: ForwardRecord['event'] };
            records.push({ cluster: o.c, hash: o.h, event: o.e });
          } catch {
            unreadable.push(line);
          }
        }
      }
      if (unreadable.length > 0)
        await this.deadLetter(unreadable.map((raw) => ({ raw, error: 'queue record is not JSON' })));
      if (!(await this.deliver(records))) return; // stopping: the batch stays in the queue
      await this.queue.done();
    }
  }

  /** Sends a batch until every record is delivered or dead-lettered; false when stopped first. */
  private async deliver(records: ForwardRecord[]): Promise<boolean> {
    let pending = records;
    let attempt = 0;
    while (pending.length > 0) {
      if (this.stopping) return false;
      const outcome = await this.destination.send(pending);
      if (outcome.dead.length > 0) {
        await this.deadLetter(outcome.dead.map((d) => ({ record: pending[d.index]!, error: d.error })));
        this.stats.deadLettered += outcome.dead.length;
      }
      this.stats.sent += pending.length - outcome.retry.length - outcome.dead.length;
      if (outcome.retry.length === 0) {
        if (this.lastError !== undefined)
          this.log('info', 'forwarder delivering again', { forwarder: this.name });
        this.lastError = undefined;
        return true;
      }
      attempt++;
      if (outcome.retryError !== this.lastError || attempt === 1)
        this.log('warn', 'forwarder delivery failed; retrying', {
          forwarder: this.name,
          error: outcome.retryError,
          records: outcome.retry.length,
        });
      this.lastError = outcome.retryError;
      pending = outcome.retry.map((i) => pending[i]!);
      this.stats.retried += pending.length;
      const delay = Math.max(
        outcome.retryAfterMs ?? 0,
        backoffMs(attempt, this.def.config.retryInitialMs, this.def.config.retryMaxMs),
      );
      await this.sleep(delay);
    }
    return true;
  }

  private async deadLetter(items: { record?: ForwardRecord; raw?: string; error: string }[]): Promise<void> {
    mkdirSync(path.dirname(this.def.deadLetter), { recursive: true, mode: 0o700 });
    const time = new Date().toISOString();
    const text = items
      .map((i) =>
        JSON.stringify(
          sealFields(
            {
              time,
              forwarder: this.name,
              error: i.error,
              ...(i.record
                ? { cluster: i.record.cluster, hash: i.record.hash, event: i.record.event }
                : { raw: i.raw }),
            },
            DEAD_LETTER_CLEAR,
            this.key,
            DEAD_LETTER_AAD,
          ),
        ),
      )
      .join('\n');
    const fh = await open(this.def.deadLetter, 'a', 0o600);
    try {
      await fh.write(`${text}\n`);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    this.log('error', 'forwarder: records refused by the destination were written to the dead-letter file', {
      forwarder: this.name,
      records: items.length,
      file: this.def.deadLetter,
      error: items[0]?.error,
    });
  }

  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, ms))), this.stopSignal]);
    clearTimeout(timer);
  }

  /** Resolves once the queue is empty, or false after `idleMs` without any delivery progress. */
  async drained(idleMs: number): Promise<boolean> {
    let last = this.queue.pendingRecords;
    let since = Date.now();
    while (this.queue.pendingRecords > 0) {
      if (this.stopping) return false;
      await new Promise((r) => setTimeout(r, 20));
      const now = this.queue.pendingRecords;
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > idleMs) return false;
    }
    return true;
  }

  /** Appends that would wait for room are refused from now on (see DiskQueue.refuseWaiting). */
  refuseWaiting(): void {
    this.queue.refuseWaiting();
  }

  /**
   * Stops: appends are refused, the loop ends (a batch being sent is awaited up to `graceMs`, and stays
   * in the queue unless it was delivered), then the queue and the destination are closed.
   */
  async close(graceMs = 2000): Promise<void> {
    this.stopping = true;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.queue.close();
    await this.destination.close();
  }
}
