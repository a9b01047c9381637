// The object timeline and the actor in real headless Chromium (Debian's `chromium`, driven by
// playwright-core) against a real server: the tree of written objects, one bar per revision drawn by its
// state (known, derived, unknown, deleted), refused requests as marks, the managedFields toggle, the
// object after a write, and the actor on the event page.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { ensureChromium, ensureUiBuilt, launchBrowser } from '../test-support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import type { AuditEvent } from '../core/event.js';
import { startCollector, type Collector } from './collector.js';

const NOW = Date.now();
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString().replace('Z', '000Z');
let seq = 0;

function write(minutesAgo: number, verb: string, o: Partial<AuditEvent> = {}): AuditEvent {
  seq++;
  return {
    level: 'RequestResponse',
    auditID: `00000000-0000-4000-9000-${String(seq).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: '/apis/apps/v1/namespaces/prod/deployments/web',
    verb,
    user: { username: 'alice@example.com', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.5'],
    userAgent: 'kubectl/v1.31.2',
    objectRef: {
      resource: 'deployments',
      namespace: 'prod',
      name: 'web',
      apiGroup: 'apps',
      apiVersion: 'v1',
    },
    responseStatus: { code: 200 },
    requestReceivedTimestamp: at(minutesAgo),
    stageTimestamp: at(minutesAgo),
    ...o,
  };
}

const deployment = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'prod',
    managedFields: [{ manager: 'kubectl-edit', operation: 'Update' }],
  },
  spec: { replicas, template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
});

const podToken = {
  username: 'system:serviceaccount:ci:deployer',
  extra: { 'authentication.kubernetes.io/pod-name': ['ci-runner-1'] },
};

const EVENTS: AuditEvent[] = [
  write(50, 'create', { responseObject: deployment(1), responseStatus: { code: 201 } }),
  write(40, 'patch', { level: 'Request', user: podToken, requestObject: { spec: { replicas: 4 } } }),
  write(30, 'delete', { user: { username: 'mallory@example.com' }, responseStatus: { code: 403 } }),
  write(20, 'update', { level: 'Metadata' }),
  write(10, 'delete', { level: 'Metadata' }),
];

let collector: Collector;
let browser: Browser;
let dir: string;
let token: string;

beforeAll(async () => {
  ensureChromium();
  ensureUiBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'kt-objects-ui-'));
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
  collector = await startCollector({ config, logger: pino({ level: 'silent' }) });
  token = collector.auth.tokens.create({ role: 'analyst', name: 'ivy' }).token;
  const res = await fetch(`${collector.url}/webhook/prod`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: EVENTS }),
  });
  expect(res.status).toBe(200);
  await collector.settled();
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  await page.goto(`${collector.url}/`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
  return page;
}

describe('object timeline', () => {
  it('picks an object in the tree and draws its revisions by state, refusals as marks', async () => {
    const page = await signIn();
    await page.goto(`${collector.url}/objects`);
    const tree = page.getByTestId('object-tree');
    await tree.getByText('deployments.apps').waitFor();
    await tree.getByRole('button', { name: 'web' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('object')).toBe('deployments.apps/web');
    const bars = page.getByTestId('revision-bars');
    await bars.waitFor();
    const states = await bars
      .locator('rect[data-state]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    expect(states).toEqual(['known', 'derived', 'unknown', 'deleted']);
    // Each state is drawn differently: solid, hatched, striped, dashed.
    const looks = await bars
      .locator('rect[data-state]')
      .evaluateAll((els) =>
        els.map((e) => `${e.getAttribute('fill')}|${e.getAttribute('stroke-dasharray') ?? ''}`),
      );
    expect(new Set(looks).size).toBe(4);
    expect(await bars.locator('[data-mark="failed"]').count()).toBe(1);
    await page.getByTestId('revision-legend').waitFor();

    const writes = page.getByTestId('object-timeline').locator('li');
    await expect.poll(() => writes.count()).toBe(5);
    const second = writes.nth(1);
    expect(await second.getByTestId('actor').textContent()).toBe('pod:ci/ci-runner-1 (sa deployer)');
    expect(await second.locator('[data-state]').textContent()).toContain('derived');
    expect(await second.getByTestId('diff').textContent()).toContain('spec.replicas');

    // managedFields: out of the diffs until asked for.
    const first = writes.nth(0);
    expect(await first.getByTestId('diff').textContent()).not.toContain('managedFields');
    await page.getByTestId('managed-fields').check();
    await expect
      .poll(async () => (await writes.nth(0).getByTestId('diff').textContent()) ?? '')
      .toContain('managedFields');

    // The object after the derived write, as rebuilt.
    await writes.nth(1).getByRole('button', { name: 'object after this write' }).click();
    const obj = page.getByTestId('object-at');
    await obj.waitFor();
    expect(await obj.textContent()).toContain('derived');
    expect(await obj.textContent()).toContain('4');
  });

  it('shows the actor on the event page', async () => {
    const page = await signIn();
    await page.goto(`${collector.url}/events/${EVENTS[1]!.auditID}`);
    const actor = page.getByTestId('actor');
    await actor.waitFor();
    expect(await actor.textContent()).toContain('pod:ci/ci-runner-1 (sa deployer)');
    expect(await actor.textContent()).toContain('from pod-token');
  });
});
