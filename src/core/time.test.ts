import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from './event.js';
import { eventLatencyMs, eventTime, microsToTime, timeToMicros } from './time.js';

const event = (received: string, stage: string) =>
  ({ requestReceivedTimestamp: received, stageTimestamp: stage }) as AuditEvent;

describe('timeToMicros', () => {
  it("keeps the API server's microseconds", () => {
    const us = timeToMicros('2024-05-01T10:00:00.123456Z')!;
    expect(us).toBe(Date.UTC(2024, 4, 1, 10) * 1000 + 123456);
    expect(microsToTime(us)).toBe('2024-05-01T10:00:00.123456Z');
  });

  it('remembers the last second without mixing up seconds that alternate', () => {
    const a = '2024-05-01T10:00:00.000001Z';
    const b = '2024-05-01T10:00:01.000002Z';
    expect(timeToMicros(a)).toBe(Date.UTC(2024, 4, 1, 10) * 1000 + 1);
    expect(timeToMicros(b)).toBe(Date.UTC(2024, 4, 1, 10, 0, 1) * 1000 + 2);
    expect(timeToMicros(a)).toBe(Date.UTC(2024, 4, 1, 10) * 1000 + 1);
  });

  it('reads offsets, lower-case z and fractions of 0 to 9 digits', () => {
    const base = Date.UTC(2024, 4, 1, 10) * 1000;
    expect(timeToMicros('2024-05-01T12:00:00.5+02:00')).toBe(base + 500_000);
    expect(timeToMicros('2024-05-01T09:30:00-0030')).toBe(base);
    expect(timeToMicros('2024-05-01T10:00:00z')).toBe(base);
    expect(timeToMicros('2024-05-01T10:00:00.123456789Z')).toBe(base + 123456);
    expect(timeToMicros(' 2024-05-01T10:00:00.1Z ')).toBe(base + 100_000);
  });

  it('falls back to Date.parse for other spellings and refuses what is no time', () => {
    expect(timeToMicros('2024-05-01')).toBe(Date.UTC(2024, 4, 1) * 1000);
    expect(timeToMicros('not a time')).toBeUndefined();
    expect(timeToMicros('')).toBeUndefined();
    // The fast path's shape with a bad date or a bad fraction.
    expect(timeToMicros('2024-13-01T10:00:00.000000Z')).toBeUndefined();
    expect(timeToMicros('2024-05-01T10:00:00.12345xZ')).toBeUndefined();
    expect(timeToMicros('2024-05-01T10:00:00.-12345Z')).toBeUndefined();
  });
});

describe('timeToMicros agrees with Date.parse', () => {
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  it('on the seconds of every date, in range or not, leap days included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 999_999 }),
        (y, mo, d, h, mi, s, us) => {
          const second = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
          const ms = Date.parse(`${second}Z`);
          const expected = Number.isNaN(ms) ? undefined : ms * 1000 + us;
          expect(timeToMicros(`${second}.${pad(us, 6)}Z`)).toBe(expected);
        },
      ),
      { numRuns: 5000 },
    );
    for (const t of [
      '2024-02-29T00:00:00',
      '2023-02-29T00:00:00',
      '2000-02-29T23:59:59',
      '1900-02-29T00:00:00',
    ]) {
      const ms = Date.parse(`${t}Z`);
      expect(timeToMicros(`${t}.000000Z`), t).toBe(Number.isNaN(ms) ? undefined : ms * 1000);
    }
  });
});

describe('microsToTime', () => {
  it('writes UTC with six fraction digits, also before 1970', () => {
    expect(microsToTime(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(microsToTime(-1)).toBe('1969-12-31T23:59:59.999999Z');
    expect(microsToTime(1_714_557_600_000_007)).toBe('2024-05-01T10:00:00.000007Z');
  });
});

describe('event time and latency', () => {
  it('files an event under its stage time, else its receipt', () => {
    expect(eventTime(event('2024-05-01T10:00:00Z', '2024-05-01T10:00:01Z'))).toBe('2024-05-01T10:00:01Z');
    expect(eventTime(event('2024-05-01T10:00:00Z', ''))).toBe('2024-05-01T10:00:00Z');
  });

  it('measures latency in milliseconds with microsecond precision', () => {
    expect(eventLatencyMs(event('2024-05-01T10:00:00.000100Z', '2024-05-01T10:00:00.250300Z'))).toBeCloseTo(
      250.2,
      6,
    );
    expect(eventLatencyMs(event('', '2024-05-01T10:00:00Z'))).toBeUndefined();
    expect(eventLatencyMs(event('bad', '2024-05-01T10:00:00Z'))).toBeUndefined();
  });
});
