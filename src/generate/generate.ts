// Streams realistic audit events for the simulated cluster in time order, deterministically from a seed,
// optionally with the demo incidents woven in. Also writes them to a JSON-lines file quickly. The demo
// data set is one day of it that ends a couple of minutes before the moment it is generated, so that it
// always shows in the default "last 24 hours" views; the same seed and end give the same events.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import type { AuditEvent } from '../core/event.js';
import { START_OF_DEMO } from './cluster.js';
import { backgroundRequest } from './background.js';
import { toEvents, World } from './events.js';
import { incidentEvents } from './incidents.js';
import { Random } from './random.js';

export interface GenerateOptions {
  seed: number;
  /** Start of the period, epoch ms. */
  start: number;
  durationMs: number;
  /** Average request rate (each request gives one or two events). Default: fills `count` evenly, else 2/s. */
  eventsPerSecond?: number;
  /** Stop after this many events. */
  count?: number;
  incidents?: boolean;
}

export function* generateEvents(opts: GenerateOptions): Generator<AuditEvent> {
  const rnd = new Random(opts.seed);
  const rate = opts.eventsPerSecond ?? (opts.count ? opts.count / (opts.durationMs / 1000) : 2);
  const meanGapUs = 1_000_000 / rate;
  const endUs = (opts.start + opts.durationMs) * 1000;
  const incidents = opts.incidents
    ? incidentEvents(opts.start, new Random(opts.seed ^ 0x5eed), opts.seed)
    : [];
  const world = new World(opts.start);
  let next = 0;
  let t = opts.start * 1000;
  let emitted = 0;
  const limit = opts.count ?? Number.POSITIVE_INFINITY;
  // Events are emitted in stageTimestamp order: a short reorder buffer holds requests still "in flight".
  const pending: AuditEvent[] = [];
  const flushUntil = (us: number) => {
    pending.sort((a, b) =>
      a.stageTimestamp < b.stageTimestamp ? -1 : a.stageTimestamp > b.stageTimestamp ? 1 : 0,
    );
    let i = 0;
    const cutoff = isoCut(us);
    while (i < pending.length && pending[i]!.stageTimestamp <= cutoff) i++;
    return pending.splice(0, i);
  };
  while (emitted < limit) {
    t += Math.max(1, Math.round(rnd.exp(meanGapUs)));
    if (t >= endUs) break;
    while (next < incidents.length && incidents[next]!.atUs <= t) pending.push(...incidents[next++]!.events);
    world.nowUs = t;
    const r = backgroundRequest(rnd, world);
    // Watches and execs last long; emitting their completion later would grow the buffer, so their
    // latency is recorded but they are ordered by the time their stage is written.
    pending.push(...toEvents(r, t, rnd, rnd.chance(0.15)));
    if (pending.length > 4096) {
      for (const e of flushUntil(t - 2_000_000)) {
        if (emitted++ >= limit) return;
        yield e;
      }
    }
  }
  while (next < incidents.length) pending.push(...incidents[next++]!.events);
  for (const e of flushUntil(Number.MAX_SAFE_INTEGER)) {
    if (emitted++ >= limit) return;
    yield e;
  }
}

function isoCut(us: number): string {
  if (us >= 8.64e18) return '9999';
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(Math.floor(us % 1_000_000)).padStart(6, '0')}Z`;
}

/** A fixed start for reproducible generated data (tests, benchmarks); the demo itself ends at `now`. */
export const DEMO_START = START_OF_DEMO;
export const DEMO_DURATION_MS = 86_400_000;
export const DEMO_SEED = 20261124;
/** The demo ends this long before it is generated, so that no request of it is still in the future. */
export const DEMO_END_BEFORE_NOW_MS = 2 * 60_000;
/** Requests per second of the demo day: about 104,000 events. */
const DEMO_REQUESTS_PER_SECOND = 1.05;
/** Events per request on average (15% of requests also log their RequestReceived stage). */
const EVENTS_PER_REQUEST = 1.15;
/** Events of the demo day at its default size. */
export const DEMO_DEFAULT_EVENTS = Math.round(
  (DEMO_REQUESTS_PER_SECOND * EVENTS_PER_REQUEST * DEMO_DURATION_MS) / 1000,
);

export interface DemoOptions {
  /** The moment the demo is generated at (epoch ms, default now): the day ends just before it. */
  now?: number;
  /** About how many events (default about 104,000): the day is as long, the traffic denser or sparser. */
  events?: number;
}

/** Start of the demo day generated at `now` (epoch ms). */
export function demoStart(now: number = Date.now()): number {
  return now - DEMO_END_BEFORE_NOW_MS - DEMO_DURATION_MS;
}

/** The demo data set: one day of the simulated cluster with the incidents, ending just before `now`. */
export function demoEvents(opts: DemoOptions = {}): Generator<AuditEvent> {
  const rate =
    opts.events === undefined
      ? DEMO_REQUESTS_PER_SECOND
      : Math.max(opts.events, 1) / EVENTS_PER_REQUEST / (DEMO_DURATION_MS / 1000);
  return generateEvents({
    seed: DEMO_SEED,
    start: demoStart(opts.now),
    durationMs: DEMO_DURATION_MS,
    eventsPerSecond: rate,
    incidents: true,
  });
}

/** Writes generated events as JSON lines (gzip when asked), with backpressure. */
export async function writeEventsFile(
  path: string,
  opts: GenerateOptions & { gzip?: boolean; onProgress?: (n: number) => void },
): Promise<{ events: number; bytes: number }> {
  const file = createWriteStream(path);
  const out = opts.gzip ? createGzip({ level: 6 }) : file;
  if (opts.gzip) (out as NodeJS.ReadWriteStream).pipe(file);
  let events = 0;
  let bytes = 0;
  let buf = '';
  for (const e of generateEvents(opts)) {
    buf += `${JSON.stringify(e)}\n`;
    events++;
    if (buf.length > 1 << 20) {
      bytes += Buffer.byteLength(buf);
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
      opts.onProgress?.(events);
    }
  }
  bytes += Buffer.byteLength(buf);
  out.end(buf);
  await once(file, 'close');
  return { events, bytes };
}
