// Browser tests of the web UI in real headless Chromium (Debian's `chromium`, driven by playwright-core)
// against a real server: login, search, facets, event detail with its diff, dashboard links, a live alert
// raised by a webhook post, a viewer's scope in every view, and event text carrying HTML/JS payloads
// rendered as inert text. Set KUBETRAIL_SCREENSHOTS=docs/screenshots to write the README's screenshots.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureChromium, ensureUiBuilt, launchBrowser, ROOT } from '../test-support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import type { AuditEvent } from '../core/event.js';
import { startCollector, type Collector } from './collector.js';
import { formatAxisCount } from '../../ui/src/format.js';
import { CONTENT_SECURITY_POLICY } from './ui.js';

const SHOTS = process.env.KUBETRAIL_SCREENSHOTS
  ? path.resolve(ROOT, process.env.KUBETRAIL_SCREENSHOTS)
  : undefined;

// --- events, times relative to now so the default ranges (last 24 hours) hold them
const NOW = Date.now();
let seq = 0;

function iso(msAgo: number): string {
  return new Date(NOW - msAgo).toISOString().replace('Z', '000Z');
}

function ev(minutesAgo: number, o: Partial<AuditEvent> & { ns?: string; name?: string; resource?: string }) {
  seq++;
  const { ns = 'team-a', name = `pod-${seq % 7}`, resource = 'pods', ...rest } = o;
  const t = iso(minutesAgo * 60_000 + seq);
  const e: AuditEvent = {
    level: 'Metadata',
    auditID: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/${ns}/${resource}/${name}`,
    verb: 'get',
    user: { username: 'alice@example.com', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.5'],
    userAgent: 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46',
    objectRef: { resource, namespace: ns, name, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: t,
    stageTimestamp: t,
    annotations: { 'authorization.k8s.io/decision': 'allow' },
    ...rest,
  };
  return e;
}

const XSS = {
  ua: '<img src=x onerror="window.__xss=1;alert(1)">',
  name: '<script>window.__xss=2</script>',
  annotationKey: 'evil.example.com/<b>bold</b>',
  annotation: '<svg onload="window.__xss=3;alert(3)"></svg>',
  user: '"><iframe src="javascript:alert(4)"></iframe>',
  body: '<img src=y onerror="window.__xss=5">',
};

function dataset(): AuditEvent[] {
  const out: AuditEvent[] = [];
  const users = [
    'alice@example.com',
    'bob@example.com',
    'system:serviceaccount:kube-system:replicaset-controller',
  ];
  const verbs = ['get', 'list', 'create', 'update', 'delete', 'watch'];
  const nss = ['team-a', 'team-b', 'kube-system'];
  const resources = ['pods', 'configmaps', 'secrets', 'services'];
  for (let i = 0; i < 240; i++) {
    const code = i % 17 === 0 ? 403 : i % 23 === 0 ? 500 : 200;
    out.push(
      ev(5 + ((i * 7) % 600), {
        verb: verbs[i % verbs.length]!,
        user: { username: users[i % users.length]!, groups: ['system:authenticated'] },
        ns: nss[i % nss.length]!,
        resource: resources[i % resources.length]!,
        responseStatus: { metadata: {}, code },
        ...(code === 403 ? { annotations: { 'authorization.k8s.io/decision': 'forbid' } } : {}),
      }),
    );
  }
  // Only in team-b: what a viewer scoped to team-a must never see.
  for (let i = 0; i < 12; i++) {
    out.push(
      ev(30 + i, {
        ns: 'team-b',
        name: 'payroll-db',
        resource: 'secrets',
        user: { username: 'carol@example.com', groups: ['system:authenticated'] },
        auditID: `scoped-out-${i}`,
      }),
    );
  }
  // A deployment created, then scaled and given a new image: the update's diff.
  const spec = (replicas: number, image: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'team-a', resourceVersion: String(replicas * 100) },
    spec: { replicas, template: { spec: { containers: [{ name: 'web', image }] } } },
  });
  const deploy = (minutesAgo: number, verb: string, auditID: string, replicas: number, image: string) =>
    ev(minutesAgo, {
      level: 'RequestResponse',
      auditID,
      verb,
      ns: 'team-a',
      name: 'web',
      resource: 'deployments',
      objectRef: {
        resource: 'deployments',
        namespace: 'team-a',
        name: 'web',
        apiGroup: 'apps',
        apiVersion: 'v1',
      },
      requestURI: '/apis/apps/v1/namespaces/team-a/deployments/web',
      user: { username: 'alice@example.com', groups: ['system:authenticated'] },
      requestObject: spec(replicas, image),
      responseObject: spec(replicas, image),
      responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 },
    });
  out.push(deploy(50, 'create', 'deploy-create-1', 2, 'registry.example.com/web:1.0'));
  out.push(deploy(20, 'update', 'deploy-update-1', 3, 'registry.example.com/web:1.1'));
  // A config map whose one value is a long unbroken CA bundle: the Changes table must stay readable.
  const bundle = (seed: string) =>
    `-----BEGIN CERTIFICATE-----MIIC${seed.repeat(1200)}-----END CERTIFICATE-----`;
  const caMap = (minutesAgo: number, verb: string, auditID: string, seed: string) => {
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-root-ca.crt', namespace: 'team-a', resourceVersion: seed },
      data: { 'ca.crt': bundle(seed) },
    };
    return ev(minutesAgo, {
      level: 'RequestResponse',
      auditID,
      verb,
      ns: 'team-a',
      name: 'kube-root-ca.crt',
      resource: 'configmaps',
      requestObject: obj,
      responseObject: obj,
      responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 },
    });
  };
  out.push(caMap(45, 'create', 'ca-create-1', 'QUJD'));
  out.push(caMap(25, 'update', 'ca-update-1', 'WFla'));
  // Payloads in the user agent, names, annotations, user and bodies.
  out.push(
    ev(15, {
      auditID: 'xss-event-1',
      level: 'RequestResponse',
      verb: 'create',
      resource: 'configmaps',
      ns: 'team-a',
      name: XSS.name,
      userAgent: XSS.ua,
      user: { username: XSS.user, groups: ['system:authenticated'] },
      annotations: { [XSS.annotationKey]: XSS.annotation, 'authorization.k8s.io/decision': 'allow' },
      requestObject: { metadata: { name: XSS.name }, data: { html: XSS.body } },
      responseObject: { metadata: { name: XSS.name }, data: { html: XSS.body } },
      responseStatus: { metadata: {}, code: 201, message: XSS.body },
    }),
  );
  return out;
}

function execEvent(): AuditEvent {
  return ev(0, {
    auditID: 'live-exec-1',
    stage: 'ResponseStarted',
    verb: 'create',
    ns: 'team-a',
    name: 'web-7d9f',
    resource: 'pods',
    objectRef: {
      resource: 'pods',
      subresource: 'exec',
      namespace: 'team-a',
      name: 'web-7d9f',
      apiVersion: 'v1',
    },
    requestURI: '/api/v1/namespaces/team-a/pods/web-7d9f/exec?command=sh&container=web&stdin=true&tty=true',
    user: { username: 'bob@example.com', groups: ['system:authenticated', 'devs'] },
    responseStatus: { metadata: {}, code: 101 },
  });
}

async function postEvents(url: string, events: AuditEvent[]): Promise<void> {
  const res = await fetch(`${url}/webhook/prod`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events }),
  });
  expect(res.status).toBe(200);
  // Answered once in the segment log; stored right after.
  await collector.settled();
}

// --- the run
let collector: Collector;
let dir: string;
let browser: Browser;
let shotDir: string;
const tokens = { admin: '', viewer: '' };

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(shotDir, `${name}.png`), fullPage: false });
}

/** Content-Security-Policy violations reported by the browser, over the whole run. */
const violations: string[] = [];

async function loggedIn(token: string): Promise<{ context: BrowserContext; page: Page; dialogs: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(`${collector.url}/`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
  return { context, page, dialogs };
}

async function rowTexts(page: Page): Promise<string[]> {
  return page.getByTestId('result-row').allInnerTexts();
}

beforeAll(async () => {
  ensureChromium();
  ensureUiBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'kt-ui-'));
  shotDir = SHOTS ?? path.join(dir, 'screenshots');
  mkdirSync(shotDir, { recursive: true });
  const config = configSchema.parse({
    dataDir: dir,
    listen: '127.0.0.1:0',
    autodetect: false,
    cluster: 'prod',
  });
  collector = await startCollector({ config, logger: pino({ level: 'silent' }) });
  tokens.admin = collector.auth.tokens.create({ role: 'admin', name: 'dana' }).token;
  tokens.viewer = collector.auth.tokens.create({
    role: 'viewer',
    name: 'team-a-viewer',
    scope: 'ns:team-a',
  }).token;
  await postEvents(collector.url, dataset());
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('web UI', () => {
  it('serves the page with a strict Content-Security-Policy and client routes', async () => {
    for (const p of ['/', '/explore?q=verb:get', '/events/abc', '/live']) {
      const res = await fetch(`${collector.url}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await res.text();
      expect(html).toContain('<div id="root">');
      expect(html).not.toMatch(/<script>(?!<)/);
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    const api = await fetch(`${collector.url}/api/v1/events?since=1h`);
    expect(api.status).toBe(401);
  });

  it('logs in with a token and shows the dashboard; a dashboard row opens the explorer', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(`${collector.url}/`);
    await page.getByLabel('Token').waitFor();
    // The command in the sign-in text is code, not raw backticks.
    const help = page.getByTestId('login-help');
    expect(await help.locator('code').textContent()).toBe('kubetrail token create');
    expect(await help.textContent()).not.toContain('`');
    await shot(page, 'login');
    await page.getByLabel('Token').fill('not-a-valid-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').count()).toBeGreaterThan(0);
    await page.getByLabel('Token').fill(tokens.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('whoami').textContent()).toBe('dana');
    const namespaces = page.getByTestId('top-namespaces');
    await namespaces.getByText('team-b').waitFor();
    await page.getByTestId('denied').getByRole('link').nth(1).waitFor();
    await page.locator('[data-testid="rate-histogram"] canvas').first().waitFor();
    await shot(page, 'dashboard');
    // The integrity panel: an admin runs a verification and sees its result, and the command.
    const integrity = page.getByTestId('integrity');
    await integrity.getByRole('button', { name: 'Verify now' }).click();
    await integrity.getByTestId('integrity-last').waitFor();
    expect(await integrity.getByTestId('integrity-last').innerText()).toMatch(/Verified \d+ events/);
    expect(await integrity.getByTestId('integrity-status').innerText()).toMatch(
      /clean|\d+ (modified|deleted|inserted|chain)/,
    );
    expect(await integrity.locator('code').last().textContent()).toBe('kubetrail verify');
    await namespaces.getByText('team-b').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('ns:team-b');
    await page.getByTestId('result-row').first().waitFor();
    const rows = await rowTexts(page);
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) expect(r).toContain('team-b');
    await context.close();
  });

  it('searches with a filter, shows syntax errors inline, autocompletes and adds a facet filter', async () => {
    const { context, page } = await loggedIn(tokens.admin);
    await page.goto(`${collector.url}/explore`);
    const filter = page.getByLabel('Filter');
    await filter.fill('verb:(get');
    const error = page.getByTestId('filter-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/KT_QUERY_SYNTAX.*column \d+/);
    await filter.fill('usr:bob');
    expect(await error.textContent()).toContain('KT_QUERY_FIELD');
    await filter.fill('');
    await filter.pressSequentially('resou');
    await page.getByRole('option', { name: /resource:/ }).waitFor();
    await filter.fill('verb:delete');
    await filter.press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('verb:delete');
    await page.getByTestId('result-row').first().waitFor();
    await expect
      .poll(
        async () =>
          (await rowTexts(page)).every((r) => r.includes('delete')) && (await rowTexts(page)).length,
      )
      .toBeGreaterThan(0);
    // A facet value adds its term to the filter.
    const facet = page
      .getByTestId('facet-resource')
      .getByRole('button', { name: /secrets/ })
      .first();
    await facet.click();
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('verb:delete resource:secrets');
    await expect
      .poll(async () => {
        const rows = await rowTexts(page);
        return rows.length > 0 && rows.every((r) => r.includes('secrets') && r.includes('delete'));
      })
      .toBe(true);
    // The URL holds the state: reloading shows the same search.
    await page.reload();
    expect(await page.getByLabel('Filter').inputValue()).toBe('verb:delete resource:secrets');
    await page.goto(`${collector.url}/explore?q=${encodeURIComponent('-user:system:*')}&since=24h`);
    await page.getByTestId('result-row').first().waitFor();
    await page.locator('[data-testid="histogram"] canvas').first().waitFor();
    await shot(page, 'explorer');
    // The column chooser adds a column; the URL keeps it.
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('checkbox', { name: 'Source IP' }).check();
    await expect.poll(() => new URL(page.url()).searchParams.get('cols')).toContain('ip');
    await page.getByText('10.0.0.5').first().waitFor();
    await page.getByRole('button', { name: 'Columns' }).click();
    // Brushing across the histogram zooms to that time range.
    const over = await page.locator('[data-testid="histogram"] .u-over').boundingBox();
    expect(over).not.toBeNull();
    const y = over!.y + over!.height / 2;
    await page.mouse.move(over!.x + over!.width * 0.7, y);
    await page.mouse.down();
    await page.mouse.move(over!.x + over!.width * 0.8, y, { steps: 8 });
    await page.mouse.move(over!.x + over!.width * 0.95, y, { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => new URL(page.url()).searchParams.get('until') ?? '').toMatch(/^\d{4}-\d\d-\d\dT/);
    const since = Date.parse(new URL(page.url()).searchParams.get('since')!);
    const until = Date.parse(new URL(page.url()).searchParams.get('until')!);
    expect(until - since).toBeGreaterThan(0);
    expect(until - since).toBeLessThan(8 * 3_600_000);
    await page.getByRole('option', { name: 'Custom range' }).waitFor({ state: 'attached' });
    await context.close();
  });

  it('opens an event with its stages, bodies and the diff against the previous version', async () => {
    const { context, page } = await loggedIn(tokens.admin);
    await page.goto(`${collector.url}/explore?q=${encodeURIComponent('resource:deployments verb:update')}`);
    await page.getByTestId('result-row').first().getByRole('link').click();
    await expect.poll(() => page.url()).toContain('/events/deploy-update-1');
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    const text = await diff.innerText();
    expect(text).toContain('spec.replicas');
    expect(text).toContain('registry.example.com/web:1.1');
    expect(text).toContain('registry.example.com/web:1.0');
    await page.getByText('Request body').waitFor();
    await shot(page, 'event');
    // Object timeline from the event.
    await page.goto(`${collector.url}/objects?object=deployment/web&namespace=team-a&cluster=prod`);
    await page.getByTestId('object-timeline').waitFor();
    expect(await page.getByTestId('object-timeline').innerText()).toContain('update');
    await shot(page, 'object-timeline');
    await context.close();
  });

  it('streams a new exec event and its alert live, then lists the alert', async () => {
    const { context, page } = await loggedIn(tokens.admin);
    await page.goto(`${collector.url}/live`);
    await expect.poll(() => page.getByTestId('live-state').textContent()).toContain('live');
    await postEvents(collector.url, [execEvent()]);
    const alert = page.getByTestId('live-alert').first();
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.innerText()).toMatch(/exec/i);
    await page.getByTestId('live-event').first().waitFor();
    expect(await page.getByTestId('live-events').innerText()).toContain('bob@example.com');
    await shot(page, 'live');
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    const item = page.getByTestId('alert').filter({ hasText: 'bob@example.com' }).first();
    await item.waitFor();
    await shot(page, 'alerts');
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => item.innerText()).toContain('acked');
    await item.getByRole('link', { name: /Triggering events/ }).click();
    await page.getByTestId('result-row').first().waitFor();
    expect((await rowTexts(page)).join('\n')).toContain('bob@example.com');
    // Identity timeline of the user, with the exec highlighted.
    await page.goto(`${collector.url}/identity?user=bob%40example.com&since=24h`);
    await page.getByTestId('sensitive-event').first().waitFor();
    // Its permissions: used in the range, and the suggested RBAC as plain text to copy.
    expect(await page.getByTestId('rbac-used').innerText()).toContain('pods/exec');
    expect(await page.getByTestId('rbac-yaml').innerText()).toMatch(/kind: Role\n[\s\S]*- pods\/exec/);
    await shot(page, 'identity');
    await context.close();
  });

  it('lints and simulates a policy', async () => {
    const { context, page } = await loggedIn(tokens.admin);
    await page.goto(`${collector.url}/policy`);
    await page.getByRole('button', { name: 'Example' }).click();
    await page.getByRole('button', { name: 'Lint' }).click();
    await page.locator('[data-testid="lint-problems"], [data-testid="lint-clean"]').first().waitFor();
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.getByTestId('simulation').waitFor();
    expect(await page.getByTestId('simulation').innerText()).toMatch(/events/);
    await shot(page, 'policy');
    await page.getByRole('button', { name: 'Switch theme' }).click();
    await page.goto(`${collector.url}/`);
    await page.getByTestId('top-namespaces').getByText('team-a').waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await shot(page, 'dashboard-light');
    await context.close();
  });

  it('says when a chart has nothing to show or its request failed, never a blank chart', async () => {
    const { context, page } = await loggedIn(tokens.admin);
    // Nothing matches, split by verb: an empty chart that says so (the store used to fail on this).
    await page.goto(`${collector.url}/explore?q=${encodeURIComponent('user:nobody')}&split=verb&since=30d`);
    const chart = page.getByTestId('histogram');
    await expect.poll(() => chart.getAttribute('data-state')).toBe('empty');
    await chart.getByText('No events in this range.').waitFor();
    expect(await chart.getByRole('alert').count()).toBe(0);
    // The histogram request fails: the dashboard shows its error (and keeps retrying) in the chart's place.
    await page.route('**/api/v1/histogram?**', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'KT_STORE_QUERY', message: 'query failed: boom', hint: 'Retry.' },
        }),
      }),
    );
    await page.goto(`${collector.url}/?since=7d`);
    const rate = page.getByTestId('rate-panel');
    await rate.getByRole('alert').waitFor({ timeout: 5_000 });
    expect(await rate.getByRole('alert').innerText()).toContain('KT_STORE_QUERY');
    expect(await page.getByTestId('rate-histogram').getAttribute('data-state')).toBe('error');
    await page.unroute('**/api/v1/histogram?**');
    // Large counts: the y-axis labels are compact (20k), in an axis wide enough for them.
    expect([0, 5, 950, 1000, 1500, 20_000, 125_000, 2_500_000, 1e9].map(formatAxisCount)).toEqual([
      '0',
      '5',
      '950',
      '1k',
      '1.5k',
      '20k',
      '125k',
      '2.5M',
      '1G',
    ]);
    await page.route('**/api/v1/histogram?**', (route) => {
      const start = Date.now() - 24 * 3_600_000;
      const buckets = Array.from({ length: 48 }, (_, i) => ({
        start: new Date(start + i * 1_800_000).toISOString(),
        counts: { get: 12_000 + ((i * 797) % 9_000), list: 4_000 + ((i * 331) % 3_000), create: 150 },
      }));
      return route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ intervalMs: 1_800_000, buckets }),
      });
    });
    await page.goto(`${collector.url}/?since=24h`);
    await page.locator('[data-testid="rate-histogram"] canvas').first().waitFor();
    await shot(page, 'dashboard-large-counts');
    await context.close();
  });

  it('keeps the Changes table readable when one value is a long unbroken string', async () => {
    const { context, page } = await loggedIn(tokens.admin);
    await page.goto(`${collector.url}/events/ca-update-1`);
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    expect(await diff.innerText()).toContain('data.ca.crt');
    const widths = await diff
      .locator('thead th')
      .evaluateAll((ths) => ths.map((th) => th.getBoundingClientRect().width));
    const table = (await diff.boundingBox())!.width;
    expect(widths).toHaveLength(4);
    // The path gets its share, and the values split the rest instead of one taking it all.
    expect(widths[1]!).toBeGreaterThan(table * 0.25);
    expect(widths[2]!).toBeGreaterThan(table * 0.25);
    expect(widths[3]!).toBeGreaterThan(table * 0.25);
    // The path reads on one line; the long value wraps inside its own cell, in a box of bounded height.
    const pathBox = (await diff.locator('tbody td').nth(1).locator('code').boundingBox())!;
    expect(pathBox.height).toBeLessThan(40);
    const valueBox = (await diff.locator('tbody td.diff-new code').first().boundingBox())!;
    expect(valueBox.height).toBeLessThan(260);
    // The table fits its panel: nothing spills sideways.
    const overflow = await diff.evaluate((t) => t.scrollWidth - t.clientWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await shot(page, 'event-long-value');
    await context.close();
  });

  it('renders HTML and script payloads in events as inert text', async () => {
    const { context, page, dialogs } = await loggedIn(tokens.admin);
    const injected = () =>
      page.evaluate(() => ({
        flag: (window as unknown as { __xss?: number }).__xss,
        elements: document.querySelectorAll(
          '#root script, #root iframe, #root img, #root svg[onload], #root b',
        ).length,
      }));
    await page.goto(
      `${collector.url}/explore?q=${encodeURIComponent('ns:team-a resource:configmaps verb:create')}&cols=time,user,name,ua`,
    );
    await page.getByText(XSS.ua).first().waitFor();
    await page.getByText(XSS.name).first().waitFor();
    await page.goto(`${collector.url}/events/xss-event-1`);
    await page.getByTestId('event-detail').waitFor();
    await page.getByText(XSS.annotation).first().waitFor();
    await page.getByText(XSS.annotationKey).first().waitFor();
    await page.getByText(XSS.user).first().waitFor();
    await page.goto(`${collector.url}/identity?user=${encodeURIComponent(XSS.user)}&since=24h`);
    await page.getByTestId('sessions').waitFor();
    expect(await page.getByTestId('rbac-yaml').innerText()).toContain(XSS.user);
    await page.goto(
      `${collector.url}/objects?object=${encodeURIComponent(`configmap/${XSS.name}`)}&namespace=team-a`,
    );
    await page.getByTestId('object-timeline').waitFor();
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(await injected()).toEqual({ flag: undefined, elements: 0 });
    // Nothing the UI does needs more than the page's Content-Security-Policy allows.
    expect(violations).toEqual([]);
    await context.close();
  });

  it('shows a viewer scoped to one namespace nothing else, in any view', async () => {
    const { context, page } = await loggedIn(tokens.viewer);
    expect(await page.getByText('ns:team-a').first().textContent()).toContain('ns:team-a');
    // Dashboard: only team-a.
    const namespaces = page.getByTestId('top-namespaces');
    await namespaces.getByText('team-a').waitFor();
    expect(await namespaces.innerText()).not.toMatch(/team-b|kube-system/);
    // No integrity panel: its findings name events of every namespace.
    expect(await page.getByTestId('integrity').count()).toBe(0);
    expect(await page.getByTestId('top-users').innerText()).not.toContain('carol@example.com');
    // Explorer: every row in team-a, even when asking for team-b.
    await page.goto(`${collector.url}/explore?cols=time,verb,user,ns,name`);
    await page.getByTestId('result-row').first().waitFor();
    for (const r of await rowTexts(page)) expect(r).toContain('team-a');
    expect(await page.getByTestId('facet-ns').innerText()).not.toMatch(/team-b|kube-system/);
    await page.goto(`${collector.url}/explore?q=ns:team-b`);
    await page.getByText('No events match.').waitFor();
    await page.goto(`${collector.url}/explore?q=${encodeURIComponent('payroll-db')}`);
    await page.getByText('No events match.').waitFor();
    // Event detail, identity and object timelines of team-b things show nothing.
    await page.goto(`${collector.url}/events/scoped-out-1`);
    await page.locator('.error-box, .page p').first().waitFor();
    expect(await page.locator('main').innerText()).not.toContain('payroll-db');
    await page.goto(`${collector.url}/identity?user=carol%40example.com&since=24h`);
    await page.locator('.identity p, .error-box').first().waitFor();
    expect(await page.locator('main').innerText()).not.toContain('payroll-db');
    expect(await page.getByTestId('session').count()).toBe(0);
    // Object timeline of an in-scope object: bodies are hidden from this token, and it says so.
    await page.goto(`${collector.url}/objects?object=deployment/web&namespace=team-a`);
    await page.getByTestId('object-timeline').waitFor();
    await page.getByTestId('bodies-hidden').waitFor();
    const timeline = await page.getByTestId('object-timeline').innerText();
    expect(timeline).toContain('hidden: this token may not see bodies');
    expect(timeline).not.toContain('not logged');
    // The endpoints behind the views, from the viewer's session.
    const answers = await page.evaluate(async () => {
      const get = async (p: string) => (await fetch(p, { credentials: 'same-origin' })).text();
      return Promise.all([
        get('/api/v1/top?field=ns&since=24h'),
        get('/api/v1/events?since=24h&limit=1000'),
        get('/api/v1/histogram?since=24h&split=ns'),
        get('/api/v1/values?field=name&since=24h'),
        get('/api/v1/identity?user=carol%40example.com&since=24h'),
        get('/api/v1/alerts?since=24h'),
      ]);
    });
    for (const a of answers) {
      expect(a).not.toContain('team-b');
      expect(a).not.toContain('payroll-db');
    }
    const hidden = await page.evaluate(async () => {
      const get = async (p: string) => (await fetch(p, { credentials: 'same-origin' })).json();
      return Promise.all([
        get('/api/v1/events/scoped-out-1'),
        get('/api/v1/history?object=secret/payroll-db&namespace=team-b'),
      ]);
    });
    expect(hidden[0].records ?? []).toEqual([]);
    expect(hidden[1].entries ?? []).toEqual([]);
    // The live view streams only events of the scope.
    await page.goto(`${collector.url}/live`);
    await expect.poll(() => page.getByTestId('live-state').textContent()).toContain('live');
    await postEvents(collector.url, [
      ev(0, { ns: 'team-b', name: 'payroll-db', resource: 'secrets', auditID: 'scoped-out-live' }),
      ev(0, { ns: 'team-a', name: 'visible-pod', auditID: 'in-scope-live' }),
    ]);
    await page.getByTestId('live-event').filter({ hasText: 'visible-pod' }).waitFor();
    await page.waitForTimeout(500);
    expect(await page.getByTestId('live-events').innerText()).not.toMatch(/team-b|payroll-db/);
    await context.close();
  });
});
