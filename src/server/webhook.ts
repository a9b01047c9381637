// The audit webhook's HTTP side (`POST /webhook`, `POST /webhook/{cluster}`): who may post (ingest
// tokens, the configured webhook credentials, loopback without a browser's marks; src/server/webhook-auth.ts),
// for which cluster, with which content type; then the webhook source (src/pipeline/sources/webhook-receiver.ts)
// decides what the body becomes, and its answer is sent with the metrics of the request. The API server
// retries anything but a 2xx.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { KubetrailError, type ErrorCode } from '../core/errors.js';
import type { WebhookReceiver } from '../pipeline/sources/webhook-receiver.js';
import type { ApiAuth } from './auth/index.js';
import type { CollectorMetrics } from './metrics.js';
import { WebhookAuth, contentTypeRefusal } from './webhook-auth.js';

export interface WebhookRouteDeps {
  config: Config;
  receiver: WebhookReceiver;
  metrics: CollectorMetrics;
  logger: Logger;
  /** Ingest (and admin) tokens of the token file. */
  auth: Pick<ApiAuth, 'webhookToken'>;
}

const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export function sendError(reply: FastifyReply, status: number, err: KubetrailError): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .send({ error: err.toJSON() });
}

export function registerWebhook(app: FastifyInstance, deps: WebhookRouteDeps): void {
  const { config, metrics, receiver, logger } = deps;
  const auth = new WebhookAuth(config);
  const webhook = async (req: FastifyRequest<{ Params: { cluster?: string } }>, reply: FastifyReply) => {
    const started = performance.now();
    const answer = (status: number) =>
      metrics.webhookRequests.observe({ code: String(status) }, (performance.now() - started) / 1000);
    const refuse = (status: number, reason: string, code: ErrorCode, message: string) => {
      metrics.webhookRejected.inc({ reason });
      answer(status);
      return sendError(reply, status, new KubetrailError(code, message));
    };
    if (!config.webhook.enabled)
      return refuse(404, 'disabled', 'KT_WEBHOOK_REQUEST', 'the webhook is disabled in the configuration');
    // Ingest (and admin) tokens from the token file, then the webhook credentials of the configuration.
    const apiToken = deps.auth.webhookToken(req.headers.authorization);
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
      return reply.code(id.status).send({ error: id.error.toJSON() });
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
    const typeRefused = contentTypeRefusal(req.headers['content-type'], id.via);
    if (typeRefused !== undefined) return refuse(415, 'bad_request', 'KT_WEBHOOK_REQUEST', typeRefused);
    const result = await receiver.receive({
      cluster: pathCluster ?? id.cluster ?? config.cluster,
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      encoding: String(req.headers['content-encoding'] ?? 'identity').toLowerCase(),
      where: `POST ${req.url.split('?')[0]}`,
    });
    answer(result.status);
    if (result.status === 200) return reply.code(200).send(result.body);
    metrics.webhookRejected.inc({ reason: result.reason });
    if (result.status === 503)
      logger.error({ code: result.error.code, err: result.error.message }, 'webhook batch not stored');
    if (result.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.retryAfterSeconds));
    return sendError(reply, result.status, result.error);
  };
  app.post('/webhook', webhook);
  app.post('/webhook/:cluster', webhook);
}
