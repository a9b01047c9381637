// Rule output templates: absent values are left out with what joins them, never shown as <none>.
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../core/event.js';
import { makeEvent } from '../test-support/events.js';
import { renderTemplate } from './template.js';

const render = (template: string, overrides: Partial<AuditEvent>) =>
  renderTemplate(template, {
    cluster: 'default',
    event: makeEvent({ user: { username: 'alice' }, ...overrides }),
  });

describe('renderTemplate', () => {
  it('shows every value when all are present', () => {
    expect(
      render('{user} read secret {ns}/{name}', {
        objectRef: { resource: 'secrets', namespace: 'prod', name: 'db' },
      }),
    ).toBe('alice read secret prod/db');
  });

  it.each([
    [
      '{user} read secret {ns}/{name}',
      { objectRef: { resource: 'secrets', name: 'db' } },
      'alice read secret db',
    ],
    ['{user} read secret {ns}/{name}', { objectRef: { resource: 'secrets' } }, 'alice read secret'],
    [
      '{user} read secrets {ns}/{name} with {ua} from {ip}',
      { objectRef: { resource: 'secrets' }, userAgent: 'kubectl/v1.30', sourceIPs: ['10.0.0.5'] },
      'alice read secrets with kubectl/v1.30 from 10.0.0.5',
    ],
    [
      '{user} failed to read secret {ns}/{name} ({code} {reason})',
      { objectRef: { resource: 'secrets', namespace: 'prod', name: 'db' }, responseStatus: { code: 403 } },
      'alice failed to read secret prod/db (403)',
    ],
    [
      '{user} failed to read secret {ns}/{name} ({code} {reason})',
      { objectRef: { resource: 'secrets', name: 'db' }, responseStatus: {} },
      'alice failed to read secret db',
    ],
    [
      '{user} {verb} kube-system/{name}',
      { verb: 'delete', objectRef: { resource: 'configmaps', namespace: 'kube-system' } },
      'alice delete kube-system',
    ],
    [
      '{user} deleted {count} objects (last: {resource} {ns}/{name})',
      { objectRef: { resource: 'pods' } },
      'alice deleted objects (last: pods)',
    ],
  ])('%j leaves absent values out', (template, overrides, expected) => {
    const text = render(template, overrides as Partial<AuditEvent>);
    expect(text).toBe(expected);
    expect(text).not.toMatch(/<none>|\u0000/);
  });

  it('keeps values from the event as they are around an absent one', () => {
    const ua = 'odd  (agent)  ()  / : x';
    expect(render('{ua} {ns}/{name}', { userAgent: ua, objectRef: { resource: 'nodes' } })).toBe(ua);
    expect(render('{ua}', { userAgent: 'a\u0000b' })).toBe('a\uFFFDb');
  });
});
