// Test helpers for redaction: audit events carrying random secret values in every place Kubernetes and its
// users put credentials (fast-check), with the secret strings that must disappear and, per event, the
// place and the redaction rule expected to catch it.
import fc from 'fast-check';
import type { AuditEvent } from '../core/event.js';
import { eventArbitrary } from './events.js';

export interface Planted {
  /** Short name of the place. */
  place: string;
  event: AuditEvent;
  /** Strings that must not survive redaction. */
  secrets: string[];
  /** Rules expected among the findings for this event. */
  rules: string[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64 = `${ALNUM}+/`;

const chars = (alphabet: string, min: number, max = min) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));

/** A random value that cannot occur by chance in ordinary event text (always contains a digit). */
const token = (min = 20, max = 32) =>
  fc.tuple(chars(ALNUM, min, max), fc.integer({ min: 0, max: 9 })).map(([s, d]) => `${s}${d}`);
const b64 = (s: string) => Buffer.from(s).toString('base64');

export interface SecretValues {
  a: string;
  b: string;
  c: string;
  d: string;
  e: string;
  jwtBody: string;
  akiaTail: string;
  awsSecret: string;
  ghTail: string;
  keyBody: string;
  bootId: string;
  bootSecret: string;
  urlPassword: string;
  bearer: string;
  stripeTail: string;
  slackTail: string;
}

export const secretValuesArbitrary: fc.Arbitrary<SecretValues> = fc.record({
  a: token(),
  b: token(),
  c: token(),
  d: token(),
  e: token(),
  jwtBody: chars(ALNUM, 24, 40),
  akiaTail: chars(UPPER, 16),
  awsSecret: chars(B64, 40).map((s) => `${s.slice(0, 39)}7`),
  ghTail: chars(ALNUM, 36),
  keyBody: chars(B64, 64, 96),
  bootId: chars(LOWER, 6),
  bootSecret: chars(LOWER, 16),
  urlPassword: token(12, 20),
  bearer: token(24, 40),
  stripeTail: chars(ALNUM, 24),
  slackTail: chars(ALNUM, 24),
});

function jwt(body: string): string {
  const header = Buffer.from('{"alg":"RS256","kid":"k"}').toString('base64url');
  const payload = Buffer.from(`{"sub":"system:serviceaccount:a:b","jti":"${body}"}`).toString('base64url');
  return `${header}.${payload}.${body}`;
}

function pem(body: string): string {
  return `-----BEGIN RSA PRIVATE KEY-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END RSA PRIVATE KEY-----\n`;
}

