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
import { parseJsonDocument } from '../../ingest/json-text.js';
import { normalizeDocument } from '../../ingest/normalize.js';
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
 * Parses a webhook body: an EventList (or one Event) as JSON, or JSON lines. A record nested too deep
 * becomes a TooDeepRecord (set aside by normalization with its position), not an error for the body.
 */
export function parseWebhookBody(text: string): ParsedBody {
  try {
    return { values: [parseJsonDocument(text)], lines: [1] };
  } catch (err) {
    // JSON lines: every non-empty line is a document.
    const lines = text.split('\n');
    if (lines.filter((l) => l.trim() !== '').length < 2) {
      const m = /position (\d+)/.exec((err as Error).message);
      return {
        values: [],
        lines: [],
        error: `invalid JSON: ${(err as Error).message}`,
        ...(m ? { column: Number(m[1]) + 1 } : {}),
      };
    }
    const values: unknown[] = [];
    const at: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() === '') continue;
      try {
        values.push(parseJsonDocument(lines[i]!));
        at.push(i + 1);
      } catch (e) {
        return {
          values: [],
          lines: [],
          error: `invalid JSON on line ${i + 1}: ${(e as Error).message}`,
          line: i + 1,
        };
      }
    }
    return { values, lines: at };
  }
}

export interface BadItem {
  /** The line of the document holding it. */
  line: number;
  reason: string;
  /** The document, serialized and cut to 64 KiB. */
  raw: string;
}

/** The events of a parsed body, tagged with the cluster; each item that is not an event goes to `bad`. */
export function eventsOf(parsed: ParsedBody, cluster: string, bad?: (item: BadItem) => void): EventRecord[] {
  const records: EventRecord[] = [];
  for (const [i, value] of parsed.values.entries()) {
    let raw: string | undefined;
    for (const n of normalizeDocument(value)) {
      if ('event' in n) records.push({ cluster, event: n.event });
      else if (bad) {
        // The position of a bad item is in `reason` (`at items[3]`); the document is kept once, cut.
        raw ??= JSON.stringify(value).slice(0, 65536);
        bad({ line: parsed.lines[i] ?? 1, reason: n.path ? `${n.error} (at ${n.path})` : n.error, raw });
      }
    }
  }
  return records;
}

/** What the segment log holds for one accepted webhook body. */
export interface WebhookEntry {
  cluster: string;
  /** The ingest source name (`webhook:CLUSTER`). */
  source: string;
  /** The body as received, decompressed. */
  body: Buffer;
}

/** One log record: a JSON header line (cluster, source), then the body's bytes. */
export function encodeWebhookEntry(e: WebhookEntry): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify({ c: e.cluster, s: e.source })}\n`), e.body]);
}

export function decodeWebhookEntry(payload: Buffer): WebhookEntry {
  const nl = payload.indexOf(10);
  const head = nl < 0 ? undefined : (JSON.parse(payload.subarray(0, nl).toString('utf8')) as unknown);
  const h = head as { c?: unknown; s?: unknown } | undefined;
  if (typeof h?.c !== 'string' || typeof h.s !== 'string')
    throw new KubetrailError('KT_INPUT_READ', 'a segment log record has no cluster and source header');
  return { cluster: h.c, source: h.s, body: payload.subarray(nl + 1) };
}

export interface FeederOptions {
  /** Most events handed to the queue before the position is committed. */
  maxEvents: number;
  /** Told about store failures (the same records are fed again after `retryMs`) and unreadable records. */
  onError: (message: string, err: unknown) => void;
  retryMs?: number;
}

/** Moves the segment log's records into the ingest queue in order; see the header comment. */
export class WebhookFeeder {
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

  private async run(): Promise<void> {
    let cursor = this.log.committed;
    for (;;) {
      const records = await this.log.read(cursor, 32 * 1024 * 1024);
      if (records.length === 0) {
        if (this.stopping) return;
        await Promise.race([this.log.waitBeyond(cursor), this.stopSignal]);
        continue;
      }
      const { bySource, next } = this.take(records);
      try {
        await Promise.all([...bySource].map(([source, batch]) => this.queue.submit(batch, source)));
      } catch (err) {
        // Stopping: what is not stored stays in the log and is fed after the next start.
        if (this.stopping) return;
        this.opts.onError('segment log records not stored; retrying', err);
        await this.sleep(this.opts.retryMs ?? 1000);
        continue;
      }
      await this.log.commit(next);
      cursor = next;
      const waiters = this.settledWaiters;
      this.settledWaiters = waiters.filter((w) => w.offset > next);
      for (const w of waiters) if (w.offset <= next) w.resolve();
    }
  }

  /** Decodes records up to maxEvents events (at least one record), grouped by source in order. */
  private take(records: LogRecord[]): { bySource: Map<string, EventRecord[]>; next: number } {
    const bySource = new Map<string, EventRecord[]>();
    let events = 0;
    let next = records[0]!.offset;
    for (const r of records) {
      if (events > 0 && events >= this.opts.maxEvents) break;
      next = r.next;
      let entry: WebhookEntry;
      let parsed: ParsedBody;
      try {
        entry = decodeWebhookEntry(r.payload);
        parsed = parseWebhookBody(entry.body.toString('utf8'));
        if (parsed.error) throw new KubetrailError('KT_INPUT_READ', parsed.error);
      } catch (err) {
        // Checked when it arrived and checksummed since: a record from an incompatible version.
        this.opts.onError(`segment log record at offset ${r.offset} cannot be decoded; skipped`, err);
        continue;
      }
      // Items that are not events were set aside when the body arrived.
      const batch = eventsOf(parsed, entry.cluster);
      let list = bySource.get(entry.source);
      if (!list) bySource.set(entry.source, (list = []));
      for (const e of batch) list.push(e);
      events += batch.length;
    }
    return { bySource, next };
  }

  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, ms))), this.stopSignal]);
    clearTimeout(timer);
  }
}
