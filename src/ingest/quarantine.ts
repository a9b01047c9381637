// Where records that are not events go: counted, the first few kept for the summary, and every one
// written (with file, line, reason and the raw text, cut to 64 KiB) to a JSON-lines quarantine file that
// is created only when the first bad record arrives.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

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

export function createFileQuarantine(file: string): Quarantine {
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
      stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...b })}\n`);
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
