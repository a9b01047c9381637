// Holds the built-in rules to other tools' own test data in the shared corpus: Falco's k8s_audit
// regression cases must produce exactly the hit counts Falco expects (stock rules and documented
// overrides), and every Panther Kubernetes rule with plain EKS audit events must be covered by a rule that
// fires on each expected-true event and on no expected-false one. Skipped when the corpus is absent.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFalcoSuite, runPantherSuite } from './corpus.js';
import { corpusPath } from '../test-support/requirements.js';

const corpus = corpusPath();

describe.skipIf(!corpus)('shared corpus (skipped without ../shared/corpus)', () => {
  it("reproduces Falco's expected detections on its regression cases", async () => {
    const results = await runFalcoSuite(path.join(corpus!, 'falco-k8s-audit'));
    expect(results.length).toBe(66);
    expect(results.filter((r) => !r.ok).map((r) => `${r.case.test}: ${r.problem}`)).toEqual([]);
  });

  it('covers every Panther rule tested on plain audit events', () => {
    const coverage = runPantherSuite(path.join(corpus!, 'panther-k8s', 'tests.jsonl'));
    // GCP.K8s.IOC.Activity's events are GCP operation records, not audit events: nothing can fire on them.
    const applicable = coverage.filter((c) => c.rule !== 'GCP.K8s.IOC.Activity');
    expect(applicable.length).toBeGreaterThanOrEqual(30);
    const failing = applicable
      .filter((c) => !c.ok)
      .map(
        (c) =>
          `${c.rule} [${c.covering.join(', ') || 'no rule'}]: ${c.tests
            .filter((t) => !t.ok)
            .map((t) => `${t.test.expected ? 'missed' : 'fired on'} "${t.test.test}"`)
            .join('; ')}`,
      );
    expect(failing).toEqual([]);
  });
});
