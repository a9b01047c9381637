// Rule files: precise errors (file, line, path, suggestions), and how users extend the built-in pack
// (append to lists, redefine macros, switch rules off, change severity, add exceptions).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent, rec } from '../test-support/events.js';
import { DetectionEngine } from './engine.js';
import { formatProblem } from './load.js';
import { inspectRules, loadRules } from './rules.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const problems = (text: string, builtin = false) =>
  inspectRules({ files: [file('r.yaml', text)], builtin }).problems.map(formatProblem);

const rule = (extra: string) => `rules:
  - id: r1
    title: t
    severity: high
    mitre: [T1609]
    output: '{user}'
${extra}`;

describe('rule file errors', () => {
  it('names the file, line and path of schema problems', () => {
    const p = problems(rule(`    condition: 'verb:get'\n    severity: urgent\n`));
    expect(p.join('\n')).toMatch(/YAML: Map keys must be unique/);
    const q = problems(rule(`    condition: 'verb:get'\n    suppres: { window: 1m }\n`));
    expect(q).toHaveLength(1);
    expect(q[0]).toMatch(/r\.yaml:2 \(rules\[0\]\): Unrecognized key: "suppres"/);
  });

  it('checks fields against the catalog, with a suggestion', () => {
    expect(problems(rule(`    condition: 'usr:alice'\n`))[0]).toMatch(
      /unknown field "usr"; did you mean `user`/,
    );
    expect(
      problems(
        rule(
          `    condition: 'verb:get'\n    aggregate: { function: count, window: 5m, by: [nmespace], threshold: 2 }\n`,
        ),
      )[0],
    ).toMatch(/unknown field "nmespace"; did you mean `ns`/);
    expect(
      problems(rule(`    condition: 'verb:get'\n    output: '{requestObjct.spec}'\n`).replace(/^/, '')),
    ).toHaveLength(1);
  });

  it('reports unknown lists and macros, misuse and cycles', () => {
    expect(problems(rule(`    condition: 'user:$nobody'\n`))[0]).toMatch(/unknown list \$nobody/);
    expect(problems(`macros:\n  a: '$b'\n  b: '$a'\n${rule(`    condition: '$a'\n`)}`)[0]).toMatch(
      /refers to itself/,
    );
    expect(problems(`lists:\n  l: [x]\n${rule(`    condition: '$l'\n`)}`)[0]).toMatch(
      /is a list; use it as a value/,
    );
  });

  it('reports bad durations and both aggregate and firstSeen', () => {
    expect(
      problems(
        rule(
          `    condition: 'verb:get'\n    aggregate: { function: count, window: soon, by: [user], threshold: 2 }\n`,
        ),
      )[0],
    ).toMatch(/aggregate.window "soon" is not a duration/);
  });
});

describe('extending the built-in pack', () => {
  it('appends to lists, switches rules off and changes severity', () => {
    const user = file(
      'ext.yaml',
      `lists:
  allowed_k8s_users: { items: [mallory], append: true }
rules:
  - id: pod-exec
    severity: critical
  - id: activity-configmap-created
    enabled: false
`,
    );
    const rules = loadRules({ files: [user] });
    expect(rules.find((r) => r.def.id === 'pod-exec')!.def.severity).toBe('critical');
    const engine = new DetectionEngine(rules);
    const alerts = engine.processBatch([
      rec(makeEvent({ user: { username: 'mallory' } })),
      rec(
        makeEvent({
          user: { username: 'mallory' },
          verb: 'create',
          objectRef: { resource: 'configmaps', namespace: 'a', name: 'b' },
          responseStatus: { code: 201 },
        }),
      ),
    ]);
    expect(alerts.map((a) => a.rule)).toEqual([]);
  });

  it('adds exceptions to a built-in rule', () => {
    const user = file(
      'exc.yaml',
      `rules:
  - id: pod-exec
    exceptions:
      - name: the on-call robot
        condition: 'user:oncall-bot'
`,
    );
    const engine = new DetectionEngine(loadRules({ files: [user] }));
    const exec = (u: string) =>
      rec(
        makeEvent({
          user: { username: u },
          verb: 'create',
          objectRef: { resource: 'pods', subresource: 'exec', name: 'p' },
        }),
      );
    const raised = engine
      .processBatch([exec('oncall-bot'), exec('bob')])
      .filter((a) => a.rule === 'pod-exec');
    expect(raised.map((a) => a.message)).toEqual([expect.stringMatching(/^bob ran exec/)]);
  });

  it('refuses overrides that change the condition of an existing rule in place', () => {
    const p = problems(`rules:\n  - id: pod-exec\n    output: '{user}'\n`, true);
    expect(p[0]).toMatch(/may set enabled, severity, exceptions and suppress, not output/);
  });
});
