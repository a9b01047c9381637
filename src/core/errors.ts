// Errors with stable codes. Every code kubetrail can raise is registered in ERROR_CODES with a one-line
// meaning and how to fix it; docs/errors.md is generated from this table and a test keeps them in sync.

export interface ErrorCodeInfo {
  /** What went wrong, in general terms. */
  summary: string;
  /** What the user can do about it. */
  fix: string;
  /** Process exit code the CLI uses when this error ends a command. */
  exit: number;
}

/** Where in an input a problem is: any subset of file, line, column, field path. */
export interface Location {
  file?: string;
  line?: number;
  column?: number;
  path?: string;
}

/**
 * The registry. Codes are stable: never rename or reuse one. Grouped by area; add new codes to the area's
 * group. Exit codes: 2 for usage and input errors, 3 for store and I/O faults, 1 reserved for "found".
 */
export const ERROR_CODES = {
  // --- usage and configuration
  KT_USAGE: { summary: 'The command line is not valid.', fix: 'Run the command with --help.', exit: 2 },
  KT_CONFIG_INVALID: {
    summary: 'The configuration file does not match its schema.',
    fix: 'Correct the field named in the message; docs/configuration.md lists every key.',
    exit: 2,
  },
  KT_CONFIG_READ: {
    summary: 'The configuration file cannot be read or parsed.',
    fix: 'Check the path and the YAML/JSON syntax at the line and column given.',
    exit: 2,
  },
  // --- input (decoding events)
  KT_INPUT_NOT_FOUND: {
    summary: 'An input file or directory does not exist.',
    fix: 'Check the path.',
    exit: 2,
  },
  KT_INPUT_READ: {
    summary: 'An input cannot be read (permissions, corrupt gzip, I/O error).',
    fix: 'Check the file; a corrupt .gz can be tested with `gzip -t`.',
    exit: 2,
  },
  KT_EVENT_INVALID: {
    summary: 'A record is not a valid audit event.',
    fix: 'The record was set aside in the quarantine file; inspect it there.',
    exit: 2,
  },
  KT_EVENT_TOO_LARGE: {
    summary: 'A record is larger than the accepted maximum.',
    fix: 'Raise the maximum record size if such events are legitimate.',
    exit: 2,
  },
  // --- output files
  KT_OUTPUT_EXISTS: {
    summary: 'The output file already exists.',
    fix: 'Choose another path, or pass --force to overwrite it.',
    exit: 2,
  },
  KT_OUTPUT_WRITE: {
    summary: 'The output file cannot be written (directory missing, permissions, disk full).',
    fix: 'Check the path and the free space; `--out -` writes to standard output.',
    exit: 3,
  },
  // --- query language
  KT_QUERY_SYNTAX: {
    summary: 'The filter expression cannot be parsed.',
    fix: 'See the caret under the position named; docs/query-language.md has the grammar.',
    exit: 2,
  },
  KT_QUERY_FIELD: {
    summary: 'The filter names a field that does not exist.',
    fix: 'Use a field from docs/fields.md (the message suggests the closest one).',
    exit: 2,
  },
  KT_QUERY_VALUE: {
    summary: 'A value in the filter does not fit its field (a number, duration or time was expected).',
    fix: 'Write the value in the form the field takes; docs/fields.md gives each field type.',
    exit: 2,
  },
  KT_QUERY_LIMIT: {
    summary: 'The filter is longer, nests deeper or has more terms than the filter language accepts.',
    fix: 'Shorten the filter or split the search; docs/query-language.md ("Limits") gives each limit.',
    exit: 2,
  },
  KT_TIME_INVALID: {
    summary: 'A time or duration option cannot be parsed.',
    fix: 'Use a duration such as 15m, 24h, 7d or an RFC 3339 time such as 2024-05-01T10:00:00Z.',
    exit: 2,
  },
  // --- store
  KT_STORE_OPEN: {
    summary: 'The store cannot be opened.',
    fix: 'Check the path and that no other kubetrail process holds it for writing.',
    exit: 3,
  },
  KT_STORE_SCHEMA: {
    summary: 'The store was written by a newer kubetrail, or its schema is damaged.',
    fix: 'Upgrade kubetrail, or point --db at another file.',
    exit: 3,
  },
  KT_STORE_WRITE: {
    summary: 'Writing to the store failed.',
    fix: 'Check disk space and permissions.',
    exit: 3,
  },
  KT_STORE_QUERY: {
    summary: 'A query against the store failed.',
    fix: 'Retry; if it persists, report it with the filter used.',
    exit: 3,
  },
  KT_NOT_FOUND: { summary: 'The requested object does not exist.', fix: 'Check the identifier.', exit: 1 },
  // --- policy
  KT_POLICY_INVALID: {
    summary: 'The audit policy is not valid for the API server.',
    fix: 'Correct each problem at the field path and line given.',
    exit: 2,
  },
  KT_POLICY_READ: {
    summary: 'The audit policy file cannot be read or parsed.',
    fix: 'Check the path and the YAML/JSON syntax at the line and column given.',
    exit: 2,
  },
  // --- RBAC
  KT_RBAC_READ: {
    summary: 'An RBAC input (roles and bindings as YAML or JSON) cannot be read or parsed.',
    fix: 'Check the path and the YAML/JSON syntax at the line and column given; `kubectl get clusterroles,clusterrolebindings,roles,rolebindings -A -o yaml` writes a valid input.',
    exit: 2,
  },
  KT_RBAC_INVALID: {
    summary: 'An RBAC object in the input is not valid rbac.authorization.k8s.io/v1.',
    fix: 'Correct the field at the file, line and path given (docs/rbac.md describes the input).',
    exit: 2,
  },
  // --- redaction
  KT_REDACT_CONFIG: {
    summary: 'A redaction rule or pattern is not valid.',
    fix: 'Correct the pattern named; `kubetrail redact --check` validates the configuration.',
    exit: 2,
  },
  KT_REDACT_KEY: {
    summary: 'The key for keyed hashes or pseudonyms is missing, unreadable or too short.',
    fix: 'Set KUBETRAIL_REDACT_KEY (or the env/file named in the config) to at least 16 random bytes.',
    exit: 2,
  },
  // --- encryption at rest
  KT_KEY_FILE: {
    summary: 'The data key file is missing, unreadable, not a 32-byte key, or readable by group or others.',
    fix: 'Check the path given by --key-file, KUBETRAIL_KEY_FILE or encryption.keyFile; `chmod 600 FILE`; `kubetrail key create --out FILE` makes a new key.',
    exit: 2,
  },
  KT_KEY_MISMATCH: {
    summary: 'Encrypted data does not open with the key given: another key sealed it, or it was changed.',
    fix: 'Give the key the data was written with (the message names its key id); data sealed with a lost key cannot be read.',
    exit: 2,
  },
  KT_KEY_REQUIRED: {
    summary: 'The store or file is encrypted and no data key was given.',
    fix: 'Give the key with --key-file FILE, KUBETRAIL_KEY_FILE or encryption.keyFile in the configuration.',
    exit: 2,
  },
  KT_KEY_UNEXPECTED: {
    summary: 'A data key was given for a store that already holds events without encryption.',
    fix: 'Run without the key, or encrypt the store first with `kubetrail key rotate --new-key-file FILE --db …`.',
    exit: 2,
  },
  // --- detection
  KT_RULE_INVALID: {
    summary: 'A detection rule is not valid.',
    fix: 'Correct the rule at the file, line and field path given; `kubetrail rules lint` checks rule files.',
    exit: 2,
  },
  KT_ALERT_OUTPUT: {
    summary: 'An alert output failed to deliver.',
    fix: 'The alert stays in the outbox and is retried; check the output URL and credentials.',
    exit: 3,
  },
  // --- forwarding
  KT_FORWARD_CONFIG: {
    summary: 'An event forwarder (--forward SPEC or forward: in the configuration) is not valid.',
    fix: 'Correct the spec or option named in the message; docs/forwarding.md lists every destination and option.',
    exit: 2,
  },
  KT_FORWARD_DELIVERY: {
    summary: 'A forwarder could not deliver events to its destination.',
    fix: 'The events stay in the forwarder queue and are retried; check the destination URL, credentials and the dead-letter file.',
    exit: 3,
  },
  // --- server
  KT_AUTH_REQUIRED: { summary: 'Authentication is required.', fix: 'Send a valid bearer token.', exit: 2 },
  KT_FORBIDDEN: {
    summary: 'The token does not allow this.',
    fix: 'Use a token with the needed role.',
    exit: 2,
  },
  KT_BODY_FORBIDDEN: {
    summary: 'The token may not see request and response bodies, and the request names a body field.',
    fix: 'Filter, group and search on metadata fields only (GET /api/v1/fields), or use a token created with --bodies.',
    exit: 2,
  },
  KT_STREAM_LIMIT: {
    summary: 'Too many live streams are open, for this token or on the server.',
    fix: 'Close a stream you no longer watch (a browser tab on the Live page), or raise api.streamsPerToken / api.streamsTotal.',
    exit: 2,
  },
  KT_API_REQUEST: {
    summary: 'An API request has a missing, malformed or out-of-range parameter or body.',
    fix: 'Correct the parameter named in the message; docs/api.md describes every endpoint.',
    exit: 2,
  },
  KT_RATE_LIMITED: {
    summary: 'Too many failed logins or bad tokens from this address, or with this token.',
    fix: 'Wait for the time in Retry-After; a valid token is always accepted.',
    exit: 2,
  },
  KT_WEBHOOK_REQUEST: {
    summary: 'A webhook request is not in a form the receiver accepts (path, content type or encoding).',
    fix: 'Post an EventList as application/json (optionally gzip-encoded) to /webhook or /webhook/CLUSTER.',
    exit: 2,
  },
  KT_BODY_TOO_LARGE: {
    summary: 'The request body is larger than the accepted maximum.',
    fix: "Send a smaller body: for the webhook, lower the API server's --audit-webhook-batch-max-size or raise webhook.maxBodyBytes; for other requests, the error says the limit that applies.",
    exit: 2,
  },
  KT_OVERLOADED: {
    summary: 'The pipeline is full; the request should be retried.',
    fix: 'Retry after the time in Retry-After; the API server does so on its own.',
    exit: 3,
  },
  KT_SERVER_UNREACHABLE: {
    summary: 'The kubetrail server cannot be reached.',
    fix: 'Check --server and that `kubetrail serve` is running.',
    exit: 3,
  },
  // --- evidence bundles
  KT_BUNDLE_READ: {
    summary: 'A file is not a readable evidence bundle (gzip-compressed tar with a manifest).',
    fix: 'Check that the file is a bundle written by `kubetrail export` and was copied whole; `kubetrail verify --bundle FILE` says what is wrong with it.',
    exit: 2,
  },
  KT_BUNDLE_KEY: {
    summary: 'A signing or public key cannot be used for bundles.',
    fix: 'Give an Ed25519 key in PEM: `kubetrail key create --ed25519 --out FILE` (or `openssl genpkey -algorithm ed25519 -out FILE`) makes a private key, and `openssl pkey -in FILE -pubout` its public key.',
    exit: 2,
  },
  KT_BUNDLE_INVALID: {
    summary: 'A bundle failed verification and is not imported.',
    fix: 'Run `kubetrail verify --bundle FILE` to see each finding; import only a bundle that verifies.',
    exit: 1,
  },
  // --- tamper evidence
  KT_INTEGRITY_KEY: {
    summary: 'The key or command that signs digests, or the public key that checks them, cannot be used.',
    fix: 'Give an Ed25519 key in PEM (`kubetrail key create --ed25519 --out FILE` makes one, its public key beside it as FILE.pub), or a `integrity.signCommand` that prints a base64 Ed25519 signature of its stdin.',
    exit: 2,
  },
  KT_INTEGRITY_UNAVAILABLE: {
    summary: "The store's digests cannot be read from here.",
    fix: 'Run `kubetrail verify` where the store is: stop the server that holds a DuckDB file first, or ask the server (GET /api/v1/integrity).',
    exit: 3,
  },
  KT_INTEGRITY_DIGESTS: {
    summary: 'The digest file cannot be read or written.',
    fix: 'Check the path and permissions of the digest file (`integrity.digestsFile`, or --digests).',
    exit: 3,
  },
  KT_INTEGRITY_FINDINGS: {
    summary: 'The store does not verify clean against its signed digests, so the command refuses to go on.',
    fix: 'Run `kubetrail verify` to see the findings and deal with them first; `kubetrail key rotate --force` rotates anyway (the findings about the rows it replaces can no longer be reported afterwards).',
    exit: 1,
  },
  KT_INTERNAL: {
    summary: 'An unexpected internal error.',
    fix: 'Report it with the message and stack.',
    exit: 3,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class KubetrailError extends Error {
  readonly code: ErrorCode;
  readonly where: Location | undefined;
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { where?: Location; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubetrailError';
    this.code = code;
    this.where = options.where;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** For people: `CODE: place: message` and a hint line; the place is file:line:column, or what is known. */
  format(): string {
    const w = this.where;
    let place = '';
    if (w?.file) place = [w.file, w.line, w.column].filter((p) => p !== undefined).join(':');
    else if (w?.line !== undefined)
      place = `line ${w.line}${w.column !== undefined ? `, column ${w.column}` : ''}`;
    else if (w?.column !== undefined) place = `column ${w.column}`;
    if (w?.path) place = place ? `${place} (${w.path})` : w.path;
    const hint = this.hint ?? ERROR_CODES[this.code].fix;
    return `${this.code}: ${place ? `${place}: ` : ''}${this.message}\n  hint: ${hint}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      where: this.where,
      hint: this.hint ?? ERROR_CODES[this.code].fix,
    };
  }
}

export function isKubetrailError(err: unknown): err is KubetrailError {
  return err instanceof KubetrailError;
}
