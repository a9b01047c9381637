// Alert outputs: JSON lines on standard output or appended to a file, a generic webhook (one JSON alert
// per POST), a Slack incoming webhook and Prometheus Alertmanager's v2 API. An output is named by a spec
// (`stdout`, `file:PATH`, `webhook:URL`, `slack:URL`, `alertmanager:URL`); the spec is also its identity in
// the outbox, so deliveries owed before a restart go to the same place after it. A delivery that fails
// throws KT_ALERT_OUTPUT and is retried by the outbox.
import { appendFile } from 'node:fs/promises';
import { KubetrailError } from '../core/errors.js';
import { SEVERITIES, type Alert, type Severity } from './types.js';

export interface AlertOutput {
  /** The spec, as given: also the output's identity in the outbox. */
  readonly name: string;
  readonly minSeverity: Severity;
  /** Alerts sent per call at most. */
  readonly batch: number;
  /** Attempts before a delivery is given up (default: the outbox's); Infinity retries for ever. */
  readonly maxAttempts?: number;
  send(alerts: readonly Alert[]): Promise<void>;
}

export const OUTPUT_KINDS = ['stdout', 'file', 'webhook', 'slack', 'alertmanager'] as const;

export interface OutputOptions {
  minSeverity?: Severity;
  /** Where `stdout` writes (the CLI's output). */
  write?: (text: string) => void;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

/** One alert as a JSON line: the documented machine format. */
export function alertJson(a: Alert): string {
  return JSON.stringify({
    id: a.id,
    rule: a.rule,
    title: a.title,
    severity: a.severity,
    time: a.time,
    cluster: a.cluster,
    auditIDs: a.auditIDs,
    message: a.message,
    references: a.references,
    key: a.key,
    count: a.count,
  });
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '…';
      u.password = '';
    }
    // Slack-style secrets live in the path: keep only its start.
    if (u.pathname.length > 16) u.pathname = `${u.pathname.slice(0, 16)}…`;
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

async function post(url: string, body: unknown, timeoutMs: number, what: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'kubetrail' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new KubetrailError('KT_ALERT_OUTPUT', `${what} ${redactUrl(url)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    throw new KubetrailError(
      'KT_ALERT_OUTPUT',
      `${what} ${redactUrl(url)} answered ${res.status}: ${text.slice(0, 200)}`,
    );
  }
}

const SLACK_COLORS: Record<Severity, string> = {
  info: '#9e9e9e',
  low: '#2196f3',
  medium: '#ff9800',
  high: '#f44336',
  critical: '#8e0000',
};

/** The Slack incoming-webhook message for one alert. */
export function slackMessage(a: Alert): Record<string, unknown> {
  return {
    text: `[${a.severity.toUpperCase()}] ${a.title}: ${a.message}`,
    attachments: [
      {
        color: SLACK_COLORS[a.severity],
        title: a.title,
        text: a.message,
        fields: [
          { title: 'Rule', value: a.rule, short: true },
          { title: 'Severity', value: a.severity, short: true },
          { title: 'Cluster', value: a.cluster || '-', short: true },
          { title: 'Time', value: a.time, short: true },
          { title: 'Audit IDs', value: a.auditIDs.slice(0, 10).join('\n'), short: false },
          { title: 'References', value: a.references.join(', ') || '-', short: false },
        ],
      },
    ],
  };
}

/** The Alertmanager v2 alert for one kubetrail alert. */
export function alertmanagerAlert(a: Alert): Record<string, unknown> {
  return {
    labels: {
      alertname: a.rule,
      severity: a.severity,
      cluster: a.cluster || 'default',
      source: 'kubetrail',
      alert_id: a.id,
    },
    annotations: {
      summary: a.title,
      description: a.message,
      audit_ids: a.auditIDs.join(','),
      references: a.references.join(','),
    },
    startsAt: a.time,
  };
}

/** Builds an output from its spec; KT_USAGE for a spec that names no known output. */
export function createOutput(spec: string, opts: OutputOptions = {}): AlertOutput {
  const minSeverity = opts.minSeverity ?? 'low';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? '' : spec.slice(colon + 1);
  const needUrl = () => {
    if (!/^https?:\/\//.test(target))
      throw new KubetrailError(
        'KT_USAGE',
        `alert output ${kind} needs an http(s) URL, as in ${kind}:https://host/path`,
        {
          where: { path: '--alert-output' },
        },
      );
  };
  switch (kind) {
    case 'stdout': {
      const write = opts.write ?? ((t: string) => void process.stdout.write(t));
      return {
        name: 'stdout',
        minSeverity,
        batch: 500,
        send: async (alerts) => write(alerts.map((a) => `${alertJson(a)}\n`).join('')),
      };
    }
    case 'file':
      if (!target)
        throw new KubetrailError(
          'KT_USAGE',
          'alert output file needs a path, as in file:/var/log/kubetrail-alerts.jsonl',
          {
            where: { path: '--alert-output' },
          },
        );
      return {
        name: spec,
        minSeverity,
        batch: 500,
        send: async (alerts) => {
          try {
            await appendFile(target, alerts.map((a) => `${alertJson(a)}\n`).join(''));
          } catch (err) {
            throw new KubetrailError(
              'KT_ALERT_OUTPUT',
              `cannot append to ${target}: ${(err as Error).message}`,
              {
                cause: err,
              },
            );
          }
        },
      };
    case 'webhook':
      needUrl();
      return {
        name: spec,
        minSeverity,
        batch: 1,
        send: async (alerts) => {
          for (const a of alerts) await post(target, JSON.parse(alertJson(a)), timeoutMs, 'webhook');
        },
      };
    case 'slack':
      needUrl();
      return {
        name: spec,
        minSeverity,
        batch: 1,
        send: async (alerts) => {
          for (const a of alerts) await post(target, slackMessage(a), timeoutMs, 'Slack webhook');
        },
      };
    case 'alertmanager': {
      needUrl();
      const url = `${target.replace(/\/+$/, '')}${/\/api\/v2\/alerts$/.test(target) ? '' : '/api/v2/alerts'}`;
      return {
        name: spec,
        minSeverity,
        batch: 100,
        send: async (alerts) => post(url, alerts.map(alertmanagerAlert), timeoutMs, 'Alertmanager'),
      };
    }
    default:
      throw new KubetrailError(
        'KT_USAGE',
        `unknown alert output ${JSON.stringify(kind)}; use one of ${OUTPUT_KINDS.join(', ')} (e.g. slack:https://hooks.slack.com/…)`,
        { where: { path: '--alert-output' } },
      );
  }
}

export function parseSeverity(text: string, flag: string): Severity {
  if ((SEVERITIES as readonly string[]).includes(text)) return text as Severity;
  throw new KubetrailError(
    'KT_USAGE',
    `${flag} must be one of ${SEVERITIES.join(', ')}, not ${JSON.stringify(text)}`,
    {
      where: { path: flag },
    },
  );
}
