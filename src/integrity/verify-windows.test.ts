// The time windows a verification works through: consecutive, covering the whole range, and holding
// about the number of signed events asked for.
import { describe, expect, it } from 'vitest';
import type { DigestRecord } from '../store/integrity.js';
import { timeWindows } from './verify.js';

const batch = (seq: number, from: number, to: number, count: number): DigestRecord =>
  ({ writer: 'w', seq, at: seq, chain: '', kind: 'batch', count, from, to, entriesHash: '' }) as DigestRecord;

describe('timeWindows', () => {
  const batches = Array.from({ length: 10 }, (_, i) => batch(i + 1, i * 100, i * 100 + 99, 50));

  it('is one window when the range holds no more than the size', () => {
    expect(timeWindows(batches, undefined, undefined, 500)).toEqual([[undefined, undefined]]);
    expect(timeWindows(batches, 10, 2000, 10_000)).toEqual([[10, 2000]]);
  });

  it('cuts after the batch that fills a window, and the windows cover the range end to end', () => {
    expect(timeWindows(batches, undefined, undefined, 200)).toEqual([
      [undefined, 400],
      [400, 800],
      [800, undefined],
    ]);
    const w = timeWindows(batches, 150, 950, 100);
    expect(w[0]![0]).toBe(150);
    expect(w[w.length - 1]![1]).toBe(950);
    for (let i = 1; i < w.length; i++) {
      expect(w[i]![0]).toBe(w[i - 1]![1]);
      expect(w[i]![0]!).toBeGreaterThan(w[i - 1]![0] ?? -Infinity);
    }
    // No bound outside the range.
    expect(w.flat().every((b) => b! >= 150 && b! <= 950)).toBe(true);
  });

  it('orders overlapping batches by their end and never repeats a bound', () => {
    const overlapping = [batch(1, 0, 1000, 10), batch(2, 0, 1000, 10), batch(3, 500, 600, 10)];
    expect(timeWindows(overlapping, undefined, undefined, 10)).toEqual([
      [undefined, 601],
      [601, 1001],
      [1001, undefined],
    ]);
  });
});
