// Leak scanning: finds secrets in audit events that were written without redaction (existing logs, or a
// store imported with --no-redact), and says which events, which paths, which kind of secret, the audit
// policy rule that logged them (when an attribution function is given) and the policy change that stops it.
import type { AuditEvent, EventRecord } from '../core/event.js';
import { RULES, type Redactor } from './redactor.js';
import { ruleCatalog } from './rules.js';

/** Which rule of an audit policy logged an event, and at what level. */
export interface PolicyAttribution {
  /** Index in the policy's rules, or null when no rule matched (the policy would log nothing). */
  rule: number | null;
  level: string;
  /** One-line description of the rule. */
  summary?: string;
  /** Line of the rule in the policy file. */
  line?: number;
}

export interface Leak {
  cluster: string;
  auditID: string;
  stage: string;
  time: string;
  level: string;
  user: string;
  verb: string;
  /** `resource[/subresource]`, with the API group as `group/resource` when not core. */
  resource?: string;
  namespace?: string;
  name?: string;
  /** JSON path of the secret (never its value). */
  path: string;
  /** Id of the redaction rule that recognizes it. */
  rule: string;
  /** What kind of secret it is. */
  kind: string;
  /** The policy rule that logged the event (with --policy). */
  policy?: PolicyAttribution;
  /** Key of the suggested fix in the report's `fixes`. */
  fix: string;
}

export interface LeakFix {
  key: string;
  /** What to change, in words. */
  advice: string;
  /** A policy rule to add (YAML), when a policy change stops the leak. */
  policyRule?: string;
  /** Insert the rule before this rule of the given policy (its index), when known. */
  beforeRule?: number;
  beforeLine?: number;
  leaks: number;
}

export interface ScanReport {
  /** Events scanned. */
  events: number;
  /** Events with at least one leak. */
  eventsWithLeaks: number;
  /** Leaks found (all of them). */
  totalLeaks: number;
  /** Leaks listed (at most `maxLeaks`). */
  leaks: Leak[];
  byRule: Record<string, number>;
  fixes: LeakFix[];
  /** Whether a policy was given to attribute leaks to its rules. */
  policy: boolean;
}

export interface ScanOptions {
  attribute?: (event: AuditEvent) => PolicyAttribution | undefined;
  /** Most leaks kept in the report (all are counted). Default 10,000. */
  maxLeaks?: number;
}

/** Resources whose bodies hold credentials by design: the fix is to log them at Metadata level. */
const CREDENTIAL_RESOURCES = new Set([
  '/secrets',
  '/configmaps',
  '/serviceaccounts/token',
  'authentication.k8s.io/tokenreviews',
  'certificates.k8s.io/certificatesigningrequests',
]);

function policySnippet(group: string, resource: string): string {
  return [
    '- level: Metadata',
    '  resources:',
    `    - group: ${JSON.stringify(group)}${group === '' ? ' # core' : ''}`,
    `      resources: [${JSON.stringify(resource)}]`,
  ].join('\n');
}

export class LeakScanner {
  private readonly redactor: Redactor;
  private readonly opts: ScanOptions;
  private readonly titles: Map<string, string>;
  private events = 0;
  private eventsWithLeaks = 0;
  private total = 0;
  private readonly leaks: Leak[] = [];
  private readonly byRule: Record<string, number> = {};
  private readonly fixes = new Map<string, LeakFix>();

  constructor(redactor: Redactor, opts: ScanOptions = {}) {
    this.redactor = redactor;
    this.opts = opts;
    this.titles = new Map(ruleCatalog(redactor.options).map((r) => [r.id, r.title]));
  }

