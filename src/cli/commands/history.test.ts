import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { AuditEvent, EventRecord } from '../../core/event.js';
import { openDuckDBStore } from '../../store/duckdb/store.js';
import { runCli } from '../../test-support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-history-cmd-'));
const db = path.join(dir, 'kt.duckdb');

const cm = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'prod', managedFields: [{ manager: 'kubectl' }] },
  data,
});

let n = 0;
function write(verb: string, time: string, extra: Partial<AuditEvent>): EventRecord {
  n++;
  return {
    cluster: 'c1',
    event: {
      level: 'RequestResponse',
      auditID: `h-${n}`,
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/prod/configmaps/settings',
      verb,
      user: { username: 'system:admin' },
      impersonatedUser: { username: 'alice' },
      objectRef: { resource: 'configmaps', namespace: 'prod', name: 'settings', apiVersion: 'v1' },
      responseStatus: { code: 200 },
      requestReceivedTimestamp: time,
      stageTimestamp: time,
      ...extra,
    },
  };
}

beforeAll(async () => {
  const store = await openDuckDBStore(db);
  await store.write([
    write('create', '2024-05-01T10:00:00.000000Z', {
      responseObject: cm({ a: '1' }),
      responseStatus: { code: 201 },
    }),
    write('patch', '2024-05-01T10:01:00.000000Z', { level: 'Request', requestObject: { data: { b: '2' } } }),
    write('update', '2024-05-01T10:02:00.000000Z', { level: 'Metadata' }),
    write('delete', '2024-05-01T10:03:00.000000Z', { level: 'Metadata' }),
  ]);
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const history = (...args: string[]) => runCli(['history', '--db', db, '-n', 'prod', 'cm/settings', ...args]);

describe('kubetrail history', () => {
  it('lists writes with the actor and the state after each', async () => {
    const r = await history();
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(lines[0]).toMatch(/alice \(system:admin as alice\)\s+create 201\s+\[known: response\]/);
    expect(lines[1]).toMatch(/patch 200\s+\[derived: strategic-merge-patch\]/);
    expect(lines[2]).toMatch(/update 200\s+\[unknown\]/);
    expect(lines[3]).toMatch(/delete 200\s+\[deleted\]/);
    expect(r.out).toContain('+ data.b: "2"');
    expect(r.out).not.toContain('managedFields');
    expect((await history('--managed-fields')).out).toContain('managedFields');
  });

  it('--at prints the object as it was, saying how it is known', async () => {
    const derived = await history('--at', '2024-05-01T10:01:30Z');
    expect(derived.code).toBe(0);
    const [head, ...rest] = derived.out.split('\n');
    expect(head).toMatch(
      /^# configmaps\/settings in prod at 2024-05-01T10:01:30.000Z: derived: .* since 2024-05-01T10:01:00.000000Z \(request h-2, strategic-merge-patch\)/,
    );
    expect(parse(rest.join('\n'))).toMatchObject({ kind: 'ConfigMap', data: { a: '1', b: '2' } });

    const json = JSON.parse((await history('--at', '2024-05-01T10:00:30Z', '-o', 'json')).out);
    expect(json).toMatchObject({ state: 'known', source: 'response', object: { data: { a: '1' } } });
  });

  it('--at says unknown, deleted or not yet created, prints no object and exits 1', async () => {
    for (const [at, word] of [
      ['2024-05-01T10:02:30Z', 'unknown'],
      ['2024-05-01T10:05:00Z', 'deleted'],
      ['2024-05-01T09:00:00Z', 'not yet created'],
    ] as const) {
      const r = await history('--at', at);
      expect(r.code, at).toBe(1);
      expect(r.out.trim().split('\n')).toHaveLength(1);
      expect(r.out).toContain(`: ${word}`);
    }
  });

  it('refuses a time it cannot read', async () => {
    const r = await history('--at', 'yesterday-ish');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/KT_TIME_INVALID/);
  });
});
