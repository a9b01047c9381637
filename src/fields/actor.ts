// The actor behind a request: the person or workload a request was made for, resolved from the user the
// API server authenticated, the user it impersonated and the `extra` fields that proxies and token
// issuers add. The same resolution is written twice, as a JS function (filters on files, the live tail,
// detection rules, ClickHouse's post-filter) and as a DuckDB SQL expression over the stored columns; a
// test holds the two to the same answers. Browser-safe. docs/investigations.md describes the format.
import type { AuditEvent, UserInfo } from '../core/event.js';

/** How the actor was found. */
export type ActorSource =
  | 'user'
  | 'impersonation'
  | 'kube-oidc-proxy'
  | 'pinniped'
  | 'rancher'
  | 'eks-iam'
  | 'pod-token'
  | 'serviceaccount'
  | 'node';

export interface ActorInfo {
  /** The value of the `actor` field. */
  actor: string;
  source: ActorSource;
  /** The user the API server authenticated (before impersonation). */
  authenticated?: string;
  /** The user impersonated, when the request impersonated one. */
  impersonated?: string;
  /** `authentication.kubernetes.io/credential-id` (the token's JTI or the certificate's digest). */
  credential?: string;
  /** The node a pod-bound service-account token was issued on. */
  node?: string;
}

/** Extra keys read, by what sets them. */
export const EXTRA_KEYS = {
  podName: 'authentication.kubernetes.io/pod-name',
  /** Panther's spelling of the same key in its EKS records. */
  podNameFlat: 'authentication_kubernetes_io_slash_pod-name',
  nodeName: 'authentication.kubernetes.io/node-name',
  credentialId: 'authentication.kubernetes.io/credential-id',
  oidcProxyOriginalUser: 'originaluser.jetstack.io-user',
  pinnipedOriginalUser: 'original-user-info.impersonation-proxy.concierge.pinniped.dev',
  rancherUsername: 'username',
  rancherPrincipal: 'principalid',
  eksArn: 'arn',
} as const;

const SA_PREFIX = 'system:serviceaccount:';
const NODE_PREFIX = 'system:node:';

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function firstExtra(u: UserInfo | undefined, key: string): string | undefined {
  const extra: unknown = u?.extra;
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) return undefined;
  const list: unknown = (extra as Record<string, unknown>)[key];
  return Array.isArray(list) ? nonEmpty(list[0]) : undefined;
}

/** Service accounts as `sa:NS/NAME`, pod-bound ones as `pod:NS/POD (sa NAME)`, nodes as `node:NAME`. */
function resolveName(name: string, u: UserInfo | undefined): { actor: string; source: ActorSource } {
  if (name.startsWith(SA_PREFIX)) {
    const rest = name.slice(SA_PREFIX.length);
    const i = rest.indexOf(':');
    if (i > 0 && i < rest.length - 1) {
      const ns = rest.slice(0, i);
      const sa = rest.slice(i + 1);
      const pod = firstExtra(u, EXTRA_KEYS.podName) ?? firstExtra(u, EXTRA_KEYS.podNameFlat);
      if (pod) return { actor: `pod:${ns}/${pod} (sa ${sa})`, source: 'pod-token' };
      return { actor: `sa:${ns}/${sa}`, source: 'serviceaccount' };
    }
  }
  if (name.startsWith(NODE_PREFIX) && name.length > NODE_PREFIX.length) {
    return { actor: `node:${name.slice(NODE_PREFIX.length)}`, source: 'node' };
  }
  return { actor: name, source: 'user' };
}

