// The live stream: hands every stored event to connected clients whose filter matches it, as
// server-sent events. Each client has a bounded buffer; a client too slow to keep up loses the oldest
// events it has not received and is told how many (an `event: lagged` message), never slowing ingest.
// Clients may also take new alerts (`event: alert`) and see records projected for them.
import type { ServerResponse } from 'node:http';
import type { EventRecord } from '../core/event.js';
import type { Alert } from '../detect/types.js';
import type { Predicate } from '../query/index.js';

export interface AttachOptions {
  /** The record as this client may see it (bodies removed and the like). */
  project?: (r: EventRecord) => EventRecord;
  /** Which new alerts this client receives (`event: alert`); none when absent. */
  alerts?: (a: Alert) => boolean | Promise<boolean>;
}

export interface LiveClient extends AttachOptions {
  accept: Predicate;
  res: ServerResponse;
  buffer: string[];
  dropped: number;
  draining: boolean;
}

export class LiveHub {
  private readonly clients = new Set<LiveClient>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly maxBuffered = 2000,
    heartbeatMs = 15_000,
  ) {
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) this.write(c, ': keep-alive\n\n');
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
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
    return new Promise((resolve) => {
      const done = () => {
        this.clients.delete(client);
        resolve();
      };
      res.on('close', done);
      res.on('error', done);
    });
  }

  publish(records: readonly EventRecord[]): void {
    if (this.clients.size === 0) return;
    for (const c of this.clients) {
      for (const r of records) {
        let ok: boolean;
        try {
          ok = c.accept(r);
        } catch {
          ok = false;
        }
        if (ok) {
          const v = c.project ? c.project(r) : r;
          this.send(c, `event: audit\ndata: ${JSON.stringify({ cluster: v.cluster, event: v.event })}\n\n`);
        }
      }
    }
  }

  /** Sends new alerts to the clients that take them (`event: alert`). */
  publishAlerts(alerts: readonly Alert[]): void {
    for (const c of this.clients) {
      const take = c.alerts;
      if (!take) continue;
      for (const a of alerts) {
        const text = `event: alert\ndata: ${JSON.stringify(a)}\n\n`;
        let verdict: boolean | Promise<boolean>;
        try {
          verdict = take(a);
        } catch {
          continue;
        }
        if (verdict === true) this.send(c, text);
        else if (verdict !== false)
          verdict.then(
            (ok) => {
              if (ok && this.clients.has(c)) this.send(c, text);
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
    this.write(c, text);
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
    if (c.dropped > 0) {
      const dropped = c.dropped;
      c.dropped = 0;
      this.write(c, `event: lagged\ndata: ${JSON.stringify({ dropped })}\n\n`);
    }
    while (c.buffer.length > 0 && !c.draining) this.write(c, c.buffer.shift()!);
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}
