// The options of one event forwarder, as the configuration file's `forward:` list holds them (every key
// is in docs/configuration.md and docs/forwarding.md). `--forward SPEC` on the command line makes an
// entry with only `spec` set; everything else has a default.
import { z } from 'zod';

/** A credential is never written in the configuration itself: it is read from a file or a variable. */
export const secretSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
  }),
]);

export const WHEN_FULL = ['block', 'drop-oldest'] as const;

export const forwardSchema = z.strictObject({
  /** Destination: elasticsearch:URL, opensearch:URL, splunk:URL, loki:URL, syslog:tcp://HOST:PORT, syslog:tls://HOST:PORT, otlp:URL, http:URL, file:PATH. */
  spec: z.string().min(1),
  /** Name of the forwarder: its queue directory (DATADIR/forward/NAME) and its metrics label. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"')
    .optional(),
  /** Only events matching this filter (the filter language of docs/query-language.md) are forwarded. */
  filter: z.string().min(1).optional(),
  /** Which parts of each event are forwarded: dotted paths of the audit event, e.g. requestObject. */
  fields: z
    .strictObject({
      include: z.array(z.string().min(1)).optional(),
      exclude: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  /** Most events in one request to the destination. */
  batchEvents: z.number().int().min(1).max(100_000).default(500),
  /** Most bytes (of queued records) in one request to the destination. */
  batchBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  /** Most bytes the forwarder's disk queue holds not yet delivered. */
  queueBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(1024 ** 4)
    .default(256 * 1024 * 1024),
  /** When the queue is full: `block` (the write path waits; the webhook answers 429) or `drop-oldest` (counted). */
  whenFull: z.enum(WHEN_FULL).default('block'),
  /** First retry delay (ms); doubled at each failure up to retryMaxMs, with full jitter. */
  retryInitialMs: z.number().int().min(1).max(600_000).default(500),
  retryMaxMs: z.number().int().min(1).max(3_600_000).default(60_000),
  /** Time allowed for one request (ms). */
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** CA bundle (PEM file) the destination's TLS certificate is verified with. */
  caFile: z.string().min(1).optional(),
  /** Basic authentication: user name (with `password`). */
  username: z.string().min(1).optional(),
  password: secretSchema.optional(),
  /** Bearer token (Loki, OTLP, HTTP) or HEC token (Splunk). */
  token: secretSchema.optional(),
  /** Elasticsearch/OpenSearch API key (sent as `ApiKey KEY`). */
  apiKey: secretSchema.optional(),
  /** Extra HTTP headers (not secrets). */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name'), z.string())
    .optional(),
  /** Elasticsearch/OpenSearch data stream. */
  index: z.string().min(1).optional(),
  /** Splunk: sourcetype, source, host and the indexer acknowledgement. */
  sourcetype: z.string().min(1).optional(),
  source: z.string().min(1).optional(),
  splunkIndex: z.string().min(1).optional(),
  ack: z.boolean().optional(),
  ackTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  /** Loki tenant (X-Scope-OrgID). */
  tenant: z.string().min(1).optional(),
  /** syslog facility (0-23, default 16 = local0), APP-NAME and HOSTNAME. */
  facility: z.number().int().min(0).max(23).optional(),
  appName: z
    .string()
    .regex(/^[!-~]{1,48}$/, 'must be 1-48 printable ASCII characters')
    .optional(),
  hostname: z
    .string()
    .regex(/^[!-~]{1,255}$/, 'must be 1-255 printable ASCII characters')
    .optional(),
  /** OTLP: `protobuf` (application/x-protobuf, the default) or `json`. */
  encoding: z.enum(['protobuf', 'json']).optional(),
  /** File: size at which the file is rotated, and how many rotated files are kept. */
  maxFileBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 4)
    .optional(),
  keepFiles: z.number().int().min(0).max(1000).optional(),
  /** Where events that cannot be delivered are written (default DATADIR/forward/NAME/dead-letter.ndjson). */
  deadLetter: z.string().min(1).optional(),
});

export type ForwardConfig = z.infer<typeof forwardSchema>;
export type Secret = z.infer<typeof secretSchema>;

/** The entry `--forward SPEC` makes: the spec and every default. */
export function forwardFromSpec(spec: string): ForwardConfig {
  return forwardSchema.parse({ spec });
}
