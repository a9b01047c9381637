// Reads a forwarder's SPEC (`elasticsearch:URL`, `syslog:tls://HOST:PORT`, `file:PATH`, …) and checks
// its options against the destination: every mistake is a KT_FORWARD_CONFIG error naming the spec or
// option and how to fix it. Credentials are read here, from files or environment variables, once.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KubetrailError } from '../core/errors.js';
import { compileJs, parseQuery, type Predicate } from '../query/index.js';
import type { ForwardConfig, Secret } from './options.js';

export const KINDS = [
  'elasticsearch',
  'opensearch',
  'splunk',
  'loki',
  'syslog',
  'otlp',
  'http',
  'file',
] as const;
export type ForwardKind = (typeof KINDS)[number];

export type Target =
  | { kind: Exclude<ForwardKind, 'syslog' | 'file'>; url: URL }
  | { kind: 'syslog'; tls: boolean; host: string; port: number }
  | { kind: 'file'; path: string };

const SPEC_FORMS =
  'elasticsearch:URL, opensearch:URL, splunk:URL, loki:URL, syslog:tcp://HOST:PORT, syslog:tls://HOST:PORT, otlp:URL, http:URL or file:PATH';

function bad(message: string, where: string, hint?: string): KubetrailError {
  return new KubetrailError('KT_FORWARD_CONFIG', message, {
    where: { path: where },
    ...(hint ? { hint } : {}),
  });
}

/** Parses a SPEC; `where` names it in errors (`--forward`, `forward[0].spec`). */
export function parseSpec(spec: string, where: string): Target {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  if (!(KINDS as readonly string[]).includes(kind))
    throw bad(`${JSON.stringify(kind)} is not a forwarder destination`, where, `write one of ${SPEC_FORMS}`);
  if (rest === '')
    throw bad(`${kind}: needs a destination after the colon`, where, `write one of ${SPEC_FORMS}`);
  if (kind === 'file') return { kind, path: path.resolve(rest) };
  if (kind === 'syslog') {
    const m = /^(tcp|tls):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(rest);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535)
      throw bad(
        `syslog:${rest} is not tcp://HOST:PORT or tls://HOST:PORT`,
        where,
        'e.g. syslog:tls://siem.example.com:6514 (RFC 5425) or syslog:tcp://127.0.0.1:601',
      );
    return { kind, tls: m[1] === 'tls', host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port };
  }
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw bad(`${kind}: ${JSON.stringify(rest)} is not a URL`, where, `e.g. ${kind}:https://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad(`${kind}: the URL must be http:// or https://, not ${url.protocol}`, where);
  if (url.username || url.password)
    throw bad(
      `${kind}: the URL holds credentials`,
      where,
      'give them with username/password, token or apiKey (read from a file or an environment variable) in the forward: configuration',
    );
  return { kind: kind as Exclude<ForwardKind, 'syslog' | 'file'>, url };
}

/** Options that only some destinations take. */
const ONLY: Partial<Record<keyof ForwardConfig, readonly ForwardKind[]>> = {
  index: ['elasticsearch', 'opensearch'],
  apiKey: ['elasticsearch', 'opensearch'],
  sourcetype: ['splunk'],
  source: ['splunk'],
  splunkIndex: ['splunk'],
  ack: ['splunk'],
  ackTimeoutMs: ['splunk'],
  tenant: ['loki'],
  facility: ['syslog'],
  appName: ['syslog'],
  hostname: ['syslog'],
  encoding: ['otlp'],
  maxFileBytes: ['file'],
  keepFiles: ['file'],
  username: ['elasticsearch', 'opensearch', 'loki', 'otlp', 'http'],
  password: ['elasticsearch', 'opensearch', 'loki', 'otlp', 'http'],
  token: ['splunk', 'loki', 'otlp', 'http'],
  headers: ['elasticsearch', 'opensearch', 'splunk', 'loki', 'otlp', 'http'],
  caFile: ['elasticsearch', 'opensearch', 'splunk', 'loki', 'otlp', 'http', 'syslog'],
};

