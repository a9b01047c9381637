// The digest file: every digest record this writer committed, one JSON object a line (a batch record holds
// the hash of its entries; a back end that hands the entries over has them written too, as [hash,
// cluster, auditID, stage, time µs] arrays), appended and fsync'd, never rewritten,
// so that it can be shipped off the machine as it grows (`tail -F`, a log shipper). Reading it back for
// verification, and repairing the end when a crash cut a line short.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { KubetrailError } from '../core/errors.js';
import type { DigestEntry, DigestRecord } from '../store/integrity.js';

type EntryTuple = [string, string, string, string, number];

/** One line of the file. */
export type DigestLine = DigestRecord & { entries?: EntryTuple[] };

export function lineOf(record: DigestRecord, entries?: readonly DigestEntry[]): string {
  const line: DigestLine =
    record.kind === 'batch' && entries
      ? { ...record, entries: entries.map((e) => [e.hash, e.cluster, e.auditID, e.stage, e.ts]) }
      : record;
  return `${JSON.stringify(line)}\n`;
}

export function entriesOf(line: DigestLine): DigestEntry[] | undefined {
  return line.entries?.map(([hash, cluster, auditID, stage, ts]) => ({ hash, cluster, auditID, stage, ts }));
}

/** What a digest file holds, as read for verification. */
export interface DigestFileContents {
  records: DigestRecord[];
  /** The entries of each batch record, by `writer\nseq`. */
  entries: Map<string, DigestEntry[]>;
  /** Lines that are not digest records (1-based line numbers). */
  bad: { line: number; reason: string }[];
}

export const entriesKey = (writer: string, seq: number): string => `${writer}\n${seq}`;

function fileError(file: string, what: string, err: unknown): KubetrailError {
  return new KubetrailError('KT_INTEGRITY_DIGESTS', `${what} ${file}: ${(err as Error).message}`, {
    where: { file },
    cause: err,
  });
}

function isRecord(v: unknown): v is DigestLine {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.writer === 'string' &&
    typeof r.seq === 'number' &&
    typeof r.at === 'number' &&
    typeof r.chain === 'string' &&
    (r.kind === 'batch' || r.kind === 'prune' || r.kind === 'rekey' || r.kind === 'sign')
  );
}

/** Reads a whole digest file. A line cut short at the end counts as a bad line. */
export function readDigestFile(file: string): DigestFileContents {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new KubetrailError('KT_INPUT_NOT_FOUND', `no digest file at ${file}`, { where: { file } });
    throw fileError(file, 'cannot read the digest file', err);
  }
  const out: DigestFileContents = { records: [], entries: new Map(), bad: [] };
  const lines = text.split('\n');
  // The text after the last newline is a line cut short (empty when the file ends with a newline).
  for (const [i, l] of lines.entries()) {
    if (l === '' && i === lines.length - 1) break;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      out.bad.push({ line: i + 1, reason: i === lines.length - 1 ? 'cut short' : 'not JSON' });
      continue;
    }
    if (!isRecord(v)) {
      out.bad.push({ line: i + 1, reason: 'not a digest record' });
      continue;
    }
    const entries = entriesOf(v);
    delete v.entries;
    out.records.push(v);
    if (entries) out.entries.set(entriesKey(v.writer, v.seq), entries);
  }
  return out;
}

/** The digest file as its writer appends to it. */
export class DigestFile {
  private constructor(
    readonly file: string,
    private fd: number | undefined,
    /** The last record in the file when it was opened. */
    readonly last: DigestRecord | undefined,
  ) {}

  /**
   * Opens the file for appending (created with its directory when absent, mode 0644). A last line cut
   * short by a crash is cut off, so that the next record starts on a line of its own.
   */
  static open(file: string): DigestFile {
    let fd: number | undefined;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      fd = openSync(file, 'a+', 0o644);
      let size = fstatSync(fd).size;
      // Cut a line a crash left without its end.
      const end = lastNewline(fd, size, size);
      if (end !== size - 1) {
        size = end + 1;
        ftruncateSync(fd, size);
        fsyncSync(fd);
      }
      let last: DigestRecord | undefined;
      if (size > 0) {
        const start = lastNewline(fd, size - 1, size) + 1;
        const buf = Buffer.alloc(size - start);
        readSync(fd, buf, 0, buf.length, start);
        const v: unknown = JSON.parse(buf.toString('utf8'));
        if (!isRecord(v)) throw new Error('its last line is not a digest record');
        delete v.entries;
        last = v;
      }
      return new DigestFile(file, fd, last);
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw fileError(file, 'cannot open the digest file', err);
    }
  }
  /** Appends records (with the entries of a batch record) and waits until they are on disk. */
  append(lines: readonly string[]): void {
    if (this.fd === undefined) throw new KubetrailError('KT_INTEGRITY_DIGESTS', `${this.file} is closed`);
    try {
      const buf = Buffer.from(lines.join(''), 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      fsyncSync(this.fd);
    } catch (err) {
      throw fileError(this.file, 'cannot append to the digest file', err);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Position of the last newline before `before` (exclusive), reading backwards; -1 when there is none. */
function lastNewline(fd: number, before: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let end = Math.min(before, size);
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    const i = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (i >= 0) return start + i;
    end = start;
  }
  return -1;
}
