// Reads audit events from files, directories of rotated logs, gzip files and standard input, as
// batches of normalized records. Lines are split on raw bytes by the line splitter and decoded once by the
// decoder (src/ingest/decode.ts); a record longer than the maximum is skipped without being buffered whole. A document that spans lines (a pretty-printed Event or
// EventList, or a JSON array of events) is read whole. Bad records go to the quarantine, never stop reading.
// An input that cannot be opened (a directory entry that is a dangling link, a loop, a FIFO; a file without
// read permission) is reported through `onSkip` and the others are read; without `onSkip` it is an error.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DEFAULT_CLUSTER, type EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { listInputFiles, unreadableReason, type InputFile, type SkippedInput } from './files.js';
import {
  BLANK_LINE,
  acceptValue,
  decodeLine,
  parseJson,
  type DecodeTarget,
  type LineOptions,
} from './decode.js';
import { LineSplitter, type SplitResult } from './line-splitter.js';
import type { Quarantine } from './quarantine.js';

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

const DEFAULT_MAX = 64 * 1024 * 1024;

/** Whether a file starts with gzip's magic bytes (false when it cannot be read). */
export function isGzipFile(path: string): boolean {
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

/** Every line after the first non-blank one. */
const NEXT_LINE: LineOptions = {};

/**
 * Turns one input's byte chunks into records, per chunk, synchronously: the line splitter cuts lines, the
 * decoder reads each; a first line that opens a document spanning lines switches to reading the rest of
 * the input as that one document.
 */
class InputDecoder {
  private readonly splitter: LineSplitter;
  private readonly target: DecodeTarget;
  private first = true;
  /** Set when the input turns out to be one multi-line JSON document: its lines so far. */
  private document: string[] | undefined;
  private documentLen = 0;

  constructor(
    file: string,
    cluster: string,
    private readonly max: number,
    quarantine: Quarantine | undefined,
    /** Where decoded records go; the reader swaps in a new array after each batch it yields. */
    out: EventRecord[],
  ) {
    this.splitter = new LineSplitter(0, 0, max, 1024);
    this.target = { file, cluster, quarantine, out };
  }

  set out(out: EventRecord[]) {
    this.target.out = out;
  }

  /** Number of the last line read. */
  get line(): number {
    return this.splitter.line;
  }

  bad(line: number, reason: string, raw: string): void {
    this.target.quarantine?.add({ file: this.target.file, line, reason, raw });
  }

  push(chunk: Buffer): void {
    this.take(this.splitter.push(chunk), false);
  }

  end(): void {
    this.take(this.splitter.finish(), true);
    if (this.document) this.finishDocument();
  }

  /** Lines and oversized lines in line order. */
  private take(res: SplitResult, endOfInput: boolean): void {
    const { lines, oversized } = res;
    let o = 0;
    for (const l of lines) {
      while (o < oversized.length && oversized[o]!.line < l.line) this.oversized(oversized[o++]!);
      this.decode(l.text, l.line, endOfInput);
    }
    while (o < oversized.length) this.oversized(oversized[o++]!);
  }

  private oversized(o: SplitResult['oversized'][number]): void {
    if (this.document) {
      this.documentLen += o.bytes + 1;
      return;
    }
    this.bad(o.line, `record of ${o.bytes} bytes is larger than the maximum of ${this.max} bytes`, o.head);
  }

  private decode(text: string, line: number, endOfInput: boolean): void {
    if (this.document) {
      this.documentLen += Buffer.byteLength(text) + 1;
      if (this.documentLen <= this.max) this.document.push(text);
      return;
    }
    const opts = endOfInput
      ? { ...(this.first ? this.firstLine : NEXT_LINE), endOfInput }
      : this.first
        ? this.firstLine
        : NEXT_LINE;
    if (decodeLine(text, line, this.target, opts) !== BLANK_LINE) this.first = false;
  }

  /** The first line: a byte order mark is dropped, and it may open a document that spans lines. */
  private readonly firstLine: LineOptions = {
    dropBom: true,
    onInvalid: (t, error) => {
      const trimmed = t.trim();
      // A document that spans lines: `{` or `[` alone, or an object that does not end on its first line.
      if (
        trimmed === '{' ||
        trimmed.startsWith('[') ||
        (trimmed.startsWith('{') && /end of JSON|Unterminated|Expected/.test(error))
      ) {
        this.document = [t];
        this.documentLen = Buffer.byteLength(t) + 1;
        return true;
      }
      return false;
    },
  };

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
    const text = doc.join('\n');
    const parsed = parseJson(text);
    if ('error' in parsed) {
      this.bad(1, `invalid JSON document: ${parsed.error}`, text.slice(0, 1024));
      return;
    }
    const { value } = parsed;
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, i) =>
      acceptValue(item, 1, this.target, text, Array.isArray(value) ? `[${i}]` : undefined),
    );
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
    const decoder = new InputDecoder(name, cluster, max, opts.quarantine, batch);
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
