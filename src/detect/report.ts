// Writes the result tables of docs/rules.md from the rules and the shared corpus: which kubetrail rule
// covers each Falco rule, Falco's regression cases with the counts kubetrail gives, and Panther's rule
// tests with the covering rule. Usage (after a build): node dist/src/detect/report.js [CORPUS_DIR]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FALCO_ALIASES, corpusDir, runFalcoSuite, runPantherSuite } from './corpus.js';
import { loadRules } from './rules.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

export async function reportMarkdown(corpus: string): Promise<string> {
  const rules = loadRules();
  const out: string[] = [];

  out.push(
    '### Falco rule → kubetrail rule',
    '',
    '| Falco rule | kubetrail rule | severity |',
    '|---|---|---|',
  );
  const byFalco = new Map<string, string[]>();
  for (const r of rules) {
    for (const c of r.def.covers) {
      if (!c.startsWith('falco:')) continue;
      const name = c.slice(6);
      byFalco.set(name, [...(byFalco.get(name) ?? []), `\`${r.def.id}\`${r.def.enabled ? '' : ' (off)'}`]);
    }
  }
  for (const [name, ids] of [...byFalco].sort(([a], [b]) => a.localeCompare(b))) {
    const sev = rules.find((r) => r.def.covers.includes(`falco:${name}`))!.def.severity;
    out.push(`| ${cell(name)} | ${ids.join(', ')} | ${sev} |`);
  }

  out.push('', '### Falco regression cases', '');
  out.push(
    '| case | trace | overrides | Falco expects | kubetrail raised | result |',
    '|---|---|---|---|---|---|',
  );
  const falco = await runFalcoSuite(path.join(corpus, 'falco-k8s-audit'));
  for (const r of falco) {
    const expects = r.case.detect
      ? Object.entries(r.case.counts)
          .map(([k, v]) => `${k}${FALCO_ALIASES[k] ? ' (split since)' : ''} ×${v}`)
          .join(', ')
      : 'nothing';
    const raised = Object.entries(r.raised)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
    out.push(
      `| ${r.case.test} | ${r.case.trace} | ${r.case.extra_rule_files.join(', ') || '-'} | ${cell(expects)} | ${raised || '-'} | ${r.ok ? 'pass' : `**fail**: ${cell(r.problem ?? '')}`} |`,
    );
  }
  out.push('', `${falco.filter((r) => r.ok).length} of ${falco.length} cases pass.`);

  out.push('', '### Panther rules (EKS and AKS audit events)', '');
  out.push(
    '| Panther rule | kubetrail rules | expected true | expected false | result |',
    '|---|---|---|---|---|',
  );
  const panther = runPantherSuite([
    path.join(corpus, 'panther-k8s', 'tests.jsonl'),
    path.join(corpus, 'panther-k8s', 'tests-eks-legacy-and-azure-activity.jsonl'),
  ]);
  for (const c of panther) {
    const t = c.tests.filter((x) => x.test.expected);
    const f = c.tests.filter((x) => !x.test.expected);
    const listed = c.tests.filter((x) => x.difference && x.ok).length;
    const result = c.ok
      ? listed > 0
        ? `pass, ${listed} listed difference${listed === 1 ? '' : 's'}`
        : 'pass'
      : c.tests.every((x) => x.note === 'not an audit event')
        ? 'not applicable: its test records are not audit events'
        : `**fail**: ${c.tests
            .filter((x) => !x.ok)
            .map((x) => x.test.test)
            .join('; ')}`;
    out.push(
      `| ${c.rule} | ${c.covering.map((x) => `\`${x}\``).join(', ') || '-'} | ${t.filter((x) => x.fired).length}/${t.length} alert | ${f.filter((x) => !x.fired).length}/${f.length} quiet | ${result} |`,
    );
  }
  out.push('', '### Listed differences', '');
  out.push('| Panther rule | test | kubetrail | why |', '|---|---|---|---|');
  for (const c of panther) {
    for (const x of c.tests) {
      const d = x.difference;
      if (!d) continue;
      const what =
        d.outcome === 'counts'
          ? 'counts toward the threshold'
          : d.outcome === 'quiet'
            ? 'no alert'
            : d.outcome;
      out.push(
        `| ${c.rule} | ${cell(d.test)} | ${what}${d.alsoRaisedBy ? `; \`${d.alsoRaisedBy}\` alerts` : ''} | ${cell(d.reason)} |`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const dir = process.argv[2] ?? corpusDir(root);
  if (!dir) {
    process.stderr.write('no corpus: pass its directory\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(await reportMarkdown(dir));
  }
}
