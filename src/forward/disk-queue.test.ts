// The forwarder queue: order, reopen after a crash (torn tail cut, committed frames not seen again),
// the byte bound with `block` (appends wait for room) and `drop-oldest` (exact count, never the batch
// being delivered, the drop survives a reopen).
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DataKey } from '../crypto/cipher.js';
import { DiskQueue, FRAME_HEADER_BYTES } from './disk-queue.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'kt-dq-'));
  dirs.push(d);
  return d;
}

const batch = (tag: string, n = 1) => ({ payload: Buffer.from(`${tag}\n`.repeat(n)), count: n });
const text = (frames: { payload: Buffer }[]) => frames.map((f) => f.payload.toString().trim()).join(',');
const never = new Promise<void>(() => undefined);

describe('DiskQueue', () => {
  it('delivers in order and, after a reopen, only what was not done', async () => {
    const dir = tmp();
    let q = await DiskQueue.open(dir, 1 << 20, 'block');
    await q.append([batch('a'), batch('b')]);
    await q.append([batch('c', 3)]);
    expect(q.pendingRecords).toBe(5);
    expect(text(await q.take(2, 1 << 20))).toBe('a,b');
    await q.done();
    await q.close();
    // A crash in the middle of writing a frame: the torn tail is cut at open.
    const seg = readdirSync(dir).find((n) => n.endsWith('.seg'))!;
    appendFileSync(path.join(dir, seg), Buffer.alloc(FRAME_HEADER_BYTES - 3, 7));
    q = await DiskQueue.open(dir, 1 << 20, 'block');
    expect(q.pendingRecords).toBe(3);
    const [c] = await q.take(100, 1 << 20);
    expect(c!.payload.toString()).toBe('c\nc\nc\n');
    // Taken and not done (a crash during delivery): delivered again after the reopen.
    await q.close();
    q = await DiskQueue.open(dir, 1 << 20, 'block');
    expect(text(await q.take(100, 1 << 20))).toBe('c\nc\nc');
    await q.done();
    await q.append([batch('d')]);
    expect(text(await q.take(100, 1 << 20))).toBe('d');
    await q.close();
  });

  it('block: an append that does not fit waits until delivery makes room', async () => {
    const q = await DiskQueue.open(tmp(), 200, 'block');
    const big = { payload: Buffer.alloc(100, 97), count: 1 };
    await q.append([big]);
    let appended = false;
    const waiting = q.append([big]).then(() => (appended = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(appended).toBe(false);
    expect(q.pendingBytes).toBe(124);
    await q.take(1, 1 << 20);
    await q.done();
    await waiting;
    expect(q.pendingRecords).toBe(1);
    await q.close();
  });

  it('drop-oldest: drops whole frames not being delivered, counts their records exactly, and the drop survives a reopen', async () => {
    const dir = tmp();
    let q = await DiskQueue.open(dir, 300, 'drop-oldest');
    const frame = (tag: string) => ({ payload: Buffer.from(`${tag}\n`.repeat(10)), count: 10 }); // 24 + 30 bytes
    await q.append([frame('a0'), frame('a1')]);
    const inFlight = await q.take(10, 1 << 20); // a0 is being delivered
    for (let i = 2; i < 9; i++) await q.append([frame(`a${i}`)]);
    expect(q.pendingBytes).toBeLessThanOrEqual(300);
    // 9 frames of 54 bytes into 300: 4 dropped, never a0 (in flight).
    expect(q.dropped).toBe(40);
    expect(text(inFlight)).toBe(Array(10).fill('a0').join('\n'));
    await q.close();
    // A crash before a0 was done: a0 is delivered again, the dropped frames are not.
    q = await DiskQueue.open(dir, 300, 'drop-oldest');
    const after = await q.take(100, 1 << 20);
    expect(after.map((f) => f.payload.toString().slice(0, 2))).toEqual(['a0', 'a5', 'a6', 'a7', 'a8']);
    await q.done();
    expect(q.pendingRecords).toBe(0);
    await q.close();
  });

  it('drop-oldest: an append larger than the room left drops its own oldest frames, counted', async () => {
    const q = await DiskQueue.open(tmp(), 300, 'drop-oldest');
    const frame = (tag: string) => ({ payload: Buffer.from(`${tag}\n`.repeat(10)), count: 10 }); // 54 bytes
    await q.append([frame('a')]);
    await q.take(10, 1 << 20); // a is being delivered
    await q.append(Array.from({ length: 8 }, (_, i) => frame(`b${i}`)));
    expect(q.pendingBytes).toBeLessThanOrEqual(300);
    expect(q.dropped).toBe(40);
    await q.done();
    const rest = await q.take(100, 1 << 20);
    expect(rest.map((f) => f.payload.toString().slice(0, 2))).toEqual(['b4', 'b5', 'b6', 'b7']);
    await q.close();
  });

  it('refuseWaiting: appends that wait for room fail, appends that fit go on', async () => {
    const q = await DiskQueue.open(tmp(), 100, 'block');
    await q.append([{ payload: Buffer.alloc(50), count: 1 }]);
    const waiting = q.append([{ payload: Buffer.alloc(60), count: 1 }]);
    q.refuseWaiting();
    await expect(waiting).rejects.toMatchObject({ code: 'KT_OVERLOADED' });
    await q.append([{ payload: Buffer.alloc(1), count: 1 }]);
    expect(q.pendingRecords).toBe(2);
    await q.close();
  });

  it('close refuses appends that wait for room', async () => {
    const q = await DiskQueue.open(tmp(), 100, 'block');
    await q.append([{ payload: Buffer.alloc(90), count: 1 }]);
    const waiting = q.append([{ payload: Buffer.alloc(90), count: 1 }]);
    await q.close();
    await expect(waiting).rejects.toMatchObject({ code: 'KT_OVERLOADED' });
    await q.waitForData(never);
  });

  it('with a data key, seals payloads on disk, opens them when taken, and refuses another key or none', async () => {
    const dir = tmp();
    const key = DataKey.generate();
    let q = await DiskQueue.open(dir, 1 << 20, 'block', key);
    await q.append([batch('SECRET-A'), batch('SECRET-B', 2)]);
    await q.close();
    const bytes = Buffer.concat(
      readdirSync(dir)
        .filter((n) => n.endsWith('.seg'))
        .map((n) => readFileSync(path.join(dir, n))),
    );
    expect(bytes.includes('SECRET')).toBe(false);
    await expect(DiskQueue.open(dir, 1 << 20, 'block')).rejects.toMatchObject({ code: 'KT_KEY_REQUIRED' });
    await expect(DiskQueue.open(dir, 1 << 20, 'block', DataKey.generate())).rejects.toMatchObject({
      code: 'KT_KEY_MISMATCH',
    });
    q = await DiskQueue.open(dir, 1 << 20, 'block', key);
    expect(q.pendingRecords).toBe(3);
    expect(text(await q.take(10, 1 << 20))).toBe('SECRET-A,SECRET-B\nSECRET-B');
    await q.close();
  });
});
