import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../core/event.js';
import { runImport } from '../pipeline/import.js';
import { parseQuery } from '../query/index.js';
import { DuckDBStore } from '../store/duckdb/store.js';
import { makeEvent } from '../test-support/events.js';
import { createMemoryQuarantine } from './quarantine.js';
import { readEvents } from './read.js';
import {
  cutUtf8,
  fitsIn,
  MAX_USER_AGENT_BYTES,
  TRUNCATED_ANNOTATION,
  truncateEvent,
  truncateTransform,
} from './truncate.js';

const size = (e: unknown) => Buffer.byteLength(JSON.stringify(e));
const CAP = 100 * 1024;

describe('fitsIn', () => {
  it('answers exactly what serializing and measuring answers', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat({ max: 4096 }), (value, max) => {
        expect(fitsIn(value, max)).toBe(size(value) <= max);
      }),
      { numRuns: 2000 },
    );
    const escapes = { s: '\u0001'.repeat(100) + '\ud800' };
    expect(fitsIn(escapes, size(escapes))).toBe(true);
    expect(fitsIn(escapes, size(escapes) - 1)).toBe(false);
  });
});

describe('truncateEvent', () => {
  it('leaves an event under the cap as it is', () => {
    const e = makeEvent({ requestObject: { data: 'x'.repeat(1000) } });
    expect(truncateEvent(e, CAP)).toEqual({ event: e, truncated: false });
    expect(truncateEvent(e, CAP).event).toBe(e);
  });

  it('drops the bodies of a larger event, keeps its metadata and annotates it', () => {
    const e = makeEvent({
      verb: 'update',
      objectRef: { resource: 'configmaps', namespace: 'prod', name: 'big', apiVersion: 'v1' },
      annotations: { 'authorization.k8s.io/decision': 'allow' },
      requestObject: { kind: 'ConfigMap', data: { blob: 'x'.repeat(200 * 1024) } },
      responseObject: { kind: 'ConfigMap' },
    });
    const t = truncateEvent(e, CAP);
    expect(t.truncated).toBe(true);
    const { requestObject: _q, responseObject: _r, ...meta } = e;
    expect(t.event).toEqual({
      ...meta,
      annotations: { 'authorization.k8s.io/decision': 'allow', [TRUNCATED_ANNOTATION]: 'true' },
    });
    // The input is not changed.
    expect(e.requestObject).toBeDefined();
  });

  it('cuts an event still too large without its bodies until it fits, and never drops it', () => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) annotations[`k${i}`] = 'v'.repeat(500);
    const huge = makeEvent({
      auditID: 'huge-1',
      requestURI: `/api/v1/pods?x=${'y'.repeat(300_000)}`,
      sourceIPs: Array.from({ length: 50_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
      annotations,
      user: { username: 'mallory', groups: Array.from({ length: 10_000 }, (_, i) => `g${i}`) },
    });
    const t = truncateEvent(huge, CAP);
    expect(t.truncated).toBe(true);
    expect(size(t.event)).toBeLessThanOrEqual(CAP);
    expect(t.event).toMatchObject({
      auditID: 'huge-1',
      verb: huge.verb,
      stage: huge.stage,
      stageTimestamp: huge.stageTimestamp,
      user: { username: 'mallory' },
    });
    expect(t.event.annotations?.[TRUNCATED_ANNOTATION]).toBe('true');
    expect(t.event.requestURI.startsWith('/api/v1/pods?x=yyy')).toBe(true);
    // Even nesting at the limit fits the smallest cap.
    let deep: unknown = 'z'.repeat(5000);
    for (let i = 0; i < 500; i++) deep = { ['k'.repeat(2000)]: deep, other: 'w'.repeat(2000) };
    const nested = truncateEvent(makeEvent({ user: { username: 'u', extra: deep } as never }), 64 * 1024);
    expect(size(nested.event)).toBeLessThanOrEqual(64 * 1024);
  });

  it('cuts the user agent at 1024 bytes with ...TRUNCATED, as the API server does', () => {
    const e = makeEvent({ userAgent: `kubectl/${'é'.repeat(1000)}` });
    const t = truncateEvent(e, CAP);
    expect(t.truncated).toBe(false);
    expect(t.event.userAgent!.endsWith('...TRUNCATED')).toBe(true);
    const kept = t.event.userAgent!.slice(0, -'...TRUNCATED'.length);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(MAX_USER_AGENT_BYTES);
    expect(Buffer.byteLength(kept)).toBeGreaterThan(MAX_USER_AGENT_BYTES - 2);
    expect(kept.isWellFormed()).toBe(true);
    const short = makeEvent({ userAgent: 'a'.repeat(MAX_USER_AGENT_BYTES) });
    expect(truncateEvent(short, CAP).event).toBe(short);
  });

  it('cuts UTF-8 between characters', () => {
    expect(cutUtf8('aé😀b', 1)).toBe('a');
    expect(cutUtf8('aé😀b', 2)).toBe('a');
    expect(cutUtf8('aé😀b', 3)).toBe('aé');
    expect(cutUtf8('aé😀b', 6)).toBe('aé');
    expect(cutUtf8('aé😀b', 7)).toBe('aé😀');
    expect(cutUtf8('aé😀b', 8)).toBe('aé😀b');
  });

  it('as a transform, counts and reports each event it cut', () => {
    const seen: string[] = [];
    const t = truncateTransform(CAP, (r) => seen.push(r.event.auditID));
    const small = { cluster: 'c', event: makeEvent({ auditID: 's' }) };
    const big = { cluster: 'c', event: makeEvent({ auditID: 'b', responseObject: 'x'.repeat(CAP) }) };
    const out = t.apply([small, big]) as { event: AuditEvent }[];
    expect(out[0]).toBe(small);
    expect(out[1]!.event.responseObject).toBeUndefined();
    expect(t.stats.truncated).toBe(1);
    expect(seen).toEqual(['b']);
  });
});

describe('import of an oversized event', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('stores a 5 MB event truncated, counts it, and body-path queries still work', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-truncate-'));
    dirs.push(dir);
    const big = makeEvent({
      auditID: 'big-1',
      verb: 'create',
      requestObject: { kind: 'ConfigMap', data: { blob: 'x'.repeat(5 * 1024 * 1024) } },
    });
    const small = makeEvent({
      auditID: 'small-1',
      verb: 'create',
      requestObject: { kind: 'ConfigMap', metadata: { name: 'app-config' } },
    });
    const file = path.join(dir, 'audit.log');
    writeFileSync(file, `${JSON.stringify(big)}\n${JSON.stringify(small)}\n`);
    const store = await DuckDBStore.open(path.join(dir, 'kt.duckdb'));
    try {
      const summary = await runImport({
        source: readEvents([file], { cluster: 'c', quarantine: createMemoryQuarantine() }),
        store,
      });
      expect(summary).toMatchObject({ read: 2, stored: 2, truncated: 1 });
      const [stored] = await store.getByAuditId('big-1');
      expect(stored!.event.requestObject).toBeUndefined();
      expect(stored!.event.annotations?.[TRUNCATED_ANNOTATION]).toBe('true');
      expect(size(stored!.event)).toBeLessThan(10_000);
      const page = await store.query({ filter: parseQuery('requestObject.metadata.name:app-*'), limit: 10 });
      expect(page.records.map((r) => r.event.auditID)).toEqual(['small-1']);
      expect(await store.count(parseQuery(`annotations.${TRUNCATED_ANNOTATION}:true`))).toBe(1);
    } finally {
      await store.close();
    }
  });
});
