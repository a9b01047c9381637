// Forwarder specs and options: every form of SPEC, and a precise KT_FORWARD_CONFIG error (what, where,
// how to fix) for each kind of mistake; credentials read from files and variables, never from the URL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KubetrailError } from '../core/errors.js';
import { forwardSchema } from './options.js';
import { checkUniqueNames, parseSpec, resolveForwarder } from './spec.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kt-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fails(fn: () => unknown): KubetrailError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KubetrailError);
    return err as KubetrailError;
  }
  throw new Error('did not fail');
}

const resolve = (o: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  resolveForwarder(forwardSchema.parse(o), dir, 'forward[0]', env);

describe('parseSpec', () => {
  it('reads every form', () => {
    expect(parseSpec('elasticsearch:https://es:9200', 'x')).toMatchObject({ kind: 'elasticsearch' });
    expect(parseSpec('opensearch:http://os:9200/prefix', 'x')).toMatchObject({ kind: 'opensearch' });
    expect(parseSpec('splunk:https://hec:8088', 'x')).toMatchObject({ kind: 'splunk' });
    expect(parseSpec('loki:http://loki:3100', 'x')).toMatchObject({ kind: 'loki' });
    expect(parseSpec('otlp:http://otel:4318', 'x')).toMatchObject({ kind: 'otlp' });
    expect(parseSpec('http:https://example.com/in', 'x')).toMatchObject({ kind: 'http' });
    expect(parseSpec('syslog:tcp://siem:601', 'x')).toEqual({
      kind: 'syslog',
      tls: false,
      host: 'siem',
      port: 601,
    });
    expect(parseSpec('syslog:tls://[::1]:6514', 'x')).toEqual({
      kind: 'syslog',
      tls: true,
      host: '::1',
      port: 6514,
    });
    expect(parseSpec('file:out/a.ndjson', 'x')).toEqual({ kind: 'file', path: path.resolve('out/a.ndjson') });
  });

  it.each([
    ['kafka:broker:9092', /"kafka" is not a forwarder destination/],
    ['elasticsearch', /needs a destination after the colon/],
    ['loki:not a url', /is not a URL/],
    ['otlp:ftp://x', /must be http:\/\/ or https:\/\//],
    ['syslog:udp://h:514', /is not tcp:\/\/HOST:PORT or tls:\/\/HOST:PORT/],
    ['syslog:tcp://h:70000', /is not tcp/],
    ['elasticsearch:https://elastic:changeme@es:9200', /the URL holds credentials/],
  ])('%s is refused', (spec, message) => {
    const e = fails(() => parseSpec(spec, '--forward'));
    expect(e.code).toBe('KT_FORWARD_CONFIG');
    expect(e.message).toMatch(message);
    expect(e.where).toEqual({ path: '--forward' });
    expect(e.format()).toMatch(/hint: /);
  });
});

describe('resolveForwarder', () => {
  it('refuses options that do not apply to the destination, naming the option', () => {
    const e = fails(() => resolve({ spec: 'loki:http://l', ack: true }));
    expect(e.message).toBe('ack does not apply to loki forwarders');
    expect(e.where).toEqual({ path: 'forward[0].ack' });
  });

  it('reads credentials from a file or a variable and never from the configuration itself', () => {
    const file = path.join(dir, 'pw');
    writeFileSync(file, 's3cret\n');
    expect(
      resolve({ spec: 'elasticsearch:http://es', username: 'kt', password: { file } }).authorization,
    ).toBe(`Basic ${Buffer.from('kt:s3cret').toString('base64')}`);
    expect(resolve({ spec: 'splunk:http://h', token: { env: 'HEC' } }, { HEC: 'abc' }).authorization).toBe(
      'Splunk abc',
    );
    expect(
      resolve({ spec: 'elasticsearch:http://es', apiKey: { env: 'K' } }, { K: 'id:key' }).authorization,
    ).toBe('ApiKey id:key');
    expect(fails(() => resolve({ spec: 'splunk:http://h', token: { env: 'NOPE' } })).message).toBe(
      'environment variable NOPE is not set',
    );
    expect(fails(() => resolve({ spec: 'splunk:http://h' })).where).toEqual({ path: 'forward[0].token' });
    expect(() => forwardSchema.parse({ spec: 'splunk:http://h', token: 'inline-secret' })).toThrow();
    expect(fails(() => resolve({ spec: 'http:http://h', password: { env: 'P' } })).message).toBe(
      'password needs a username',
    );
  });

  it('checks the filter and the field paths', () => {
    const e = fails(() => resolve({ spec: 'http:http://h', filter: 'verb = (' }));
    expect(e.where).toEqual({ path: 'forward[0].filter' });
    expect(e.message).toMatch(/the filter is not valid/);
    expect(fails(() => resolve({ spec: 'http:http://h', fields: { exclude: ['a..b'] } })).where).toEqual({
      path: 'forward[0].fields.exclude[0]',
    });
    expect(resolve({ spec: 'http:http://h', filter: 'verb = delete' }).predicate).toBeTypeOf('function');
  });

  it('names forwarders by kind and spec, and refuses two with one name', () => {
    const a = resolve({ spec: 'loki:http://l' });
    expect(a.name).toMatch(/^loki-[0-9a-f]{8}$/);
    expect(a.dir).toBe(path.join(dir, 'forward', a.name));
    expect(fails(() => checkUniqueNames([a, resolve({ spec: 'loki:http://l' })], 'forward')).message).toMatch(
      /two forwarders are named loki-/,
    );
  });

  it('refuses a retry ceiling below the first delay', () => {
    expect(
      fails(() => resolve({ spec: 'http:http://h', retryInitialMs: 1000, retryMaxMs: 10 })).where,
    ).toEqual({ path: 'forward[0].retryMaxMs' });
  });
});
