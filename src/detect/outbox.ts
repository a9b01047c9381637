// Delivers queued alerts to their outputs from the durable outbox: due deliveries are sent in batches;
// a success removes them, a failure schedules the next attempt with exponential backoff and jitter, and
// after the last attempt the delivery is kept as failed for inspection. Because the queue lives in the
// store, an alert raised before a crash is delivered when kubetrail runs again with the same output. An
// output may set its own number of attempts: the ClickHouse store's internal target never gives up.
import type { Delivery, DetectionState } from '../store/detection.js';
import type { AlertOutput } from './outputs.js';

export interface BackoffOptions {
  /** First retry delay, ms. */
  baseMs: number;
  /** Longest delay, ms. */
  maxMs: number;
  /** Attempts before giving up. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 300_000, maxAttempts: 20 };

/** Delay before attempt `attempts + 1`: base × 2^(attempts-1), capped, ±20% jitter. */
export function backoffDelay(attempts: number, o: BackoffOptions, random = Math.random): number {
  const raw = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export interface DispatchResult {
  sent: number;
  failed: number;
}

export class Dispatcher {
  private readonly outputs: Map<string, AlertOutput>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Deliveries made and failed attempts, since start. */
  readonly totals = { sent: 0, failed: 0 };
  lastError: string | undefined;

  constructor(
    private readonly store: DetectionState,
    outputs: readonly AlertOutput[],
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {
    this.outputs = new Map(outputs.map((o) => [o.name, o]));
  }

  /** One pass over the due deliveries of the configured outputs. */
  async runOnce(): Promise<DispatchResult> {
    const result = { sent: 0, failed: 0 };
    const due = (await this.store.due(this.now(), 1000)).filter((d) => this.outputs.has(d.output));
    const byOutput = new Map<string, Delivery[]>();
    for (const d of due) byOutput.set(d.output, [...(byOutput.get(d.output) ?? []), d]);
    for (const [name, list] of byOutput) {
      const out = this.outputs.get(name)!;
      for (let i = 0; i < list.length; i += out.batch) {
        const chunk = list.slice(i, i + out.batch);
        try {
          await out.send(chunk.map((d) => d.alert));
          await this.store.delivered(chunk.map((d) => ({ alertId: d.alert.id, output: name })));
          result.sent += chunk.length;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.lastError = message;
          const attempts = Math.max(...chunk.map((d) => d.attempts)) + 1;
          const giveUp = attempts >= (out.maxAttempts ?? this.backoff.maxAttempts);
          await this.store.retryLater(
            chunk.map((d) => ({ alertId: d.alert.id, output: name, attempts: d.attempts + 1 })),
            this.now() + backoffDelay(attempts, this.backoff),
            message,
            giveUp,
          );
          result.failed += chunk.length;
          // The rest of this output's deliveries wait for the same backoff.
          const rest = list.slice(i + out.batch);
          if (rest.length > 0) {
            await this.store.retryLater(
              rest.map((d) => ({ alertId: d.alert.id, output: name, attempts: d.attempts })),
              this.now() + backoffDelay(attempts, this.backoff),
              message,
              false,
            );
          }
          break;
        }
      }
    }
    this.totals.sent += result.sent;
    this.totals.failed += result.failed;
    return result;
  }

  /** Runs passes in the background: now, whenever notified, and when the next retry is due. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** New alerts were queued: deliver soon. */
  notify(): void {
    if (!this.stopped && this.outputs.size > 0) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) {
        void this.running.then(() => this.schedule(0));
        return;
      }
      this.running = this.pass().finally(() => (this.running = undefined));
    }, delayMs);
    this.timer.unref?.();
  }

  private async pass(): Promise<void> {
    try {
      await this.runOnce();
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
    }
    if (this.stopped) return;
    const next = await this.store.nextDue([...this.outputs.keys()]).catch(() => undefined);
    if (next !== undefined) this.schedule(Math.max(50, next - this.now()));
  }

  /**
   * Delivers what is due until nothing more is due before the deadline; returns how many deliveries are
   * still pending (they stay in the outbox for the next run).
   */
  async drain(timeoutMs: number): Promise<number> {
    this.stop();
    if (this.running) await this.running;
    const deadline = this.now() + timeoutMs;
    for (;;) {
      await this.runOnce();
      const next = await this.store.nextDue([...this.outputs.keys()]);
      if (next === undefined) return 0;
      if (next > deadline) break;
      await new Promise((r) => setTimeout(r, Math.max(10, next - this.now())));
    }
    return (await this.store.outboxCounts()).pending;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
