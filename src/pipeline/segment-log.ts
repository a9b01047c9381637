// A local append-only log of records, made durable with group commit, that a consumer reads in order
// and acknowledges by position. The webhook writes each accepted batch here and answers once it is on
// disk; a feeder moves the records to the store and commits its position after each store write.
//
// Layout (DIR is DATADIR/segments, mode 0700; files mode 0600):
//   DIR/<20-digit offset>.seg   segments; the name is the log offset of the segment's first byte
//   DIR/position.json           {"offset": N}: every record before N is stored (written atomically)
// A log offset is a byte position in the concatenation of all segments ever written; it only grows.
//
// Each record is framed: u32 payload length, u32 CRC-32 (over the length, the time and the payload),
// f64 time appended (ms since the epoch), then the payload. On open, every frame after the committed
// position is checked: a torn or mismatching frame at the end of the last segment (a crash while
// writing) is cut off; one in an earlier segment (the disk damaged it) is reported and the rest of that
// segment skipped. Appends are buffered and written by one writer: all appends waiting while a write
// and its fdatasync run share the next write and fdatasync. An append resolves only after its fdatasync.
// The log is bounded: bytes appended and not yet committed may not exceed `maxBytes` (an append that
// does not fit is refused with OverloadedError, except into an empty log).
// An append may leave the decoded form of its payload beside it in memory (an attachment, with a weight
// such as its event count; at most `maxAttached` in all): the reader that meets the record first takes
// it, instead of decoding the bytes again. It is only a cache of what the bytes say; a record read after
// a restart, or once the attachment was taken, is decoded from its bytes.
//
// One piece, though long: framing, recovery at open, group commit, reading and compaction all follow from
// the one on-disk layout and the committed position, and a change to any of them must be read with the
// others. The checksum and the atomic position file are shared with the forwarder queues (src/core/).
//
// With a data key (`key`), each payload is sealed whole before it is framed and opened when read; the
// framing is the same. At open every record not yet committed is opened once, so a log sealed with
// another key (or with a key when none is given) fails to open with the coded error, never skips.
import { mkdir, open, readdir, stat, unlink, chmod, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DataKey } from '../crypto/cipher.js';
import { openPayload, resealPayload, sealPayload, type Reseal } from '../crypto/sealed-records.js';
import { crc32 } from '../core/crc32.js';
import { KubetrailError } from '../core/errors.js';
import { rewriteSegmentFiles } from '../core/segment-files.js';
import { readJsonState, writeFileAtomic } from '../core/state-file.js';
import { OverloadedError } from './ingest-queue.js';

/** Bytes before each payload: length, checksum, time. */
export const FRAME_HEADER_BYTES = 16;
const SEGMENT_NAME = /^(\d{20})\.seg$/;
/** Largest payload a frame may hold (a length beyond it is a torn or damaged frame). */
const MAX_PAYLOAD_BYTES = 2 ** 31 - 1;
const READ_CHUNK = 4 * 1024 * 1024;

/** The checksum of a frame: over its length field, its time field and its payload (in parts). */
function frameChecksum(header: Buffer, payload: Uint8Array | readonly Uint8Array[]): number {
  let c = crc32(header.subarray(8, 16), crc32(header.subarray(0, 4)));
  for (const part of Array.isArray(payload) ? payload : [payload]) c = crc32(part, c);
  return c;
}