/** The username in Pinniped's JSON-encoded original user info, when it is one. */
export function pinnipedOriginalUser(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null
      ? nonEmpty((v as Record<string, unknown>).username)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves the actor of an event; undefined when the event names no user. */
export function resolveActor(e: AuditEvent): ActorInfo | undefined {
  const authenticated = nonEmpty(e.user?.username);
  const impersonated = nonEmpty(e.impersonatedUser?.username);
  const who = impersonated ? e.impersonatedUser : e.user;
  const name = impersonated ?? authenticated;
  if (!name) return undefined;
  const base: Omit<ActorInfo, 'actor' | 'source'> = {
    ...(authenticated ? { authenticated } : {}),
    ...(impersonated ? { impersonated } : {}),
  };
  const credential = firstExtra(who, EXTRA_KEYS.credentialId);
  const node = firstExtra(who, EXTRA_KEYS.nodeName);
  if (credential) base.credential = credential;
  if (node) base.node = node;

  // A proxy that impersonated on behalf of a user who asked to impersonate someone else records that
  // original requester: the person at the keyboard.
  const oidcOriginal = firstExtra(who, EXTRA_KEYS.oidcProxyOriginalUser);
  if (oidcOriginal) return { ...base, ...resolveName(oidcOriginal, undefined), source: 'kube-oidc-proxy' };
  const pinniped = pinnipedOriginalUser(firstExtra(who, EXTRA_KEYS.pinnipedOriginalUser));
  if (pinniped) return { ...base, ...resolveName(pinniped, undefined), source: 'pinniped' };
  // Rancher impersonates its user id (u-xxxxx, user-xxxxx) and passes the login name and principal.
  const rancherName = firstExtra(who, EXTRA_KEYS.rancherUsername);
  if (rancherName && firstExtra(who, EXTRA_KEYS.rancherPrincipal)) {
    return { ...base, actor: rancherName, source: 'rancher' };
  }
  const resolved = resolveName(name, who);
  if (resolved.source === 'user') {
    // EKS maps IAM identities to (often shared) usernames; the IAM session says who it was.
    const arn = firstExtra(who, EXTRA_KEYS.eksArn);
    if (arn) return { ...base, actor: arn, source: 'eks-iam' };
    return { ...base, actor: name, source: impersonated ? 'impersonation' : 'user' };
  }
  return { ...base, ...resolved };
}

/** The `actor` field's value. */
export function actorOf(e: AuditEvent): string | undefined {
  return resolveActor(e)?.actor;
}

// ------------------------------------------------------------------------------------------- DuckDB SQL

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** RFC 6901 pointer text of a path of keys. */
function pointer(...keys: string[]): string {
  return keys.map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * The actor as a DuckDB SQL expression over the events table (`username`, `impersonated_user` and the
 * `event` JSON column). Constants only: it binds no parameter. Mirrors resolveActor exactly (a test
 * compares the two over generated events).
 */
export function actorDuckDbSql(): string {
  const name = `coalesce("impersonated_user", "username")`;
  // The first element of an extra key of the extra object `x`, when it is a non-empty string in a list.
  const pick = (key: string) => {
    const list = sqlString(pointer(key));
    const first = sqlString(pointer(key, '0'));
    return `CASE WHEN json_type(x, ${list}) = 'ARRAY' AND json_type(x, ${first}) = 'VARCHAR' THEN nullif(json_extract_string(x, ${first}), '') END`;
  };
  // The extras read, in this order, as v[1] … v[7].
  const keys = [
    EXTRA_KEYS.podName,
    EXTRA_KEYS.podNameFlat,
    EXTRA_KEYS.oidcProxyOriginalUser,
    EXTRA_KEYS.pinnipedOriginalUser,
    EXTRA_KEYS.rancherUsername,
    EXTRA_KEYS.rancherPrincipal,
    EXTRA_KEYS.eksArn,
  ];
  const v = (i: number) => `v[${i}]`;
  const [pod0, podFlat, oidc, pinnipedText, rancher, rancherPrincipal, arn] = [1, 2, 3, 4, 5, 6, 7].map(
    v,
  ) as [string, string, string, string, string, string, string];
  const resolveSql = (n: string, podSql: string | undefined, otherwise: string) => {
    const rest = `substr(${n}, ${SA_PREFIX.length + 1})`;
    const colon = `strpos(${rest}, ':')`;
    const ns = `substr(${rest}, 1, ${colon} - 1)`;
    const sa = `substr(${rest}, ${colon} + 1)`;
    const isSa = `(starts_with(${n}, ${sqlString(SA_PREFIX)}) AND ${colon} > 1 AND ${colon} < length(${rest}))`;
    const isNode = `(starts_with(${n}, ${sqlString(NODE_PREFIX)}) AND length(${n}) > ${NODE_PREFIX.length})`;
    const saText = podSql
      ? `CASE WHEN ${podSql} IS NOT NULL THEN 'pod:' || ${ns} || '/' || ${podSql} || ' (sa ' || ${sa} || ')' ELSE 'sa:' || ${ns} || '/' || ${sa} END`
      : `'sa:' || ${ns} || '/' || ${sa}`;
    const nodeText = `'node:' || substr(${n}, ${NODE_PREFIX.length + 1})`;
    return `(CASE WHEN ${isSa} THEN ${saText} WHEN ${isNode} THEN ${nodeText} ELSE ${otherwise} END)`;
  };
  const pod = `coalesce(${pod0}, ${podFlat})`;
  const pinniped = `(CASE WHEN json_valid(${pinnipedText}) AND json_type(${pinnipedText}, '/username') = 'VARCHAR' THEN nullif(json_extract_string(${pinnipedText}, '/username'), '') END)`;
  // Lambdas bind each intermediate value once: DuckDB would otherwise parse the event for every use.
  const extraObject = `json_extract("event", CASE WHEN "impersonated_user" IS NOT NULL THEN '/impersonatedUser/extra' ELSE '/user/extra' END)`;
  const values = `list_transform([${extraObject}], lambda x: [${keys.map(pick).join(', ')}])[1]`;
  const resolved = `list_transform([${values}], lambda v: CASE
      WHEN ${oidc} IS NOT NULL THEN ${resolveSql(oidc, undefined, oidc)}
      WHEN ${pinniped} IS NOT NULL THEN ${resolveSql(pinniped, undefined, pinniped)}
      WHEN ${rancher} IS NOT NULL AND ${rancherPrincipal} IS NOT NULL THEN ${rancher}
      ELSE ${resolveSql(name, pod, `coalesce(${arn}, ${name})`)}
    END)[1]`;
  // The stored event is JSON.stringify output: without the text `"extra":` no user has extras, and the
  // actor follows from the typed columns alone.
  return `(CASE
    WHEN ${name} IS NULL THEN NULL
    WHEN strpos("event", '"extra":') = 0 THEN ${resolveSql(name, undefined, name)}
    ELSE ${resolved}
  END)`;
}
