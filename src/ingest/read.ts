// Reads audit events from files, directories of rotated logs, gzip files and standard input, as
// batches of normalized records. Lines are split on raw bytes and decoded once; a record longer than the
// maximum is skipped without being buffered whole. A document that spans lines (a pretty-printed Event or
// EventList, or a JSON array of events) is read whole. Bad records go to the quarantine, never stop reading.
// An input that cannot be opened (a directory entry that is a dangling link, a loop, a FIFO; a file without
// read permission) is reported through `onSkip` and the others are read; without `onSkip` it is an error.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DEFAULT_CLUSTER, type EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { listInputFiles, unreadableReason, type InputFile, type SkippedInput } from './files.js';
import { normalizeDocument } from './normalize.js';
import type { Quarantine } from './quarantine.js';
import { parseJsonText } from './json-text.js';

export interface ReadOptions {
  cluster?: string;
  quarantine?: Quarantine;
  /** Longest record accepted, in bytes (default 64 MiB). */
  maxRecordBytes?: number;
  batchSize?: number;
  onProgress?: (p: { bytesRead: number; totalBytes: number | undefined; file: string }) => void;
  signal?: AbortSignal;
  stdin?: NodeJS.ReadableStream;
  /** Hears each input that is skipped because it cannot be read; without it such an input is an error. */
  onSkip?: (skipped: SkippedInput) => void;
}

const NEWLINE = 0x0a;
const DEFAULT_MAX = 64 * 1024 * 1024;

function isGzipFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Decompressed chunks of one input; `onRaw` hears the compressed byte counts. */
async function* chunksOf(
  f: InputFile,
  opts: ReadOptions,
  onRaw: (n: number) => void,
): AsyncGenerator<Buffer> {
  let raw: NodeJS.ReadableStream;
  let gzip = f.gzip;
  if (f.path === '-') {
    const stdin = opts.stdin ?? process.stdin;
    const it = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    const head = Buffer.isBuffer(first.value) ? first.value : Buffer.from(first.value);
    gzip = head[0] === 0x1f && head[1] === 0x8b;
    raw = Readable.from(
      (async function* () {
        yield head;
        for (let r = await it.next(); !r.done; r = await it.next())
          yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      })(),
    );
  } else {
    if (!gzip) gzip = isGzipFile(f.path);
    raw = createReadStream(f.path, { highWaterMark: 1 << 20 });
  }
  if (!gzip) {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      onRaw(chunk.length);
      yield chunk;
    }
    return;
  }
  // Compressed bytes are counted as they enter the decompressor (pipe and 'data' both listen to data).
  const gunzip = createGunzip();
  raw.on('data', (c: Buffer) => onRaw(c.length));
  raw.on('error', (err) => gunzip.destroy(err));
  raw.pipe(gunzip);
  for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
}

/** Splits byte chunks into lines and turns them into records, per chunk, synchronously. */
class LineDecoder {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private skipping = 0;
  line = 0;
  private first = true;
  /** Set when the file turns out to be one multi-line JSON document. */
  document: Buffer[] | undefined;
  private documentLen = 0;

  constructor(
    private readonly file: string,
    private readonly cluster: string,
    private readonly max: number,
    private readonly quarantine: Quarantine | undefined,
    /** Where decoded records go; the reader swaps in a new array after each batch it yields. */
    public out: EventRecord[],
  ) {}

  bad(line: number, reason: string, raw: string, column?: number): void {
    this.quarantine?.add({ file: this.file, line, reason, raw, ...(column !== undefined ? { column } : {}) });
  }

  push(chunk: Buffer): void {
    if (this.document) {
      this.appendDocument(chunk);
      return;
    }
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      this.line++;
      if (this.skipping > 0) {
        const size = this.skipping + (nl - start);
        this.bad(
          this.line,
          `record of ${size} bytes is larger than the maximum of ${this.max} bytes`,
          chunk.subarray(start, Math.min(nl, start + 1024)).toString('utf8'),
        );
        this.skipping = 0;
      } else if (this.pendingLen > 0) {
        this.pending.push(chunk.subarray(start, nl));
        const whole = Buffer.concat(this.pending);
        this.pending = [];
        this.pendingLen = 0;
        if (whole.length > this.max) {
          this.bad(
            this.line,
            `record of ${whole.length} bytes is larger than the maximum of ${this.max} bytes`,
            whole.subarray(0, 1024).toString('utf8'),
          );
        } else {
          this.decode(whole.toString('utf8'), true);
        }
      } else if (nl - start > this.max) {
        this.bad(
          this.line,
          `record of ${nl - start} bytes is larger than the maximum of ${this.max} bytes`,
          chunk.subarray(start, start + 1024).toString('utf8'),
        );
      } else {
        this.decode(chunk.toString('utf8', start, nl), true);
      }
      if (this.document) {
        this.appendDocument(chunk.subarray(nl + 1));
        return;
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      if (this.skipping > 0) {
        this.skipping += chunk.length - start;
      } else if (this.pendingLen + (chunk.length - start) > this.max) {
        this.skipping = this.pendingLen + (chunk.length - start);
        this.pending = [];
        this.pendingLen = 0;
      } else {
        const rest = chunk.subarray(start);
        this.pending.push(Buffer.from(rest));
        this.pendingLen += rest.length;
      }
    }
  }

