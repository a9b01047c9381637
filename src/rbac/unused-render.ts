// The granted-but-unused report for machines (JSON and YAML: every subject's permissions with their use)
// and as a unified diff against the given roles that removes what no subject used.
import { stringify } from 'yaml';
import { microsToTime } from '../core/time.js';
import { unifiedDiff } from './diff.js';
import { subjectText } from './subject.js';
import type { AnyRole, PolicyRule } from './types.js';
import { describePermission, type ObjectId, type UnusedReport } from './unused.js';

const idText = (o: ObjectId) => `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** The report as plain data (what -o json and -o yaml print). */
export function unusedData(r: UnusedReport, source: { events: number; since?: number; until?: number }) {
  return {
    source: {
      events: source.events,
      ...(source.since !== undefined ? { since: microsToTime(source.since) } : {}),
      ...(source.until !== undefined ? { until: microsToTime(source.until) } : {}),
    },
    subjects: r.subjects.map((s) => ({
      subject: subjectText(s.subject),
      unused: s.grants.filter((g) => g.uses === 0).length,
      grants: s.grants.map((g) => ({
        permission: describePermission(g.permission),
        rule: g.permission,
        scope: g.scope === '' ? '*' : g.scope,
        role: idText(g.role),
        ruleIndex: g.ruleIndex,
        ...(g.via ? { via: g.via } : {}),
        binding: idText(g.binding),
        used: g.uses > 0,
        uses: g.uses,
        ...(g.lastUsed !== undefined ? { lastUsed: microsToTime(g.lastUsed) } : {}),
        ...(g.dangerous ? { dangerous: g.dangerous } : {}),
      })),
    })),
    remove: r.removals.map((x) => ({
      role: idText({
        kind: x.role.kind,
        name: x.role.metadata.name,
        ...(x.role.metadata.namespace ? { namespace: x.role.metadata.namespace } : {}),
      }),
      permissions: x.remove.map(describePermission),
    })),
  };
}

/** A rule with its keys in the order `kubectl get -o yaml` prints them (alphabetical). */
function ordered(r: PolicyRule): PolicyRule {
  return {
    ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
    ...(r.nonResourceURLs ? { nonResourceURLs: r.nonResourceURLs } : {}),
    ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
    ...(r.resources ? { resources: r.resources } : {}),
    verbs: r.verbs,
  };
}

/** A role as the diff shows it: what RBAC reads of it, without the server's bookkeeping. */
function shown(role: AnyRole, rules = role.rules): Record<string, unknown> {
  const m = role.metadata;
  const annotations = Object.fromEntries(
    Object.entries(m.annotations ?? {}).filter(
      ([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration',
    ),
  );
  return {
    apiVersion: role.apiVersion,
    kind: role.kind,
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.labels && Object.keys(m.labels).length ? { labels: m.labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    ...(role.kind === 'ClusterRole' && role.aggregationRule ? { aggregationRule: role.aggregationRule } : {}),
    rules: rules.map(ordered),
  };
}

/** A unified diff per role that had unused permissions: the role as given, then without them. */
export function unusedDiff(r: UnusedReport): string {
  return r.removals
    .map((x) => {
      const name = `${x.role.kind}/${x.role.metadata.namespace ? `${x.role.metadata.namespace}/` : ''}${x.role.metadata.name}`;
      return unifiedDiff(
        stringify(shown(x.role), { lineWidth: 0 }),
        stringify(shown(x.role, x.rules), { lineWidth: 0 }),
        `a/${name}`,
        `b/${name}`,
      );
    })
    .join('');
}

export const unusedYaml = (data: ReturnType<typeof unusedData>): string => stringify(data, { lineWidth: 0 });
