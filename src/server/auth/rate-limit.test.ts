// The failure limiter: a cap per key within a sliding window, nothing cleared by success, bounded memory.
import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit.js';

describe('FailureLimiter', () => {
  it('asks a key to wait once it has maxFailures failures in the window, until the oldest leaves it', () => {
    const l = new FailureLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfter('a', 1000 * i)).toBe(0);
      l.fail('a', 1000 * i);
    }
    expect(l.retryAfter('a', 3000)).toBe(57);
    expect(l.retryAfter('b', 3000)).toBe(0);
    expect(l.retryAfter('a', 60_001)).toBe(0);
  });

  it('keeps a key waiting while failures go on, and keeps at most maxFailures per key', () => {
    const l = new FailureLimiter(2, 10_000);
    for (let t = 0; t < 100_000; t += 1000) l.fail('a', t);
    expect(l.retryAfter('a', 100_000)).toBeGreaterThan(0);
    expect(l.retryAfter('a', 109_001)).toBe(0);
  });

  it('holds at most maxKeys keys under a flood of distinct ones, dropping the stalest', () => {
    const l = new FailureLimiter(1, 60_000, 100);
    for (let i = 0; i < 1000; i++) l.fail(`k${i}`, i);
    expect(l.size).toBeLessThanOrEqual(100);
    expect(l.retryAfter('k999', 1000)).toBeGreaterThan(0);
  });
});
