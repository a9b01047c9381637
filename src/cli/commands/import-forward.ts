// `import --forward SPEC`: the forwarders of an import run. Their queues live beside the store (a DuckDB
// store's folder, or ./data) under forward/NAME; the import waits at its end until every queue is
// delivered, and ends with KT_FORWARD_DELIVERY (exit 3) when a forwarder makes no progress for
// --forward-wait: what it holds stays queued for the next run with the same forwarder.
import { parseDuration } from '../../core/duration.js';
import type { DataKey } from '../../crypto/cipher.js';
import { KubetrailError } from '../../core/errors.js';
import { ForwarderSet } from '../../forward/index.js';
import { forwardFromSpec } from '../../forward/options.js';
import { parseSpec } from '../../forward/spec.js';
import { n, type Io } from '../common.js';
import { safeText } from '../terminal.js';

export interface ImportForward {
  set: ForwarderSet;
  /** Waits for delivery and reports; the error to end with when a forwarder could not deliver. */
  finish(): Promise<KubetrailError | undefined>;
  close(): Promise<void>;
}

/** Opens the forwarders of `--forward` (undefined when there are none). */
export async function openImportForwarders(
  specs: readonly string[],
  wait: string,
  dataDir: string,
  io: Io,
  key?: DataKey,
): Promise<ImportForward | undefined> {
  if (specs.length === 0) return undefined;
  const waitMs = parseDuration(wait);
  if (waitMs === undefined || waitMs <= 0)
    throw new KubetrailError(
      'KT_USAGE',
      `--forward-wait takes a duration such as 60s or 5m, not ${JSON.stringify(wait)}`,
      {
        where: { path: '--forward-wait' },
      },
    );
  for (const s of specs) parseSpec(s, '--forward');
  const set = await ForwarderSet.open(specs.map(forwardFromSpec), {
    dataDir,
    where: '--forward',
    ...(key ? { key } : {}),
    log: (level, message, fields) => {
      if (level !== 'info') io.err(`forward: ${message} (${safeText(JSON.stringify(fields))})\n`);
    },
  });
  return {
    set,
    async finish() {
      const stuck = await set.drained(waitMs);
      for (const s of set.stats())
        io.err(
          `forwarded    ${s.name}: ${n(s.sent)} sent${s.deadLettered ? `, ${n(s.deadLettered)} dead-lettered` : ''}${s.queueRecords ? `, ${n(s.queueRecords)} still queued` : ''}\n`,
        );
      if (stuck.length === 0) return undefined;
      return new KubetrailError(
        'KT_FORWARD_DELIVERY',
        `${stuck.join(', ')} made no progress for ${wait}: the events not delivered stay queued under ${dataDir}/forward`,
        { hint: 'check the destination; the next serve or import with the same --forward delivers them' },
      );
    },
    close: () => set.close(),
  };
}
