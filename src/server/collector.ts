// Runs the live collector: opens the store, builds the pipeline's topology (src/pipeline/topology.ts:
// transforms in the one order; sinks store, live stream, alert publication, forwarders) behind the
// ingest queue, starts the webhook's segment log and its feeder, the file sources and the HTTP server,
// and shuts them down in the order that loses nothing: stop accepting, let in-flight webhook batches
// finish, stop the file sources (final checkpoints), feed what the segment log holds, drain the queue,
// close the store.
//
// One piece, though a little over 400 lines: the start-up and the shut-down are one sequence read
// together, each step undoing the matching start-up step in reverse order; the parts that stand alone
// (topology, sources, webhook route, metrics) live in their own modules.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../core/duration.js';
import { KubetrailError } from '../core/errors.js';
import { resolveDataKey } from '../crypto/key-file.js';
import type { AlertLog } from '../core/alert.js';
import { inspectRules } from '../detect/rules.js';
import { openDetection, type DetectionSession } from '../detect/session.js';
import type { Alert } from '../detect/types.js';
import { createFileQuarantine, type Quarantine } from '../ingest/quarantine.js';
import { TRUNCATED_ANNOTATION } from '../ingest/truncate.js';
import { FileSource } from '../pipeline/sources/file-source.js';
import { IngestQueue } from '../pipeline/ingest-queue.js';
import { SegmentLog } from '../pipeline/segment-log.js';
import { WebhookFeeder } from '../pipeline/sources/webhook.js';
import { detectAuditLogs } from '../pipeline/sources/standard-paths.js';
import type { Transform } from '../pipeline/contracts.js';
import type { SinkFactory } from '../pipeline/sinks/index.js';
import { buildTopology } from '../pipeline/topology.js';
import { ForwarderSet } from '../forward/index.js';
import { loadPolicyFile } from '../policy/load.js';
import { loadRedactOptions, redactQuarantine, redactTransform } from '../redact/index.js';
import { microsToTime } from '../core/time.js';
import type { IntegrityKeeper } from '../integrity/keeper.js';
import { openIntegrity } from '../integrity/setup.js';
import { openStore, storeDirectory } from '../store/open.js';
import { RetentionTask } from '../store/retention.js';
import type { Store } from '../store/store.js';
import type { RuleInfo } from './api/index.js';
import { announceServer } from './announce.js';
import { buildServer } from './app.js';
import { collectorWriter, integrityApi, serverVerification } from './integrity-state.js';
import { ApiAuth } from './auth/index.js';
import { LiveHub } from './live.js';
import { createMetrics } from './metrics.js';
import { registerForwarderMetrics } from './forward-metrics.js';

export interface CollectorOptions {
  config: Config;
  /** Extra files to follow (the --tail flag), each with the default cluster and start position. */
  tail?: string[];
  transforms?: Transform[];
  /** The sink factories (default: the registry, src/pipeline/sinks/index.ts). */
  sinkFactories?: readonly SinkFactory[];
  /** How long the segment log's feeder waits before sending a failed batch again (ms, default 1000). */
  feederRetryMs?: number;
  logger?: Logger;
}

export interface Collector {
  url: string;
  store: Store;
  queue: IngestQueue;
  sources: FileSource[];
  server: FastifyInstance;
  hub: LiveHub;
  /** API authentication: tokens, sessions, access log. */
  auth: ApiAuth;
  /** Resolves once every webhook batch acknowledged so far is stored. */
  settled(): Promise<void>;
  /** Keeps the store's digest chain signed and copied (absent for a store that keeps no digests). */
  integrity?: IntegrityKeeper;
  close(): Promise<void>;
}

export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'kubetrail' } }, pino.destination({ fd: 2, sync: false }));
}

function readTls(config: Config): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
  if (!config.tls) return undefined;
  const read = (file: string, key: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new KubetrailError('KT_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`, {
        where: { path: `tls.${key}` },
      });
    }
  };
  return {
    cert: read(config.tls.cert, 'cert'),
    key: read(config.tls.key, 'key'),
    ...(config.tls.clientCA ? { ca: read(config.tls.clientCA, 'clientCA') } : {}),
  };
}

