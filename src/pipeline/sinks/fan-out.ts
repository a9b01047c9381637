// Writes one batch to every sink of a topology by the rules of src/pipeline/contracts.ts: the durable
// sinks first (all of them, concurrently; the batch fails if one fails), then the follower sinks with the
// records newly stored. The first durable sink that reports a SinkWrite (the store) decides what is new.
import type { EventRecord } from '../../core/event.js';
import type { Sink, SinkWrite } from '../contracts.js';

export interface FanOutResult {
  stored: number;
  duplicates: number;
  /** The records newly stored (all of them when no durable sink deduplicates). */
  fresh: readonly EventRecord[];
}

export class SinkSet {
  private readonly durable: Sink[];
  private readonly followers: Sink[];

  constructor(
    readonly sinks: readonly Sink[],
    private readonly onFollowerError: (sink: string, err: unknown) => void = () => undefined,
  ) {
    this.durable = sinks.filter((s) => s.role === 'durable');
    this.followers = sinks.filter((s) => s.role === 'follower');
  }

  async write(records: readonly EventRecord[], source: string): Promise<FanOutResult> {
    const opts = { source, fresh: this.followers.length > 0 };
    let primary: SinkWrite | undefined;
    if (this.durable.length === 1) primary = (await this.durable[0]!.write(records, opts)) ?? undefined;
    else {
      const results = await Promise.all(this.durable.map((s) => s.write(records, opts)));
      primary = results.find((r): r is SinkWrite => r !== undefined);
    }
    const stored = primary?.stored ?? records.length;
    const fresh = primary?.fresh ? primary.fresh.map((i) => records[i]!) : records;
    for (const f of this.followers) {
      try {
        const done = f.write(fresh, opts);
        if (done) done.catch((err: unknown) => this.onFollowerError(f.name, err));
      } catch (err) {
        this.onFollowerError(f.name, err);
      }
    }
    return { stored, duplicates: primary?.duplicates ?? 0, fresh };
  }

  async close(): Promise<void> {
    for (const s of this.sinks) await s.close?.();
  }
}
