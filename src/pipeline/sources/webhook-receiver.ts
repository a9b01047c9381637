// The webhook source's receiving side: what happens to an authenticated POST body. It is decompressed
// (gzip, within the body limit), decoded once (src/pipeline/sources/webhook.ts: an EventList, one Event
// or JSON lines), each item that is not an event set aside in the quarantine, and the batch handed on:
// with `acknowledge: log` (the default) appended as received to the segment log, answered once that is
// on disk (the feeder stores it next); with `acknowledge: store` offered to the ingest queue and answered
// once stored. The answer says what the API server must do: 200, or retry later (429 when the log or the
// queue is full, 503 when the write failed), or never send this again (400, 413, 415). HTTP itself
// (routes, credentials, the cluster of the path) is src/server/webhook.ts.
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { KubetrailError, isKubetrailError, type ErrorCode } from '../../core/errors.js';
import type { Quarantine } from '../../ingest/quarantine.js';
import { OverloadedError, type IngestQueue } from '../ingest-queue.js';
import type { SegmentLog } from '../segment-log.js';
import { eventsOf, parseWebhookBody, type DecodedEntry, webhookEntryParts } from './webhook.js';

const gunzipAsync = promisify(gunzip);

export interface WebhookReceiverOptions {
  /** When a batch is answered 200: once in the segment log (`log`) or once stored (`store`). */
  acknowledge: 'log' | 'store';
  maxBodyBytes: number;
  queue: IngestQueue;
  /** The segment log accepted batches are written to (with acknowledge: log). */
  log?: SegmentLog;
  /** The quarantine of one source (`webhook:CLUSTER`). */
  quarantine: (source: string) => Quarantine;
}

export interface WebhookPost {
  cluster: string;
  body: Buffer;
  /** The Content-Encoding header, lower case (`identity` when absent). */
  encoding: string;
  /** `POST /webhook/CLUSTER`, as the quarantine names where a record came from. */
  where: string;
}

export type WebhookAnswer =
  | { status: 200; body: Record<string, number> }
  | {
      status: 400 | 413 | 415 | 429 | 503;
      /** The metric label of the refusal. */
      reason: 'bad_request' | 'too_large' | 'overloaded' | 'store_error';
      error: KubetrailError;
      retryAfterSeconds?: number;
    };

const refusal = (
  status: 400 | 413 | 415,
  reason: 'bad_request' | 'too_large',
  code: ErrorCode,
  message: string,
): WebhookAnswer => ({ status, reason, error: new KubetrailError(code, message) });

export class WebhookReceiver {
  constructor(private readonly o: WebhookReceiverOptions) {}

  async receive(post: WebhookPost): Promise<WebhookAnswer> {
    const body = await this.decompress(post);
    if (!Buffer.isBuffer(body)) return body;
    const { cluster, where } = post;
    const source = `webhook:${cluster}`;
    const quarantine = this.o.quarantine(source);
    const parsed = parseWebhookBody(body);
    if (parsed.error) {
      quarantine.add({
        file: where,
        line: parsed.line ?? 1,
        ...(parsed.column !== undefined ? { column: parsed.column } : {}),
        reason: parsed.error,
        raw: body.toString('utf8'),
      });
      return refusal(
        400,
        'bad_request',
        'KT_EVENT_INVALID',
        `${parsed.error}; the body was set aside in the quarantine file`,
      );
    }
    const { records, bad } = eventsOf(parsed, cluster, quarantine, where);
    try {
      if (this.o.log && this.o.acknowledge === 'log') {
        // The body as received, with its decoded events beside it in memory for the feeder (which
        // decodes the body again only when they are gone: after a restart, or beyond the log's bound).
        if (records.length > 0) {
          const entry: DecodedEntry = { source, records };
          await this.o.log.append(webhookEntryParts({ cluster, source, body }), Date.now(), {
            value: entry,
            weight: records.length,
          });
        }
        return { status: 200, body: { received: records.length, quarantined: bad } };
      }
      const r = await this.o.queue.offer(records, source);
      return {
        status: 200,
        body: {
          received: records.length,
          stored: r.stored,
          duplicates: r.duplicates,
          dropped: r.dropped,
          quarantined: bad,
        },
      };
    } catch (err) {
      if (err instanceof OverloadedError)
        return { status: 429, reason: 'overloaded', error: err, retryAfterSeconds: err.retryAfterSeconds };
      const e = isKubetrailError(err) ? err : new KubetrailError('KT_STORE_WRITE', (err as Error).message);
      return {
        status: 503,
        reason: e.code === 'KT_OVERLOADED' ? 'overloaded' : 'store_error',
        error: e,
        retryAfterSeconds: 5,
      };
    }
  }

  private async decompress(post: WebhookPost): Promise<Buffer | WebhookAnswer> {
    const { encoding, body } = post;
    if (encoding === 'identity') return body;
    if (encoding !== 'gzip' && encoding !== 'x-gzip') {
      return refusal(
        415,
        'bad_request',
        'KT_WEBHOOK_REQUEST',
        `content encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported; use gzip or none`,
      );
    }
    try {
      return await gunzipAsync(body, { maxOutputLength: this.o.maxBodyBytes });
    } catch (err) {
      const tooLarge =
        (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
      return tooLarge
        ? refusal(
            413,
            'too_large',
            'KT_BODY_TOO_LARGE',
            `the decompressed body is larger than ${this.o.maxBodyBytes} bytes`,
          )
        : refusal(
            400,
            'bad_request',
            'KT_INPUT_READ',
            `the gzip body cannot be decompressed: ${(err as Error).message}`,
          );
    }
  }
}
