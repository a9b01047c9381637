// The live stream: hands every stored event to connected clients whose filter matches it, as
// server-sent events, and new alerts to the clients that take them (`event: alert`).
//
// Ingest never waits for clients: `publish` and `publishAlerts` only queue their batch and return; the
// batches are delivered later, on setImmediate, in slices of bounded work, so the event loop serves
// webhook requests between slices however many clients are connected. Each record is serialized at most
// twice per delivery (as stored, and without request and response bodies), never once per client, and the
// same string is handed to every client. Memory is bounded everywhere: the queue of undelivered records
// (the oldest are dropped past `maxQueued`) and each client's buffer (a client too slow to keep up loses
// the oldest events it has not received); a client that lost events is told how many at most, with an
// `event: lagged` message. How many streams may be open, per owner (token) and in all, is checked by
// `admit` before a stream is attached.
import type { ServerResponse } from 'node:http';
import { KubetrailError } from '../core/errors.js';
import type { EventRecord } from '../core/event.js';
import type { Alert } from '../detect/types.js';
import type { Predicate } from '../query/index.js';

export interface AttachOptions {
  /** Who holds the stream (a token's name), for the per-owner limit. */
  owner?: string;
  /** Whether this client may see request and response bodies (default true). */
  bodies?: boolean;
  /** Which new alerts this client receives (`event: alert`); none when absent. */
  alerts?: (a: Alert) => boolean | Promise<boolean>;
}

/** How many streams may be open at once. */
export interface StreamLimits {
  perOwner: number;
  total: number;
}

export interface LiveClient extends AttachOptions {
  accept: Predicate;
  res: ServerResponse;
  buffer: string[];
  dropped: number;
  draining: boolean;
}

export interface LiveHubOptions {
  /** Messages buffered per client that cannot keep up; the oldest go first. */
  maxBuffered?: number;
  heartbeatMs?: number;
  /** Records queued for delivery at most; past it the oldest undelivered records are dropped. */
  maxQueued?: number;
  /** Client checks (a record against a client's filter) per delivery slice before yielding. */
  sliceBudget?: number;
}

type Pending =
  { kind: 'audit'; records: readonly EventRecord[] } | { kind: 'alerts'; alerts: readonly Alert[] };

/** The SSE message of a record; `bodies: false` leaves request and response objects out. */
function auditMessage(r: EventRecord, bodies: boolean): string {
  let event = r.event;
  if (!bodies) {
    const { requestObject: _q, responseObject: _r, ...rest } = r.event;
    event = rest;
  }
  return `event: audit\ndata: ${JSON.stringify({ cluster: r.cluster, event })}\n\n`;
}

export class LiveHub {
  private readonly clients = new Set<LiveClient>();
  private readonly owners = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private readonly maxQueued: number;
  private readonly sliceBudget: number;
  private readonly queue: Pending[] = [];
  /** Index of the next undelivered record of queue[0] (when it is an audit batch). */
  private position = 0;
  /** Undelivered records in the queue. */
  private queued = 0;
  private scheduled: NodeJS.Immediate | undefined;
  /** Records dropped from the queue since the hub started (every client was told). */
  droppedQueued = 0;

