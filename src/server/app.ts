// The collector's HTTP server: the audit webhook (`POST /webhook`, `POST /webhook/{cluster}`: the route in
// src/server/webhook.ts, the source in src/pipeline/sources/webhook-receiver.ts), the HTTP API with the
// live stream (`/api/...`, src/server/api), health (`/healthz`, `/readyz`) and Prometheus `/metrics`.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { KubetrailError, isKubetrailError } from '../core/errors.js';
import type { Quarantine } from '../ingest/quarantine.js';
import type { IngestQueue } from '../pipeline/ingest-queue.js';
import { registerApi, type ApiContext, type ApiRoute } from './api/index.js';
import type { LiveHub } from './live.js';
import type { CollectorMetrics } from './metrics.js';
import { frameworkError, registerUi } from './ui.js';
import { registerWebhook, sendError } from './webhook.js';
import type { SegmentLog } from '../pipeline/segment-log.js';
import { WebhookReceiver } from '../pipeline/sources/webhook-receiver.js';

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

function errorBody(err: KubetrailError): { error: Record<string, unknown> } {
  return { error: err.toJSON() };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The API routes registered, in OpenAPI form. */
    kubetrailApiRoutes: ApiRoute[];
  }
}

/** The HSTS header sent on every response when the server speaks TLS. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, metrics, hub, logger } = deps;
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
        new KubetrailError(
          'KT_BODY_TOO_LARGE',
          `the body is larger than ${config.webhook.maxBodyBytes} bytes`,
        ),
      );
    }
    if (isKubetrailError(err)) return reply.code(400).send(errorBody(err));
    if (err.statusCode && err.statusCode < 500)
      return sendError(reply, err.statusCode, new KubetrailError('KT_USAGE', err.message));
    logger.error({ err: err.message }, 'request failed');
    return sendError(reply, 500, new KubetrailError('KT_INTERNAL', 'internal error'));
  });

  // Over TLS, browsers are told to come back only over TLS (a year; the host only, not its subdomains).
  if (deps.tls) {
    app.addHook('onRequest', (_req, reply, done) => {
      reply.header('strict-transport-security', STRICT_TRANSPORT_SECURITY);
      done();
    });
  }

  // --- webhook
  const receiver = new WebhookReceiver({
    acknowledge: config.webhook.acknowledge,
    maxBodyBytes: config.webhook.maxBodyBytes,
    queue: deps.queue,
    ...(deps.webhookLog ? { log: deps.webhookLog } : {}),
    quarantine: deps.quarantine,
  });
  registerWebhook(app, { config, receiver, metrics, logger, auth: deps.api.auth });

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
