// Holds the built-in rules to other tools' own test data in the shared corpus: Falco's k8s_audit
// regression cases must produce exactly the hit counts Falco expects (stock rules and documented
// overrides), and every Panther Kubernetes rule with EKS and AKS audit events must be covered by rules that
// alerts (at low or above, as shown by default) on each expected-true event and on no expected-false one,
// except the differences listed with their reasons in corpus.ts, which must still be differences.
// Skipped when the corpus is absent.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFalcoSuite, runPantherSuite, unusedDifferences } from './corpus.js';
import { corpusPath } from '../test-support/requirements.js';

const corpus = corpusPath();

describe.skipIf(!corpus)('shared corpus (skipped without ../shared/corpus)', () => {
  it("reproduces Falco's expected detections on its regression cases", async () => {
    const results = await runFalcoSuite(path.join(corpus!, 'falco-k8s-audit'));
    expect(results.length).toBe(66);
    expect(results.filter((r) => !r.ok).map((r) => `${r.case.test}: ${r.problem}`)).toEqual([]);
  });

  it('covers every Panther rule tested on EKS and AKS audit events, differing only as listed', () => {
    const dir = path.join(corpus!, 'panther-k8s');
    const coverage = runPantherSuite([
      path.join(dir, 'tests.jsonl'),
      path.join(dir, 'tests-eks-legacy-and-azure-activity.jsonl'),
    ]);
    // GCP.K8s.IOC.Activity's records are GCP operation records and the AKS RoleBinding rule's are Azure
    // Activity (ARM) records, not audit events: nothing can fire on them.
    const notAudit = coverage.filter((c) => c.tests.every((t) => t.note === 'not an audit event'));
    expect(notAudit.map((c) => c.rule)).toEqual([
      'Azure.MonitorActivity.Kubernetes.RoleBindingCreated',
      'GCP.K8s.IOC.Activity',
    ]);
    const applicable = coverage.filter((c) => !notAudit.includes(c));
    expect(applicable.length).toBeGreaterThanOrEqual(33);
    const failing = applicable
      .filter((c) => !c.ok)
      .map(
        (c) =>
          `${c.rule} [${c.covering.join(', ') || 'no rule'}]: ${c.tests
            .filter((t) => !t.ok)
            .map(
              (t) =>
                `${t.test.expected ? 'missed' : 'fired on'} "${t.test.test}" (${t.outcome ?? 'not an audit event'}${t.note ? `: ${t.note}` : ''})`,
            )
            .join('; ')}`,
      );
    expect(failing).toEqual([]);
    // Every listed difference names a test that ran (none left over from renamed or removed tests).
    expect(unusedDifferences(coverage).map((d) => `${d.rule}: ${d.test}`)).toEqual([]);
  });

  it("no longer fires on Panther's legitimate node and managed-agent cases, nor misses minted tokens", () => {
    const dir = path.join(corpus!, 'panther-k8s');
    const coverage = runPantherSuite([
      path.join(dir, 'tests.jsonl'),
      path.join(dir, 'tests-eks-legacy-and-azure-activity.jsonl'),
    ]);
    const result = (rule: string, test: string) =>
      coverage.find((c) => c.rule === rule)?.tests.find((t) => t.test.test === test)?.outcome;
    expect(result('Kubernetes.System.Principal.PublicIP', 'EKS Legitimate Node from AWS IP')).toBe('quiet');
    expect(
      result(
        'Amazon.EKS.Audit.SystemNamespaceFromPublicIP',
        'legitimate EKS node from AWS IP - should not alert',
      ),
    ).toBe('quiet');
    expect(result('Kubernetes.System.Principal.PublicIP', 'AKS CSI Disk Driver from Azure Node')).toBe(
      'quiet',
    );
    expect(result('Kubernetes.System.Principal.PublicIP', 'AKS CSI File Driver from Azure Node')).toBe(
      'quiet',
    );
    expect(result('Kubernetes.System.Principal.PublicIP', 'AKS System Node from Azure IP')).toBe('quiet');
    expect(result('Kubernetes.ServiceAccount.TokenCreated', 'EKS long-lived token created')).toBe('alert');
    expect(result('Kubernetes.ServiceAccount.TokenCreated', 'AKS long-lived token created')).toBe('alert');
    expect(result('Kubernetes.ServiceAccount.TokenCreated', 'Token created in default namespace')).toBe(
      'alert',
    );
    expect(result('Kubernetes.API.IOC.Activity', 'EKS Activity from Tor Exit Node')).toBe('alert');
    expect(result('Kubernetes.API.IOC.Activity', 'K8s Activity Without Tor Enrichment')).toBe('quiet');
  });

  it('fails a listed difference that is no longer one', () => {
    const file = path.join(corpus!, 'panther-k8s', 'tests.jsonl');
    const stale = runPantherSuite(file, {
      differences: [
        {
          rule: 'Kubernetes.Secrets.DumpAllNamespaces',
          test: 'EKS cluster-wide secret list',
          outcome: 'counts',
          reason: 'a made-up difference',
        },
      ],
    }).find((c) => c.rule === 'Kubernetes.Secrets.DumpAllNamespaces')!;
    const listed = stale.tests.find((t) => t.difference);
    expect(listed?.ok).toBe(false);
    expect(listed?.note).toMatch(/agrees with Panther now/);
  });
});
