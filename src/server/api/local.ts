// The local store endpoint (`POST /api/v1/local/store`): the CLI on the same machine reads the DuckDB store
// this server holds, and its alert log, through it (src/store/remote.ts). Only the local credential of the
// server's discovery file is accepted (src/server/announce.ts), never an API token or a session, and only
// from this machine (a loopback address, or the server's own address) without a browser's Origin header.
//
// The body names one read method of the Store or the AlertLog and its arguments, validated here; filters
// arrive as text and are parsed again, so nothing but what the filter language allows reaches the store.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KubetrailError } from '../../core/errors.js';
import { SEVERITIES } from '../../detect/types.js';
import { parseQuery } from '../../query/index.js';
import { LOCAL_MAX_BODY, LOCAL_MAX_PAGE, LOCAL_STORE_PATH } from '../../store/remote.js';
import { announcedDb, isLocalCredential } from '../announce.js';
import { jsonBody, validate, type ApiContext } from './common.js';

const micros = z.number().int();
const range = { since: micros.optional(), until: micros.optional() };
const filter = z.string().max(LOCAL_MAX_BODY);
const count = (max = Number.MAX_SAFE_INTEGER) => z.number().int().min(1).max(max);
const text = z.string().max(4096);

const call = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('ping') }),
  z.strictObject({ method: z.literal('span') }),
  z.strictObject({
    method: z.literal('query'),
    args: z.strictObject({
      filter,
      ...range,
      limit: count(LOCAL_MAX_PAGE),
      cursor: text.optional(),
      order: z.enum(['asc', 'desc']).optional(),
    }),
  }),
  z.strictObject({ method: z.literal('count'), args: z.strictObject({ filter, ...range }) }),
  z.strictObject({
    method: z.literal('stats'),
    args: z.strictObject({ filter, ...range, by: text, limit: count() }),
  }),
  z.strictObject({
    method: z.literal('histogram'),
    args: z.strictObject({
      filter,
      ...range,
      intervalMs: z.number().int().min(1),
      splitBy: text.optional(),
      splitLimit: count().optional(),
    }),
  }),
  z.strictObject({ method: z.literal('getByAuditId'), args: z.strictObject({ auditID: text }) }),
  z.strictObject({
    method: z.literal('history'),
    args: z.strictObject({
      key: z.strictObject({
        resource: text,
        name: text,
        namespace: text.optional(),
        apiGroup: text.optional(),
        cluster: text.optional(),
      }),
      ...range,
    }),
  }),
  z.strictObject({
    method: z.literal('alerts.list'),
    args: z.strictObject({
      ...range,
      rules: z.array(text).max(1000).optional(),
      minSeverity: z.enum(SEVERITIES).optional(),
      limit: count().optional(),
    }),
  }),
  z.strictObject({ method: z.literal('alerts.get'), args: z.strictObject({ id: text }) }),
  z.strictObject({
    method: z.literal('alerts.acknowledge'),
    args: z.strictObject({ id: text, by: z.string().min(1).max(200), nowMs: z.number().int().optional() }),
  }),
  z.strictObject({
    method: z.literal('alerts.acks'),
    args: z.strictObject({ ids: z.array(text).max(100_000) }),
  }),
]);

type Call = z.infer<typeof call>;

/** Drops keys whose value is undefined (what zod leaves for absent optional keys). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Whether the request comes from this machine: a loopback address, or the address it was sent to. */
function fromThisMachine(req: FastifyRequest): boolean {
  const remote = req.socket.remoteAddress ?? '';
  return LOOPBACK.test(remote) || (remote !== '' && remote === req.socket.localAddress);
}

function forbidden(message: string): KubetrailError {
  return new KubetrailError('KT_FORBIDDEN', message, {
    hint: 'this endpoint is for the kubetrail CLI on the same machine, with the credential of the server discovery file beside the store; use the other API routes with an API token',
  });
}

function authorize(req: FastifyRequest, ctx: ApiContext): void {
  if (!fromThisMachine(req)) throw forbidden('the local store endpoint answers only this machine');
  if (req.headers.origin !== undefined) throw forbidden('the local store endpoint answers no browser');
  const header = req.headers.authorization ?? '';
  const m = /^Bearer (\S+)$/.exec(header);
  if (!m?.[1] || !isLocalCredential(ctx.auth, m[1]))
    throw forbidden('the local store endpoint takes only the local credential of this server');
}

async function dispatch(ctx: ApiContext, c: Call): Promise<unknown> {
  const store = ctx.store;
  const alerts = () => {
    if (!ctx.alerts)
      throw new KubetrailError('KT_STORE_OPEN', 'the alerts of this store cannot be read', {
        hint: "see the server's log for why",
      });
    return ctx.alerts;
  };
  switch (c.method) {
    case 'ping':
      return { pid: process.pid, db: announcedDb(ctx.auth) };
    case 'span':
      return (await store.span()) ?? null;
    case 'query':
      return store.query(defined({ ...c.args, filter: parseQuery(c.args.filter) }));
    case 'count':
      return store.count(parseQuery(c.args.filter), defined({ since: c.args.since, until: c.args.until }));
    case 'stats':
      return store.stats(defined({ ...c.args, filter: parseQuery(c.args.filter) }));
    case 'histogram':
      return store.histogram(defined({ ...c.args, filter: parseQuery(c.args.filter) }));
    case 'getByAuditId':
      return store.getByAuditId(c.args.auditID);
    case 'history':
      return store.history(defined(c.args.key), defined({ since: c.args.since, until: c.args.until }));
    case 'alerts.list':
      return alerts().list(defined(c.args));
    case 'alerts.get':
      return (await alerts().get(c.args.id)) ?? null;
    case 'alerts.acknowledge':
      return alerts().acknowledge(c.args.id, c.args.by, c.args.nowMs);
    case 'alerts.acks':
      return [...(await alerts().acks(c.args.ids))];
  }
}

export function registerLocalRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post(LOCAL_STORE_PATH, async (req, reply) => {
    authorize(req, ctx);
    // Recorded in the access log like any authenticated request.
    req.kubetrailUser = { name: 'local-cli', role: 'admin', bodies: true, via: 'token' };
    const c = validate(call, jsonBody(req, LOCAL_MAX_BODY), 'field');
    const result = await dispatch(ctx, c);
    return reply.header('content-type', 'application/json; charset=utf-8').send({ result });
  });
}