  /** Scans one event; returns its leaks (also added to the report). */
  scan(record: EventRecord): Leak[] {
    const e = record.event;
    this.events++;
    const findings = this.redactor.inspect(e).filter((f) => f.rule !== RULES.pseudonym);
    if (findings.length === 0) return [];
    this.eventsWithLeaks++;
    const attribution = this.opts.attribute?.(e);
    const ref = e.objectRef;
    const group = ref?.apiGroup ?? '';
    const res = ref?.resource ? `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}` : undefined;
    const out: Leak[] = [];
    for (const f of findings) {
      const fix = this.fixFor(f.path, group, res, attribution);
      const leak: Leak = {
        cluster: record.cluster,
        auditID: e.auditID,
        stage: e.stage,
        time: e.stageTimestamp ?? e.requestReceivedTimestamp,
        level: e.level,
        user: e.user?.username ?? '',
        verb: e.verb,
        ...(res ? { resource: group ? `${group}/${res}` : res } : {}),
        ...(ref?.namespace ? { namespace: ref.namespace } : {}),
        ...(ref?.name ? { name: ref.name } : {}),
        path: f.path,
        rule: f.rule,
        kind: this.titles.get(f.rule) ?? f.rule,
        ...(attribution ? { policy: attribution } : {}),
        fix: fix.key,
      };
      this.total++;
      this.byRule[f.rule] = (this.byRule[f.rule] ?? 0) + 1;
      fix.leaks++;
      if (this.leaks.length < (this.opts.maxLeaks ?? 10_000)) this.leaks.push(leak);
      out.push(leak);
    }
    return out;
  }

  add(batch: readonly EventRecord[]): void {
    for (const r of batch) this.scan(r);
  }

  report(): ScanReport {
    return {
      events: this.events,
      eventsWithLeaks: this.eventsWithLeaks,
      totalLeaks: this.total,
      leaks: this.leaks,
      byRule: { ...this.byRule },
      fixes: [...this.fixes.values()].sort((a, b) => b.leaks - a.leaks),
      policy: this.opts.attribute !== undefined,
    };
  }

  private fixFor(
    path: string,
    group: string,
    res: string | undefined,
    attribution: PolicyAttribution | undefined,
  ): LeakFix {
    const root = /^[A-Za-z]+/.exec(path)?.[0] ?? '';
    let key: string;
    let advice: string;
    let policyRule: string | undefined;
    if ((root === 'requestObject' || root === 'responseObject') && res) {
      const where = group ? `${group}/${res}` : res;
      key = `body:${group}/${res}:${attribution?.rule ?? ''}`;
      policyRule = policySnippet(group, res);
      const by =
        attribution && attribution.rule !== null
          ? ` before rules[${attribution.rule}]${attribution.line ? ` (line ${attribution.line})` : ''}, which logs it at ${attribution.level}`
          : ' before the rule that logs it at Request or RequestResponse level';
      advice = CREDENTIAL_RESOURCES.has(`${group}/${res}`)
        ? `log ${where} at Metadata level: add this rule${by}`
        : `keep credentials out of ${where} (move them into a Secret and reference it, e.g. env valueFrom.secretKeyRef), or log ${where} at Metadata level: add this rule${by}`;
    } else if (root === 'requestObject' || root === 'responseObject') {
      key = `body:?:${attribution?.rule ?? ''}`;
      advice = 'the request carries no object reference; lower the level of the rule that logs its body';
    } else if (root === 'requestURI') {
      key = 'uri';
      advice =
        'a credential in the request URI (query parameter or exec command) is logged at every level from Metadata: pass it another way (a header, a Secret, stdin) instead of on the URL or command line';
    } else if (root === 'annotations') {
      key = 'annotations';
      advice =
        'an audit annotation holds it: the component that adds the annotation (an admission webhook patch, an authorizer) wrote the value; fix that component';
    } else {
      key = `client:${root}`;
      advice = `the ${root || 'event'} field holds it: no policy level removes it; the client (or server) that wrote it must stop sending credentials there`;
    }
    let fix = this.fixes.get(key);
    if (!fix) {
      fix = {
        key,
        advice,
        ...(policyRule ? { policyRule } : {}),
        ...(attribution && attribution.rule !== null && policyRule ? { beforeRule: attribution.rule } : {}),
        ...(attribution?.line && policyRule ? { beforeLine: attribution.line } : {}),
        leaks: 0,
      };
      this.fixes.set(key, fix);
    }
    return fix;
  }
}
