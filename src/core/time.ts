// Timestamps of audit events: RFC 3339 text to epoch microseconds and back (the API server writes
// microseconds, and every store keeps them), the time an event is filed under and its request latency.
// Browser-safe.
import type { AuditEvent } from './event.js';

let lastSecond = '\0'; // never the start of a timestamp
let lastSecondMs = 0;

/** Parses an RFC 3339 timestamp to epoch microseconds (keeps the API server's microsecond precision). */
export function timeToMicros(value: string): number | undefined {
  // Fast path for the API server's own format, 2024-05-01T10:00:00.123456Z; the seconds part repeats
  // from one event to the next, so its parse is remembered.
  if (value.length === 27 && value.charCodeAt(26) === 90 /* Z */ && value.charCodeAt(19) === 46 /* . */) {
    if (!value.startsWith(lastSecond)) {
      const ms = utcSecondMs(value);
      if (Number.isNaN(ms)) return undefined;
      lastSecond = value.slice(0, 19);
      lastSecondMs = ms;
    }
    const frac = digits(value, 20, 26);
    if (frac >= 0) return lastSecondMs * 1000 + frac;
  }
  return parseTimeSlow(value);
}

const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
};

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch ms of the `YYYY-MM-DDTHH:MM:SS` that starts `value`, read as UTC: computed from the digits (days
 * from the civil date) when every part is plainly in range, else left to Date.parse, which decides the
 * rest (leap days, out-of-range parts) exactly as before. NaN when it is not a time.
 */
function utcSecondMs(value: string): number {
  const y = digits(value, 0, 4);
  const mo = digits(value, 5, 7);
  const d = digits(value, 8, 10);
  const h = digits(value, 11, 13);
  const mi = digits(value, 14, 16);
  const s = digits(value, 17, 19);
  if (
    value.charCodeAt(4) !== 45 /* - */ ||
    value.charCodeAt(7) !== 45 ||
    value.charCodeAt(10) !== 84 /* T */ ||
    value.charCodeAt(13) !== 58 /* : */ ||
    value.charCodeAt(16) !== 58 ||
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > DAYS_IN_MONTH[mo - 1]! ||
    (mo === 2 && d === 29) ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    s < 0 ||
    s > 59
  ) {
    return Date.parse(`${value.slice(0, 19)}Z`);
  }
  // Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000;
}

function parseTimeSlow(value: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i.exec(value.trim());
  if (!m) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms * 1000;
  }
  const base = Date.parse(`${m[1]}${m[3]!.toUpperCase() === 'Z' ? 'Z' : m[3]}`);
  if (Number.isNaN(base)) return undefined;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return base * 1000 + Number(frac);
}

/** Formats epoch microseconds as RFC 3339 UTC with microseconds. */
export function microsToTime(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:00.000Z
  const us = String(Math.round(micros - ms * 1000)).padStart(3, '0');
  return `${iso.slice(0, 23)}${us}Z`;
}

/** Event time: when the stage happened (stageTimestamp), else when the request was received. */
export function eventTime(e: AuditEvent): string {
  return e.stageTimestamp || e.requestReceivedTimestamp;
}

/** Request latency in milliseconds: stageTimestamp minus requestReceivedTimestamp. */
export function eventLatencyMs(e: AuditEvent): number | undefined {
  if (!e.stageTimestamp || !e.requestReceivedTimestamp) return undefined;
  const a = timeToMicros(e.requestReceivedTimestamp);
  const b = timeToMicros(e.stageTimestamp);
  if (a === undefined || b === undefined) return undefined;
  return (b - a) / 1000;
}
