// Source: files, directories of rotated logs, gzip and standard input, for `import` and `query --file`:
// a finite source (BatchSource) of decoded, normalized records. The reading and decoding itself is
// src/ingest/read.ts, below the pipeline, because the commands that only read events (detect, policy,
// scan, redact, stats) use it too; this is the pipeline's name for it.
import { readEvents, type ReadOptions } from '../../ingest/read.js';
import type { BatchSource } from '../contracts.js';

export type FilesOptions = ReadOptions;

/** The records of the inputs (paths, directories, `-` for stdin), in batches, bad records quarantined. */
export function filesSource(inputs: readonly string[], opts: FilesOptions = {}): BatchSource {
  return readEvents(inputs, opts);
}
