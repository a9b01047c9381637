// Timestamps of audit events: RFC 3339 text to epoch microseconds and back (the API server writes
// microseconds, and every store keeps them), the time an event is filed under and its request latency.
// Browser-safe.
import type { AuditEvent } from './event.js';

let lastSecond = '';
let lastSecondMs = 0;

/** Parses an RFC 3339 timestamp to epoch microseconds (keeps the API server's microsecond precision). */
export function timeToMicros(value: string): number | undefined {
  // Fast path for the API server's own format, 2024-05-01T10:00:00.123456Z; the seconds part repeats
  // from one event to the next, so its parse is remembered.
  if (value.length === 27 && value.charCodeAt(26) === 90 /* Z */ && value.charCodeAt(19) === 46 /* . */) {
    const second = value.slice(0, 19);
    if (second !== lastSecond) {
      const ms = Date.parse(`${second}Z`);
      if (Number.isNaN(ms)) return undefined;
      lastSecond = second;
      lastSecondMs = ms;
    }
    const frac = Number(value.slice(20, 26));
    if (Number.isInteger(frac) && /^\d{6}$/.test(value.slice(20, 26))) return lastSecondMs * 1000 + frac;
  }
  return parseTimeSlow(value);
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
