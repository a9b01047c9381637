// The contract between pipeline stages: src/pipeline runs them; ingest, policy, redact and detect
// provide them. Transforms take and return batches of records (batching keeps per-event overhead low); a
// transform drops a record by leaving it out of the returned batch.
import type { EventRecord } from './event.js';

export interface Transform {
  /** A verb: normalize, filter, redact, detect. */
  readonly name: string;
  apply(batch: EventRecord[]): EventRecord[] | Promise<EventRecord[]>;
  /** Flushes state (windows, checkpoints) before shutdown. */
  close?(): Promise<void>;
}

/** Runs transforms in order over one batch. */
export async function runTransforms(
  transforms: readonly Transform[],
  batch: EventRecord[],
): Promise<EventRecord[]> {
  let out = batch;
  for (const t of transforms) {
    if (out.length === 0) break;
    out = await t.apply(out);
  }
  return out;
}
