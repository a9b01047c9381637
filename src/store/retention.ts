// Retention: how long stored events are kept. A server configured with `retention` removes, at start and
// then every hour, the events of the UTC days that ended more than that long ago. Whole days only, so
// that ClickHouse drops day partitions (instant, nothing rewritten) and never runs a delete mutation, and
// so that several processes applying the same retention to one database do the same cheap thing.
// `kubetrail prune` removes events before any time on demand. Either way the store records the removal
// as a prune digest record (Store.deleteBefore), which the writer's IntegrityKeeper signs at once
// (src/integrity/keeper.ts), so that verification expects the removed events no more.
import type { Store } from './store.js';

export const DAY_MS = 86_400_000;

/** How often a server applies its retention. */
export const RETENTION_INTERVAL_MS = 3_600_000;

/**
 * The time (epoch µs, exclusive) before which events are removed: the start of the UTC day that contains
 * `nowMs - keepMs`, so every event is kept at least `keepMs`, and at most a day longer.
 */
export function retentionCutoff(nowMs: number, keepMs: number): number {
  return Math.floor((nowMs - keepMs) / DAY_MS) * DAY_MS * 1000;
}

export interface RetentionResult {
  /** Epoch µs: events before it were removed. */
  cutoff: number;
  removed: number;
}

export interface RetentionOptions {
  /** How long events are kept, in ms. */
  keepMs: number;
  intervalMs?: number;
  now?: () => number;
  onResult?: (r: RetentionResult) => void;
  onError?: (err: unknown) => void;
}

/** Applies a retention to a store at start and then periodically, one run at a time. */
export class RetentionTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionResult | undefined> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly opts: RetentionOptions,
  ) {}

  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs ?? RETENTION_INTERVAL_MS);
    this.timer.unref();
  }

  /** One application of the retention; undefined when one is already running or the task is stopped. */
  runOnce(): Promise<RetentionResult | undefined> {
    if (this.stopped || this.running) return Promise.resolve(undefined);
    this.running = (async () => {
      try {
        const cutoff = retentionCutoff((this.opts.now ?? Date.now)(), this.opts.keepMs);
        const removed = await this.store.deleteBefore(cutoff);
        const result = { cutoff, removed };
        this.opts.onResult?.(result);
        return result;
      } catch (err) {
        this.opts.onError?.(err);
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
