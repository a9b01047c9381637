// `import` through the topology (src/pipeline/topology.ts): a finite source (files, directories, stdin
// or generated events) through the transforms in the one order into the sinks of the registry (the
// store), with a summary of what was read, stored, dropped, set aside and cut.
import { DEFAULT_MAX_EVENT_BYTES } from '../ingest/truncate.js';
import type { Policy } from '../policy/types.js';
import type { Store } from '../store/store.js';
import type { BatchSource, Transform } from './contracts.js';
import type { SinkFactory } from './sinks/index.js';
import { buildTopology, runBatch, type BatchProgress } from './topology.js';
import type { ForwarderSet } from '../forward/index.js';

/**
 * DuckDB's memory limit for an import (the store is opened by the command with it). An import only
 * appends: its working set is the write in flight and the rows not yet checkpointed, which DuckDB
 * spills to its temporary directory beyond the limit. Bounded low so that the peak memory of an import
 * grows less with the input (1M events: 1,057 MB at 512 MB, 662 MB at 128 MB; docs/benchmarks.md
 * "Memory"). The server's own limit is pipeline.duckdbMemoryMB.
 */
export const IMPORT_DUCKDB_MEMORY = '128MB';

/**
 * Events gathered into one store write by an import: two writes are held at once (one being built, one
 * being written), so this bounds the JavaScript heap (10,000 before: a 100k import's heap peaked at 197 MB
 * then, 138 MB now).
 */
export const IMPORT_WRITE_BATCH = 5000;

export interface ImportSummary {
  /** Events decoded from the source. */
  read: number;
  /** Events newly stored. */
  stored: number;
  /** Events already in the store. */
  duplicates: number;
  /** Events the transforms dropped (policy level None, omitted stages). */
  dropped: number;
  /** Records set aside as not being events. */
  quarantined: number;
  /** Events larger than the cap, stored without their bodies (annotation audit.k8s.io/truncated). */
  truncated: number;
  seconds: number;
  /** Events read per second. */
  rate: number;
}

export interface ImportRun {
  source: BatchSource;
  store: Store;
  policy?: Policy;
  redaction?: Transform;
  detection?: Transform;
  /** Event forwarders, a durable sink beside the store (opened and closed by the caller). */
  forward?: ForwarderSet;
  /** Transforms of the caller's own, after redaction and before detection. */
  transforms?: readonly Transform[];
  /** The sink factories (default: the registry). */
  sinkFactories?: readonly SinkFactory[];
  /** Current count of quarantined records (read at the end). */
  quarantined?: () => number;
  onBatch?: (progress: BatchProgress) => void;
  /** Events gathered into one store write (larger writes are much cheaper per event). */
  writeBatch?: number;
  /** Largest event stored whole, in bytes (default DEFAULT_MAX_EVENT_BYTES). */
  maxEventBytes?: number;
}

export async function runImport(run: ImportRun): Promise<ImportSummary> {
  const started = performance.now();
  let truncated = 0;
  const topology = buildTopology({
    ...(run.policy ? { policy: run.policy } : {}),
    maxEventBytes: run.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    onTruncated: () => void truncated++,
    ...(run.redaction ? { redaction: run.redaction } : {}),
    ...(run.transforms ? { extra: run.transforms } : {}),
    ...(run.detection ? { detection: run.detection } : {}),
    sinks: { store: run.store, ...(run.forward ? { forward: run.forward } : {}) },
    ...(run.sinkFactories ? { sinkFactories: run.sinkFactories } : {}),
  });
  const result = await runBatch(run.source, topology, {
    source: 'import',
    writeBatch: run.writeBatch ?? IMPORT_WRITE_BATCH,
    ...(run.onBatch ? { onBatch: run.onBatch } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    ...result,
    quarantined: run.quarantined?.() ?? 0,
    truncated,
    seconds,
    rate: seconds > 0 ? result.read / seconds : result.read,
  };
}