const asBuffer = (p: Uint8Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

/** The buffers of one frame; a payload given in parts is written as their concatenation. */
export function encodeFrame(payload: Uint8Array | readonly Uint8Array[], time: number): Buffer[] {
  const parts: readonly Uint8Array[] = Array.isArray(payload) ? payload : [payload];
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32LE(payloadLength(parts), 0);
  header.writeDoubleLE(time, 8);
  header.writeUInt32LE(frameChecksum(header, parts), 4);
  return [header, ...parts.map(asBuffer)];
}

const payloadLength = (p: Uint8Array | readonly Uint8Array[]) =>
  Array.isArray(p) ? p.reduce((a: number, b: Uint8Array) => a + b.length, 0) : (p as Uint8Array).length;

export interface LogRecord {
  /** Log offset of the frame. */
  offset: number;
  /** Log offset just after it: the position to commit once the record is stored. */
  next: number;
  /** When it was appended (ms since the epoch). */
  time: number;
  payload: Buffer;
}

export interface SegmentLogOptions {
  dir: string;
  /** Most bytes appended and not yet committed. */
  maxBytes: number;
  /** Size at which a new segment is started (default 64 MiB). */
  segmentBytes?: number;
  /** Most total weight of attachments kept in memory (default 0: none kept). */
  maxAttached?: number;
  /** Told about frames cut off at open or skipped while reading, with why. */
  onDamage?: (info: { file: string; offset: number; bytes: number; reason: string }) => void;
  /** The data key: payloads are sealed with it. */
  key?: DataKey;
}

/** The AAD of a sealed segment log payload. */
const SEGMENT_AAD = 'kubetrail segment log';

interface Segment {
  base: number;
  file: string;
  /** Bytes of valid frames (the end of the last segment is the log's durable end). */
  size: number;
}

interface Attachment {
  value: unknown;
  weight: number;
}

interface PendingAppend {
  buffers: Buffer[];
  bytes: number;
  waiters: { resolve: (end: number) => void; reject: (e: unknown) => void }[];
  /** Each append's frame size and attachment, in order. */
  frames: { bytes: number; attachment: Attachment | undefined }[];
}

const segmentName = (base: number) => `${String(base).padStart(20, '0')}.seg`;

type FrameCheck =
  { ok: true; length: number; time: number } | { ok: false; reason: string; needBytes?: number };

/** Checks the frame at `at` in `buf` (whose bytes are the log from some offset up to `available`). */
function checkFrame(buf: Buffer, at: number): FrameCheck {
  if (buf.length - at < FRAME_HEADER_BYTES) return { ok: false, reason: 'incomplete frame header' };
  const length = buf.readUInt32LE(at);
  if (length > MAX_PAYLOAD_BYTES) return { ok: false, reason: 'frame length out of range' };
  if (buf.length - at - FRAME_HEADER_BYTES < length)
    return { ok: false, reason: 'incomplete frame', needBytes: FRAME_HEADER_BYTES + length };
  const header = buf.subarray(at, at + FRAME_HEADER_BYTES);
  const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
  if (frameChecksum(header, payload) !== buf.readUInt32LE(at + 4))
    return { ok: false, reason: 'checksum mismatch' };
  return { ok: true, length, time: buf.readDoubleLE(at + 8) };
}

/**
 * Reads valid frames of one segment file from byte `from` up to `to` (file positions), at most about
 * `maxBytes` of them (always at least one whole frame when one is there). Stops at the first frame that
 * is torn or fails its checksum and says where.
 */
async function readFrames(
  fh: FileHandle,
  base: number,
  from: number,
  to: number,
  maxBytes: number,
): Promise<{ records: LogRecord[]; end: number; damage?: string }> {
  const records: LogRecord[] = [];
  let pos = from;
  while (pos < to && (records.length === 0 || pos - from < maxBytes)) {
    const want = Math.min(to - pos, Math.max(READ_CHUNK, FRAME_HEADER_BYTES));
    let buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, pos);
    buf = buf.subarray(0, bytesRead);
    let at = 0;
    const more = pos + buf.length < to;
    while (at < buf.length) {
      let check = checkFrame(buf, at);
      if (!check.ok && check.needBytes !== undefined && at === 0 && pos + check.needBytes <= to) {
        // One frame larger than the chunk: read it whole.
        const big = Buffer.allocUnsafe(check.needBytes);
        const r = await fh.read(big, 0, check.needBytes, pos);
        buf = big.subarray(0, r.bytesRead);
        check = checkFrame(buf, 0);
      }
      if (!check.ok) {
        // A frame cut by the end of this chunk (not of the file) is read again from its start.
        const cut = check.needBytes !== undefined || buf.length - at < FRAME_HEADER_BYTES;
        if (cut && more && at > 0) break;
        return { records, end: pos + at, damage: check.reason };
      }
      const size = FRAME_HEADER_BYTES + check.length;
      records.push({
        offset: base + pos + at,
        next: base + pos + at + size,
        time: check.time,
        payload: buf.subarray(at + FRAME_HEADER_BYTES, at + size),
      });
      at += size;
      if (pos + at - from >= maxBytes) break;
    }
    pos += at;
  }
  return { records, end: pos };
}

export class SegmentLog {
  private segments: Segment[] = [];
  private writer: FileHandle | undefined;
  private committedOffset = 0;
  private pending: PendingAppend | undefined;
  private flushing: Promise<void> | undefined;
  private writing = false;
  private closed = false;
  private readers: (() => void)[] = [];
  private readonly segmentBytes: number;
  /** Attachments by the log offset of their record. */
  private readonly attachments = new Map<number, Attachment>();
  /** Weight of the attachments kept or waiting to be written. */
  private attachedWeight = 0;

