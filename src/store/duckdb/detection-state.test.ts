// Detection's tables with a data key: what carries event text is sealed in the file and opened on
// reading; the tables refuse to open without the key or with another.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/alert.js';
import { DataKey } from '../../crypto/cipher.js';
import { resealDetectionStateFile } from './detection-reseal.js';
import { openDetectionStateFile } from './detection-state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const alert: Alert = {
  id: 'a1',
  rule: 'r',
  title: 'Title',
  severity: 'high',
  time: '2026-01-02T03:04:05.000000Z',
  cluster: 'c',
  auditIDs: ['x'],
  message: 'curl/MARKER-UA from 203.0.113.77',
  references: [],
  key: 'MARKER-KEY',
  count: 1,
};

describe('DuckDB detection state with a data key', () => {
  it('seals messages, keys and state on disk, reads them back, and refuses no key or another', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-detstate-'));
    dirs.push(dir);
    const file = path.join(dir, 'detect.duckdb');
    const key = DataKey.generate();
    let s = await openDetectionStateFile(file, { key });
    await s.state.save([alert], [{ name: 'out', minSeverity: 'info' }]);
    await s.state.retryLater([{ alertId: 'a1', output: 'out', attempts: 1 }], 0, 'MARKER-ERR', false);
    await s.state.saveState({ rules: { r: { seen: { 'MARKER-SEEN': ['203.0.113.77'] } } }, lastTime: 5 });
    expect(await s.state.get('a1')).toEqual(alert);
    await s.close();
    const bytes = Buffer.concat(readdirSync(dir).map((n) => readFileSync(path.join(dir, n))));
    expect(bytes.includes('MARKER')).toBe(false);
    expect(bytes.includes('203.0.113.77')).toBe(false);
    await expect(openDetectionStateFile(file)).rejects.toMatchObject({ code: 'KT_KEY_REQUIRED' });
    await expect(openDetectionStateFile(file, { key: DataKey.generate() })).rejects.toMatchObject({
      code: 'KT_KEY_MISMATCH',
    });
    s = await openDetectionStateFile(file, { key });
    expect((await s.state.list())[0]).toEqual(alert);
    expect((await s.state.due(Date.now()))[0]?.alert).toEqual(alert);
    expect(await s.state.loadState()).toEqual({
      rules: { r: { seen: { 'MARKER-SEEN': ['203.0.113.77'] } } },
      lastTime: 5,
    });
    await s.close();
    // Rotation: sealed again with a new key, which alone opens the tables afterwards.
    const next = DataKey.generate();
    expect(await resealDetectionStateFile(file, { from: key, to: next })).toBe(4);
    await expect(openDetectionStateFile(file, { key })).rejects.toMatchObject({ code: 'KT_KEY_MISMATCH' });
    s = await openDetectionStateFile(file, { key: next });
    expect(await s.state.get('a1')).toEqual(alert);
    expect((await s.state.loadState())?.lastTime).toBe(5);
    await s.close();
  });

  it('a rotation from no key seals tables written in clear', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-detstate-'));
    dirs.push(dir);
    const file = path.join(dir, 'detect.duckdb');
    let s = await openDetectionStateFile(file);
    await s.state.save([alert]);
    await s.close();
    const key = DataKey.generate();
    await resealDetectionStateFile(file, { from: undefined, to: key });
    await expect(openDetectionStateFile(file)).rejects.toMatchObject({ code: 'KT_KEY_REQUIRED' });
    s = await openDetectionStateFile(file, { key });
    expect(await s.state.get('a1')).toEqual(alert);
    await s.close();
    const bytes = Buffer.concat(readdirSync(dir).map((n) => readFileSync(path.join(dir, n))));
    expect(bytes.includes('MARKER')).toBe(false);
  });
});
