// The local store endpoint takes the local credential of the server's discovery file and nothing else:
// not an admin or viewer API token, not a wrong or truncated credential, not a browser; it serves read
// methods only, validated; the discovery file is the owner's only and leaves with the server; over HTTPS
// the CLI talks only to the certificate the discovery file names.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { makeEvent } from '../../test-support/events.js';
import { canonicalDbPath, discoveryFileFor, type Discovery } from '../../store/discovery.js';
import { connectLocal, LocalClient, LOCAL_STORE_PATH } from '../../store/remote.js';
import { startCollector, type Collector } from '../collector.js';
import { localUrl } from '../announce.js';

let dir: string;
let c: Collector;
let d: Discovery;
let viewer: string;
let admin: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kt-local-'));
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
  c = await startCollector({ config, logger: pino({ level: 'silent' }) });
  await c.store.write([{ cluster: 'default', event: makeEvent({ auditID: 'local-1' }) }]);
  viewer = c.auth.tokens.create({ role: 'viewer', name: 'v', scope: 'ns:default' }).token;
  admin = c.auth.tokens.create({ role: 'admin', name: 'a' }).token;
  d = JSON.parse(readFileSync(discoveryFileFor(path.join(dir, 'kubetrail.duckdb')), 'utf8')) as Discovery;
});

afterAll(async () => {
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${c.url}${LOCAL_STORE_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { result?: unknown; error?: { code: string } } };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('local store endpoint', () => {
  it('answers the local credential', async () => {
    const r = await call({ method: 'getByAuditId', args: { auditID: 'local-1' } }, bearer(d.credential));
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual([expect.objectContaining({ cluster: 'default' })]);
    const ping = await call({ method: 'ping' }, bearer(d.credential));
    expect(ping.body.result).toEqual({ pid: process.pid, db: d.db });
  });

  it('refuses API tokens, sessions and wrong credentials', async () => {
    const q = { method: 'span' };
    for (const headers of [
      bearer(viewer),
      bearer(admin),
      {},
      bearer(`${d.credential.slice(0, -1)}${d.credential.endsWith('A') ? 'B' : 'A'}`),
      bearer(d.credential.slice(0, -1)),
      bearer(`${d.credential}x`),
      { authorization: d.credential },
    ]) {
      const r = await call(q, headers);
      expect(r.status).toBe(403);
      expect(r.body.error?.code).toBe('KT_FORBIDDEN');
    }
  });

  it('refuses a browser, even with the credential', async () => {
    const r = await call({ method: 'span' }, { ...bearer(d.credential), origin: 'http://evil.example' });
    expect(r.status).toBe(403);
  });

  it('serves read methods only, with validated arguments', async () => {
    for (const body of [
      { method: 'write', args: { records: [] } },
      { method: 'deleteBefore', args: { until: 1 } },
      { method: 'query', args: { filter: '*', limit: 1_000_000 } },
      { method: 'query', args: { filter: '*', limit: 1, sql: 'DROP TABLE events' } },
      { method: 'count', args: { filter: 'verb:(' } },
    ]) {
      const r = await call(body, bearer(d.credential));
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('writes the discovery file for the owner only, without the credential anywhere else', () => {
    const file = discoveryFileFor(path.join(dir, 'kubetrail.duckdb'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'tokens.json'), 'utf8')).not.toContain(d.credential);
    expect(existsSync(file)).toBe(true);
  });

  it('over HTTPS, talks only to the certificate named in the discovery file', async () => {
    const tlsDir = mkdtempSync(path.join(tmpdir(), 'kt-local-tls-'));
    const other = mkdtempSync(path.join(tmpdir(), 'kt-local-tls-'));
    try {
      const cert = (where: string) =>
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:prime256v1',
            '-nodes',
            '-keyout',
            'server.key',
            '-out',
            'server.crt',
            '-days',
            '1',
            '-subj',
            '/CN=localhost',
          ],
          { cwd: where, stdio: 'pipe' },
        );
      cert(tlsDir);
      cert(other);
      const config = configSchema.parse({
        dataDir: tlsDir,
        listen: '127.0.0.1:0',
        autodetect: false,
        tls: { cert: path.join(tlsDir, 'server.crt'), key: path.join(tlsDir, 'server.key') },
      });
      const tls = await startCollector({ config, logger: pino({ level: 'silent' }) });
      try {
        const db = path.join(tlsDir, 'kubetrail.duckdb');
        const td = JSON.parse(readFileSync(discoveryFileFor(db), 'utf8')) as Discovery;
        expect(td.url).toBe(tls.url);
        expect(td.tlsCertSha256).toBe(
          new X509Certificate(readFileSync(path.join(tlsDir, 'server.crt'))).fingerprint256,
        );
        const client = await connectLocal(td, canonicalDbPath(db));
        expect(client).toBeDefined();
        client!.close();
        // Another certificate (a server that took the port, a man in the middle) gets nothing.
        const wrong = new X509Certificate(readFileSync(path.join(other, 'server.crt'))).fingerprint256;
        await expect(new LocalClient({ ...td, tlsCertSha256: wrong }).call('ping')).rejects.toThrow(
          /not the one named in the discovery file/,
        );
      } finally {
        await tls.close();
      }
    } finally {
      rmSync(tlsDir, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('announces a loopback URL for a wildcard listen address', () => {
    expect(localUrl({ address: '0.0.0.0', port: 7480, family: 'IPv4' }, false)).toBe('http://127.0.0.1:7480');
    expect(localUrl({ address: '::', port: 7480, family: 'IPv6' }, true)).toBe('https://[::1]:7480');
    expect(localUrl({ address: '10.1.2.3', port: 80, family: 'IPv4' }, false)).toBe('http://10.1.2.3:80');
  });
});