  private constructor(private readonly opts: SegmentLogOptions) {
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
  }

  /** Opens (or creates) the log in `opts.dir`: cuts a torn tail and drops segments already committed. */
  static async open(opts: SegmentLogOptions): Promise<SegmentLog> {
    const log = new SegmentLog(opts);
    try {
      await log.recover();
    } catch (err) {
      await log.writer?.close().catch(() => undefined);
      throw new KubetrailError(
        'KT_STORE_OPEN',
        `cannot open the segment log in ${opts.dir}: ${(err as Error).message}`,
      );
    }
    try {
      // Every record still to be stored must open with the key given (or need none).
      for (let at = log.committed; ;) {
        const r = await log.read(at, 64 * 1024 * 1024);
        if (r.length === 0) break;
        at = r.at(-1)!.next;
      }
    } catch (err) {
      await log.writer?.close().catch(() => undefined);
      throw err;
    }
    return log;
  }

  private get positionFile(): string {
    return path.join(this.opts.dir, 'position.json');
  }

  private async recover(): Promise<void> {
    const { dir } = this.opts;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const state = (await readJsonState(this.positionFile)) as { offset?: unknown } | undefined;
    const saved =
      typeof state?.offset === 'number' && Number.isSafeInteger(state.offset) && state.offset >= 0
        ? state.offset
        : undefined;
    const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    const found: Segment[] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      found.push({ base: Number(SEGMENT_NAME.exec(name)![1]), file, size: (await stat(file)).size });
    }
    this.committedOffset = saved ?? found[0]?.base ?? 0;
    if (found.length > 0 && this.committedOffset < found[0]!.base) this.committedOffset = found[0]!.base;
    for (const [i, seg] of found.entries()) {
      const last = i === found.length - 1;
      if (seg.base + seg.size <= this.committedOffset && !last) {
        await unlink(seg.file);
        continue;
      }
      // Check every frame not yet committed.
      const from = Math.max(0, this.committedOffset - seg.base);
      const valid = await this.validate(seg, from);
      if (valid.end < seg.size) {
        this.opts.onDamage?.({
          file: seg.file,
          offset: seg.base + valid.end,
          bytes: seg.size - valid.end,
          reason: last ? `${valid.reason} (torn tail, cut)` : `${valid.reason} (rest of the segment skipped)`,
        });
        const fh = await open(seg.file, 'r+');
        try {
          await fh.truncate(valid.end);
          await fh.sync();
        } finally {
          await fh.close();
        }
        seg.size = valid.end;
      }
      this.segments.push(seg);
    }
    if (this.segments.length === 0) {
      await this.startSegment(Math.max(this.committedOffset, found.at(-1) ? this.endOf(found.at(-1)!) : 0));
    } else {
      this.writer = await open(this.segments.at(-1)!.file, 'r+', 0o600);
    }
    if (this.committedOffset > this.end) this.committedOffset = this.end;
  }

  private endOf(seg: Segment): number {
    return seg.base + seg.size;
  }

  /** Where the valid frames of a segment end, from `from` on, and why the rest is not valid. */
  private async validate(seg: Segment, from: number): Promise<{ end: number; reason: string }> {
    const fh = await open(seg.file, 'r');
    try {
      let pos = from;
      for (;;) {
        const r = await readFrames(fh, seg.base, pos, seg.size, 64 * 1024 * 1024);
        pos = r.end;
        if (r.damage !== undefined) return { end: pos, reason: r.damage };
        if (r.records.length === 0 || pos >= seg.size) return { end: pos, reason: 'incomplete frame' };
      }
    } finally {
      await fh.close();
    }
  }

  private async startSegment(base: number): Promise<void> {
    const file = path.join(this.opts.dir, segmentName(base));
    const fh = await open(file, 'wx', 0o600);
    await fh.sync();
    const d = await open(this.opts.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    const old = this.writer;
    this.writer = fh;
    this.segments.push({ base, file, size: 0 });
    await old?.close();
  }

  /** Log offset after the last durable frame. */
  get end(): number {
    const last = this.segments.at(-1);
    return last ? this.endOf(last) : this.committedOffset;
  }

  /** Log offset before which every record is committed (stored). */
  get committed(): number {
    return this.committedOffset;
  }

  /** Bytes appended (durable or about to be) and not yet committed. */
  get pendingBytes(): number {
    return this.end + (this.pending?.bytes ?? 0) + this.writingBytes - this.committedOffset;
  }

  private writingBytes = 0;
  private lastAppendAt = Number.NEGATIVE_INFINITY;

  /** When the last append was taken (performance.now()), or -Infinity. */
  get lastAppend(): number {
    return this.lastAppendAt;
  }

  get maxBytes(): number {
    return this.opts.maxBytes;
  }

  /** Whether an append of `bytes` payload bytes would be refused now. */
  wouldRefuse(bytes: number): boolean {
    const pending = this.pendingBytes;
    return pending > 0 && pending + FRAME_HEADER_BYTES + bytes > this.opts.maxBytes;
  }

  /**
   * Appends one record; resolves with the log offset after it once it is on disk (fdatasync). Refuses
   * with OverloadedError when the log is full and with KT_STORE_WRITE when the write fails. `attach` is
   * kept beside the record in memory when it fits within `maxAttached` (see the header comment).
   */
  append(
    plain: Uint8Array | readonly Uint8Array[],
    time = Date.now(),
    attach?: { value: unknown; weight: number },
  ): Promise<number> {
    if (this.closed)
      return Promise.reject(new KubetrailError('KT_OVERLOADED', 'the server is shutting down'));
    const key = this.opts.key;
    const payload = key
      ? sealPayload(
          plain instanceof Uint8Array ? Buffer.from(plain) : Buffer.concat(plain as Uint8Array[]),
          key,
          SEGMENT_AAD,
        )
      : plain;
    const length = payloadLength(payload);
    if (this.wouldRefuse(length)) return Promise.reject(new OverloadedError(1));
    this.lastAppendAt = performance.now();
    const p = (this.pending ??= { buffers: [], bytes: 0, waiters: [], frames: [] });
    p.buffers.push(...encodeFrame(payload, time));
    p.bytes += FRAME_HEADER_BYTES + length;
    const fits = attach !== undefined && this.attachedWeight + attach.weight <= (this.opts.maxAttached ?? 0);
    if (fits) this.attachedWeight += attach.weight;
    p.frames.push({ bytes: FRAME_HEADER_BYTES + length, attachment: fits ? attach : undefined });
    const done = new Promise<number>((resolve, reject) => p.waiters.push({ resolve, reject }));
    if (!this.writing) {
      this.writing = true;
      this.flushing = this.flushLoop();
    }
    return done;
  }

  /** Writes batches until none is waiting; `writing` is cleared in the same turn the loop sees none. */
  private async flushLoop(): Promise<void> {
    for (;;) {
      if (!this.pending) {
        this.writing = false;
        return;
      }
      const batch = this.pending;
      this.pending = undefined;
      this.writingBytes = batch.bytes;
      try {
        if (this.segments.at(-1)!.size >= this.segmentBytes) await this.startSegment(this.end);
        const seg = this.segments.at(-1)!;
        try {
          let at = seg.size;
          // writev writes at most IOV_MAX buffers at once: write in slices.
          for (let i = 0; i < batch.buffers.length; i += 512) {
            const slice = batch.buffers.slice(i, i + 512);
            const { bytesWritten } = await this.writer!.writev(slice, at);
            const want = slice.reduce((a, b) => a + b.length, 0);
            if (bytesWritten !== want) {
              // A short write: write the rest of this slice from where it stopped.
              const rest = Buffer.concat(slice).subarray(bytesWritten);
              await this.writer!.write(rest, 0, rest.length, at + bytesWritten);
            }
            at += want;
          }
          await this.writer!.datasync();
        } catch (err) {
          // Leave no partial frame behind for later appends to follow.
          await this.writer!.truncate(seg.size).catch(() => undefined);
          throw err;
        }
        let offset = seg.base + seg.size;
        for (const f of batch.frames) {
          if (f.attachment) this.attachments.set(offset, f.attachment);
          offset += f.bytes;
        }
        seg.size += batch.bytes;
        this.writingBytes = 0;
        const end = this.end;
        for (const w of batch.waiters) w.resolve(end);
        this.wakeReaders();
      } catch (err) {
        this.writingBytes = 0;
        for (const f of batch.frames) if (f.attachment) this.attachedWeight -= f.attachment.weight;
        const e = new KubetrailError(
          'KT_STORE_WRITE',
          `cannot write the segment log in ${this.opts.dir}: ${(err as Error).message}`,
        );
        for (const w of batch.waiters) w.reject(e);
      }
    }
  }

  private wakeReaders(): void {
    const r = this.readers;
    this.readers = [];
    for (const w of r) w();
  }

  /** Resolves once the durable end is past `offset`, or the log is closing. */
  waitBeyond(offset: number): Promise<void> {
    if (this.end > offset || this.closed) return Promise.resolve();
    return new Promise((r) => this.readers.push(r));
  }

  /**
   * Durable records from `offset` (a record boundary, at or after the committed position) on, about
   * `maxBytes` of them (at least one when there is one). Empty when nothing is there yet.
   */
  async read(offset: number, maxBytes: number): Promise<LogRecord[]> {
    for (;;) {
      const i = this.segments.findIndex((s) => offset >= s.base && offset < this.endOf(s));
      if (i < 0) {
        // Past a segment's end (or in a gap left by a damaged one): the next segment, if any.
        const next = this.segments.find((s) => s.base > offset && s.size > 0);
        if (!next) return [];
        offset = next.base;
        continue;
      }
      const seg = this.segments[i]!;
      const fh = await open(seg.file, 'r');
      let r: Awaited<ReturnType<typeof readFrames>>;
      try {
        r = await readFrames(fh, seg.base, offset - seg.base, seg.size, maxBytes);
      } finally {
        await fh.close();
      }
      if (r.damage !== undefined && r.records.length === 0) {
        // Checked at open and written here since: only a damaged disk gets here. Skip the segment's rest.
        this.opts.onDamage?.({
          file: seg.file,
          offset: seg.base + r.end,
          bytes: seg.size - r.end,
          reason: r.damage,
        });
        const after = this.segments[i + 1];
        if (!after) return [];
        offset = after.base;
        continue;
      }
      return r.records.map((rec) => ({
        ...rec,
        payload: openPayload(rec.payload, this.opts.key, SEGMENT_AAD, `the segment log in ${this.opts.dir}`),
      }));
    }
  }

  /**
   * Takes the attachment of the record at `offset` out of memory (a later read decodes the bytes):
   * its value, or undefined when there is none.
   */
  take(offset: number): unknown {
    const a = this.attachments.get(offset);
    if (!a) return undefined;
    this.attachments.delete(offset);
    this.attachedWeight -= a.weight;
    return a.value;
  }

  /** The time of the oldest record not yet committed, or undefined when there is none. */
  async oldestPendingTime(): Promise<number | undefined> {
    const [first] = await this.read(this.committedOffset, 1);
    return first?.time;
  }

  /**
   * Records durably that every record before `offset` is stored, then deletes the segments wholly
   * before it (never the one being written).
   */
  async commit(offset: number): Promise<void> {
    if (offset <= this.committedOffset) return;
    await writeFileAtomic(this.positionFile, JSON.stringify({ offset }));
    this.committedOffset = offset;
    // Kept in log order: the ones before the position come first.
    for (const [at, a] of this.attachments) {
      if (at >= offset) break;
      this.attachments.delete(at);
      this.attachedWeight -= a.weight;
    }
    while (this.segments.length > 1 && this.endOf(this.segments[0]!) <= offset) {
      const seg = this.segments.shift()!;
      await unlink(seg.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  /** Writes what was appended, then closes. Later appends are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    this.wakeReaders();
    await this.writer?.close();
    this.writer = undefined;
  }
}

/**
 * Seals the records of a segment log (the log closed) again with another key (`kubetrail key rotate`),
 * each segment replaced atomically. A sealed payload keeps its length under any key, so every offset,
 * segment name and the committed position stay valid; plain records (written before a key was set) are
 * left as they are, and bytes after the valid frames (a torn tail) are copied unchanged. Returns the
 * records re-sealed.
 */
export function resealSegmentLog(dir: string, r: Reseal): Promise<number> {
  return rewriteSegmentFiles(dir, SEGMENT_NAME, (buf, file) => {
    const out: Buffer[] = [];
    let at = 0;
    let count = 0;
    for (;;) {
      const check = checkFrame(buf, at);
      if (!check.ok) break;
      const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + check.length);
      out.push(...encodeFrame(resealPayload(payload, SEGMENT_AAD, r, file), check.time));
      at += FRAME_HEADER_BYTES + check.length;
      count++;
    }
    out.push(buf.subarray(at));
    return { bytes: Buffer.concat(out), count };
  });
}
