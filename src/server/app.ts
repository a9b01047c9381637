// The collector's HTTP server: the audit webhook (`POST /webhook`, `POST /webhook/{cluster}`), the HTTP API
// with the live stream (`/api/...`, src/server/api), health (`/healthz`, `/readyz`) and Prometheus `/metrics`.
// The webhook answers 200 once the batch is durable: on disk in the segment log that feeds the store
// (webhook.acknowledge: log, the default; src/pipeline/sources/webhook.ts) or committed to the store
// (acknowledge: store); 429 with Retry-After when the log or the pipeline is full, 503 when the write
// fails; the API server retries anything but a 2xx.
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { KubetrailError, isKubetrailError, type ErrorCode } from '../core/errors.js';
import type { Quarantine } from '../ingest/quarantine.js';
import { OverloadedError, type IngestQueue } from '../pipeline/ingest-queue.js';
import { registerApi, type ApiContext, type ApiRoute } from './api/index.js';
import type { LiveHub } from './live.js';
import type { CollectorMetrics } from './metrics.js';
import { frameworkError, registerUi } from './ui.js';
import { WebhookAuth, contentTypeRefusal } from './webhook-auth.js';
import type { SegmentLog } from '../pipeline/segment-log.js';
import { encodeWebhookEntry, eventsOf, parseWebhookBody } from '../pipeline/sources/webhook.js';

const gunzipAsync = promisify(gunzip);

export interface ServerDeps {
  config: Config;
  queue: IngestQueue;
  /** The segment log accepted batches are written to (with webhook.acknowledge: log). */
  webhookLog?: SegmentLog;
  quarantine: (source: string) => Quarantine;
  metrics: CollectorMetrics;
  hub: LiveHub;
  logger: Logger;
  /** Whether the server is ready to take events (store open, last write not failed, queue not full). */
  ready: () => { ok: boolean; reason?: string };
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** The HTTP API (`/api/...`): store, authentication, alerts, rules. */
  api: Omit<ApiContext, 'config' | 'hub' | 'metrics' | 'logger'>;
}

const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function errorBody(err: KubetrailError): { error: Record<string, unknown> } {
  return { error: err.toJSON() };
}

