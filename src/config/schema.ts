// The server's configuration file: its schema (every key, its type, its default) and the resolved
// configuration the server runs with. docs/configuration.md lists every key (a test keeps them in step).
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { SEVERITIES } from '../core/alert.js';
import { DEFAULT_MAX_EVENT_BYTES, MAX_MAX_EVENT_BYTES, MIN_MAX_EVENT_BYTES } from '../ingest/truncate.js';
import { forwardSchema } from '../forward/options.js';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT, e.g. 127.0.0.1:7480');

const clusterName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"');

const webhookToken = z
  .strictObject({
    /** The token itself (prefer tokenSha256 or tokenEnv so the file holds no secret). */
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Hex SHA-256 of the token. */
    tokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
      .optional(),
    /** Name of an environment variable holding the token. */
    tokenEnv: z.string().min(1).optional(),
    /** Cluster name the events posted with this token are tagged with. */
    cluster: clusterName,
  })
  .refine((t) => [t.token, t.tokenSha256, t.tokenEnv].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of token, tokenSha256, tokenEnv',
  });

export const fileSourceSchema = z.strictObject({
  path: z.string().min(1),
  cluster: clusterName.optional(),
  startAt: z.enum(['end', 'beginning']).default('end'),
});

export const configSchema = z.strictObject({
  /** `all`: sources, webhook, detection, API and UI; `api`: only the API and UI over the store. */
  role: z.enum(['all', 'api']).default('all'),
  /** Where the store, checkpoints and quarantine live. */
  dataDir: z.string().min(1).default('./data'),
  /** The store: a DuckDB file path (default DATADIR/kubetrail.duckdb). */
  db: z.string().min(1).optional(),
  listen: hostPort.default('127.0.0.1:7480'),
  /** Cluster name for events whose source names none. */
  cluster: clusterName.default('default'),
  tls: z
    .strictObject({
      cert: z.string().min(1),
      key: z.string().min(1),
      /** CA bundle to verify webhook client certificates with; enables client-certificate auth. */
      clientCA: z.string().min(1).optional(),
    })
    .optional(),
  webhook: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Largest accepted request body, after decompression. */
      maxBodyBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 ** 3)
        .default(64 * 1024 * 1024),
      tokens: z.array(webhookToken).default([]),
      /** With client certificates: tag events with the certificate's common name as cluster. */
      clusterFromCertificate: z.boolean().default(false),
      /**
       * When a batch is answered 200: `log` once it is on disk in the segment log (DATADIR/segments),
       * which feeds the store; `store` once the store has committed it.
       */
      acknowledge: z.enum(['log', 'store']).default('log'),
    })
    .default({
      enabled: true,
      maxBodyBytes: 64 * 1024 * 1024,
      tokens: [],
      clusterFromCertificate: false,
      acknowledge: 'log',
    }),
  /** Audit log files to follow. */
  files: z.array(fileSourceSchema).default([]),
  /** Follow the standard audit log paths (kubeadm, k3s, kind, minikube) when no files are given. */
  autodetect: z.boolean().default(true),
  pipeline: z
    .strictObject({
      /** Most events accepted and not yet stored; beyond it the webhook answers 429. */
      queueEvents: z.number().int().min(100).max(10_000_000).default(100_000),
      /** Most events in one store write. */
      writeEvents: z.number().int().min(1).max(1_000_000).default(10_000),
      /** How long to wait to gather a larger write (ms). */
      lingerMs: z.number().int().min(0).max(10_000).default(20),
      /** Longest accepted event, in bytes. */
      maxRecordBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 ** 3)
        .default(64 * 1024 * 1024),
      /**
       * Largest event stored whole (its JSON, in bytes); a larger one loses requestObject and
       * responseObject and is annotated audit.k8s.io/truncated (src/ingest/truncate.ts).
       */
      maxEventBytes: z
        .number()
        .int()
        .min(MIN_MAX_EVENT_BYTES)
        .max(MAX_MAX_EVENT_BYTES)
        .default(DEFAULT_MAX_EVENT_BYTES),
      /** Most bytes of webhook batches in the segment log not yet stored; beyond it the webhook answers 429. */
      segmentMaxBytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .max(1024 ** 4)
        .default(1024 ** 3),
      /**
       * Memory DuckDB may use for a DuckDB store, in MB of 1,000,000 bytes (its memory_limit: caches,
       * write buffers, sorts); beyond it DuckDB spills to disk or fails the write (retried). ClickHouse
       * ignores it.
       */
      duckdbMemoryMB: z
        .number()
        .int()
        .min(64)
        .max(1024 * 1024)
        .default(512),
    })
    .default({
      queueEvents: 100_000,
      writeEvents: 10_000,
      lingerMs: 20,
      maxRecordBytes: 64 * 1024 * 1024,
      maxEventBytes: DEFAULT_MAX_EVENT_BYTES,
      segmentMaxBytes: 1024 ** 3,
      duckdbMemoryMB: 512,
    }),
  /**
   * How long stored events are kept (a duration of at least 1d, e.g. 90d, 52w): applied at start and
   * every hour, by whole UTC days. Absent: kept until removed with `kubetrail prune`.
   */
  retention: z
    .string()
    .refine(
      (t) => (parseDuration(t) ?? 0) >= 86_400_000,
      'must be a duration of at least 1d, e.g. 90d or 52w',
    )
    .optional(),
  /** Audit policy applied to incoming events (drop, downgrade, omit stages); see docs/policy.md. */
  policy: z.string().min(1).optional(),
  redact: z
    .strictObject({
      /** Redaction of secrets and personal data before anything is stored or streamed. */
      enabled: z.boolean().default(true),
      /** Redaction configuration file (extra patterns, allow-lists, keyed hashes); see docs/redaction.md. */
      config: z.string().min(1).optional(),
    })
    .default({ enabled: true }),
  encryption: z
    .strictObject({
      /**
       * Data key file (`kubetrail key create --out FILE`, mode 0600): event bodies are sealed at rest
       * with it (docs/security.md). `--key-file` and KUBETRAIL_KEY_FILE override it.
       */
      keyFile: z.string().min(1).optional(),
    })
    .default({}),
  detect: z
    .strictObject({
      /** Real-time detection with the built-in rules (and `rules`); see docs/rules.md. */
      enabled: z.boolean().default(true),
      /** Extra rule files or directories, applied after the built-in pack. */
      rules: z.array(z.string().min(1)).default([]),
      /** Alert outputs: stdout, file:PATH, webhook:URL, slack:URL, alertmanager:URL. */
      outputs: z.array(z.string().min(1)).default([]),
      /** Lowest severity sent to outputs (all alerts are stored). */
      minSeverity: z.enum(SEVERITIES).default('low'),
      /** IP lists that rules name with `ipList:` (name → file of addresses and CIDR ranges, re-read when changed). */
      ipLists: z
        .record(
          z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be a word, as in tor-exit-nodes'),
          z.string().min(1),
        )
        .default({}),
    })
    .default({ enabled: true, rules: [], outputs: [], minSeverity: 'low', ipLists: {} }),
  api: z
    .strictObject({
      /** Lifetime of a web UI session (login cookie), in hours. */
      sessionHours: z.number().min(0.05).max(720).default(12),
      /** Failed logins from one address allowed within loginWindowSeconds before it must wait. */
      loginMaxFailures: z.number().int().min(1).max(10_000).default(10),
      loginWindowSeconds: z.number().int().min(1).max(86_400).default(300),
      /** Most stored events a policy simulation over HTTP reads. */
      simulateMaxEvents: z.number().int().min(1).max(100_000_000).default(500_000),
      /** Live streams (`/api/v1/stream`) one token may hold open at once (its sessions included). */
      streamsPerToken: z.number().int().min(1).max(10_000).default(8),
      /** Live streams the server holds open at once, for every token together. */
      streamsTotal: z.number().int().min(1).max(100_000).default(256),
    })
    .default({
      sessionHours: 12,
      loginMaxFailures: 10,
      loginWindowSeconds: 300,
      simulateMaxEvents: 500_000,
      streamsPerToken: 8,
      streamsTotal: 256,
    }),
  /** Tamper evidence (docs/security.md#tamper-evidence): how the digest chain is signed and copied. */
  integrity: z
    .strictObject({
      /** How often the digest chain is signed when it grew (also at start, after a prune and at stop). */
      signInterval: z
        .string()
        .refine((t) => {
          const ms = parseDuration(t);
          return ms !== undefined && ms >= 1000 && ms <= 86_400_000;
        }, 'must be a duration from 1s to 24h, e.g. 1m or 30s')
        .default('1m'),
      /** Ed25519 private key (PEM) that signs; default DIR/integrity/signing.key, made on first use. */
      signingKey: z.string().min(1, 'must be the path of an Ed25519 private key (PEM)').optional(),
      /** A command that signs instead of a key file: the message on stdin, the base64 signature on stdout. */
      signCommand: z.string().min(1, 'must be a shell command').optional(),
      /** The Ed25519 public key (PEM) of signCommand's key, to check each signature before it is kept. */
      publicKey: z.string().min(1, 'must be the path of an Ed25519 public key (PEM)').optional(),
      /** The append-only digest file (default: beside a DuckDB store, or DATADIR/integrity/digests.ndjson). */
      digestsFile: z.string().min(1, 'must be a file path').optional(),
      /**
       * How often the server verifies the store's digests and records the result (shown by
       * GET /api/v1/integrity and the dashboard): a duration, or 0 for never on its own.
       */
      verifyInterval: z
        .string()
        .refine(
          (t) => t.trim() === '0' || (parseDuration(t) ?? 0) >= 60_000,
          'must be 0 (off) or a duration of at least 1m, e.g. 24h',
        )
        .default('24h'),
    })
    .refine((i) => !(i.signingKey && i.signCommand), {
      message: 'give signingKey or signCommand, not both',
    })
    .refine((i) => !i.signCommand || i.publicKey, {
      message: 'signCommand needs publicKey: the public key that checks its signatures',
      path: ['publicKey'],
    })
    .default({ signInterval: '1m', verifyInterval: '24h' }),
  /** Event forwarders (docs/forwarding.md): each also takes `--forward SPEC` on `serve` and `import`. */
  forward: z.array(forwardSchema).default([]),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .default({ level: 'info' }),
});

export type Config = z.infer<typeof configSchema>;
export type FileSourceConfig = z.infer<typeof fileSourceSchema>;
