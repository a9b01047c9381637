// Rewriting every segment file of a directory in place, one file at a time, each replaced atomically: the
// walk that re-sealing the segment log and the forwarder queues under a new key share (each knows its
// own frames). A missing directory holds nothing.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './state-file.js';

/**
 * Rewrites each file of `dir` whose name matches `names` (in name order) with what `rewrite` makes of
 * its bytes; returns the sum of the counts `rewrite` reports (e.g. the records it changed).
 */
export async function rewriteSegmentFiles(
  dir: string,
  names: RegExp,
  rewrite: (bytes: Buffer, file: string) => { bytes: Buffer; count: number },
): Promise<number> {
  let found: string[];
  try {
    found = (await readdir(dir)).filter((n) => names.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let count = 0;
  for (const name of found) {
    const file = path.join(dir, name);
    const out = rewrite(await readFile(file), file);
    await writeFileAtomic(file, out.bytes);
    count += out.count;
  }
  return count;
}