function sendError(
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  hint?: string,
): FastifyReply {
  const err = new KubetrailError(code, message, hint ? { hint } : {});
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(errorBody(err));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The API routes registered, in OpenAPI form. */
    kubetrailApiRoutes: ApiRoute[];
  }
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, queue, metrics, hub, logger } = deps;
  const auth = new WebhookAuth(config);
  const app = Fastify({
    logger: false,
    bodyLimit: config.webhook.maxBodyBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    frameworkErrors: frameworkError,
    ...(deps.tls
      ? {
          https: {
            cert: deps.tls.cert,
            key: deps.tls.key,
            ...(deps.tls.ca ? { ca: deps.tls.ca, requestCert: true, rejectUnauthorized: false } : {}),
          },
        }
      : {}),
  }) as unknown as FastifyInstance;

  // Bodies are read raw: decompression and decoding are done here, with their own limits and errors.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      metrics.webhookRejected.inc({ reason: 'too_large' });
      return sendError(
        reply,
        413,
        'KT_BODY_TOO_LARGE',
        `the body is larger than ${config.webhook.maxBodyBytes} bytes`,
      );
    }
    if (isKubetrailError(err)) return reply.code(400).send(errorBody(err));
    if (err.statusCode && err.statusCode < 500)
      return sendError(reply, err.statusCode, 'KT_USAGE', err.message);
    logger.error({ err: err.message }, 'request failed');
    return sendError(reply, 500, 'KT_INTERNAL', 'internal error');
  });

  // --- webhook
  const webhook = async (req: FastifyRequest<{ Params: { cluster?: string } }>, reply: FastifyReply) => {
    const started = performance.now();
    const answer = (status: number) =>
      metrics.webhookRequests.observe({ code: String(status) }, (performance.now() - started) / 1000);
    const refuse = (status: number, reason: string, code: ErrorCode, message: string) => {
      metrics.webhookRejected.inc({ reason });
      answer(status);
      return sendError(reply, status, code, message);
    };
    if (!config.webhook.enabled)
      return refuse(404, 'disabled', 'KT_WEBHOOK_REQUEST', 'the webhook is disabled in the configuration');
    // Ingest (and admin) tokens from the token file, then the webhook credentials of the configuration.
    const apiToken = deps.api.auth.webhookToken(req.headers.authorization);
    const id = apiToken
      ? { ...apiToken, via: 'token' as const }
      : auth.check({
          authorization: req.headers.authorization,
          remoteAddress: req.socket.remoteAddress,
          socket: req.socket,
          host: req.headers.host,
          origin: req.headers.origin,
          secFetchSite: headerValue(req.headers['sec-fetch-site']),
        });
    if ('status' in id) {
      metrics.webhookRejected.inc({ reason: id.status === 403 ? 'forbidden' : 'unauthorized' });
      answer(id.status);
      if (id.status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.code(id.status).send(errorBody(id.error));
    }
    const pathCluster = req.params.cluster;
    if (pathCluster !== undefined && !CLUSTER.test(pathCluster)) {
      return refuse(
        400,
        'bad_request',
        'KT_WEBHOOK_REQUEST',
        'the cluster name in the path must be 1-63 letters, digits, ".", "_" or "-"',
      );
    }
    if (id.cluster !== undefined && pathCluster !== undefined && id.cluster !== pathCluster) {
      return refuse(
        403,
        'forbidden',
        'KT_FORBIDDEN',
        `these credentials may post only for cluster ${JSON.stringify(id.cluster)}`,
      );
    }
    const cluster = pathCluster ?? id.cluster ?? config.cluster;
    const typeRefused = contentTypeRefusal(req.headers['content-type'], id.via);
    if (typeRefused !== undefined) return refuse(415, 'bad_request', 'KT_WEBHOOK_REQUEST', typeRefused);
    let body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'gzip' || encoding === 'x-gzip') {
      try {
        body = await gunzipAsync(body, { maxOutputLength: config.webhook.maxBodyBytes });
      } catch (err) {
        const tooLarge =
          (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
        return tooLarge
          ? refuse(
              413,
              'too_large',
              'KT_BODY_TOO_LARGE',
              `the decompressed body is larger than ${config.webhook.maxBodyBytes} bytes`,
            )
          : refuse(
              400,
              'bad_request',
              'KT_INPUT_READ',
              `the gzip body cannot be decompressed: ${(err as Error).message}`,
            );
      }
    } else if (encoding !== 'identity') {
      return refuse(
        415,
        'bad_request',
        'KT_WEBHOOK_REQUEST',
        `content encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported; use gzip or none`,
      );
    }
    const source = `webhook:${cluster}`;
    const quarantine = deps.quarantine(source);
    const text = body.toString('utf8');
    const parsed = parseWebhookBody(body, text);
    const where = `POST ${req.url.split('?')[0]}`;
    if (parsed.error) {
      quarantine.add({
        file: where,
        line: parsed.line ?? 1,
        ...(parsed.column !== undefined ? { column: parsed.column } : {}),
        reason: parsed.error,
        raw: text,
      });
      return refuse(
        400,
        'bad_request',
        'KT_EVENT_INVALID',
        `${parsed.error}; the body was set aside in the quarantine file`,
      );
    }
    const { records, bad } = eventsOf(parsed, cluster, quarantine, where);
    const log = deps.webhookLog;
    if (log && config.webhook.acknowledge === 'log') {
      try {
        // The body as received: the feeder decodes it again and leaves out the items set aside here.
        if (records.length > 0) await log.append(encodeWebhookEntry({ cluster, source, body }));
        answer(200);
        return reply.code(200).send({ received: records.length, quarantined: bad });
      } catch (err) {
        return overloadedOrFailed(reply, err, answer);
      }
    }
    try {
      const r = await queue.offer(records, source);
      answer(200);
      return reply.code(200).send({
        received: records.length,
        stored: r.stored,
        duplicates: r.duplicates,
        dropped: r.dropped,
        quarantined: bad,
      });
    } catch (err) {
      return overloadedOrFailed(reply, err, answer);
    }
  };
  const overloadedOrFailed = (reply: FastifyReply, err: unknown, answer: (status: number) => void) => {
    if (err instanceof OverloadedError) {
      metrics.webhookRejected.inc({ reason: 'overloaded' });
      answer(429);
      return reply.code(429).header('retry-after', String(err.retryAfterSeconds)).send(errorBody(err));
    }
    const e = isKubetrailError(err) ? err : new KubetrailError('KT_STORE_WRITE', (err as Error).message);
    metrics.webhookRejected.inc({ reason: e.code === 'KT_OVERLOADED' ? 'overloaded' : 'store_error' });
    logger.error({ code: e.code, err: e.message }, 'webhook batch not stored');
    answer(503);
    return reply.code(503).header('retry-after', '5').send(errorBody(e));
  };
  app.post('/webhook', webhook);
  app.post('/webhook/:cluster', webhook);

  // --- HTTP API and live stream (authenticated; see docs/api.md)
  const apiRoutes = await registerApi(app, { ...deps.api, config, hub, metrics, logger });
  app.decorate('kubetrailApiRoutes', apiRoutes);

  // --- web UI (static, at `/`)
  await registerUi(app);

  // --- operations
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = deps.ready();
    return reply
      .code(r.ok ? 200 : 503)
      .send(r.ok ? { status: 'ready' } : { status: 'not ready', reason: r.reason });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
  return app;
}
