// Property tests: events carrying random secret values in every place credentials are kept are redacted so
// that none of the values survive anywhere in the event, the scanner finds every one of them beforehand,
// redaction is idempotent, and random ordinary events are left as they are.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED_ANNOTATION } from '../core/event.js';
import { eventArbitrary } from '../test-support/events.js';
import { plantedArbitrary } from '../test-support/planted-secrets.js';
import { compileRedactConfig } from './config.js';
import { Redactor } from './redactor.js';
import { LeakScanner } from './scan.js';

const redactor = new Redactor(compileRedactConfig());
const hashed = new Redactor(
  compileRedactConfig({ hashValues: true }, { KUBETRAIL_REDACT_KEY: 'a-test-key-of-32-bytes-0123456789' }),
);

describe('redaction of planted secrets', () => {
  it('no planted value survives, in any place, with plain or hashed markers', () => {
    fc.assert(
      fc.property(plantedArbitrary, fc.boolean(), (planted, useHash) => {
        const r = useHash ? hashed : redactor;
        for (const p of planted) {
          const findings = r.redact(p.event);
          const json = JSON.stringify(p.event);
          for (const s of p.secrets) expect(json, `${p.place}: value survived`).not.toContain(s);
          expect(findings.length, p.place).toBeGreaterThan(0);
          const listed = JSON.parse(p.event.annotations![REDACTED_ANNOTATION]!) as string[];
          expect(listed.length).toBeGreaterThan(0);
          for (const s of p.secrets) expect(p.event.annotations![REDACTED_ANNOTATION]).not.toContain(s);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the scanner reports every planted event, with the expected rules, before redaction', () => {
    fc.assert(
      fc.property(plantedArbitrary, (planted) => {
        const scanner = new LeakScanner(redactor);
        for (const p of planted) {
          const leaks = scanner.scan({ cluster: 'c', event: p.event });
          const rules = new Set(leaks.map((l) => l.rule));
          for (const rule of p.rules) expect(rules, `${p.place}: ${rule}`).toContain(rule);
          for (const l of leaks) for (const s of p.secrets) expect(JSON.stringify(l)).not.toContain(s);
        }
        const report = scanner.report();
        expect(report.eventsWithLeaks).toBe(planted.length);
      }),
      { numRuns: 100 },
    );
  });

  it('is idempotent: a redacted event has nothing left to redact or report', () => {
    fc.assert(
      fc.property(plantedArbitrary, (planted) => {
        for (const p of planted) {
          redactor.redact(p.event);
          const once = JSON.stringify(p.event);
          expect(redactor.inspect(p.event)).toEqual([]);
          expect(redactor.redact(p.event)).toEqual([]);
          expect(JSON.stringify(p.event)).toBe(once);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('leaves random ordinary events unchanged', () => {
    fc.assert(
      fc.property(eventArbitrary, (e) => {
        const before = JSON.stringify(e);
        expect(redactor.redact(e)).toEqual([]);
        expect(JSON.stringify(e)).toBe(before);
      }),
      { numRuns: 300 },
    );
  });
});
