import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeEvent, rec } from '../test-support/events.js';
import { contentHash, toRow } from './columns.js';

/** The content hash as every earlier kubetrail computed it; stored hashes must keep matching it. */
const legacy = (cluster: string, json: string) =>
  createHash('sha1').update(cluster).update('\0').update(json).digest('hex').slice(0, 32);

describe('content hash', () => {
  it('is pinned: the same value stores written before hold (SHA-1 of UTF-8 cluster, NUL, event JSON)', () => {
    // Computed outside Node: printf 'prod\0{"a":1}' | sha1sum
    expect(contentHash('prod', '{"a":1}')).toBe('a220f2a4d0698e111949e8010d6c4ff5');
    // A lone surrogate in the cluster name is hashed as U+FFFD (EF BF BD), as Hash.update did.
    expect(contentHash('c\ud800', '{"u":"\\ud800 é"}')).toBe('ad42e5e74edc79c30830a302db345019');
  });

  it('equals the earlier computation for generated events, non-ASCII, NUL and surrogates', () => {
    const samples = [
      JSON.stringify(makeEvent()),
      JSON.stringify(makeEvent({ userAgent: 'kubectl \u0000 \u202e é 日本 😀 \ud800' })),
      '',
      'x'.repeat(100_000),
    ];
    for (const cluster of ['', 'prod', 'ünïcode', 'a\u0000b', '\udfff']) {
      for (const json of samples) expect(contentHash(cluster, json)).toBe(legacy(cluster, json));
    }
  });
});

describe('toRow', () => {
  it('keeps a response code in the 32-bit range and leaves others out of the code column', () => {
    const code = (c: unknown) => toRow(rec(makeEvent({ responseStatus: { code: c as number } }))).code;
    expect(code(403)).toBe(403);
    expect(code(200.9)).toBe(200);
    expect(code(-2147483648)).toBe(-2147483648);
    expect(code(2147483647)).toBe(2147483647);
    expect(code(2147483648)).toBeNull();
    expect(code(1e12)).toBeNull();
    expect(code(-1e300)).toBeNull();
    expect(code(Number.NaN)).toBeNull();
    expect(code('500')).toBeNull();
  });

  it('hashes the event JSON it stores', () => {
    const r = toRow(rec(makeEvent()));
    expect(r.content_hash).toBe(legacy(r.cluster, r.event));
  });
});
