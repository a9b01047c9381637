// The Grafana dashboards of grafana/dashboards/ against the real thing (docs/grafana.md): a collector is
// started in process on a real ClickHouse store (src/test-support/clickhouse.ts) and fed webhook batches
// that make every panel show something (changes, denied requests, Secrets, an alert). Then every metric
// a PromQL expression names must be in that server's /metrics, and every SQL query (panels and template
// variables) must run on the ClickHouse and return rows, once Grafana's macros and variables are
// substituted the way Grafana and the ClickHouse data source plugin do (`substitute` below).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from './config/schema.js';
import type { AuditEvent } from './core/event.js';
import { startCollector, type Collector } from './server/collector.js';
import { startTestClickHouse, type TestClickHouse } from './test-support/clickhouse.js';
import { execEvent, makeEvent } from './test-support/events.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dashboardDir = path.join(root, 'grafana', 'dashboards');

interface Target {
  expr?: string;
  rawSql?: string;
  editorType?: string;
  format?: number;
}
interface Panel {
  id?: number;
  title: string;
  type: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { rawSql?: string; query?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

function dashboards(): { file: string; d: Dashboard }[] {
  return readdirSync(dashboardDir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({
      file,
      d: JSON.parse(readFileSync(path.join(dashboardDir, file), 'utf8')) as Dashboard,
    }));
}

function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query of a dashboard, with where it is (panel title or variable name). */
function queries(d: Dashboard): { where: string; kind: 'promql' | 'sql'; text: string }[] {
  const out: { where: string; kind: 'promql' | 'sql'; text: string }[] = [];
  for (const p of panelsOf(d))
    for (const t of p.targets ?? []) {
      if (t.expr !== undefined) out.push({ where: `panel "${p.title}"`, kind: 'promql', text: t.expr });
      if (t.rawSql !== undefined) out.push({ where: `panel "${p.title}"`, kind: 'sql', text: t.rawSql });
    }
  for (const v of d.templating.list) {
    if (v.type !== 'query' || v.query === undefined) continue;
    const q = v.query;
    if (typeof q === 'string') out.push({ where: `variable ${v.name}`, kind: 'promql', text: q });
    else if (q.rawSql !== undefined) out.push({ where: `variable ${v.name}`, kind: 'sql', text: q.rawSql });
    else if (q.query !== undefined) out.push({ where: `variable ${v.name}`, kind: 'promql', text: q.query });
  }
  return out;
}

// --- PromQL: the metric names an expression reads

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names of a PromQL expression (or of a `label_values(METRIC, label)` variable query):
 * identifiers that are not functions, keywords, label names of grouping clauses, or inside label
 * matchers, strings or range selectors.
 */
export function promqlMetrics(expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([A-Za-z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1]!];
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of text.matchAll(/[A-Za-z_:][\w:]*(?=\s*(\()?)/g)) {
    if (m[1] === '(' || PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** The names /metrics exposes: each family, with the series a histogram or summary is made of. */
export function exposedMetrics(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

// --- SQL: Grafana's and the ClickHouse plugin's substitutions

export interface Substitution {
  /** The time range, epoch milliseconds. */
  from: number;
  to: number;
  /** $__interval_s. */
  intervalSeconds: number;
  /** Template variables; a list is a multi-value selection; `all` is the "All" choice. */
  vars: Record<string, string | string[] | { all: true }>;
}

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The index of the parenthesis that closes the one at `open`, ignoring quoted text. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i = text.indexOf("'", i + 1);
      if (i < 0) break;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses after ${JSON.stringify(text.slice(open, open + 40))}`);
}

/** The last comma of `args` outside parentheses and quotes. */
function lastTopLevelComma(args: string): number {
  let depth = 0;
  let last = -1;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (c === "'") i = args.indexOf("'", i + 1);
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) last = i;
  }
  return last;
}

/**
 * A dashboard's SQL as the ClickHouse server receives it:
 * - Grafana's global variables `${__from}` and `${__to}` become epoch milliseconds;
 * - the plugin's macros: `$__fromTime`/`$__toTime` become `toDateTime(SECONDS)`, `$__timeFilter(col)`
 *   `col >= toDateTime(FROM) AND col <= toDateTime(TO)`, `$__interval_s` the interval in seconds,
 *   `$__timeInterval(col)` `toStartOfInterval(toDateTime(col), INTERVAL N second)`, and
 *   `$__conditionalAll(CONDITION, $var)` becomes `1=1` when the variable is "All", else CONDITION;
 * - template variables: `${var:singlequote}` a comma-separated list of quoted values, `${var}` and
 *   `$var` the values separated by commas.
 * Anything else that starts with `$` is left, and the caller refuses it.
 */
export function substitute(sql: string, s: Substitution): string {
  let out = sql;
  for (let at = out.indexOf('$__conditionalAll('); at >= 0; at = out.indexOf('$__conditionalAll(')) {
    const open = at + '$__conditionalAll'.length;
    const close = closing(out, open);
    const args = out.slice(open + 1, close);
    const comma = lastTopLevelComma(args);
    if (comma < 0) throw new Error('$__conditionalAll takes a condition and a variable');
    const variable = args
      .slice(comma + 1)
      .trim()
      .replace(/^\$\{?(\w+)\}?$/, '$1');
    const value = s.vars[variable];
    if (value === undefined) throw new Error(`no value for the variable ${variable}`);
    const all = typeof value === 'object' && 'all' in value;
    out = out.slice(0, at) + (all ? '1=1' : args.slice(0, comma).trim()) + out.slice(close + 1);
  }
  const fromS = Math.floor(s.from / 1000);
  const toS = Math.floor(s.to / 1000);
  out = out
    .replace(/\$\{__from\}/g, String(s.from))
    .replace(/\$\{__to\}/g, String(s.to))
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_m, c: string) => {
      const col = c.trim();
      return `${col} >= toDateTime(${fromS}) AND ${col} <= toDateTime(${toS})`;
    })
    .replace(
      /\$__timeInterval\(([^)]+)\)/g,
      (_m, c: string) => `toStartOfInterval(toDateTime(${c.trim()}), INTERVAL ${s.intervalSeconds} second)`,
    )
    .replace(/\$__fromTime\b/g, `toDateTime(${fromS})`)
    .replace(/\$__toTime\b/g, `toDateTime(${toS})`)
    .replace(/\$__interval_s\b/g, String(s.intervalSeconds));
  const values = (name: string): string[] => {
    const v = s.vars[name];
    if (v === undefined) throw new Error(`no value for the variable ${name}`);
    if (typeof v === 'object' && 'all' in v) throw new Error(`${name} is "All" outside $__conditionalAll`);
    return Array.isArray(v) ? v : [v];
  };
  out = out
    .replace(/\$\{(\w+):singlequote\}/g, (_m, name: string) => values(name).map(quote).join(','))
    .replace(/\$\{(\w+)\}/g, (_m, name: string) => values(name).join(','))
    .replace(/\$([A-Za-z]\w*)/g, (_m, name: string) => values(name).join(','));
  return out;
}

describe('dashboard helpers', () => {
  it('reads the metric names of PromQL expressions', () => {
    expect(
      promqlMetrics(
        'histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{instance=~"$instance",x="y"}[$__rate_interval])))',
      ),
    ).toEqual(['a_seconds_bucket']);
    expect(promqlMetrics('max(a{i="1"} / b{i="1"}) or vector(0)')).toEqual(['a', 'b']);
    expect(promqlMetrics('sum by (source) (rate(c_total[5m])) > bool 0')).toEqual(['c_total']);
    expect(promqlMetrics('label_values(kubetrail_queue_events, instance)')).toEqual([
      'kubetrail_queue_events',
    ]);
  });
  it('knows the series of a histogram', () => {
    const names = exposedMetrics('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 0\n# TYPE c counter\n');
    expect([...names].sort()).toEqual(['c', 'h', 'h_bucket', 'h_count', 'h_sum']);
  });
  it('substitutes macros and variables as Grafana and the plugin do', () => {
    const s: Substitution = {
      from: 1_700_000_000_123,
      to: 1_700_003_600_456,
      intervalSeconds: 60,
      vars: { database: 'kt', cluster: ['a', "o'k"], all: { all: true } },
    };
    expect(
      substitute(
        "SELECT ${__from}, $__interval_s FROM ${database}.events WHERE $__conditionalAll(cluster IN (${cluster:singlequote}), $cluster) AND $__conditionalAll(f(x, 'a,b'), $all) AND $__timeFilter(t)",
        s,
      ),
    ).toBe(
      "SELECT 1700000000123, 60 FROM kt.events WHERE cluster IN ('a','o\\'k') AND 1=1 AND t >= toDateTime(1700000000) AND t <= toDateTime(1700003600)",
    );
    expect(() => substitute('SELECT $nope', s)).toThrow(/nope/);
  });
});

describe('the dashboards and their provisioning', () => {
  const provisioned = parseYaml(
    readFileSync(path.join(root, 'grafana/provisioning/datasources/kubetrail.yaml'), 'utf8'),
  ) as { datasources: { type: string; jsonData?: Record<string, unknown> }[] };

  it('each dashboard has a unique uid, unique panel ids and a description on every panel', () => {
    const all = dashboards();
    expect(all.map((x) => x.d.uid).sort()).toEqual(['kubetrail-activity', 'kubetrail-collector']);
    for (const { file, d } of all) {
      const panels = panelsOf(d);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const p of panels.filter((x) => x.type !== 'row'))
        expect(p.description, `${file}: ${p.title}`).toBeTruthy();
      // Panels lie on Grafana's 24-column grid without overlapping.
      const taken = new Map<string, string>();
      for (const p of panels) {
        const g = p.gridPos;
        expect(g.x + g.w, `${file}: ${p.title}`).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++)
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(taken.get(`${x},${y}`), `${file}: ${p.title} overlaps`).toBeUndefined();
            taken.set(`${x},${y}`, p.title);
          }
      }
    }
  });

  it('panels use the data source variable of a provisioned type; SQL targets use the SQL editor', () => {
    const types = new Set(provisioned.datasources.map((x) => x.type));
    for (const { file, d } of dashboards()) {
      const dsVariable = d.templating.list.find((v) => v.type === 'datasource') as Variable & {
        query: string;
      };
      expect(types.has(dsVariable.query), file).toBe(true);
      for (const p of panelsOf(d).filter((x) => x.type !== 'row')) {
        expect(p.datasource, `${file}: ${p.title}`).toEqual({ type: dsVariable.query, uid: '${datasource}' });
        for (const t of p.targets ?? []) {
          if (t.rawSql === undefined) continue;
          expect(t.editorType, `${file}: ${p.title}`).toBe('sql');
          // 0: time series (a time column first), 1: table.
          expect([0, 1], `${file}: ${p.title}`).toContain(t.format);
          if (p.type === 'timeseries') expect(t.format).toBe(0);
          if (t.format === 0) expect(t.rawSql, `${file}: ${p.title}`).toMatch(/^SELECT .*? AS time,/);
        }
      }
    }
    const ch = provisioned.datasources.find((x) => x.type === 'grafana-clickhouse-datasource')!;
    expect(ch.jsonData).toMatchObject({ protocol: 'http', port: 8123 });
  });

  it('the dashboard provider and the ConfigMap generator carry every dashboard', () => {
    const provider = parseYaml(
      readFileSync(path.join(root, 'grafana/provisioning/dashboards/kubetrail.yaml'), 'utf8'),
    ) as { providers: { type: string; options: { path: string } }[] };
    expect(provider.providers[0]).toMatchObject({ type: 'file' });
    const k = parseYaml(readFileSync(path.join(root, 'grafana/kustomization.yaml'), 'utf8')) as {
      configMapGenerator: { files: string[] }[];
      generatorOptions: { labels: Record<string, string> };
    };
    expect(k.generatorOptions.labels.grafana_dashboard).toBe('1');
    expect(k.configMapGenerator.flatMap((g) => g.files).sort()).toEqual(
      dashboards()
        .map((x) => `dashboards/${x.file}`)
        .sort(),
    );
  });
});

// --- the real server and the real ClickHouse

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
/** Events that give every panel something to show, at T0 plus a few seconds each. */
function fixtureEvents(): AuditEvent[] {
  let n = 0;
  const at = (e: AuditEvent): AuditEvent => {
    const t = new Date(T0 + ++n * 1000).toISOString().replace('Z', '000Z');
    return { ...e, requestReceivedTimestamp: t, stageTimestamp: t };
  };
  return [
    makeEvent(),
    makeEvent({
      verb: 'create',
      requestURI: '/apis/apps/v1/namespaces/shop/deployments',
      objectRef: {
        resource: 'deployments',
        namespace: 'shop',
        name: 'web',
        apiGroup: 'apps',
        apiVersion: 'v1',
      },
      responseStatus: { code: 201 },
    }),
    makeEvent({
      verb: 'delete',
      user: { username: 'bob', groups: ['system:authenticated'] },
      requestURI: '/api/v1/namespaces/shop/configmaps/settings',
      objectRef: { resource: 'configmaps', namespace: 'shop', name: 'settings', apiVersion: 'v1' },
    }),
    makeEvent({
      verb: 'get',
      user: { username: 'ci-bot', groups: ['system:authenticated'] },
      requestURI: '/api/v1/namespaces/shop/secrets/db-password',
      objectRef: { resource: 'secrets', namespace: 'shop', name: 'db-password', apiVersion: 'v1' },
    }),
    makeEvent({
      verb: 'get',
      user: { username: 'mallory', groups: ['system:authenticated'] },
      requestURI: '/api/v1/namespaces/kube-system/secrets/admin-token',
      objectRef: { resource: 'secrets', namespace: 'kube-system', name: 'admin-token', apiVersion: 'v1' },
      responseStatus: {
        code: 403,
        reason: 'Forbidden',
        message: 'secrets "admin-token" is forbidden: User "mallory" cannot get resource "secrets"',
      },
      annotations: {
        'authorization.k8s.io/decision': 'forbid',
        'authorization.k8s.io/reason': '',
      },
    }),
    makeEvent({
      stage: 'ResponseStarted',
      verb: 'list',
      user: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
      requestURI: '/api/v1/pods',
      objectRef: { resource: 'pods', apiVersion: 'v1' },
      responseStatus: { code: 401 },
      annotations: {},
    }),
    execEvent({
      objectRef: { resource: 'pods', subresource: 'exec', namespace: 'kube-system', name: 'coredns-1' },
      requestURI: '/api/v1/namespaces/kube-system/pods/coredns-1/exec?command=sh&stdin=true&tty=true',
    }),
  ].map(at);
}

let ch: TestClickHouse;
let collector: Collector;
let dataDir: string;
let database: string;

async function clickhouse(sql: string): Promise<{ status: number; text: string }> {
  const res = await fetch(ch.httpUrl, { method: 'POST', body: sql });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  ch = await startTestClickHouse();
  const location = ch.location('kt_grafana');
  database = new URL(location).pathname.slice(1);
  dataDir = mkdtempSync(path.join(tmpdir(), 'kt-grafana-'));
  const config = configSchema.parse({
    dataDir,
    db: location,
    listen: '127.0.0.1:0',
    autodetect: false,
    webhook: { acknowledge: 'store' },
    // A forwarder, so that its metrics are in /metrics (they exist only for configured forwarders).
    forward: [{ spec: `file:${path.join(dataDir, 'forwarded.ndjson')}` }],
  });
  collector = await startCollector({ config, logger: pino({ level: 'silent' }) });
  const post = async (cluster: string, items: AuditEvent[]) => {
    const res = await fetch(`${collector.url}/webhook/${cluster}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const events = fixtureEvents();
  await post('prod', events);
  await post('prod', events.slice(0, 2)); // resent: counted as duplicates
  await post('staging', [makeEvent({ stageTimestamp: new Date(T0 + 60_000).toISOString() })]);
  // A batch that is not JSON, and one refused for its content type: quarantine and refusal counters.
  await fetch(`${collector.url}/webhook/prod`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"items": [',
  });
  await fetch(`${collector.url}/webhook/prod`, { method: 'POST', body: 'x' });
  // The alert reaches ClickHouse through the detection outbox, after the batch is stored.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await clickhouse(`SELECT count() FROM ${database}.kt_alerts`);
    if (r.status === 200 && Number(r.text.trim()) > 0) break;
    if (Date.now() > deadline) throw new Error(`no alert reached ClickHouse: ${r.text}`);
    await new Promise((res) => setTimeout(res, 200));
  }
});

afterAll(async () => {
  await collector?.close();
  await ch?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the dashboards against a running kubetrail', () => {
  it('every metric a dashboard reads is in /metrics', async () => {
    const text = await (await fetch(`${collector.url}/metrics`)).text();
    const exposed = exposedMetrics(text);
    const missing: string[] = [];
    let checked = 0;
    for (const { file, d } of dashboards())
      for (const q of queries(d).filter((x) => x.kind === 'promql'))
        for (const name of promqlMetrics(q.text)) {
          checked++;
          if (!exposed.has(name)) missing.push(`${file}, ${q.where}: ${name}`);
        }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(30);
    // The fixture made the counters the ingest panels read move.
    expect(text).toMatch(/^kubetrail_events_stored_total\{source="webhook:prod"\} [1-9]/m);
    expect(text).toMatch(/^kubetrail_events_duplicates_total\{source="webhook:prod"\} [1-9]/m);
    expect(text).toMatch(/^kubetrail_webhook_rejected_total\{reason="bad_request"\} [1-9]/m);
    expect(text).toMatch(/^kubetrail_forward_queue_capacity_bytes\{forwarder="[^"]+",kind="file"\} [1-9]/m);
  });

  it('a metric that /metrics lacks is reported', async () => {
    const exposed = exposedMetrics(await (await fetch(`${collector.url}/metrics`)).text());
    const names = promqlMetrics('sum(rate(kubetrail_no_such_total[5m])) / sum(kubetrail_queue_events)');
    expect(names.filter((n) => !exposed.has(n))).toEqual(['kubetrail_no_such_total']);
  });

  const range = { from: Date.UTC(2024, 4, 1), to: Date.UTC(2024, 4, 2) - 1, intervalSeconds: 60 };
  for (const clusters of [{ all: true } as const, ['prod']]) {
    it(`every SQL query runs on ClickHouse and returns rows (cluster ${JSON.stringify(clusters)})`, async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const { file, d } of dashboards())
        for (const q of queries(d).filter((x) => x.kind === 'sql')) {
          const sql = substitute(q.text, { ...range, vars: { database, cluster: clusters } });
          expect(sql, `${file}, ${q.where}`).not.toMatch(/\$/);
          checked++;
          const r = await clickhouse(`${sql}\nFORMAT JSONCompact`);
          if (r.status !== 200) {
            failures.push(`${file}, ${q.where}: ${r.text.slice(0, 300)}`);
            continue;
          }
          const rows = (JSON.parse(r.text) as { data: unknown[][] }).data;
          // Every panel has something to show for the fixture: rows, and a count above zero.
          const empty =
            rows.length === 0 || (rows.length === 1 && rows[0]!.length === 1 && Number(rows[0]![0]) === 0);
          if (empty) failures.push(`${file}, ${q.where}: no rows`);
        }
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThan(10);
    });
  }

  it('the database variable finds the store, the cluster variable its clusters', async () => {
    const { d } = dashboards().find((x) => x.d.uid === 'kubetrail-activity')!;
    const variable = (name: string) =>
      (d.templating.list.find((v) => v.name === name)!.query as { rawSql: string }).rawSql;
    const db = await clickhouse(
      `${substitute(variable('database'), { ...range, vars: {} })} FORMAT JSONCompact`,
    );
    expect((JSON.parse(db.text) as { data: string[][] }).data.flat()).toContain(database);
    const cl = await clickhouse(
      `${substitute(variable('cluster'), { ...range, vars: { database } })} FORMAT JSONCompact`,
    );
    expect((JSON.parse(cl.text) as { data: string[][] }).data.flat()).toEqual(['prod', 'staging']);
  });
});
