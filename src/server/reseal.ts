// Sealing the files under a data directory again with another data key, for `kubetrail key rotate`
// (the store's own rows and detection tables are re-sealed by the rotation of the store): the quarantine,
// the access log, the webhook's segment log, each forwarder's queue and dead-letter file
// (DATADIR/forward/NAME/) and detection's local state file (DATADIR/detect.duckdb, beside a ClickHouse
// store). The server must be stopped. Each file is replaced atomically and each step is idempotent (what
// an interrupted run re-sealed already opens with the new key), so a rotation that stopped half-way is
// finished by running it again with the same two keys. Files written without a key get sealed where
// their format allows it (the JSON-lines files and detection's tables); plain records in the segment log
// and forwarder queues stay as they are (they are read as they are, and leave when delivered).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Reseal } from '../crypto/sealed-records.js';
import { resealDeadLetterFile } from '../forward/forwarder.js';
import { resealDiskQueue } from '../forward/disk-queue.js';
import { resealQuarantineFile } from '../ingest/quarantine.js';
import { resealSegmentLog } from '../pipeline/segment-log.js';
import { resealDetectionStateFile } from '../store/open.js';
import { resealAccessLog } from './auth/access-log.js';

/** Records re-sealed, by file. */
export type ResealReport = { file: string; records: number }[];

export async function resealDataDir(dataDir: string, r: Reseal): Promise<ResealReport> {
  const dir = path.resolve(dataDir);
  const report: ResealReport = [];
  const note = async (file: string, records: Promise<number>) => {
    const n = await records;
    if (n > 0) report.push({ file, records: n });
  };
  const at = (...p: string[]) => path.join(dir, ...p);
  await note(at('quarantine.jsonl'), resealQuarantineFile(at('quarantine.jsonl'), r));
  await note(at('access.log'), resealAccessLog(at('access.log'), r));
  await note(at('segments'), resealSegmentLog(at('segments'), r));
  let forwarders: string[] = [];
  try {
    forwarders = (await readdir(at('forward'), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of forwarders.sort()) {
    await note(at('forward', name, 'queue'), resealDiskQueue(at('forward', name, 'queue'), r));
    const dead = at('forward', name, 'dead-letter.ndjson');
    await note(dead, resealDeadLetterFile(dead, r));
  }
  await note(at('detect.duckdb'), resealDetectionStateFile(at('detect.duckdb'), r));
  return report;
}
