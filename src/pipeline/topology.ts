// The one topology of the write path, used by `serve` (live sources through the ingest queue), `import`
// and `query --file` (a finite source, run here): the transforms in the one order
// (src/pipeline/transforms/) and the sinks from the registry (src/pipeline/sinks/), fanned out by the
// rules of src/pipeline/contracts.ts.
//
//   sources ──> decode (src/ingest) ──> policy ─> size cap ─> redact ─> [caller's] ─> detect ──┬─> durable: store
//                                                                                               └─> followers: live, alerts
//
// A finite source is read one batch ahead of the writer: batches are transformed as they are read and
// gathered into writes of `writeBatch` events, with at most one write in flight, so memory is bounded by
// two writes whatever the input size.
import type { EventRecord } from '../core/event.js';
import type { BatchSource, Transform } from './contracts.js';
import { SinkSet } from './sinks/fan-out.js';
import { buildSinks, type SinkContext, type SinkFactory } from './sinks/index.js';
import { buildTransforms } from './transforms/index.js';
import type { StageOptions } from './transforms/stage.js';

export interface TopologyOptions extends StageOptions {
  /** What the sinks are built from. */
  sinks: SinkContext;
  /** The sink factories (default: the registry, SINKS). */
  sinkFactories?: readonly SinkFactory[];
  /** Hears a follower sink's failure (it never fails the batch). */
  onSinkError?: (sink: string, err: unknown) => void;
}

export interface Topology {
  readonly transforms: readonly Transform[];
  readonly sinks: SinkSet;
  /** Flushes the transforms' state (detection windows) and closes the sinks. */
  close(): Promise<void>;
}

export function buildTopology(o: TopologyOptions): Topology {
  const transforms = buildTransforms(o);
  const sinks = new SinkSet(buildSinks(o.sinks, o.sinkFactories), o.onSinkError);
  return {
    transforms,
    sinks,
    close: async () => {
      for (const t of transforms) await t.close?.();
      await sinks.close();
    },
  };
}

export interface BatchRunOptions {
  /** The source name the sinks are told. */
  source: string;
  /** Events gathered into one sink write (larger writes are much cheaper per event). */
  writeBatch?: number;
  onBatch?: (progress: BatchProgress) => void;
}

export interface BatchProgress {
  /** Records read from the source. */
  read: number;
  /** Records newly stored (as the first durable sink says). */
  stored: number;
  duplicates: number;
}

export interface BatchResult extends BatchProgress {
  /** Records the transforms left out (policy level None, omitted stages). */
  dropped: number;
}

/** Runs a finite source through the topology to its end; see the header comment. */
export async function runBatch(
  source: BatchSource,
  topology: Topology,
  opts: BatchRunOptions,
): Promise<BatchResult> {
  const { transforms, sinks } = topology;
  const progress: BatchProgress = { read: 0, stored: 0, duplicates: 0 };
  let dropped = 0;
  let pending: Promise<void> | undefined;

  const write = async (batch: EventRecord[]) => {
    const result = await sinks.write(batch, opts.source);
    progress.stored += result.stored;
    progress.duplicates += result.duplicates;
    opts.onBatch?.({ ...progress });
  };

  const writeBatch = opts.writeBatch ?? 10_000;
  let gathered: EventRecord[] = [];
  const flush = async () => {
    if (pending) await pending;
    const out = gathered;
    gathered = [];
    pending = out.length > 0 ? write(out) : undefined;
    // Marked handled now; the error is raised by the next await of `pending`, in order.
    pending?.catch(() => undefined);
  };
  for await (const batch of source) {
    progress.read += batch.length;
    let out = batch;
    for (const t of transforms) {
      if (out.length === 0) break;
      out = await t.apply(out);
    }
    dropped += batch.length - out.length;
    for (const r of out) gathered.push(r);
    if (gathered.length >= writeBatch) await flush();
  }
  await flush();
  if (pending) await pending;
  await topology.close();
  return { ...progress, dropped };
}
