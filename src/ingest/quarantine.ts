// Where records that are not events go: counted, the first few kept for the summary, and every one
// written (with file, line, reason and the raw text, cut to 64 KiB) to a JSON-lines quarantine file that
// is created only when the first bad record arrives. With a data key, each line keeps time, file, line
// and column in clear and holds the reason and the raw text sealed (src/crypto/sealed-records.ts);
// readQuarantineFile reads either kind of line back.
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { DataKey } from '../crypto/cipher.js';
import { openFields, resealJsonLinesFile, sealFields, type Reseal } from '../crypto/sealed-records.js';

export interface BadRecord {
  file: string;
  line: number;
  column?: number;
  reason: string;
  raw: string;
}

export interface Quarantine {
  add(bad: BadRecord): void;
  readonly count: number;
  /** The first 20 bad records. */
  readonly samples: BadRecord[];
  close(): Promise<void>;
}

export const MAX_RAW = 64 * 1024;

function cut(bad: BadRecord): BadRecord {
  return bad.raw.length > MAX_RAW
    ? { ...bad, raw: `${bad.raw.slice(0, MAX_RAW)}…[${bad.raw.length - MAX_RAW} more bytes]` }
    : bad;
}

export function createMemoryQuarantine(): Quarantine & { readonly all: BadRecord[] } {
  const all: BadRecord[] = [];
  return {
    add: (bad) => void all.push(cut(bad)),
    get count() {
      return all.length;
    },
    get samples() {
      return all.slice(0, 20);
    },
    all,
    close: async () => undefined,
  };
}

/** The AAD of a sealed quarantine line. */
const QUARANTINE_AAD = 'kubetrail quarantine';
/** Fields of a quarantine line kept in clear when the rest is sealed. */
const CLEAR_FIELDS = ['time', 'file', 'line', 'column'];

export interface FileQuarantineOptions {
  /** The data key: the reason and the raw text of each line are sealed with it. */
  key?: DataKey;
}

export function createFileQuarantine(file: string, opts: FileQuarantineOptions = {}): Quarantine {
  let stream: WriteStream | undefined;
  let count = 0;
  const samples: BadRecord[] = [];
  return {
    add(bad) {
      const b = cut(bad);
      count++;
      if (samples.length < 20) samples.push(b);
      if (!stream) {
        mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        stream = createWriteStream(file, { flags: 'a' });
      }
      const line = sealFields(
        { time: new Date().toISOString(), ...b },
        CLEAR_FIELDS,
        opts.key,
        QUARANTINE_AAD,
      );
      stream.write(`${JSON.stringify(line)}\n`);
    },
    get count() {
      return count;
    },
    get samples() {
      return samples;
    },
    close() {
      const s = stream;
      if (!s) return Promise.resolve();
      return new Promise<void>((resolve, reject) =>
        s.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    },
  };
}

/**
 * The records of a quarantine file, sealed lines opened with the key (KT_KEY_REQUIRED for a sealed line
 * without one, KT_KEY_MISMATCH with another key).
 */
export function readQuarantineFile(file: string, key?: DataKey): (BadRecord & { time: string })[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => openFields(JSON.parse(l) as Record<string, unknown>, key, QUARANTINE_AAD, file))
    .map((r) => r as unknown as BadRecord & { time: string });
}

/** Seals a quarantine file again with another key (`kubetrail key rotate`); returns its records. */
export function resealQuarantineFile(file: string, r: Reseal): Promise<number> {
  return resealJsonLinesFile(file, CLEAR_FIELDS, QUARANTINE_AAD, r);
}
