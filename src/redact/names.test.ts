// Tests of sensitive-name classification and of `name=value` detection in text.
import { describe, expect, it } from 'vitest';
import { findAssignments, type Hit } from './detectors.js';
import { NameClassifier } from './names.js';

const names = new NameClassifier();

describe('NameClassifier', () => {
  it.each([
    'password',
    'DB_PASSWORD',
    'dbPasswd',
    'client-secret',
    'clientSecret',
    'token',
    'API_TOKEN',
    'apiKey',
    'api_key',
    'x-api-key',
    'aws_secret_access_key',
    'accessKeyId',
    'AccountKey',
    'private_key',
    'client-key-data',
    'credentials',
    'connectionString',
    'pwd',
    'auth',
    'Authorization',
    'cookie',
    'tokens',
  ])('%s is sensitive', (n) => expect(names.isSensitive(n)).toBe(true));

  it.each([
    'secretName',
    'secretKeyRef',
    'secretRef',
    'tokenTTL',
    'tokenExpirationSeconds',
    'expirationSeconds',
    'passwordFile',
    'tokenUrl',
    'serviceAccountName',
    'name',
    'key',
    'image',
    'keyring',
    'author',
    'passthrough',
    'LOG_LEVEL',
    '',
  ])('%s is not sensitive', (n) => expect(names.isSensitive(n)).toBe(false));

  it('takes extra words and allowed names', () => {
    const c = new NameClassifier({ extraWords: ['ssn'], allowNames: ['session_token'] });
    expect(c.isSensitive('customer_ssn')).toBe(true);
    expect(c.isSensitive('sessionToken')).toBe(false);
    expect(c.hasExtraWords).toBe(true);
  });
});

function values(text: string): string[] {
  const hits: Hit[] = [];
  findAssignments(text, names, hits);
  return hits.map((h) => text.slice(h.start, h.end));
}

describe('findAssignments', () => {
  it('finds the value in the usual forms', () => {
    expect(values('password=hunter2')).toEqual(['hunter2']);
    expect(values('aws_secret_access_key = abc/DEF+123\nregion = eu')).toEqual(['abc/DEF+123']);
    expect(values('db:\n  password: "two words"\n  user: app')).toEqual(['two words']);
    expect(values('{"apiKey":"k-123","name":"x"}')).toEqual(['k-123']);
    expect(values('Server=db;User Id=sa;Password=S3cr3t!;Encrypt=true')).toEqual(['S3cr3t!']);
    expect(values('run --token abc123 --verbose')).toEqual(['abc123']);
    expect(values('export GITHUB_TOKEN=ghx_1; make')).toEqual(['ghx_1']);
    expect(values('secret: "unterminated value')).toEqual(['unterminated value']);
  });

  it('leaves prose, safe names and markers alone', () => {
    expect(values('the token was rejected')).toEqual([]);
    expect(values('secretName: db-creds')).toEqual([]);
    expect(values('password=[REDACTED] token: [REDACTED:hmac=0123456789abcdef]')).toEqual([]);
    expect(values('RBAC: allowed by ClusterRoleBinding "system:controller:token-cleaner"')).toEqual([]);
    expect(values('user: x token=abc9')).toEqual(['abc9']);
  });

  it('stays linear on long lines full of assignments', () => {
    const start = performance.now();
    for (const text of [
      'key=b '.repeat(20_000),
      'password: x y z\n'.repeat(20_000),
      '--token '.repeat(30_000),
    ])
      values(text);
    // Quadratic scanning took seconds on these; linear takes milliseconds.
    expect(performance.now() - start).toBeLessThan(1500);
  });
});
