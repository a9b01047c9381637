// The demo data set: each woven-in incident raises at least one alert above informational, and no rule
// above informational fires anywhere else in the day.
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { DEMO_INCIDENTS, demoEvents } from '../generate/index.js';
import { compileJs, parseQuery } from '../query/index.js';
import { DetectionEngine } from './engine.js';
import { loadRules } from './rules.js';
import { severityRank, type Alert } from './types.js';

describe('built-in rules on the demo day', () => {
  const incidents = DEMO_INCIDENTS.map((i) => ({ id: i.id, match: compileJs(parseQuery(i.filter)) }));
  const owner = new Map<string, string>();
  const engine = new DetectionEngine(loadRules());
  const alerts: Alert[] = [];
  for (const event of demoEvents()) {
    const r: EventRecord = { cluster: 'demo', event };
    const inc = incidents.find((i) => i.match(r));
    if (inc) owner.set(event.auditID, inc.id);
    alerts.push(...engine.process(r));
  }
  const serious = alerts.filter((a) => severityRank(a.severity) > 0);

  it('raises an alert above informational for every incident', () => {
    const hit = new Set(serious.flatMap((a) => a.auditIDs.map((id) => owner.get(id))).filter(Boolean));
    expect(DEMO_INCIDENTS.map((i) => i.id).filter((id) => !hit.has(id))).toEqual([]);
  });

  it('raises nothing above informational outside the incidents', () => {
    const stray = serious
      .filter((a) => a.auditIDs.some((id) => !owner.has(id)))
      .map((a) => `${a.rule} (${a.severity}): ${a.message}`);
    expect(stray.slice(0, 20)).toEqual([]);
  });
});
