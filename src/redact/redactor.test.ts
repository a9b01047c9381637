// Tests of the redactor: each place Kubernetes keeps credentials, name and pattern rules, markers and the
// redacted-paths annotation, inspect mode, idempotence, allow-lists and keyed hashes.
import { describe, expect, it } from 'vitest';
import { REDACTED_ANNOTATION, type AuditEvent } from '../core/event.js';
import { makeEvent } from '../test-support/events.js';
import { compileRedactConfig } from './config.js';
import { BUILTIN_DETECTORS } from './detectors.js';
import { MARKER } from './marker.js';
import { Redactor } from './redactor.js';

const redactor = new Redactor(compileRedactConfig());
const S = 'Zm9vYmFyLXNlY3JldC12YWx1ZS0x'; // a Secret value

function redact(e: AuditEvent, r = redactor) {
  const findings = r.redact(e);
  return {
    e,
    findings,
    json: JSON.stringify(e),
    paths: JSON.parse(e.annotations?.[REDACTED_ANNOTATION] ?? '[]'),
  };
}

const secretRef = { resource: 'secrets', namespace: 'app', name: 'db', apiVersion: 'v1' };

describe('Secrets', () => {
  it('replaces every data and stringData value, keeping keys', () => {
    const { e, paths, findings } = redact(
      makeEvent({
        level: 'RequestResponse',
        verb: 'create',
        objectRef: secretRef,
        requestObject: {
          kind: 'Secret',
          apiVersion: 'v1',
          metadata: { name: 'db' },
          type: 'Opaque',
          data: { password: S, 'tls.key': S },
          stringData: { token: 'plain-text-secret' },
        },
        responseObject: { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'db' }, data: { password: S } },
      }),
    );
    const req = e.requestObject as { data: Record<string, string>; stringData: Record<string, string> };
    expect(req.data).toEqual({ password: MARKER, 'tls.key': MARKER });
    expect(req.stringData).toEqual({ token: MARKER });
    expect(paths).toEqual([
      'requestObject.data.password',
      'requestObject.data["tls.key"]',
      'requestObject.stringData.token',
      'responseObject.data.password',
    ]);
    expect(new Set(findings.map((f) => f.rule))).toEqual(new Set(['secret-data', 'secret-stringdata']));
  });

  it('handles lists, kind-less items, patches and last-applied-configuration', () => {
    const lastApplied = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'app' },
      data: { password: S },
    });
    const { json, paths } = redact(
      makeEvent({
        level: 'RequestResponse',
        verb: 'list',
        objectRef: { resource: 'secrets', namespace: 'app', apiVersion: 'v1' },
        responseObject: {
          kind: 'SecretList',
          apiVersion: 'v1',
          items: [
            {
              metadata: {
                name: 'db',
                annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${lastApplied}\n` },
              },
              data: { password: S },
            },
            {
              metadata: { name: 'sa-token' },
              type: 'kubernetes.io/service-account-token',
              data: { token: S },
            },
          ],
        },
      }),
    );
    expect(json).not.toContain(S);
    expect(paths).toContain('responseObject.items[1].data.token');
    expect(paths).toContain(
      'responseObject.items[0].metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]#.data.password',
    );
  });

  it('redacts merge patches and JSON patches of secrets', () => {
    const merge = redact(
      makeEvent({
        verb: 'patch',
        objectRef: secretRef,
        level: 'Request',
        requestObject: { data: { password: S } },
      }),
    );
    expect(merge.json).not.toContain(S);
    const json = redact(
      makeEvent({
        verb: 'patch',
        objectRef: secretRef,
        level: 'Request',
        requestObject: [
          { op: 'replace', path: '/data/password', value: S },
          { op: 'add', path: '/stringData', value: { apiKey: 'plain-value-1' } },
          { op: 'add', path: '/metadata/labels/x', value: 'keep-me' },
        ],
      }),
    );
    expect(json.json).not.toContain(S);
    expect(json.json).not.toContain('plain-value-1');
    expect(json.json).toContain('keep-me');
  });

  it('treats a Secret last-applied-configuration as the Secret, whatever kind its text claims', () => {
    const ev = makeEvent({
      verb: 'update',
      objectRef: secretRef,
      level: 'Request',
      requestObject: {
        kind: 'Secret',
        metadata: {
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"p":"${S}"}}` },
        },
      },
    });
    expect(redactor.inspect(ev)).toEqual([
      {
        path: 'requestObject.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]#.data.p',
        rule: 'secret-data',
      },
    ]);
    expect(redact(ev).json).not.toContain(S);
  });

  it('drops a Secret last-applied-configuration that cannot be parsed', () => {
    const { json, findings } = redact(
      makeEvent({
        verb: 'update',
        objectRef: secretRef,
        level: 'Request',
        requestObject: {
          kind: 'Secret',
          metadata: {
            annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"p":"${S}"` },
          },
        },
      }),
    );
    expect(json).not.toContain(S);
    expect(findings.map((f) => f.rule)).toContain('secret-body');
  });

  it('finds Secrets nested anywhere (a v1 List, a Table row)', () => {
    const { json } = redact(
      makeEvent({
        level: 'RequestResponse',
        objectRef: { resource: 'configmaps', namespace: 'x', apiVersion: 'v1' },
        responseObject: {
          kind: 'Table',
          rows: [{ cells: ['db'], object: { kind: 'Secret', data: { password: S } } }],
        },
        requestObject: {
          kind: 'List',
          items: [{ kind: 'Secret', stringData: { a: 'nested-secret-value' } }],
        },
      }),
    );
    expect(json).not.toContain(S);
    expect(json).not.toContain('nested-secret-value');
  });
});

describe('tokens and certificates', () => {
  it('TokenRequest status.token and TokenReview spec.token', () => {
    const jwt = BUILTIN_DETECTORS.find((d) => d.id === 'jwt')!.examples[0]!;
    const tr = redact(
      makeEvent({
        verb: 'create',
        level: 'RequestResponse',
        objectRef: {
          resource: 'serviceaccounts',
          subresource: 'token',
          namespace: 'a',
          name: 'sa',
          apiVersion: 'v1',
        },
        responseObject: {
          kind: 'TokenRequest',
          spec: { audiences: ['x'] },
          status: { token: 'opaque-token-1' },
        },
      }),
    );
    expect(tr.json).not.toContain('opaque-token-1');
    expect(tr.findings.map((f) => f.rule)).toEqual(['token-request']);
    const rv = redact(
      makeEvent({
        verb: 'create',
        level: 'RequestResponse',
        objectRef: { resource: 'tokenreviews', apiGroup: 'authentication.k8s.io', apiVersion: 'v1' },
        requestObject: { spec: { token: jwt } },
        responseObject: { kind: 'TokenReview', spec: { token: jwt }, status: { authenticated: true } },
      }),
    );
    expect(rv.json).not.toContain(jwt);
    expect(rv.findings.map((f) => f.rule)).toEqual(['token-review', 'token-review']);
  });

  it('a private key inside a CSR request; public CSRs are kept', () => {
    const pem = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';
    const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n';
    const ok = Buffer.from(pem).toString('base64');
    const bad = Buffer.from(pem + key).toString('base64');
    const ref = { resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', apiVersion: 'v1' };
    const a = redact(
      makeEvent({
        verb: 'create',
        level: 'Request',
        objectRef: ref,
        requestObject: { kind: 'CertificateSigningRequest', spec: { request: ok } },
      }),
    );
    expect(a.json).toContain(ok);
    const b = redact(
      makeEvent({
        verb: 'create',
        level: 'Request',
        objectRef: ref,
        requestObject: { kind: 'CertificateSigningRequest', spec: { request: bad } },
      }),
    );
    expect(b.json).not.toContain(bad);
    expect(b.findings.map((f) => f.rule)).toEqual(['csr-private-key']);
  });
});

describe('names and patterns in other objects', () => {
  const pod = (env: unknown[], command: string[], annotations: Record<string, string> = {}) => ({
    kind: 'Pod',
    metadata: { name: 'p', annotations },
    spec: {
      containers: [{ name: 'c', image: 'nginx', env, command, args: [] }],
      volumes: [{ name: 'v', secret: { secretName: 'db-secret' } }],
    },
  });

  it('env values with sensitive names, flags, annotations, URLs', () => {
    const { e, json, findings } = redact(
      makeEvent({
        verb: 'create',
        level: 'Request',
        objectRef: { resource: 'pods', namespace: 'a', apiVersion: 'v1' },
        requestObject: pod(
          [
            { name: 'DB_PASSWORD', value: 'env-secret-1' },
            { name: 'LOG_LEVEL', value: 'debug' },
            { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'x', key: 'token' } } },
            { name: 'DATABASE_URL', value: 'postgres://app:url-secret-2@db:5432/app' },
          ],
          ['app', '--password=flag-secret-3', '--token', 'flag-secret-4', '--verbose'],
          { 'example.com/api-key': 'annotation-secret-5', 'example.com/owner': 'team-a' },
        ),
      }),
    );
    for (const s of ['env-secret-1', 'url-secret-2', 'flag-secret-3', 'flag-secret-4', 'annotation-secret-5'])
      expect(json).not.toContain(s);
    for (const s of ['debug', 'db-secret', 'team-a', '--verbose', 'postgres://app:'])
      expect(json).toContain(s);
    expect(new Set(findings.map((f) => f.rule))).toEqual(
      new Set(['sensitive-name', 'url-password', 'sensitive-flag']),
    );
    const c = (e.requestObject as { spec: { containers: { command: string[] }[] } }).spec.containers[0]!;
    expect(c.command).toEqual(['app', `--password=${MARKER}`, '--token', MARKER, '--verbose']);
  });

  it('ConfigMap values: sensitive keys, assignments in files, known token shapes', () => {
    const { json, e } = redact(
      makeEvent({
        verb: 'create',
        level: 'Request',
        objectRef: { resource: 'configmaps', namespace: 'a', apiVersion: 'v1' },
        requestObject: {
          kind: 'ConfigMap',
          data: {
            'access.properties':
              'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n',
            'ui.properties': 'color.good=purple\n',
            'app.yaml':
              'db:\n  user: app\n  password: "yaml secret 6"\nslack: xoxb-1234567890-0987654321-AbCdEfGhIjKlMn\n',
            apiKey: 'cm-secret-7',
          },
        },
      }),
    );
    for (const s of [
      'AKIAIOSFODNN7EXAMPLE',
      'wJalrXUtnFEMI/K7MDENG',
      'yaml secret 6',
      'xoxb-',
      'cm-secret-7',
    ])
      expect(json).not.toContain(s);
    const data = (e.requestObject as { data: Record<string, string> }).data;
    expect(data['ui.properties']).toBe('color.good=purple\n');
    expect(data['app.yaml']).toContain('user: app');
  });

  it('request URIs: sensitive query parameters and exec commands', () => {
    const { e, findings } = redact(
      makeEvent({
        verb: 'create',
        requestURI:
          '/api/v1/namespaces/a/pods/p/exec?command=mysql&command=--password%3Duri-secret-8&command=-e&command=select+1&container=c&stdout=true',
        objectRef: { resource: 'pods', subresource: 'exec', namespace: 'a', name: 'p', apiVersion: 'v1' },
      }),
    );
    expect(e.requestURI).not.toContain('uri-secret-8');
    expect(e.requestURI).toContain('container=c');
    expect(findings).toEqual([{ path: 'requestURI', rule: 'sensitive-flag' }]);
    const q = redact(makeEvent({ requestURI: '/apis/x/v1/things?access_token=uri-secret-9&limit=5' }));
    expect(q.e.requestURI).not.toContain('uri-secret-9');
    expect(q.e.requestURI).toContain('limit=5');
  });

  it('event annotations, messages and user agents go through the text rules', () => {
    const jwt = BUILTIN_DETECTORS.find((d) => d.id === 'jwt')!.examples[0]!;
    const { json } = redact(
      makeEvent({
        annotations: {
          'patch.webhook.admission.k8s.io/round_0_index_0': JSON.stringify({
            patch: [
              {
                op: 'add',
                path: '/spec/containers/0/env/0',
                value: { name: 'SECRET_KEY', value: 'wh-secret-10' },
              },
            ],
          }),
        },
        userAgent: `curl/8.0 Bearer ${jwt}`,
        responseStatus: { code: 401, message: 'invalid token ghp_0123456789abcdefghijABCDEFGHIJ012345' },
      }),
    );
    expect(json).not.toContain('wh-secret-10');
    expect(json).not.toContain(jwt);
    expect(json).not.toContain('ghp_0123456789');
  });

  it('JSON-patch operations inside a webhook patch annotation are judged by their path', () => {
    const { json } = redact(
      makeEvent({
        annotations: {
          'patch.webhook.admission.k8s.io/round_0_index_1': JSON.stringify({
            patchType: 'JSONPatch',
            patch: [
              { op: 'add', path: '/metadata/annotations/vault.example.com~1token', value: 'wh-secret-13' },
              { op: 'add', path: '/metadata/labels/team', value: 'payments' },
            ],
          }),
        },
      }),
    );
    expect(json).not.toContain('wh-secret-13');
    expect(json).toContain('payments');
  });

  it('every built-in detector finds its examples in text', () => {
    for (const d of BUILTIN_DETECTORS) {
      for (const ex of d.examples) {
        const e = makeEvent({ responseStatus: { code: 500, message: `failed with ${ex} here` } });
        const f = redactor.inspect(e);
        expect(
          f.map((x) => x.rule),
          `${d.id}: ${ex}`,
        ).toContain(d.id);
      }
    }
  });
});

describe('markers, annotation and modes', () => {
  const secretEvent = () =>
    makeEvent({
      verb: 'create',
      level: 'Request',
      objectRef: secretRef,
      requestObject: { kind: 'Secret', data: { a: S } },
    });

  it('leaves events without secrets untouched and unannotated', () => {
    const e = makeEvent();
    const before = JSON.stringify(e);
    expect(redactor.redact(e)).toEqual([]);
    expect(JSON.stringify(e)).toBe(before);
  });

  it('inspect reports without changing; redaction is idempotent', () => {
    const e = secretEvent();
    const before = JSON.stringify(e);
    expect(redactor.inspect(e)).toEqual([{ path: 'requestObject.data.a', rule: 'secret-data' }]);
    expect(JSON.stringify(e)).toBe(before);
    redactor.redact(e);
    const once = JSON.stringify(e);
    expect(redactor.redact(e)).toEqual([]);
    expect(redactor.inspect(e)).toEqual([]);
    expect(JSON.stringify(e)).toBe(once);
  });

  it('keyed hashes tell whether a value changed, without revealing it', () => {
    const hashed = new Redactor(
      compileRedactConfig({ hashValues: true }, { KUBETRAIL_REDACT_KEY: 'k'.repeat(32) }),
    );
    const a = secretEvent();
    const b = secretEvent();
    hashed.redact(a);
    hashed.redact(b);
    const va = (a.requestObject as { data: { a: string } }).data.a;
    expect(va).toMatch(/^\[REDACTED:hmac=[0-9a-f]{16}\]$/);
    expect(va).toBe((b.requestObject as { data: { a: string } }).data.a);
    const c = makeEvent({
      verb: 'create',
      level: 'Request',
      objectRef: secretRef,
      requestObject: { kind: 'Secret', data: { a: 'b3RoZXI=' } },
    });
    hashed.redact(c);
    expect((c.requestObject as { data: { a: string } }).data.a).not.toBe(va);
  });

  it('allow-lists: values, names and switched-off detectors', () => {
    const r = new Redactor(
      compileRedactConfig({
        allow: { values: ['^dev-only-'], names: ['sessionToken'], detectors: ['bootstrap-token'] },
        sensitiveNames: ['ssn'],
        patterns: [{ id: 'acme-key', regex: 'acme_[a-z0-9]{8}' }],
      }),
    );
    const { json } = redact(
      makeEvent({
        requestObject: {
          kind: 'ConfigMap',
          data: {
            password: 'dev-only-pass',
            sessionToken: 'kept-value',
            join: 'kubeadm join --discovery abcdef.0123456789abcdef',
            customer_ssn: '123-45-6789',
            note: 'key acme_12345678 here',
          },
        },
      }),
      r,
    );
    expect(json).toContain('dev-only-pass');
    expect(json).toContain('kept-value');
    expect(json).toContain('abcdef.0123456789abcdef');
    expect(json).not.toContain('123-45-6789');
    expect(json).not.toContain('acme_12345678');
  });

  it('keeps references and placeholders', () => {
    const { json, findings } = redact(
      makeEvent({
        requestObject: {
          kind: 'ConfigMap',
          data: {
            password: '${DB_PASSWORD}',
            token: '{{ .Values.token }}',
            secretName: 'db',
            tokenTTL: '3600',
          },
        },
      }),
    );
    expect(findings).toEqual([]);
    expect(json).toContain('${DB_PASSWORD}');
  });

  it('uses the request URI when an event has no objectRef', () => {
    const { json } = redact(
      makeEvent({
        verb: 'patch',
        level: 'Request',
        objectRef: undefined,
        requestURI: '/api/v1/namespaces/app/secrets/db?fieldManager=kubectl',
        requestObject: { data: { password: S } },
      }),
    );
    expect(json).not.toContain(S);
  });

  it('replaces a subtree nested deeper than any Kubernetes object, without overflowing the stack', () => {
    let deep: unknown = { password: 'deep-secret-12' };
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    const e = makeEvent({ level: 'Request', requestObject: { kind: 'Thing', spec: deep } });
    const findings = redactor.redact(e);
    expect(findings.map((f) => f.rule)).toEqual(['too-deep']);
    expect(JSON.stringify(e)).not.toContain('deep-secret-12');
    expect(redactor.redact(e)).toEqual([]);
  });

  it('redacts raw quarantined records', () => {
    expect(redactor.redactRaw(`{"kind":"Secret","data":{"a":"${S}"}}`)).not.toContain(S);
    expect(redactor.redactRaw(`{"kind":"Secret","data":{"a":"${S}", "b": "tru`)).not.toContain(S);
    expect(redactor.redactRaw('not json password=raw-secret-11 end')).not.toContain('raw-secret-11');
  });
});
