// A forwarder's disk-backed queue: append-only segment files and a committed read position, so that
// what the write path handed over survives a crash and is delivered after the restart (at least once).
//
// Layout (DIR is DATADIR/forward/NAME/queue, mode 0700; files 0600):
//   DIR/<20-digit offset>.seg   segments, named by the queue offset of their first byte
//   DIR/position.json           {"offset": N, "gap": [A, B]?}: frames before N are done (delivered,
//                               dead-lettered or dropped); frames in [A, B) were dropped while the
//                               frames before A were being delivered
// A frame holds one batch of records: u32 payload length, u32 CRC-32 (over length, count, time and
// payload), u32 record count, u32 zero, f64 time appended (ms), then the payload (NDJSON, one record a
// line). An append writes its frames with one write and one fdatasync, and resolves after them.
// At open every frame past the committed position is checked; a torn or damaged tail is cut off.
//
// Bounded in bytes: frames appended and not done may not exceed `maxBytes`. When an append does not fit,
// the policy decides: `block` waits until delivery makes room (backpressure on the write path);
// `drop-oldest` drops the oldest frames that are not being delivered and counts their records exactly.
//
// One piece, though over 400 lines: framing, recovery at open, the two policies and re-sealing all follow
// from the one on-disk layout and the committed position.
//
// With a data key, each frame's payload is sealed whole (the frame and its header are the same) and
// opened when taken; at open every frame not done is opened once, so a queue sealed with another key (or
// read without one) fails to open with the coded error instead of being skipped.
import { chmod, mkdir, open, readFile, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { KubetrailError } from '../core/errors.js';
import type { DataKey } from '../crypto/cipher.js';
import { openPayload, resealPayload, sealPayload, type Reseal } from '../crypto/sealed-records.js';
import { rewriteSegmentFiles } from '../core/segment-files.js';
import { writeFileAtomic } from '../core/state-file.js';
import { encodeFrame, FRAME_HEADER_BYTES, frameCrc } from './frame.js';

export { FRAME_HEADER_BYTES } from './frame.js';

const SEGMENT_NAME = /^(\d{20})\.seg$/;
const SEGMENT_BYTES = 16 * 1024 * 1024;

export type FullPolicy = 'block' | 'drop-oldest';

/** The AAD of a sealed queue payload. */
const QUEUE_AAD = 'kubetrail forwarder queue';

export interface QueuedFrame {
  offset: number;
  next: number;
  count: number;
  time: number;
}

export interface ReadFrame extends QueuedFrame {
  payload: Buffer;
}

interface Segment {
  base: number;
  file: string;
  size: number;
}

export class DiskQueue {
  private segments: Segment[] = [];
  /** Frames not done, oldest first (the delivery reads them in order). */
  private frames: QueuedFrame[] = [];
  /** How many of `frames` (from the start) the delivery loop holds. */
  private inFlight = 0;
  private committed = 0;
  private gap: [number, number] | undefined;
  private writer: FileHandle | undefined;
  /** Appends, one after the other (an append waiting for room holds up later appends only). */
  private chain: Promise<unknown> = Promise.resolve();
  /** Changes of the committed position (done, drops), one after the other. */
  private positionChain: Promise<unknown> = Promise.resolve();
  private roomWaiters: (() => void)[] = [];
  private dataWaiters: (() => void)[] = [];
  private closed = false;
  private refusing = false;
  private bytesPending = 0;
  private recordsPending = 0;
  /** Records dropped by `drop-oldest` since open. */
  dropped = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    readonly policy: FullPolicy,
    private readonly key: DataKey | undefined,
  ) {}

  /** Opens (or creates) the queue in `dir`; with `key`, payloads are sealed with it. */
  static async open(dir: string, maxBytes: number, policy: FullPolicy, key?: DataKey): Promise<DiskQueue> {
    const q = new DiskQueue(dir, maxBytes, policy, key);
    try {
      await q.recover();
    } catch (err) {
      await q.writer?.close().catch(() => undefined);
      if (err instanceof KubetrailError && err.code.startsWith('KT_KEY_')) throw err;
      throw new KubetrailError(
        'KT_STORE_OPEN',
        `cannot open the forwarder queue in ${dir}: ${(err as Error).message}`,
      );
    }
    return q;
  }

  private get positionFile(): string {
    return path.join(this.dir, 'position.json');
  }

  private async recover(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    let saved: { offset?: unknown; gap?: unknown } = {};
    try {
      saved = JSON.parse(await readFile(this.positionFile, 'utf8')) as typeof saved;
    } catch {
      saved = {};
    }
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    const found: Segment[] = [];
    for (const n of names) {
      const file = path.join(this.dir, n);
      found.push({ base: Number(SEGMENT_NAME.exec(n)![1]), file, size: (await stat(file)).size });
    }
    this.committed =
      typeof saved.offset === 'number' && Number.isSafeInteger(saved.offset)
        ? saved.offset
        : (found[0]?.base ?? 0);
    if (found[0] && this.committed < found[0].base) this.committed = found[0].base;
    const g = saved.gap;
    if (Array.isArray(g) && typeof g[0] === 'number' && typeof g[1] === 'number') this.gap = [g[0], g[1]];
    for (const [i, seg] of found.entries()) {
      const last = i === found.length - 1;
      if (seg.base + seg.size <= this.committed && !last) {
        await unlink(seg.file);
        continue;
      }
      const end = await this.scan(seg, Math.max(0, this.committed - seg.base));
      if (end < seg.size) {
        const fh = await open(seg.file, 'r+');
        try {
          await fh.truncate(end);
          await fh.sync();
        } finally {
          await fh.close();
        }
        seg.size = end;
      }
      this.segments.push(seg);
    }
    if (this.gap)
      this.frames = this.frames.filter((f) => f.offset < this.gap![0] || f.offset >= this.gap![1]);
    this.count(this.frames, 1);
    const last = this.segments.at(-1);
    if (last) this.writer = await open(last.file, 'r+', 0o600);
    else await this.startSegment(this.committed);
  }

  /** Indexes the valid frames of a segment from file position `from`; returns where they end. */
  private async scan(seg: Segment, from: number): Promise<number> {
    const fh = await open(seg.file, 'r');
    try {
      let pos = from;
      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      while (pos + FRAME_HEADER_BYTES <= seg.size) {
        await fh.read(header, 0, FRAME_HEADER_BYTES, pos);
        const length = header.readUInt32LE(0);
        if (pos + FRAME_HEADER_BYTES + length > seg.size) break;
        const payload = Buffer.alloc(length);
        await fh.read(payload, 0, length, pos + FRAME_HEADER_BYTES);
        if (frameCrc(header, payload) !== header.readUInt32LE(4)) break;
        this.open(payload);
        const next = pos + FRAME_HEADER_BYTES + length;
        this.frames.push({
          offset: seg.base + pos,
          next: seg.base + next,
          count: header.readUInt32LE(8),
          time: header.readDoubleLE(16),
        });
        pos = next;
      }
      return pos;
    } finally {
      await fh.close();
    }
  }

  private async startSegment(base: number): Promise<void> {
    const file = path.join(this.dir, `${String(base).padStart(20, '0')}.seg`);
    const fh = await open(file, 'w', 0o600);
    const old = this.writer;
    this.writer = fh;
    this.segments.push({ base, file, size: 0 });
    await old?.close();
  }

  private get end(): number {
    const last = this.segments.at(-1)!;
    return last.base + last.size;
  }

  /** Bytes of frames not done. */
  get pendingBytes(): number {
    return this.bytesPending;
  }

  /** Records not done. */
  get pendingRecords(): number {
    return this.recordsPending;
  }

  private count(frames: readonly QueuedFrame[], sign: 1 | -1): void {
    for (const f of frames) {
      this.bytesPending += sign * (f.next - f.offset);
      this.recordsPending += sign * f.count;
    }
  }

  /** When the oldest frame not done was appended (ms), or undefined. */
  get oldestTime(): number | undefined {
    return this.frames[0]?.time;
  }

  /**
   * Appends batches of records (each a Buffer of NDJSON and its record count) durably. With `block`,
   * waits while the queue is full; with `drop-oldest`, drops the oldest frames not being delivered.
   */
  append(batches: { payload: Buffer; count: number }[]): Promise<void> {
    const run = this.chain.then(() => this.doAppend(batches));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doAppend(batches: { payload: Buffer; count: number }[]): Promise<void> {
    const size = (b: { payload: Buffer }) => FRAME_HEADER_BYTES + b.payload.length;
    let bytes = batches.reduce((a, b) => a + size(b), 0);
    for (;;) {
      if (this.closed) throw new KubetrailError('KT_OVERLOADED', 'the forwarder is shutting down');
      const pending = this.pendingBytes;
      if (pending === 0 || pending + bytes <= this.maxBytes) break;
      if (this.policy === 'drop-oldest') {
        if (this.frames.length > this.inFlight) {
          await this.dropOldest();
          continue;
        }
        // Only frames being delivered are left: the oldest frames of this append itself go.
        if (batches.length > 1) {
          const first = batches.shift()!;
          this.dropped += first.count;
          bytes -= size(first);
          continue;
        }
        break; // one frame larger than the room left: it goes over the bound once
      }
      if (this.refusing)
        throw new KubetrailError('KT_OVERLOADED', 'the forwarder queue is full and stopping');
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
    if (this.segments.at(-1)!.size >= SEGMENT_BYTES) await this.startSegment(this.end);
    const seg = this.segments.at(-1)!;
    const time = Date.now();
    const buffers = batches.map((b) =>
      encodeFrame(sealPayload(b.payload, this.key, QUEUE_AAD), b.count, time),
    );
    let at = seg.size;
    try {
      await this.writer!.writev(buffers, at);
      await this.writer!.datasync();
    } catch (err) {
      await this.writer!.truncate(seg.size).catch(() => undefined);
      throw new KubetrailError(
        'KT_STORE_WRITE',
        `cannot write the forwarder queue in ${this.dir}: ${(err as Error).message}`,
      );
    }
    for (const [i, buf] of buffers.entries()) {
      const offset = seg.base + at;
      const frame = { offset, next: offset + buf.length, count: batches[i]!.count, time };
      this.frames.push(frame);
      this.count([frame], 1);
      at += buf.length;
    }
    seg.size = at;
    const w = this.dataWaiters;
    this.dataWaiters = [];
    for (const r of w) r();
  }

  /** Runs a change of the committed position after the ones before it. */
  private positionChange(fn: () => Promise<void>): Promise<void> {
    const run = this.positionChain.then(fn);
    this.positionChain = run.catch(() => undefined);
    return run;
  }

  /** Drops the oldest frame that the delivery loop does not hold; its records are counted. */
  private dropOldest(): Promise<void> {
    const frame = this.frames.splice(this.inFlight, 1)[0]!;
    this.count([frame], -1);
    this.dropped += frame.count;
    const inFlight = this.inFlight > 0;
    return this.positionChange(async () => {
      if (!inFlight) await this.commitTo(frame.next);
      else {
        this.gap = [this.gap?.[0] ?? frame.offset, frame.next];
        await this.savePosition();
      }
    });
  }

  /** Waits until there is a frame to deliver (or the queue closes). */
  async waitForData(signal: Promise<void>): Promise<void> {
    if (this.frames.length > this.inFlight || this.closed) return;
    await Promise.race([new Promise<void>((r) => this.dataWaiters.push(r)), signal]);
  }

  /** Takes the next frames for delivery (up to `maxRecords` records, at least one frame) and reads them. */
  async take(maxRecords: number, maxBytes: number): Promise<ReadFrame[]> {
    if (this.inFlight > 0) throw new Error('a batch is already being delivered');
    const picked: QueuedFrame[] = [];
    let records = 0;
    let bytes = 0;
    for (const f of this.frames) {
      if (picked.length > 0 && (records + f.count > maxRecords || bytes + (f.next - f.offset) > maxBytes))
        break;
      picked.push(f);
      records += f.count;
      bytes += f.next - f.offset;
    }
    this.inFlight = picked.length;
    const out: ReadFrame[] = [];
    for (const f of picked) out.push({ ...f, payload: await this.readPayload(f) });
    return out;
  }

  private async readPayload(f: QueuedFrame): Promise<Buffer> {
    const seg = this.segments.find((s) => f.offset >= s.base && f.offset < s.base + s.size);
    if (!seg) throw new Error(`queue frame at ${f.offset} is missing`);
    const fh = await open(seg.file, 'r');
    try {
      const length = f.next - f.offset - FRAME_HEADER_BYTES;
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, f.offset - seg.base + FRAME_HEADER_BYTES);
      return this.open(buf);
    } finally {
      await fh.close();
    }
  }

  /** A payload as read from a segment, opened when sealed. */
  private open(payload: Buffer): Buffer {
    return openPayload(payload, this.key, QUEUE_AAD, `the forwarder queue in ${this.dir}`);
  }

  /** Marks the frames taken as done (delivered or dead-lettered) and makes room. */
  done(): Promise<void> {
    const taken = this.frames.splice(0, this.inFlight);
    this.count(taken, -1);
    this.inFlight = 0;
    return this.positionChange(async () => {
      let to = taken.at(-1)?.next ?? this.committed;
      if (this.gap && this.gap[0] <= to) {
        to = Math.max(to, this.gap[1]);
        this.gap = undefined;
      }
      await this.commitTo(to);
    });
  }

  private async commitTo(offset: number): Promise<void> {
    if (offset > this.committed) this.committed = offset;
    await this.savePosition();
    while (this.segments.length > 1 && this.segments[0]!.base + this.segments[0]!.size <= this.committed) {
      const seg = this.segments.shift()!;
      await unlink(seg.file).catch(() => undefined);
    }
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const r of w) r();
  }

  private async savePosition(): Promise<void> {
    await writeFileAtomic(
      this.positionFile,
      JSON.stringify(this.gap ? { offset: this.committed, gap: this.gap } : { offset: this.committed }),
    );
  }

  /**
   * From now on an append that would wait for room is refused (KT_OVERLOADED), those waiting included:
   * a server stopping with a full `block` queue and a dead destination does not wait for it forever.
   */
  refuseWaiting(): void {
    this.refusing = true;
    for (const r of this.roomWaiters.splice(0)) r();
  }

  /** Refuses later appends (and those waiting for room), then closes the files. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.roomWaiters.splice(0)) r();
    for (const r of this.dataWaiters.splice(0)) r();
    await this.chain;
    await this.positionChain;
    await this.writer?.close();
    this.writer = undefined;
  }
}

/**
 * Seals the frames of a forwarder queue (closed) again with another key (`kubetrail key rotate`), each
 * segment replaced atomically. Sealed payloads keep their length, so offsets and the position stay valid;
 * plain frames are left as they are. Returns the frames re-sealed.
 */
export function resealDiskQueue(dir: string, r: Reseal): Promise<number> {
  return rewriteSegmentFiles(dir, SEGMENT_NAME, (buf, file) => {
    const out: Buffer[] = [];
    let at = 0;
    let count = 0;
    while (at + FRAME_HEADER_BYTES <= buf.length) {
      const header = buf.subarray(at, at + FRAME_HEADER_BYTES);
      const length = header.readUInt32LE(0);
      if (at + FRAME_HEADER_BYTES + length > buf.length) break;
      const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
      if (frameCrc(header, payload) !== header.readUInt32LE(4)) break;
      const sealed = resealPayload(payload, QUEUE_AAD, r, file);
      out.push(encodeFrame(sealed, header.readUInt32LE(8), header.readDoubleLE(16)));
      at += FRAME_HEADER_BYTES + length;
      count++;
    }
    out.push(buf.subarray(at));
    return { bytes: Buffer.concat(out), count };
  });
}