/** Builds one event per place from a base event and random secret values. */
export function plant(base: AuditEvent, v: SecretValues): Planted[] {
  const ev = (over: Partial<AuditEvent>): AuditEvent => ({
    ...structuredClone(base),
    level: 'RequestResponse',
    ...over,
  });
  const secretRef = { resource: 'secrets', namespace: 'app', name: 'db', apiVersion: 'v1' };
  const saJwt = jwt(v.jwtBody);
  const akia = `AKIA${v.akiaTail}`;
  const gh = `ghp_${v.ghTail}`;
  const key = pem(v.keyBody);
  const boot = `${v.bootId}.${v.bootSecret}`;
  const csrRequest = b64(
    `-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n${key}`,
  );
  const out: Planted[] = [
    {
      place: 'Secret data and stringData (create)',
      event: ev({
        verb: 'create',
        objectRef: secretRef,
        requestObject: {
          kind: 'Secret',
          apiVersion: 'v1',
          metadata: { name: 'db' },
          data: { password: b64(v.a) },
          stringData: { apiKey: v.b },
        },
        responseObject: {
          kind: 'Secret',
          apiVersion: 'v1',
          metadata: { name: 'db' },
          data: { password: b64(v.a), apiKey: b64(v.b) },
        },
      }),
      secrets: [b64(v.a), v.b, b64(v.b)],
      rules: ['secret-data', 'secret-stringdata'],
    },
    {
      place: 'SecretList items',
      event: ev({
        verb: 'list',
        objectRef: { resource: 'secrets', namespace: 'app', apiVersion: 'v1' },
        responseObject: {
          kind: 'SecretList',
          apiVersion: 'v1',
          metadata: {},
          items: [{ metadata: { name: 'x' }, data: { k: b64(v.c) } }],
        },
      }),
      secrets: [b64(v.c)],
      rules: ['secret-data'],
    },
    {
      place: 'last-applied-configuration of a Secret',
      event: ev({
        verb: 'patch',
        objectRef: secretRef,
        requestObject: {
          metadata: {
            annotations: {
              'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { pw: v.d } })}\n`,
            },
          },
          stringData: { pw: v.d },
        },
      }),
      secrets: [v.d],
      rules: ['secret-stringdata'],
    },
    {
      place: 'JSON patch of a Secret',
      event: ev({
        verb: 'patch',
        objectRef: secretRef,
        requestObject: [{ op: 'replace', path: '/data/password', value: b64(v.e) }],
      }),
      secrets: [b64(v.e)],
      rules: ['secret-data'],
    },
    {
      place: 'service-account token Secret',
      event: ev({
        verb: 'get',
        objectRef: { ...secretRef, name: 'default-token-x' },
        responseObject: {
          kind: 'Secret',
          type: 'kubernetes.io/service-account-token',
          metadata: { name: 'default-token-x' },
          data: { token: b64(saJwt), 'ca.crt': b64(v.a) },
        },
      }),
      secrets: [b64(saJwt), b64(v.a)],
      rules: ['secret-data'],
    },
    {
      place: 'bootstrap token Secret',
      event: ev({
        verb: 'create',
        objectRef: {
          resource: 'secrets',
          namespace: 'kube-system',
          name: `bootstrap-token-${v.bootId}`,
          apiVersion: 'v1',
        },
        requestObject: {
          kind: 'Secret',
          type: 'bootstrap.kubernetes.io/token',
          metadata: { name: `bootstrap-token-${v.bootId}` },
          stringData: { 'token-id': v.bootId, 'token-secret': v.bootSecret },
        },
      }),
      secrets: [v.bootSecret],
      rules: ['secret-stringdata'],
    },
    {
      place: 'TokenRequest status.token',
      event: ev({
        verb: 'create',
        requestURI: '/api/v1/namespaces/app/serviceaccounts/ci/token',
        objectRef: {
          resource: 'serviceaccounts',
          subresource: 'token',
          namespace: 'app',
          name: 'ci',
          apiVersion: 'v1',
        },
        requestObject: {
          kind: 'TokenRequest',
          apiVersion: 'authentication.k8s.io/v1',
          spec: { audiences: ['api'] },
        },
        responseObject: {
          kind: 'TokenRequest',
          apiVersion: 'authentication.k8s.io/v1',
          spec: { audiences: ['api'] },
          status: { token: saJwt, expirationTimestamp: '2030-01-01T00:00:00Z' },
        },
      }),
      secrets: [saJwt, v.jwtBody],
      rules: ['token-request'],
    },
    {
      place: 'TokenReview spec.token',
      event: ev({
        verb: 'create',
        requestURI: '/apis/authentication.k8s.io/v1/tokenreviews',
        objectRef: { resource: 'tokenreviews', apiGroup: 'authentication.k8s.io', apiVersion: 'v1' },
        requestObject: {
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          spec: { token: v.bearer },
        },
        responseObject: {
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          spec: { token: v.bearer },
          status: { authenticated: true },
        },
      }),
      secrets: [v.bearer],
      rules: ['token-review'],
    },
    {
      place: 'CertificateSigningRequest with a private key',
      event: ev({
        verb: 'create',
        objectRef: {
          resource: 'certificatesigningrequests',
          apiGroup: 'certificates.k8s.io',
          apiVersion: 'v1',
        },
        requestObject: {
          kind: 'CertificateSigningRequest',
          apiVersion: 'certificates.k8s.io/v1',
          spec: { request: csrRequest, signerName: 'kubernetes.io/kube-apiserver-client' },
        },
      }),
      secrets: [csrRequest.slice(-80)],
      rules: ['csr-private-key'],
    },
    {
      place: 'ConfigMap values (names, assignments, cloud keys, private key, bootstrap token, URL)',
      event: ev({
        verb: 'create',
        objectRef: { resource: 'configmaps', namespace: 'app', name: 'cfg', apiVersion: 'v1' },
        requestObject: {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          metadata: { name: 'cfg' },
          data: {
            DB_PASSWORD: v.a,
            'aws.properties': `aws_access_key_id = ${akia}\naws_secret_access_key = ${v.awsSecret}\n`,
            'tls.key': key,
            'join.sh': `kubeadm join 10.0.0.1:6443 --token ${boot} --discovery-token-unsafe-skip-ca-verification`,
            'app.yaml': `database:\n  url: postgres://app:${v.urlPassword}@db.app:5432/app\n  password: "${v.c}"\n`,
          },
        },
      }),
      secrets: [v.a, akia, v.awsSecret, v.keyBody.slice(0, 40), boot, v.urlPassword, v.c],
      rules: ['sensitive-name', 'sensitive-assignment', 'private-key', 'url-password'],
    },
    {
      place: 'env values, command lines and annotations in a pod template',
      event: ev({
        verb: 'create',
        objectRef: {
          resource: 'deployments',
          apiGroup: 'apps',
          namespace: 'app',
          name: 'web',
          apiVersion: 'v1',
        },
        requestObject: {
          kind: 'Deployment',
          apiVersion: 'apps/v1',
          metadata: { name: 'web', annotations: { 'example.com/api-key': v.b, 'example.com/build': gh } },
          spec: {
            template: {
              metadata: { annotations: { 'vendor.io/slack': `xoxb-1234567890-${v.slackTail}` } },
              spec: {
                containers: [
                  {
                    name: 'web',
                    image: 'registry.example.com/web:1.0',
                    env: [
                      { name: 'API_TOKEN', value: v.d },
                      { name: 'STRIPE', value: `sk_live_${v.stripeTail}` },
                      { name: 'UPSTREAM', value: `https://bot:${v.urlPassword}@git.example.com/repo.git` },
                    ],
                    command: ['/app', `--db-password=${v.e}`, '--auth-token', v.a],
                    args: ['--header', `Authorization: Bearer ${v.bearer}`],
                  },
                ],
              },
            },
          },
        },
      }),
      secrets: [v.b, gh, v.slackTail, v.d, v.stripeTail, v.urlPassword, v.e, v.a, v.bearer],
      rules: [
        'sensitive-name',
        'github-token',
        'slack-token',
        'stripe-key',
        'url-password',
        'sensitive-flag',
        'authorization-header',
      ],
    },
    {
      place: 'exec command and query parameters in the request URI',
      event: ev({
        verb: 'create',
        level: 'Metadata',
        requestURI: `/api/v1/namespaces/app/pods/web/exec?command=psql&command=--password&command=${v.c}&container=web&stdout=true`,
        objectRef: { resource: 'pods', subresource: 'exec', namespace: 'app', name: 'web', apiVersion: 'v1' },
      }),
      secrets: [v.c],
      rules: ['sensitive-flag'],
    },
    {
      place: 'access token in a query parameter',
      event: ev({
        verb: 'get',
        level: 'Metadata',
        requestURI: `/apis/metrics.example.com/v1/things?access_token=${v.d}&limit=5`,
      }),
      secrets: [v.d],
      rules: ['sensitive-name'],
    },
    {
      place: 'JWT in an audit annotation, token in a status message and the user agent',
      event: ev({
        level: 'Metadata',
        annotations: { ...(base.annotations ?? {}), 'example.com/debug': `forwarded ${saJwt}` },
        responseStatus: { code: 401, message: `token ${gh} is not valid` },
        userAgent: `deploy-bot/1.0 (token=${v.e})`,
      }),
      secrets: [saJwt, gh, v.e],
      rules: ['jwt', 'github-token', 'sensitive-assignment'],
    },
  ];
  return out;
}

/** Random planted events: a random base event and random secret values. */
export const plantedArbitrary: fc.Arbitrary<Planted[]> = fc
  .tuple(eventArbitrary, secretValuesArbitrary)
  .map(([base, values]) => plant(base, values));
