import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataKey } from '../crypto/cipher.js';
import { OverloadedError } from './ingest-queue.js';
import { FRAME_HEADER_BYTES, SegmentLog, type LogRecord } from './segment-log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'kt-seglog-'));
  dirs.push(d);
  return path.join(d, 'segments');
}

async function readAll(log: SegmentLog, from = log.committed): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let at = from;
  for (;;) {
    const r = await log.read(at, 1024 * 1024);
    if (r.length === 0) return out;
    out.push(...r);
    at = r.at(-1)!.next;
  }
}

const text = (records: LogRecord[]) => records.map((r) => r.payload.toString('utf8'));
const segmentFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.seg'));

describe('segment log', () => {
  it('appends, reads back in order, and keeps what is not committed across a reopen', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    const ends = await Promise.all(['a', 'bb', 'ccc'].map((p) => log.append(Buffer.from(p))));
    expect(ends.at(-1)).toBe(log.end);
    const all = await readAll(log);
    expect(text(all)).toEqual(['a', 'bb', 'ccc']);
    await log.commit(all[0]!.next);
    await log.close();
    const again = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    expect(again.committed).toBe(all[0]!.next);
    expect(text(await readAll(again))).toEqual(['bb', 'ccc']);
    await again.append(Buffer.from('d'));
    expect(text(await readAll(again))).toEqual(['bb', 'ccc', 'd']);
    await again.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of segmentFiles(dir)) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('many concurrent appends share fdatasyncs and all resolve after their data is on disk', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 24 });
    const payloads = Array.from({ length: 300 }, (_, i) => Buffer.from(`record-${i}`));
    await Promise.all(payloads.map((p) => log.append(p)));
    expect(text(await readAll(log))).toEqual(payloads.map((p) => p.toString()));
    await log.close();
  });

  it('cuts a torn tail after a crash and appends after the last whole record', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    await log.append(Buffer.from('first'));
    await log.append(Buffer.from('second'));
    await log.close();
    const [file] = segmentFiles(dir);
    const full = statSync(path.join(dir, file!)).size;
    // The process died in the middle of writing the second record.
    truncateSync(path.join(dir, file!), full - 3);
    const damage: string[] = [];
    const again = await SegmentLog.open({ dir, maxBytes: 1 << 20, onDamage: (d) => damage.push(d.reason) });
    expect(damage).toEqual(['incomplete frame (torn tail, cut)']);
    expect(text(await readAll(again))).toEqual(['first']);
    await again.append(Buffer.from('third'));
    expect(text(await readAll(again))).toEqual(['first', 'third']);
    await again.close();
    // A header cut short is a torn tail too.
    appendFileSync(path.join(dir, file!), Buffer.alloc(5, 1));
    const third = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    expect(text(await readAll(third))).toEqual(['first', 'third']);
    await third.close();
  });

  it('stops at a frame whose checksum does not match', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    await log.append(Buffer.from('good'));
    await log.append(Buffer.from('flipped'));
    await log.close();
    const file = path.join(dir, segmentFiles(dir)[0]!);
    const bytes = readFileSync(file);
    // Flip one payload byte of the second record.
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0xff;
    writeFileSync(file, bytes);
    const damage: string[] = [];
    const again = await SegmentLog.open({ dir, maxBytes: 1 << 20, onDamage: (d) => damage.push(d.reason) });
    expect(damage).toEqual(['checksum mismatch (torn tail, cut)']);
    expect(text(await readAll(again))).toEqual(['good']);
    await again.close();
  });

  it('rolls segments, reads across them, replays from a position, deletes segments wholly committed', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20, segmentBytes: 100 });
    const payload = (i: number) => Buffer.from(`record-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`);
    // One append at a time: a segment rolls at a write boundary once it has reached 100 bytes.
    for (let i = 0; i < 10; i++) await log.append(payload(i));
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const all = await readAll(log);
    expect(all.map((r) => r.payload.toString().slice(0, 10))).toEqual(
      Array.from({ length: 10 }, (_, i) => `record-${String(i).padStart(3, '0')}`),
    );
    // Commit the first six: the segments holding only them go.
    await log.commit(all[5]!.next);
    const left = segmentFiles(dir);
    expect(left.length).toBeLessThan(files.length);
    expect(left).toContain(files.at(-1));
    await log.close();
    const again = await SegmentLog.open({ dir, maxBytes: 1 << 20, segmentBytes: 100 });
    expect(text(await readAll(again))).toEqual(all.slice(6).map((r) => r.payload.toString()));
    // Replay from any record boundary after the position.
    expect(text(await readAll(again, all[8]!.offset))).toEqual(all.slice(8).map((r) => r.payload.toString()));
    await again.commit(again.end);
    expect(await again.oldestPendingTime()).toBeUndefined();
    expect(segmentFiles(dir)).toEqual([files.at(-1)]);
    await again.close();
  });

  it('refuses appends beyond its byte bound until records are committed', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 3 * (FRAME_HEADER_BYTES + 100) });
    const p = Buffer.alloc(100, 97);
    for (let i = 0; i < 3; i++) await log.append(p);
    expect(log.pendingBytes).toBe(3 * (FRAME_HEADER_BYTES + 100));
    await expect(log.append(p)).rejects.toBeInstanceOf(OverloadedError);
    const [first] = await log.read(log.committed, 1);
    expect(await log.oldestPendingTime()).toBe(first!.time);
    await log.commit(first!.next);
    await log.append(p);
    await expect(log.append(p)).rejects.toBeInstanceOf(OverloadedError);
    await log.close();
    // One record larger than the whole bound still goes into an empty log.
    const big = await SegmentLog.open({ dir: tempDir(), maxBytes: 1000 });
    await big.append(Buffer.alloc(5000));
    expect(big.pendingBytes).toBe(5000 + FRAME_HEADER_BYTES);
    await big.close();
  });

  it('reads a record larger than its read chunk', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 64 << 20 });
    const big = Buffer.alloc(6 * 1024 * 1024, 120);
    await log.append(Buffer.from('small'));
    await log.append(big);
    await log.append(Buffer.from('after'));
    await log.close();
    const again = await SegmentLog.open({ dir, maxBytes: 64 << 20 });
    const all = await readAll(again);
    expect(all.map((r) => r.payload.length)).toEqual([5, big.length, 5]);
    expect(all[1]!.payload.equals(big)).toBe(true);
    await again.close();
  });

  it('waits for records appended later', async () => {
    const log = await SegmentLog.open({ dir: tempDir(), maxBytes: 1 << 20 });
    const end = log.end;
    let woke = false;
    const waiting = log.waitBeyond(end).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    await log.append(Buffer.from('x'));
    await waiting;
    expect(text(await log.read(end, 100))).toEqual(['x']);
    await log.close();
  });

  it('with a data key, seals each payload on disk and opens it on reading; another key or none is refused at open', async () => {
    const dir = tempDir();
    const key = DataKey.generate();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20, key });
    await log.append(Buffer.from('{"c":"a"}\nSECRET-ONE'));
    await log.append(Buffer.from('{"c":"a"}\nSECRET-TWO'));
    expect(text(await readAll(log))).toEqual(['{"c":"a"}\nSECRET-ONE', '{"c":"a"}\nSECRET-TWO']);
    await log.close();
    const bytes = Buffer.concat(segmentFiles(dir).map((n) => readFileSync(path.join(dir, n))));
    expect(bytes.includes('SECRET')).toBe(false);
    await expect(SegmentLog.open({ dir, maxBytes: 1 << 20 })).rejects.toMatchObject({
      code: 'KT_KEY_REQUIRED',
    });
    await expect(SegmentLog.open({ dir, maxBytes: 1 << 20, key: DataKey.generate() })).rejects.toMatchObject({
      code: 'KT_KEY_MISMATCH',
    });
    const again = await SegmentLog.open({ dir, maxBytes: 1 << 20, key });
    expect(text(await readAll(again))).toHaveLength(2);
    await again.close();
  });

  it('without a key writes the same bytes as before keys existed', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    await log.append(Buffer.from('plain'), 1000);
    await log.close();
    const [seg] = segmentFiles(dir);
    expect(readFileSync(path.join(dir, seg!)).subarray(16).toString()).toBe('plain');
  });

  it('writes a payload given in parts as one record, checked as one', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    await log.append([Buffer.from('head\n'), Buffer.from('body')]);
    await log.append(Buffer.from('whole'));
    await log.close();
    const again = await SegmentLog.open({ dir, maxBytes: 1 << 20 });
    expect(text(await readAll(again))).toEqual(['head\nbody', 'whole']);
    await again.close();
  });

  it('keeps attachments beside their records within its bound, each taken once, none after a reopen', async () => {
    const dir = tempDir();
    const log = await SegmentLog.open({ dir, maxBytes: 1 << 20, maxAttached: 5 });
    await Promise.all([
      log.append(Buffer.from('a'), 1, { value: 'A', weight: 2 }),
      log.append(Buffer.from('b'), 2),
      log.append(Buffer.from('c'), 3, { value: 'C', weight: 3 }),
      // Beyond the bound (2 + 3 + 1 > 5): not kept.
      log.append(Buffer.from('d'), 4, { value: 'D', weight: 1 }),
    ]);
    const all = await readAll(log);
    expect(all.map((r) => log.take(r.offset))).toEqual(['A', undefined, 'C', undefined]);
    expect(log.take(all[0]!.offset)).toBeUndefined();
    // Taken ones free their weight; committing drops those before the position.
    await log.append(Buffer.from('e'), 5, { value: 'E', weight: 5 });
    await log.append(Buffer.from('f'), 6, { value: 'F', weight: 1 });
    const more = await log.read(all.at(-1)!.next, 1 << 20);
    await log.commit(more[0]!.next);
    await log.append(Buffer.from('g'), 7, { value: 'G', weight: 5 });
    const last = await log.read(more[0]!.next, 1 << 20);
    expect(last.map((r) => log.take(r.offset))).toEqual([undefined, 'G']);
    await log.close();
    const again = await SegmentLog.open({ dir, maxBytes: 1 << 20, maxAttached: 5 });
    expect((await readAll(again)).map((r) => again.take(r.offset))).toEqual([undefined, undefined]);
    await again.close();
  });
});
