// The server's verification task: runs on its schedule (none with interval 0), records each result as the
// server's, joins a verification already running instead of starting a second, records nothing when the
// store cannot be verified, and stops cleanly.
import { describe, expect, it } from 'vitest';
import type { VerificationRecord, VerifyReport } from '../integrity/types.js';
import { VerificationTask, verificationRecord } from './integrity-task.js';

const clean: VerifyReport = {
  verified: { events: 3, from: '2024-05-01T10:00:00Z', to: '2024-05-01T11:00:00Z' },
  findings: [],
};
const dirty: VerifyReport = {
  verified: { events: 3 },
  findings: [{ kind: 'deleted', auditID: 'a', time: '2024-05-01T10:00:00Z', detail: 'signed but gone' }],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('VerificationTask', () => {
  it('makes a record of a report', () => {
    expect(verificationRecord(clean, 1_000, 1_250)).toEqual({
      at: '1970-01-01T00:00:01.000Z',
      ok: true,
      durationMs: 250,
      by: 'server',
      ...clean,
    });
    expect(verificationRecord(dirty, 0, 0).ok).toBe(false);
  });

  it('verifies on its schedule and records each result', async () => {
    const saved: VerificationRecord[] = [];
    let calls = 0;
    const task = new VerificationTask({
      intervalMs: 30,
      firstDelayMs: 5,
      verify: async () => (++calls % 2 === 1 ? clean : dirty),
      record: async (r) => void saved.push(r),
    });
    task.start();
    expect(task.next).toBeGreaterThan(0);
    const deadline = Date.now() + 3000;
    while (saved.length < 3 && Date.now() < deadline) await sleep(10);
    await task.stop();
    expect(saved.slice(0, 3).map((r) => [r.by, r.ok])).toEqual([
      ['server', true],
      ['server', false],
      ['server', true],
    ]);
    expect(task.next).toBeUndefined();
    const n = saved.length;
    await sleep(60);
    expect(saved).toHaveLength(n);
  });

  it('schedules nothing with interval 0, joins a running verification, and records no failure', async () => {
    const saved: VerificationRecord[] = [];
    let calls = 0;
    let fail = false;
    let release: () => void = () => undefined;
    const task = new VerificationTask({
      intervalMs: 0,
      verify: async () => {
        calls++;
        await new Promise<void>((r) => (release = r));
        if (fail) throw new Error('store unreachable');
        return clean;
      },
      record: async (r) => void saved.push(r),
    });
    task.start();
    expect(task.next).toBeUndefined();
    const a = task.run();
    const b = task.run();
    expect(task.running).toBe(true);
    await sleep(5);
    release();
    expect(await a).toBe(await b);
    expect(calls).toBe(1);
    expect(task.running).toBe(false);
    fail = true;
    const c = task.run();
    await sleep(5);
    release();
    await expect(c).rejects.toThrow('store unreachable');
    expect(saved).toHaveLength(1);
    await task.stop();
  });
});
