// Typed readings of filter values: numbers, durations (milliseconds) and times (epoch microseconds,
// absolute or relative to now). Shared by the parser (validation) and every back end (so they agree).
import { parseDuration } from '../../core/duration.js';
import { timeToMicros } from '../../core/time.js';

export function numberValue(text: string): number | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A duration in ms: `1s`, `250ms`, `1h30m`, or a plain number of milliseconds. */
export function durationValue(text: string): number | undefined {
  return numberValue(text) ?? parseDuration(text);
}

/**
 * A time as a range of epoch microseconds [from, to): a date is the whole UTC day; a full timestamp is one
 * instant (to = from + 1); `now`, `now-1h`, `now+15m` are relative to `now` (epoch ms).
 */
export function timeValue(text: string, now: number): { from: number; to: number } | undefined {
  const t = text.trim();
  const rel = /^now(?:([+-])(.+))?$/i.exec(t);
  if (rel) {
    const d = rel[2] === undefined ? 0 : parseDuration(rel[2]);
    if (d === undefined) return undefined;
    const at = Math.round((now + (rel[1] === '-' ? -d : d)) * 1000);
    return { from: at, to: at + 1 };
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    if (Number.isNaN(ms)) return undefined;
    return { from: ms * 1000, to: (ms + 86_400_000) * 1000 };
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(t)) return undefined;
  const withSeconds = /T\d{2}:\d{2}(Z|[+-])/i.test(t) ? t.replace(/(T\d{2}:\d{2})/i, '$1:00') : t;
  const us = timeToMicros(withSeconds);
  return us === undefined ? undefined : { from: us, to: us + 1 };
}