export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  // Role `api`: no sources and no detection; the API and the UI over a store that collectors fill.
  const apiOnly = opts.config.role === 'api';
  const config: Config = apiOnly
    ? {
        ...opts.config,
        files: [],
        autodetect: false,
        webhook: { ...opts.config.webhook, enabled: false },
        detect: { ...opts.config.detect, enabled: false },
      }
    : opts.config;
  const logger = opts.logger ?? createLogger(config.log.level);
  const dataDir = path.resolve(config.dataDir);
  const db = config.db ?? path.join(dataDir, 'kubetrail.duckdb');
  const tls = readTls(config);
  // The data key (encryption.keyFile, where resolveServeConfig has put --key-file or KUBETRAIL_KEY_FILE):
  // the store's rows and every file under the data directory that holds event content (segment log,
  // quarantine, forwarder queues and dead letters, access log filters, detection state) are sealed with it.
  const key = resolveDataKey({ config: config.encryption.keyFile });
  // The transforms' order is the topology's (src/pipeline/transforms/index.ts): policy, size cap,
  // redaction (so nothing unredacted is stored, streamed or set aside), the caller's, detection.
  const policy = config.policy ? (await loadPolicyFile(config.policy)).policy : undefined;
  const redaction = config.redact.enabled
    ? redactTransform(loadRedactOptions(config.redact.config))
    : undefined;
  const truncatedCounter = new Counter({
    name: 'kubetrail_events_truncated_total',
    help: `Events larger than pipeline.maxEventBytes, stored without their bodies (annotation ${TRUNCATED_ANNOTATION}).`,
    registers: [],
  });
  // Event forwarders (docs/forwarding.md): checked and their queues opened before anything else, so that
  // a bad spec stops the start at once; sinks of the topology, closed after the queue has drained.
  const forwarders =
    config.forward.length > 0 && !apiOnly
      ? await ForwarderSet.open(config.forward, {
          dataDir,
          log: (level, message, fields) => logger[level](fields, message),
          ...(key ? { key } : {}),
        })
      : undefined;
  const store = await openStore(db, {
    memoryLimit: `${config.pipeline.duckdbMemoryMB}MB`,
    ...(key ? { key } : {}),
    // On a store several collectors share (a server, not a file), this collector's digest chain.
    ...(storeDirectory(db, '') ? {} : { writer: collectorWriter(dataDir) }),
  }).catch(async (err: unknown) => {
    await forwarders?.close(0);
    throw err;
  });
  // Tamper evidence: the store writes a digest record with each write; the keeper signs the chain and
  // copies it to the digest file (docs/security.md, Tamper evidence).
  const integrity = await openIntegrity(store, {
    location: db,
    dataDir,
    settings: config.integrity,
    onError: (message) => logger.error(message),
  }).catch(async (err: unknown) => {
    await store.close();
    await forwarders?.close(0);
    throw err;
  });
  // Detection runs last, on what is stored. A DuckDB store keeps its alerts, outbox and state itself; a
  // store that does not (ClickHouse) keeps them in DATADIR/detect.duckdb and gets every alert through the
  // outbox (src/store/detection.ts).
  let detection: DetectionSession | undefined;
  // New alerts wait until the batch that raised them is stored, then go to the live stream.
  const pendingAlerts: Alert[] = [];
  if (config.detect.enabled) {
    try {
      detection = await openDetection(store, {
        files: config.detect.rules,
        outputs: config.detect.outputs,
        outputMinSeverity: config.detect.minSeverity,
        ipListFiles: config.detect.ipLists,
        onIpListWarning: (message) => logger.warn(message),
        stateFile: path.join(dataDir, 'detect.duckdb'),
        onAlerts: (alerts) => {
          for (const a of alerts) logger.info({ rule: a.rule, severity: a.severity }, 'alert');
          pendingAlerts.push(...alerts);
        },
      });
    } catch (err) {
      await integrity?.close().catch(() => undefined);
      await store.close();
      await forwarders?.close(0);
      throw err;
    }
  }
  const hub = new LiveHub();
  const topology = buildTopology({
    ...(policy ? { policy } : {}),
    maxEventBytes: config.pipeline.maxEventBytes,
    onTruncated: () => truncatedCounter.inc(),
    ...(redaction ? { redaction } : {}),
    ...(opts.transforms ? { extra: opts.transforms } : {}),
    ...(detection ? { detection: detection.transform } : {}),
    sinks: {
      store,
      live: hub,
      alerts: { take: () => pendingAlerts.splice(0), publish: (alerts) => hub.publishAlerts(alerts) },
      ...(forwarders ? { forward: forwarders } : {}),
    },
    ...(opts.sinkFactories ? { sinkFactories: opts.sinkFactories } : {}),
    onSinkError: (sink, err) => logger.error({ sink, err: (err as Error).message }, 'sink failed'),
  });
  const queue = new IngestQueue(topology, {
    capacity: config.pipeline.queueEvents,
    maxWrite: config.pipeline.writeEvents,
    lingerMs: config.pipeline.lingerMs,
  });
  // The webhook's segment log (DATADIR/segments): opened whenever the webhook is on, so that batches a
  // previous run acknowledged are fed to the store even when webhook.acknowledge is now `store`.
  let webhookLog: SegmentLog | undefined;
  if (config.webhook.enabled) {
    try {
      webhookLog = await SegmentLog.open({
        dir: path.join(dataDir, 'segments'),
        maxBytes: config.pipeline.segmentMaxBytes,
        ...(key ? { key } : {}),
        // Decoded events kept beside the log for the feeder (so it need not decode them again).
        maxAttached: 2 * config.pipeline.writeEvents,
        onDamage: (d) =>
          logger.error(
            { file: d.file, offset: d.offset, bytes: d.bytes, reason: d.reason },
            'segment log: damaged bytes cut off',
          ),
      });
    } catch (err) {
      await queue.close();
      await forwarders?.close();
      await detection?.finish(0).catch(() => 0);
      await integrity?.close().catch(() => undefined);
      await store.close();
      throw err;
    }
  }
  const feeder = webhookLog
    ? new WebhookFeeder(webhookLog, queue, {
        maxEvents: config.pipeline.writeEvents,
        ...(opts.feederRetryMs !== undefined ? { retryMs: opts.feederRetryMs } : {}),
        onError: (message, err) => logger.error({ err: (err as Error).message }, message),
      })
    : undefined;
  const quarantineFile = path.join(dataDir, 'quarantine.jsonl');
  const fileQuarantine = createFileQuarantine(quarantineFile, key ? { key } : {});
  const baseQuarantine = redaction ? redactQuarantine(fileQuarantine, redaction.redactor) : fileQuarantine;
  const safeText = (t: string) => (redaction ? redaction.redactor.redactRaw(t) : t);

  // File sources: configured, from --tail, or the standard paths found here.
  const files = [
    ...config.files,
    ...(apiOnly ? [] : (opts.tail ?? [])).map((p) => ({
      path: p,
      cluster: undefined,
      startAt: 'end' as const,
    })),
  ];
  if (files.length === 0 && config.autodetect) {
    for (const p of detectAuditLogs()) files.push({ path: p, cluster: undefined, startAt: 'end' });
  }
  const sources: FileSource[] = [];
  let lastWriteFailed = false;
  const metrics = createMetrics(queue, () =>
    sources.map((s) => ({ file: s.name.slice('file:'.length), bytes: s.lagBytes })),
  );
  metrics.registry.registerMetric(truncatedCounter);
  if (forwarders) registerForwarderMetrics(metrics.registry, () => forwarders.stats());
  if (webhookLog) {
    const log = webhookLog;
    new Gauge({
      name: 'kubetrail_segment_log_pending_bytes',
      help: 'Bytes of webhook batches in the segment log, acknowledged and not yet stored.',
      registers: [metrics.registry],
      collect() {
        this.set(log.pendingBytes);
      },
    });
    new Gauge({
      name: 'kubetrail_segment_log_capacity_bytes',
      help: 'The segment log bound (pipeline.segmentMaxBytes); beyond it the webhook answers 429.',
      registers: [metrics.registry],
      collect() {
        this.set(log.maxBytes);
      },
    });
    new Gauge({
      name: 'kubetrail_segment_log_oldest_pending_seconds',
      help: 'Age of the oldest webhook batch in the segment log not yet stored (0 when none).',
      registers: [metrics.registry],
      async collect() {
        const t = await log.oldestPendingTime().catch(() => undefined);
        this.set(t === undefined ? 0 : Math.max(0, (Date.now() - t) / 1000));
      },
    });
  }
  const quarantines = new Map<string, Quarantine>();
  const quarantineFor = (source: string): Quarantine => {
    let q = quarantines.get(source);
    if (!q) {
      const counter = metrics.quarantined;
      q = {
        add(bad) {
          counter.inc({ source });
          const reason = safeText(bad.reason);
          baseQuarantine.add({ ...bad, reason });
          logger.warn({ source, file: bad.file, line: bad.line, reason }, 'record set aside');
        },
        get count() {
          return baseQuarantine.count;
        },
        get samples() {
          return baseQuarantine.samples;
        },
        close: async () => undefined,
      };
      quarantines.set(source, q);
    }
    return q;
  };

  queue.listen({
    wrote: (_s, source, failed) => {
      if (failed && !lastWriteFailed) logger.error({ source }, 'store write failed; sources will retry');
      lastWriteFailed = failed;
    },
  });

  for (const f of files) {
    const abs = path.resolve(f.path);
    const src = new FileSource({
      path: abs,
      cluster: f.cluster ?? config.cluster,
      startAt: f.startAt,
      checkpointFile: path.join(
        dataDir,
        'checkpoints',
        `${createHash('sha256').update(abs).digest('hex').slice(0, 16)}.json`,
      ),
      sink: (records) => queue.submit(records, `file:${abs}`),
      quarantine: quarantineFor(`file:${abs}`),
      maxRecordBytes: config.pipeline.maxRecordBytes,
      log: (level, msg, fields) => logger[level](fields ?? {}, msg),
    });
    sources.push(src);
  }

  // What the API reads and acknowledges: the store's alert tables (on DuckDB through a connection of
  // the API's own; on ClickHouse the alerts of every collector writing to the database).
  let apiAlerts: AlertLog | undefined;
  try {
    apiAlerts = await store.alertLog();
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'alerts are unavailable to the API');
    apiAlerts = undefined;
  }
  let rules: RuleInfo[] | undefined;
  const ruleList = (): RuleInfo[] =>
    (rules ??= inspectRules({ files: config.detect.rules }).rules.map((r) => ({
      id: r.def.id,
      title: r.def.title,
      severity: r.def.severity,
      description: r.def.description,
      references: r.references,
      enabled: r.def.enabled && config.detect.enabled,
    })));
  const auth = new ApiAuth({
    dataDir,
    sessionHours: config.api.sessionHours,
    loginMaxFailures: config.api.loginMaxFailures,
    loginWindowSeconds: config.api.loginWindowSeconds,
    secure: Boolean(tls),
    ...(key ? { key } : {}),
    onLogError: (message) => logger.error(message),
  });
  // The background verification of the store's tamper evidence, also run on request through the API.
  const verification = serverVerification({
    store,
    config,
    location: db,
    dataDir,
    logger,
    ...(integrity ? { signNow: () => integrity.signNow() } : {}),
  });
  const server = await buildServer({
    config,
    queue,
    ...(webhookLog ? { webhookLog } : {}),
    quarantine: quarantineFor,
    metrics,
    hub,
    logger,
    ready: () =>
      lastWriteFailed
        ? { ok: false, reason: 'the last store write failed' }
        : queue.depth >= queue.capacity
          ? { ok: false, reason: 'the pipeline is full' }
          : webhookLog &&
              webhookLog.pendingBytes > webhookLog.maxBytes - Math.min(webhookLog.maxBytes / 2, 1 << 20)
            ? { ok: false, reason: 'the webhook segment log is full' }
            : { ok: true },
    ...(tls ? { tls } : {}),
    api: {
      store,
      auth,
      rules: ruleList,
      integrity: integrityApi(store, verification),
      ...(apiAlerts ? { alerts: apiAlerts } : {}),
    },
  });
  const [host, portText] = splitHostPort(config.listen);
  let url: string;
  try {
    url = await server.listen({ host, port: Number(portText) });
  } catch (err) {
    await queue.close();
    await forwarders?.close();
    await webhookLog?.close();
    await detection?.finish(0).catch(() => 0);
    await integrity?.close().catch(() => undefined);
    await store.close();
    throw new KubetrailError('KT_USAGE', `cannot listen on ${config.listen}: ${(err as Error).message}`, {
      hint: 'choose another --listen address or stop what uses this port',
    });
  }
  const plain = plainTextWarning(host, Boolean(tls));
  if (plain) logger.warn({ listen: config.listen }, plain);
  for (const s of sources) s.start();
  feeder?.start();
  // The discovery file beside a DuckDB store lets the CLI read through this server (src/server/announce.ts).
  const announcement = announceServer({ db, store, server, auth, ...(tls ? { tls } : {}), logger });
  // Retention: whole UTC days older than `retention` leave the store, at start and every hour.
  const retention = config.retention
    ? new RetentionTask(store, {
        keepMs: parseDuration(config.retention)!,
        onResult: (r) => {
          if (r.removed > 0)
            logger.info({ removed: r.removed, before: microsToTime(r.cutoff) }, 'retention applied');
        },
        onError: (err) =>
          logger.error({ err: (err as Error).message }, 'retention failed; retried in an hour'),
      })
    : undefined;
  retention?.start();
  verification.start();
  logger.info(
    {
      url,
      db: db.replace(/\/\/[^@/]*@/, '//…@'),
      files: sources.map((s) => s.name),
      webhookAuth: config.webhook.tokens.length > 0 || Boolean(config.tls?.clientCA),
      detection: detection ? detection.where : 'off',
    },
    'collector started',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: no new requests; flushing');
      // A forwarder queue full under `block` with a dead destination must not hold the close forever:
      // a batch that would wait for it fails, and its source sends it again after the restart.
      forwarders?.refuseWaiting();
      announcement?.close();
      hub.close();
      await server.close();
      await Promise.all(sources.map((s) => s.stop()));
      await feeder?.stop();
      await retention?.stop();
      await verification.stop();
      await queue.close();
      await forwarders?.close();
      await webhookLog?.close();
      await detection?.finish(2000);
      // The chain is signed once more, after the last write.
      await integrity
        ?.close()
        .catch((err: unknown) => logger.error({ err: (err as Error).message }, 'signing the digests failed'));
      await store.close();
      await baseQuarantine.close();
      logger.info('stopped');
      logger.flush();
    })());
  const settled = () => feeder?.settled() ?? Promise.resolve();
  return {
    url,
    store,
    queue,
    sources,
    server,
    hub,
    auth,
    settled,
    close,
    ...(integrity ? { integrity } : {}),
  };
}

/**
 * The warning for a server that listens beyond loopback without TLS: tokens, session cookies and audit
 * events would cross the network in clear text. Undefined when there is nothing to warn about.
 */
export function plainTextWarning(host: string, tls: boolean): string | undefined {
  if (tls || host === 'localhost' || host === '::1' || /^127\./.test(host)) return undefined;
  return `listening on ${host} without TLS: tokens, session cookies and audit events cross the network in clear text; set --tls-cert and --tls-key (or tls: in the configuration), or listen on 127.0.0.1 behind a TLS proxy`;
}

export function splitHostPort(listen: string): [string, string] {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return [host, listen.slice(i + 1)];
}
