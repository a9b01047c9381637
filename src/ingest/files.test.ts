// Listing and reading inputs whose entries cannot be read: with a skip listener every bad entry is
// reported with its reason and the rest is read; without one the first is a coded error, never a crash.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { makeEvent } from '../test-support/events.js';
import type { SkippedInput } from './files.js';
import { createMemoryQuarantine } from './quarantine.js';
import { readEvents, type ReadOptions } from './read.js';

let dir: string;
let logs: string;
let fifo = false;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-files-'));
  logs = path.join(dir, 'logs');
  mkdirSync(logs);
  writeFileSync(path.join(logs, 'a.log'), `${JSON.stringify(makeEvent({ verb: 'create' }))}\n`);
  writeFileSync(path.join(logs, 'z.log'), `${JSON.stringify(makeEvent({ verb: 'delete' }))}\n`);
  symlinkSync(path.join(dir, 'missing.log'), path.join(logs, 'gone.log'));
  symlinkSync(path.join(logs, 'loop.log'), path.join(logs, 'loop.log'));
  mkdirSync(path.join(logs, 'sub.log'));
  try {
    execFileSync('mkfifo', [path.join(logs, 'pipe.log')]);
    fifo = true;
  } catch {
    // No mkfifo on this system: the FIFO case is left out below.
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(inputs: string[], opts: ReadOptions = {}): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for await (const b of readEvents(inputs, { quarantine: createMemoryQuarantine(), ...opts })) out.push(...b);
  return out;
}

async function failure(inputs: string[]): Promise<KubetrailError> {
  try {
    await readAll(inputs);
  } catch (err) {
    expect(err).toBeInstanceOf(KubetrailError);
    return err as KubetrailError;
  }
  return expect.unreachable('should have failed');
}

describe('inputs that cannot be read', () => {
  it('skips and reports every bad entry of a directory, and reads the others', async () => {
    const skipped: SkippedInput[] = [];
    const records = await readAll([logs], { onSkip: (s) => skipped.push(s) });
    expect(records.map((r) => r.event.verb)).toEqual(['create', 'delete']);
    const reasons = Object.fromEntries(skipped.map((s) => [path.basename(s.file), s.reason]));
    expect(reasons).toEqual({
      'gone.log': 'a symbolic link to a file that does not exist',
      'loop.log': 'a loop of symbolic links',
      'sub.log': 'a directory, not a log file',
      ...(fifo ? { 'pipe.log': 'a named pipe (FIFO), not a log file' } : {}),
    });
  });

  it('without a skip listener, a bad entry is KT_INPUT_READ naming it (not an internal error)', async () => {
    const e = await failure([logs]);
    expect(e.code).toBe('KT_INPUT_READ');
    expect(e.where?.file).toMatch(/(gone|loop|sub|pipe)\.log$/);
  });

  it('names a dangling link or a loop given as an argument; a missing path is KT_INPUT_NOT_FOUND', async () => {
    const gone = await failure([path.join(logs, 'gone.log')]);
    expect(gone.code).toBe('KT_INPUT_READ');
    expect(gone.message).toContain('a symbolic link to a file that does not exist');
    const loop = await failure([path.join(logs, 'loop.log')]);
    expect(loop.code).toBe('KT_INPUT_READ');
    expect(loop.message).toContain('a loop of symbolic links');
    expect((await failure([path.join(dir, 'nothing.log')])).code).toBe('KT_INPUT_NOT_FOUND');
  });

  // root reads a file whatever its mode, so a permission failure can only be made as another user.
  it.skipIf(process.getuid?.() === 0)(
    'skips a file without read permission and reads the others (not as root)',
    async () => {
      const locked = path.join(dir, 'locked.log');
      writeFileSync(locked, `${JSON.stringify(makeEvent())}\n`);
      chmodSync(locked, 0o000);
      const skipped: SkippedInput[] = [];
      const records = await readAll([locked, path.join(logs, 'a.log')], { onSkip: (s) => skipped.push(s) });
      expect(records).toHaveLength(1);
      expect(skipped).toEqual([{ file: locked, reason: 'permission denied' }]);
    },
  );
});