  private appendDocument(chunk: Buffer): void {
    if (!this.document || chunk.length === 0) return;
    this.documentLen += chunk.length;
    if (this.documentLen > this.max) return;
    this.document.push(Buffer.from(chunk));
  }

  end(): void {
    if (this.document) {
      this.finishDocument();
      return;
    }
    if (this.skipping > 0) {
      this.line++;
      this.bad(
        this.line,
        `record of ${this.skipping} bytes is larger than the maximum of ${this.max} bytes`,
        '',
      );
      this.skipping = 0;
    } else if (this.pendingLen > 0) {
      this.line++;
      const text = Buffer.concat(this.pending).toString('utf8');
      this.pending = [];
      this.pendingLen = 0;
      this.decode(text, false);
      if (this.document) this.finishDocument();
    }
  }

  private finishDocument(): void {
    const doc = this.document!;
    this.document = undefined;
    if (this.documentLen > this.max) {
      this.bad(
        1,
        `document of ${this.documentLen} bytes is larger than the maximum of ${this.max} bytes`,
        '',
      );
      return;
    }
    const text = Buffer.concat(doc)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    let value: unknown;
    try {
      value = parseJsonText(text);
    } catch (err) {
      this.bad(1, `invalid JSON document: ${(err as Error).message}`, text.slice(0, 1024));
      return;
    }
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => this.accept(item, 1, Array.isArray(value) ? `[${i}]` : undefined, text));
  }

  private accept(value: unknown, line: number, prefix: string | undefined, raw: string): void {
    for (const n of normalizeDocument(value)) {
      if ('event' in n) this.out.push({ cluster: this.cluster, event: n.event });
      else {
        const where = [prefix, n.path].filter(Boolean).join('.');
        this.bad(line, where ? `${n.error} (at ${where})` : n.error, raw);
      }
    }
  }

  private decode(textIn: string, terminated: boolean): void {
    let text = textIn;
    if (this.first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const trimmed = text.trim();
    if (trimmed === '') return;
    const wasFirst = this.first;
    this.first = false;
    let value: unknown;
    try {
      value = parseJsonText(text);
    } catch (err) {
      const message = (err as Error).message;
      // A document that spans lines: `{` or `[` alone, or an object that does not end on its first line.
      if (
        wasFirst &&
        (trimmed === '{' ||
          trimmed.startsWith('[') ||
          (trimmed.startsWith('{') && /end of JSON|Unterminated|Expected/.test(message)))
      ) {
        this.document = [Buffer.from(`${text}\n`)];
        this.documentLen = text.length + 1;
        return;
      }
      const pos = /position (\d+)/.exec(message);
      this.bad(
        this.line,
        terminated ? `invalid JSON: ${message}` : `truncated record at end of input: ${message}`,
        text,
        pos ? Number(pos[1]) + 1 : undefined,
      );
      return;
    }
    this.accept(value, this.line, undefined, text);
  }
}

/** Reads inputs as batches of normalized records; see ReadOptions. */
export async function* readEvents(
  inputs: readonly string[],
  opts: ReadOptions = {},
): AsyncGenerator<EventRecord[]> {
  const files = await listInputFiles(inputs, opts.onSkip);
  const totalBytes = files.some((f) => f.size === undefined)
    ? undefined
    : files.reduce((a, f) => a + (f.size ?? 0), 0);
  const cluster = opts.cluster ?? DEFAULT_CLUSTER;
  const max = opts.maxRecordBytes ?? DEFAULT_MAX;
  const batchSize = opts.batchSize ?? 2000;
  let bytesRead = 0;
  let batch: EventRecord[] = [];
  for (const f of files) {
    if (opts.signal?.aborted) return;
    const name = f.path === '-' ? '<stdin>' : f.path;
    const decoder = new LineDecoder(name, cluster, max, opts.quarantine, batch);
    try {
      for await (const chunk of chunksOf(f, opts, (n) => (bytesRead += n))) {
        decoder.push(chunk);
        opts.onProgress?.({ bytesRead, totalBytes, file: name });
        if (batch.length >= batchSize) {
          const full = batch;
          batch = [];
          decoder.out = batch;
          yield full;
          if (opts.signal?.aborted) return;
        }
      }
      decoder.end();
    } catch (err) {
      if (err instanceof KubetrailError) throw err;
      const e = err as NodeJS.ErrnoException;
      if (['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ELOOP'].includes(e.code ?? '')) {
        const reason = unreadableReason(f.path, e);
        if (!opts.onSkip) {
          throw new KubetrailError('KT_INPUT_READ', `cannot read ${name}: ${reason}`, {
            where: { file: name },
          });
        }
        opts.onSkip({ file: name, reason });
      } else {
        // A corrupt or truncated gzip stream: what was read stays; the rest of this file is reported.
        decoder.bad(decoder.line + 1, `cannot read the rest of the file: ${e.message}`, '');
      }
    }
    if (batch.length > 0) {
      const full = batch;
      batch = [];
      yield full;
    }
  }
}
