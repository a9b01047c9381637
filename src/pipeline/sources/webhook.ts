// The webhook source's decoding and its segment log feeder. A webhook body (an EventList or one Event
// as JSON, or JSON lines) is decoded and normalized once when it arrives, so that a body that is not
// JSON is refused and each item that is not an event is set aside (quarantine) right away. The accepted
// body is then appended to the segment log as it came (decompressed), with its cluster and source, and
// acknowledged once that is on disk. The feeder reads the log in order, decodes each body again (the
// same deterministic decoding, leaving out the items already set aside), hands the events to the ingest
// queue (transforms, then the store), and commits its position in the log after the store has them.
// After a crash the records past the committed position are fed again: the store's deduplication
// (cluster, auditID, stage, content) makes that harmless, and only newly stored events reach the live
// stream and the alert listeners.
import type { EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import { acceptValue, parseJson, type DecodeTarget } from '../../ingest/decode.js';
import { parseEventListBody, SPLIT_MIN_BYTES } from '../../ingest/event-list-split.js';
import { LineSplitter } from '../../ingest/line-splitter.js';
import type { Quarantine } from '../../ingest/quarantine.js';
import type { Source } from '../contracts.js';
import type { IngestQueue } from '../ingest-queue.js';
import type { LogRecord, SegmentLog } from '../segment-log.js';

export interface ParsedBody {
  values: unknown[];
  /** The line each value starts on. */
  lines: number[];
  error?: string;
  line?: number;
  column?: number;
}

/**
 * Parses a webhook body: an EventList (or one Event) as JSON, or JSON lines (split by the one line
 * splitter). A record nested too deep becomes a TooDeepRecord (set aside by normalization with its
 * position), not an error for the body. A large EventList is parsed item by item from its bytes
 * (src/ingest/event-list-split.ts), with the same result.
 */
export function parseWebhookBody(body: Buffer): ParsedBody {
  if (body.length >= SPLIT_MIN_BYTES) {
    const value = parseEventListBody(body);
    if (value !== undefined) return { values: [value], lines: [1] };
  }
  const text = body.toString('utf8');
  const whole = parseJson(text, true);
  if ('value' in whole) return { values: [whole.value], lines: [1] };
  // JSON lines: every non-empty line is a document.
  const splitter = new LineSplitter(0, 0, Number.MAX_SAFE_INTEGER);
  const split = splitter.push(body).lines.concat(splitter.finish().lines);
  const lines = split.filter((l) => l.text.trim() !== '');
  if (lines.length < 2) {
    return {
      values: [],
      lines: [],
      error: `invalid JSON: ${whole.error}`,
      ...(whole.column !== undefined ? { column: whole.column } : {}),
    };
  }
  const values: unknown[] = [];
  const at: number[] = [];
  for (const l of lines) {
    const parsed = parseJson(l.text, true);
    if ('error' in parsed) {
      return {
        values: [],
        lines: [],
        error: `invalid JSON on line ${l.line}: ${parsed.error}`,
        line: l.line,
      };
    }
    values.push(parsed.value);
    at.push(l.line);
  }
  return { values, lines: at };
}

/**
 * The events of a parsed body, tagged with the cluster. Each item that is not an event is set aside in
 * `quarantine` (when given) as from `where` (`POST /webhook/CLUSTER`), with the line of the document
 * holding it, its position in `reason` (`at items[3]`) and the document, serialized and cut to 64 KiB.
 */
export function eventsOf(
  parsed: ParsedBody,
  cluster: string,
  quarantine?: Quarantine,
  where = 'webhook',
): { records: EventRecord[]; bad: number } {
  const target: DecodeTarget = { file: where, cluster, quarantine, out: [] };
  let bad = 0;
  for (const [i, value] of parsed.values.entries()) {
    bad += acceptValue(value, parsed.lines[i] ?? 1, target, () => JSON.stringify(value).slice(0, 65536));
  }
  return { records: target.out, bad };
}

/** What the segment log holds for one accepted webhook body. */
export interface WebhookEntry {
  cluster: string;
  /** The ingest source name (`webhook:CLUSTER`). */
  source: string;
  /** The body as received, decompressed. */
  body: Buffer;
}

/** One log record, in parts (the body is not copied): a JSON header line (cluster, source), the body. */
export function webhookEntryParts(e: WebhookEntry): Buffer[] {
  return [Buffer.from(`${JSON.stringify({ c: e.cluster, s: e.source })}\n`), e.body];
}

/** One log record: a JSON header line (cluster, source), then the body's bytes. */
export function encodeWebhookEntry(e: WebhookEntry): Buffer {
  return Buffer.concat(webhookEntryParts(e));
}

export function decodeWebhookEntry(payload: Buffer): WebhookEntry {
  const nl = payload.indexOf(10);
  const head = nl < 0 ? undefined : (JSON.parse(payload.subarray(0, nl).toString('utf8')) as unknown);
  const h = head as { c?: unknown; s?: unknown } | undefined;
  if (typeof h?.c !== 'string' || typeof h.s !== 'string')
    throw new KubetrailError('KT_INPUT_READ', 'a segment log record has no cluster and source header');
  return { cluster: h.c, source: h.s, body: payload.subarray(nl + 1) };
}

/** The decoded events of a log record, left beside it in memory by the receiver. */
export interface DecodedEntry {
  source: string;
  records: EventRecord[];
}

export interface FeederOptions {
  /** Most events handed to the queue before the position is committed. */
  maxEvents: number;
  /**
   * Most events in one hand-over while webhook batches keep arriving (default 2,000): a store write
   * holds the JavaScript thread for the time of its row building, so smaller ones keep the answers to
   * the API server prompt.
   */
  busyEvents?: number;
  /** Told about store failures (the same records are fed again after `retryMs`) and unreadable records. */
  onError: (message: string, err: unknown) => void;
  retryMs?: number;
}

/** How recently an append must have come for the webhook to count as busy (ms). */
const BUSY_WINDOW_MS = 250;
/** Bytes of log read ahead of the feeder at once. */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * Moves the segment log's records into the ingest queue in order; see the header comment. While batches
 * keep arriving and the log is less than a quarter full, the receiver has priority over the store: the
 * feeder hands over smaller batches and, after each, waits as long as it took, so that the JavaScript
 * thread answers the API server promptly; the log absorbs the difference and the feeder catches up at
 * full speed once the webhook is quiet. Past a quarter of the log the store has the thread whenever it
 * wants it (the receiver then answers 429 once the log is full).
 */
export class WebhookFeeder implements Source {
  readonly name = 'webhook:segment-log';
  private stopping = false;
  private loop: Promise<void> | undefined;
  private settledWaiters: { offset: number; resolve: () => void }[] = [];
  private signalStop: () => void = () => undefined;
  private readonly stopSignal = new Promise<void>((r) => (this.signalStop = r));

  constructor(
    private readonly log: SegmentLog,
    private readonly queue: IngestQueue,
    private readonly opts: FeederOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once everything on disk in the log now is stored. */
  settled(): Promise<void> {
    const offset = this.log.end;
    if (this.log.committed >= offset) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push({ offset, resolve }));
  }

  /** Feeds what is in the log (appends have stopped), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.signalStop();
    await this.loop;
  }

  /** Whether webhook batches are arriving and the log has room to absorb them. */
  private busy(): boolean {
    return (
      !this.stopping &&
      performance.now() - this.log.lastAppend < BUSY_WINDOW_MS &&
      this.log.pendingBytes < this.log.maxBytes / 4
    );
  }

  private async run(): Promise<void> {
    let cursor = this.log.committed;
    /** Records read and not yet handed over, from `cursor` on. */
    let ahead: LogRecord[] = [];
    for (;;) {
      if (ahead.length === 0) ahead = await this.log.read(cursor, READ_AHEAD_BYTES);
      if (ahead.length === 0) {
        if (this.stopping) return;
        await Promise.race([this.log.waitBeyond(cursor), this.stopSignal]);
        continue;
      }
      const busy = this.busy();
      const max = busy ? Math.min(this.opts.maxEvents, this.opts.busyEvents ?? 2000) : this.opts.maxEvents;
      const { bySource, next, used } = this.take(ahead, max);
      const started = performance.now();
      try {
        await Promise.all([...bySource].map(([source, batch]) => this.queue.submit(batch, source)));
      } catch (err) {
        // Stopping: what is not stored stays in the log and is fed after the next start.
        if (this.stopping) return;
        this.opts.onError('segment log records not stored; retrying', err);
        ahead = [];
        await this.sleep(this.opts.retryMs ?? 1000);
        continue;
      }
      ahead = ahead.slice(used);
      await this.log.commit(next);
      cursor = next;
      const waiters = this.settledWaiters;
      this.settledWaiters = waiters.filter((w) => w.offset > next);
      for (const w of waiters) if (w.offset <= next) w.resolve();
      if (busy) await this.sleep(performance.now() - started);
    }
  }

  /**
   * Takes records up to `max` events (at least one record), grouped by source in order: the events the
   * receiver left beside a record, or else the record's body decoded again.
   */
  private take(
    records: LogRecord[],
    max: number,
  ): { bySource: Map<string, EventRecord[]>; next: number; used: number } {
    const bySource = new Map<string, EventRecord[]>();
    let events = 0;
    let next = records[0]!.offset;
    let used = 0;
    for (const r of records) {
      if (events > 0 && events >= max) break;
      next = r.next;
      used++;
      const entry = (this.log.take(r.offset) as DecodedEntry | undefined) ?? this.decode(r);
      if (!entry) continue;
      let list = bySource.get(entry.source);
      if (!list) bySource.set(entry.source, (list = []));
      for (const e of entry.records) list.push(e);
      events += entry.records.length;
    }
    return { bySource, next, used };
  }

  /** A record's events decoded from its bytes; undefined (and told) when it cannot be. */
  private decode(r: LogRecord): DecodedEntry | undefined {
    try {
      const entry = decodeWebhookEntry(r.payload);
      const parsed = parseWebhookBody(entry.body);
      if (parsed.error) throw new KubetrailError('KT_INPUT_READ', parsed.error);
      // Items that are not events were set aside when the body arrived.
      return { source: entry.source, records: eventsOf(parsed, entry.cluster).records };
    } catch (err) {
      // Checked when it arrived and checksummed since: a record from an incompatible version.
      this.opts.onError(`segment log record at offset ${r.offset} cannot be decoded; skipped`, err);
      return undefined;
    }
  }

  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, ms))), this.stopSignal]);
    clearTimeout(timer);
  }
}
