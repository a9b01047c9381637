// Answers outside the API's own routes keep the documented error shape
// ({"error":{"code","message","hint"?,"where"?}}, docs/api.md): unknown paths (API and others), files the
// static server refuses, and a login body over its small limit, with hints that fit each case.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { LOGIN_MAX_BYTES } from './api/session.js';
import { startCollector, type Collector } from './collector.js';
import { CONTENT_SECURITY_POLICY, registerUi } from './ui.js';

interface ErrorAnswer {
  status: number;
  type: string | null;
  body: { error?: { code?: unknown; message?: unknown; hint?: unknown; where?: unknown } } & Record<
    string,
    unknown
  >;
}

/** The documented shape, exactly: one `error` key holding code, message and optional hint and where. */
function expectErrorShape(a: ErrorAnswer, code: string): void {
  expect(a.type).toMatch(/^application\/json/);
  expect(Object.keys(a.body)).toEqual(['error']);
  const e = a.body.error!;
  expect(e.code).toBe(code);
  expect(typeof e.message).toBe('string');
  for (const k of Object.keys(e)) expect(['code', 'message', 'hint', 'where']).toContain(k);
  if (e.hint !== undefined) expect(typeof e.hint).toBe('string');
}

async function get(base: string, p: string, init: RequestInit = {}): Promise<ErrorAnswer & { text: string }> {
  const res = await fetch(`${base}${p}`, init);
  const text = await res.text();
  let body: ErrorAnswer['body'] = {};
  try {
    body = JSON.parse(text) as ErrorAnswer['body'];
  } catch {
    // not JSON: the caller checks the type
  }
  return { status: res.status, type: res.headers.get('content-type'), body, text };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('unknown paths and refused static files (built UI)', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'kt-ui-root-'));
    dirs.push(root);
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(path.join(root, 'assets', 'app-abc.js'), 'console.log(1)');
    writeFileSync(path.join(root, 'assets', '.secret'), 'do not serve');
    writeFileSync(path.join(root, 'outside.txt'), 'not an asset');
    app = Fastify();
    await registerUi(app, { root });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => app?.close());

  it('serves assets and pages as before', async () => {
    const js = await get(base, '/assets/app-abc.js');
    expect(js.status).toBe(200);
    expect(js.text).toBe('console.log(1)');
    const page = await get(base, '/explore', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root">');
  });

  it('answers unknown API and non-page paths with the JSON error shape', async () => {
    for (const [p, method] of [
      ['/api/v1/nope', 'GET'],
      ['/api/nope?x=1', 'GET'],
      ['/api', 'GET'],
      ['/api/v1/events', 'DELETE'],
      ['/nope', 'GET'],
      ['/nope', 'POST'],
      ['/webhook/x/y', 'GET'],
      ['/assets/missing.js', 'GET'],
    ] as const) {
      // A browser's Accept does not turn API, webhook or asset paths into pages; other clients get JSON.
      const browser = p.startsWith('/api') || p.startsWith('/webhook') || p.startsWith('/assets');
      const accept = browser ? 'text/html,application/xhtml+xml,*/*;q=0.8' : 'application/json';
      const a = await get(base, p, { method, headers: { accept } });
      expect(a.status, `${method} ${p}`).toBe(404);
      expectErrorShape(a, 'KT_NOT_FOUND');
      expect(a.body.error!.message).toBe(`no route answers ${method} ${JSON.stringify(p.split('?')[0])}`);
      expect(String(a.body.error!.hint)).toMatch(p.startsWith('/api') ? /docs\/api\.md/ : /web UI is at \//);
      expect(String(a.body.error!.hint)).not.toContain('--help');
    }
    // A long path is cut in the message.
    const long = await get(base, `/api/${'x'.repeat(5000)}`);
    expect(String(long.body.error!.message).length).toBeLessThan(300);
  });

  it('gives a browser asking for an unknown page the UI (which says not found), with status 404', async () => {
    const a = await get(base, '/settings/profile', { headers: { accept: 'text/html' } });
    expect(a.status).toBe(404);
    expect(a.type).toMatch(/^text\/html/);
    expect(a.text).toContain('<div id="root">');
    const res = await fetch(`${base}/settings`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('answers files the static server refuses as not found, never with a command-line hint', async () => {
    for (const p of ['/assets/.secret', '/assets/%2e%2e/outside.txt', '/assets/..%2foutside.txt']) {
      const a = await get(base, p);
      expect(a.status, p).toBe(404);
      expectErrorShape(a, 'KT_NOT_FOUND');
      expect(a.text).not.toContain('do not serve');
      expect(a.text).not.toContain('not an asset');
      expect(a.text).not.toContain('--help');
    }
  });
});

describe('unknown paths without a built UI', () => {
  it('still answers the JSON error shape', async () => {
    const app = Fastify();
    await registerUi(app, { root: path.join(tmpdir(), 'kt-no-such-ui-dir') });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const a = await get(base, '/api/v1/nope');
      expect(a.status).toBe(404);
      expectErrorShape(a, 'KT_NOT_FOUND');
      const ui = await get(base, '/');
      expect(ui.status).toBe(503);
    } finally {
      await app.close();
    }
  });
});

describe('the running server', () => {
  let c: Collector;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-shapes-'));
    dirs.push(dir);
    const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
    c = await startCollector({ config, logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => c?.close());

  it('answers an unknown API path with the JSON error shape', async () => {
    const a = await get(c.url, '/api/v1/nope');
    expect(a.status).toBe(404);
    expectErrorShape(a, 'KT_NOT_FOUND');
  });

  it('answers a path that is not valid URL encoding with the JSON error shape', async () => {
    for (const p of ['/%zz', '/api/v1/%zz', '/assets/%zz', '/webhook/%']) {
      const a = await get(c.url, p);
      expect(a.status, p).toBe(400);
      expectErrorShape(a, 'KT_API_REQUEST');
      expect(a.body.error!.message).toBe(`the path ${JSON.stringify(p)} is not valid URL encoding`);
    }
  });

  it('refuses a login body over its small limit with a hint about the login, not webhook batches', async () => {
    const post = (body: string) =>
      get(c.url, '/api/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const size of [LOGIN_MAX_BYTES + 1, 200_000]) {
      const a = await post(JSON.stringify({ token: 'x'.repeat(size) }));
      expect(a.status, String(size)).toBe(413);
      expectErrorShape(a, 'KT_BODY_TOO_LARGE');
      expect(a.body.error!.message).toBe(`a login body is larger than ${LOGIN_MAX_BYTES} bytes`);
      expect(String(a.body.error!.hint)).toMatch(/token/);
      expect(String(a.body.error!.hint)).not.toMatch(/batch|webhook/i);
    }
    // Under the limit, a bad token is still a plain authentication failure.
    const bad = await post(JSON.stringify({ token: 'y'.repeat(100) }));
    expect(bad.status).toBe(401);
    expectErrorShape(bad, 'KT_AUTH_REQUIRED');
  });
});