/** Reads a credential from its file (trailing newline removed) or environment variable. */
export function readSecret(secret: Secret, where: string, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in secret) {
    const v = env[secret.env];
    if (v === undefined || v === '')
      throw bad(
        `environment variable ${secret.env} is not set`,
        where,
        `set ${secret.env} before starting kubetrail`,
      );
    return v;
  }
  try {
    return readFileSync(secret.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw bad(`cannot read ${secret.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, where);
  }
}

/** A forwarder ready to open: its name, destination, selection and credentials. */
export interface ResolvedForwarder {
  name: string;
  target: Target;
  config: ForwardConfig;
  /** DATADIR/forward/NAME: the queue and the dead-letter file. */
  dir: string;
  deadLetter: string;
  predicate: Predicate | undefined;
  ca: Buffer | undefined;
  /** The Authorization header value, when credentials were given. */
  authorization: string | undefined;
}

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_/-]+)*$/;

/** Checks an entry of `forward:` (or made from --forward) and reads what it refers to. */
export function resolveForwarder(
  config: ForwardConfig,
  dataDir: string,
  where: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedForwarder {
  const target = parseSpec(config.spec, `${where}.spec`);
  for (const [key, kinds] of Object.entries(ONLY)) {
    if (config[key as keyof ForwardConfig] !== undefined && !kinds.includes(target.kind))
      throw bad(
        `${key} does not apply to ${target.kind} forwarders`,
        `${where}.${key}`,
        `it applies to: ${kinds.join(', ')}`,
      );
  }
  if (config.retryMaxMs < config.retryInitialMs)
    throw bad('retryMaxMs is smaller than retryInitialMs', `${where}.retryMaxMs`);
  if (config.password && !config.username) throw bad('password needs a username', `${where}.password`);
  const creds = [config.username && 'username', config.token && 'token', config.apiKey && 'apiKey'].filter(
    Boolean,
  );
  if (creds.length > 1) throw bad(`give one kind of credential, not ${creds.join(' and ')}`, where);
  let predicate: Predicate | undefined;
  if (config.filter) {
    try {
      predicate = compileJs(parseQuery(config.filter));
    } catch (err) {
      throw bad(
        `the filter is not valid: ${(err as Error).message}`,
        `${where}.filter`,
        'docs/query-language.md has the grammar',
      );
    }
  }
  for (const list of ['include', 'exclude'] as const) {
    for (const [i, p] of (config.fields?.[list] ?? []).entries()) {
      if (!FIELD_PATH.test(p))
        throw bad(
          `${JSON.stringify(p)} is not a dotted path of the audit event`,
          `${where}.fields.${list}[${i}]`,
          'e.g. requestObject, user.extra, annotations',
        );
    }
  }
  const name =
    config.name ?? `${target.kind}-${createHash('sha256').update(config.spec).digest('hex').slice(0, 8)}`;
  const dir = path.resolve(dataDir, 'forward', name);
  let ca: Buffer | undefined;
  if (config.caFile) {
    try {
      ca = readFileSync(config.caFile);
    } catch (err) {
      throw bad(
        `cannot read ${config.caFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        `${where}.caFile`,
      );
    }
  }
  let authorization: string | undefined;
  if (config.username) {
    const password = config.password ? readSecret(config.password, `${where}.password`, env) : '';
    authorization = `Basic ${Buffer.from(`${config.username}:${password}`).toString('base64')}`;
  } else if (config.apiKey) authorization = `ApiKey ${readSecret(config.apiKey, `${where}.apiKey`, env)}`;
  else if (config.token) {
    const token = readSecret(config.token, `${where}.token`, env);
    authorization = target.kind === 'splunk' ? `Splunk ${token}` : `Bearer ${token}`;
  } else if (target.kind === 'splunk')
    throw bad(
      'a splunk forwarder needs its HEC token',
      `${where}.token`,
      'set token: { file: PATH } or { env: NAME } in the forward: entry',
    );
  if (target.kind === 'file' && config.deadLetter === undefined && target.path.startsWith(dir))
    throw bad('the output file is inside the forwarder queue directory', `${where}.spec`);
  return {
    name,
    target,
    config,
    dir,
    deadLetter: path.resolve(config.deadLetter ?? path.join(dir, 'dead-letter.ndjson')),
    predicate,
    ca,
    authorization,
  };
}

/** Checks that no two forwarders share a name (and so a queue). */
export function checkUniqueNames(list: readonly ResolvedForwarder[], where: string): void {
  const seen = new Set<string>();
  for (const f of list) {
    if (seen.has(f.name))
      throw bad(
        `two forwarders are named ${f.name}`,
        where,
        'give each a name of its own (name:), or do not repeat a spec',
      );
    seen.add(f.name);
  }
}
