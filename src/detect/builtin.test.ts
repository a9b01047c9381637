// The built-in rule pack: every file loads without problems, every rule has a title, a severity, ATT&CK
// ids and examples, and passes its own must-fire and must-not-fire events.
import { describe, expect, it } from 'vitest';
import { definitions } from './compile.js';
import { runExamples } from './examples.js';
import { formatProblem } from './load.js';
import { inspectRules } from './rules.js';

const loaded = inspectRules();
const defs = definitions(loaded.set);

describe('built-in rule pack', () => {
  it('loads without problems', () => {
    expect(loaded.problems.map(formatProblem)).toEqual([]);
    expect(loaded.rules.length).toBeGreaterThan(60);
  });

  it('gives every rule ATT&CK ids and both kinds of example', () => {
    const lacking = loaded.rules
      .filter(
        (r) =>
          r.def.mitre.length === 0 ||
          !r.def.examples.some((e) => e.expect === 'fire') ||
          !r.def.examples.some((e) => e.expect === 'quiet'),
      )
      .map((r) => r.def.id);
    expect(lacking).toEqual([]);
  });

  for (const rule of loaded.rules) {
    it(`${rule.def.id}: fires on its must-fire events and not on its must-not-fire events`, () => {
      const failed = runExamples(rule, defs)
        .filter((r) => !r.ok)
        .map(
          (r) => `${r.expect} "${r.name}"${r.error ? `: ${r.error}` : ` raised ${r.alerts.length} alerts`}`,
        );
      expect(failed).toEqual([]);
    });
  }
});