  constructor(opts: LiveHubOptions = {}) {
    this.maxBuffered = opts.maxBuffered ?? 2000;
    this.maxQueued = opts.maxQueued ?? 50_000;
    this.sliceBudget = opts.sliceBudget ?? 20_000;
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) this.write(c, ': keep-alive\n\n');
    }, opts.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Streams open for an owner. */
  countOf(owner: string): number {
    return this.owners.get(owner) ?? 0;
  }

  /** Records waiting for delivery. */
  get pending(): number {
    return this.queued;
  }

  /**
   * Throws KT_STREAM_LIMIT when one more stream for `owner` would pass a limit. Attach in the same tick
   * (without awaiting in between) so that no other stream is admitted in the meantime.
   */
  admit(owner: string, limits: StreamLimits): void {
    if (this.countOf(owner) >= limits.perOwner)
      throw new KubetrailError(
        'KT_STREAM_LIMIT',
        `the token ${JSON.stringify(owner)} already has ${this.countOf(owner)} live streams open, the most one token may hold`,
        {
          where: { path: 'api.streamsPerToken' },
          hint: 'close a stream no longer watched (a browser tab on the Live page), or raise api.streamsPerToken in the server configuration',
        },
      );
    if (this.clients.size >= limits.total)
      throw new KubetrailError(
        'KT_STREAM_LIMIT',
        `the server already has ${this.clients.size} live streams open, the most it holds`,
        {
          where: { path: 'api.streamsTotal' },
          hint: 'try again when a stream has closed, or raise api.streamsTotal in the server configuration',
        },
      );
  }

  /** Starts streaming to a response; resolves when the client goes away or the hub closes. */
  attach(res: ServerResponse, accept: Predicate, opts: AttachOptions = {}): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    res.write(': kubetrail live stream\n\n');
    const client: LiveClient = { ...opts, accept, res, buffer: [], dropped: 0, draining: false };
    this.clients.add(client);
    if (opts.owner !== undefined) this.owners.set(opts.owner, this.countOf(opts.owner) + 1);
    return new Promise((resolve) => {
      const done = () => {
        if (this.clients.delete(client) && opts.owner !== undefined) {
          const n = this.countOf(opts.owner) - 1;
          if (n > 0) this.owners.set(opts.owner, n);
          else this.owners.delete(opts.owner);
        }
        resolve();
      };
      res.on('close', done);
      res.on('error', done);
    });
  }

  /** Queues stored records for the clients; returns at once (delivery happens on a later turn). */
  publish(records: readonly EventRecord[]): void {
    if (this.clients.size === 0 || records.length === 0) return;
    this.queue.push({ kind: 'audit', records });
    this.queued += records.length;
    this.trim();
    this.schedule();
  }

  /** Queues new alerts for the clients that take them (`event: alert`); returns at once. */
  publishAlerts(alerts: readonly Alert[]): void {
    if (this.clients.size === 0 || alerts.length === 0) return;
    this.queue.push({ kind: 'alerts', alerts });
    this.schedule();
  }

  /** Drops the oldest undelivered records past `maxQueued`; every client is told it may have lost them. */
  private trim(): void {
    let dropped = 0;
    while (this.queued > this.maxQueued) {
      const head = this.queue[0]!;
      if (head.kind !== 'audit') {
        // Alerts are few and kept; look past them for records to drop.
        const i = this.queue.findIndex((p) => p.kind === 'audit');
        const batch = this.queue[i] as { kind: 'audit'; records: readonly EventRecord[] };
        const n = Math.min(this.queued - this.maxQueued, batch.records.length);
        this.queue[i] = { kind: 'audit', records: batch.records.slice(n) };
        this.queued -= n;
        dropped += n;
        continue;
      }
      const n = Math.min(this.queued - this.maxQueued, head.records.length - this.position);
      this.position += n;
      this.queued -= n;
      dropped += n;
      if (this.position >= head.records.length) {
        this.queue.shift();
        this.position = 0;
      }
    }
    if (dropped > 0) {
      this.droppedQueued += dropped;
      for (const c of this.clients) c.dropped += dropped;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.deliver();
    });
  }

  /** Delivers queued work until the slice's budget is spent, then yields to the event loop. */
  private deliver(): void {
    let budget = this.sliceBudget;
    while (this.queue.length > 0 && budget > 0) {
      const head = this.queue[0]!;
      if (head.kind === 'alerts') {
        this.queue.shift();
        this.deliverAlerts(head.alerts);
        budget -= head.alerts.length * Math.max(1, this.clients.size);
        continue;
      }
      while (this.position < head.records.length && budget > 0) {
        const r = head.records[this.position++]!;
        this.queued--;
        budget -= Math.max(1, this.clients.size);
        this.deliverRecord(r);
      }
      if (this.position >= head.records.length) {
        this.queue.shift();
        this.position = 0;
      }
    }
    if (this.queue.length > 0) this.schedule();
  }

  private deliverRecord(r: EventRecord): void {
    let full: string | undefined;
    let stripped: string | undefined;
    const hasBodies = r.event.requestObject !== undefined || r.event.responseObject !== undefined;
    for (const c of this.clients) {
      let ok: boolean;
      try {
        ok = c.accept(r);
      } catch {
        ok = false;
      }
      if (!ok) continue;
      if (c.bodies === false && hasBodies) this.send(c, (stripped ??= auditMessage(r, false)));
      else this.send(c, (full ??= auditMessage(r, true)));
    }
  }

  private deliverAlerts(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      let text: string | undefined;
      for (const c of this.clients) {
        const take = c.alerts;
        if (!take) continue;
        let verdict: boolean | Promise<boolean>;
        try {
          verdict = take(a);
        } catch {
          continue;
        }
        text ??= `event: alert\ndata: ${JSON.stringify(a)}\n\n`;
        const message = text;
        if (verdict === true) this.send(c, message);
        else if (verdict !== false)
          verdict.then(
            (ok) => {
              if (ok && this.clients.has(c)) this.send(c, message);
            },
            () => undefined,
          );
      }
    }
  }

  private send(c: LiveClient, text: string): void {
    if (c.draining) {
      if (c.buffer.length >= this.maxBuffered) {
        c.buffer.shift();
        c.dropped++;
      }
      c.buffer.push(text);
      return;
    }
    if (c.dropped > 0) this.lagged(c);
    this.write(c, text);
  }

  private lagged(c: LiveClient): void {
    const dropped = c.dropped;
    c.dropped = 0;
    this.write(c, `event: lagged\ndata: ${JSON.stringify({ dropped })}\n\n`);
  }

  private write(c: LiveClient, text: string): void {
    if (c.res.destroyed) return;
    if (!c.res.write(text) && !c.draining) {
      c.draining = true;
      c.res.once('drain', () => this.flush(c));
    }
  }

  private flush(c: LiveClient): void {
    c.draining = false;
    if (c.dropped > 0) this.lagged(c);
    while (c.buffer.length > 0 && !c.draining) this.write(c, c.buffer.shift()!);
  }

  close(): void {
    clearInterval(this.heartbeat);
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.queue.length = 0;
    this.queued = 0;
    this.position = 0;
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.owners.clear();
  }
}
