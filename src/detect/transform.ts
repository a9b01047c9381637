// Detection as a pipeline transform: events pass through unchanged while the engine evaluates them; the
// alerts raised are handed to a sink (stored, queued for outputs) after each batch, and the engine's
// state is checkpointed every few seconds and when the pipeline closes, so windows and first-seen
// values survive a restart.
import type { EventRecord } from '../core/event.js';
import type { Transform } from '../core/transform.js';
import type { EngineSnapshot } from './engine.js';
import type { DetectionEngine } from './engine.js';
import type { Alert } from './types.js';

export interface AlertSink {
  /** Receives the alerts of one batch, in order. */
  alerts(alerts: Alert[]): Promise<void>;
  /** Persists the engine's state. */
  checkpoint?(snapshot: EngineSnapshot): Promise<void>;
}

export interface DetectTransformOptions {
  /** Wall-clock time between state checkpoints, ms (default 10 s). */
  checkpointMs?: number;
}

export class DetectTransform implements Transform {
  readonly name = 'detect';
  private lastCheckpoint = Date.now();
  private raised = 0;

  constructor(
    readonly engine: DetectionEngine,
    private readonly sink: AlertSink,
    private readonly opts: DetectTransformOptions = {},
  ) {}

  /** Alerts raised so far. */
  get alertCount(): number {
    return this.raised;
  }

  async apply(batch: EventRecord[]): Promise<EventRecord[]> {
    const alerts = this.engine.processBatch(batch);
    if (alerts.length > 0) {
      this.raised += alerts.length;
      await this.sink.alerts(alerts);
    }
    if (this.sink.checkpoint && Date.now() - this.lastCheckpoint >= (this.opts.checkpointMs ?? 10_000)) {
      this.lastCheckpoint = Date.now();
      await this.sink.checkpoint(this.engine.snapshot());
    }
    return batch;
  }

  async close(): Promise<void> {
    await this.sink.checkpoint?.(this.engine.snapshot());
  }
}
