import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseTimeArg } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['1s', 1000],
    ['1.5s', 1500],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    ['500us', 0.5],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'h', '10', '10x', '1h-', '-1h', '1 h', 'abc'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('parseTimeArg', () => {
  const now = Date.parse('2026-01-02T03:04:05Z');
  it('reads durations as "ago"', () => expect(parseTimeArg('1h', now)).toBe(now - 3_600_000));
  it('reads dates as UTC midnight', () =>
    expect(parseTimeArg('2024-05-01', now)).toBe(Date.parse('2024-05-01T00:00:00Z')));
  it('reads RFC 3339 times', () => {
    expect(parseTimeArg('2024-05-01T10:00:00Z', now)).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect(parseTimeArg('2024-05-01T12:00:00+02:00', now)).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect(parseTimeArg('2024-05-01 10:00', now)).toBe(Date.parse('2024-05-01T10:00:00Z'));
  });
  it('rejects junk', () => {
    expect(parseTimeArg('yesterday', now)).toBeUndefined();
    expect(parseTimeArg('2024-13-45T99:00:00Z', now)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0.25, '250µs'],
    [12.34, '12.3ms'],
    [1500, '1.5s'],
    [5_400_000, '1h30m'],
  ])('%d → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
