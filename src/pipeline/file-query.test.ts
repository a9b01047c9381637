// `query --file` with DuckDB narrowing each file must give exactly what the JavaScript reader gives: the
// same matches in the same order, the same count, and the same records set aside (file, line, reason), for
// a table of filters over the real corpus, generated events, gzip, every input shape, malformed and hostile
// lines; and the files it can read with DuckDB must be read that way.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../core/event.js';
import { generateEvents } from '../generate/index.js';
import { createMemoryQuarantine, type BadRecord } from '../ingest/index.js';
import { parseQuery } from '../query/index.js';
import { redactTransform } from '../redact/index.js';
import { makeEvent } from '../test-support/events.js';
import { corpusPath } from '../test-support/requirements.js';
import { queryFiles, type FileRead } from './file-query.js';

const NOW = Date.UTC(2026, 10, 2);
const corpus = corpusPath();
let dir: string;
const line = (v: unknown) => JSON.stringify(v);

const base = makeEvent({ verb: 'delete', auditID: 'a-1' });
const ev = (o: Partial<AuditEvent> & Record<string, unknown>) => ({ ...makeEvent(), ...o });

/** Every line valid JSON, in every shape: DuckDB reads the file, the JavaScript reader decides each one. */
const SHAPES = [
  line(base),
  '',
  '   ',
  line({ ...base, apiVersion: 'audit.k8s.io/v1beta1', auditID: 'b-1', timestamp: base.stageTimestamp }),
  line({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [ev({ auditID: 'l-1' }), { verb: 3 }] }),
  line({ logEvents: [{ id: '1', timestamp: 1, message: line(ev({ auditID: 'eks-1', verb: 'create' })) }] }),
  line({ records: [{ category: 'kube-audit', properties: { log: line(ev({ auditID: 'aks-1' })) } }] }),
  line({
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      authenticationInfo: { principalEmail: 'dev@example.com' },
      methodName: 'io.k8s.core.v1.secrets.delete',
      resourceName: 'core/v1/namespaces/prod/secrets/db',
      requestMetadata: { callerIp: '10.0.0.1' },
      status: {},
    },
    operation: { id: 'op-1' },
    timestamp: '2026-11-01T10:00:00.000000Z',
  }),
  line({ kind: 0 }),
  line(ev({ auditID: 'v-5', verb: 5 as unknown as string })),
  line(ev({ auditID: 'ip-null', sourceIPs: null as unknown as string[] })),
  line({ ...ev({ auditID: 'no-ips' }), sourceIPs: undefined }),
  `${line(ev({ auditID: 'crlf', verb: 'patch' }))}\r`,
  line(ev({ auditID: 'uri-q', requestURI: '/api/v1/pods?token=abcdefabcdef0123456789', verb: 'list' })),
  line(ev({ auditID: 'ua', userAgent: 'curl Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' })),
  line(
    ev({
      auditID: 'sec',
      verb: 'create',
      objectRef: { resource: 'secrets', namespace: 'prod', name: 'db', apiVersion: 'v1' },
      requestObject: { kind: 'Secret', apiVersion: 'v1', data: { password: 'aHVudGVyMg==' } },
    }),
  ),
  line({ ...ev({ auditID: '' }), auditID: undefined }),
  line(ev({ auditID: 'user5', user: { username: 5 as unknown as string, groups: ['devs'] } })),
  line(ev({ auditID: 'ref5', objectRef: { resource: 5 as unknown as string, namespace: '' } })),
  line(ev({ auditID: 'code-str', responseStatus: { code: '403' as unknown as number } })),
  line(ev({ auditID: 'ts-bad', stageTimestamp: '2026-13-01T00:00:00.000000Z' })),
  line(ev({ auditID: 'ts-other', stageTimestamp: '2026-11-01T10:00:00Z' })),
  line(ev({ auditID: 'é-ü', user: { username: 'ÄLICE', groups: [] }, verb: 'get' })),
  line({ ...ev({ auditID: 'records-str' }), records: 'x' }),
  line({ ...ev({ auditID: 'annot' }), annotations: { 'authorization.k8s.io/decision': 'forbid', x: 'a' } }),
  'null',
  line(ev({ auditID: 'last', verb: 'get' })),
].join('\n');

function writeInputs(): void {
  dir = mkdtempSync(path.join(tmpdir(), 'kt-file-query-'));
  const events = generateEvents({
    seed: 7,
    start: Date.UTC(2026, 10, 1),
    durationMs: 86_400_000,
    count: 1000,
  });
  const gen = `${[...events].map((e) => line(e)).join('\n')}\n`;
  writeFileSync(path.join(dir, 'gen.jsonl'), gen);
  writeFileSync(path.join(dir, 'gen-copy.json.gz'), gzipSync(gen));
  writeFileSync(path.join(dir, 'shapes.jsonl'), SHAPES);
  // The path is a bound parameter: quotes in it are only characters.
  writeFileSync(
    path.join(dir, `it's "x"'); --.jsonl`),
    `${line(ev({ auditID: 'quoted', verb: 'delete' }))}\n`,
  );
  // Not JSON, a truncated last record: the JavaScript reader reads these files.
  writeFileSync(
    path.join(dir, 'malformed.jsonl'),
    `${line(base)}\nnot json\n42\n[1, 2]\n${line(ev({ auditID: 'm' }))}\n{"verb":`,
  );
  // A key twice: JSON.parse keeps the last value, DuckDB refuses the line.
  writeFileSync(
    path.join(dir, 'duplicate.jsonl'),
    `${line(base)}\n${line(ev({ auditID: 'dup' })).replace('"verb":"get"', '"verb":"get","verb":"delete"')}\n`,
  );
  writeFileSync(
    path.join(dir, 'pretty.json'),
    JSON.stringify(
      { kind: 'EventList', items: [ev({ auditID: 'p-1' }), ev({ auditID: 'p-2', verb: 'delete' })] },
      null,
      2,
    ),
  );
  // Leniencies of DuckDB's reader that JSON.parse refuses, on the first line: read by JavaScript.
  writeFileSync(path.join(dir, 'lenient-first.jsonl'), `{"verb":"get",}\n${line(base)}\n`);
}

const FILTERS = [
  'verb:delete resource:secrets',
  '-verb:get',
  'NOT (verb:list OR verb:watch) ns:kube-system',
  'user:system:serviceaccount:* -ns:kube-system code>=400',
  '-code:200 latency>100ms',
  'name:db* OR reason:Forbidden OR ip:10.0.0.*',
  'alice',
  'requestObject.kind:Secret',
  'annotations.authorization.k8s.io/decision:forbid',
  '-annotations.kubetrail.io/redacted:*',
  'time>=2026-11-01T12:00:00Z',
  '-ns:*',
  'uri:/api/v1/* -uri:*token*',
  'uri:*REDACTED*',
  'stage:ResponseComplete -level:Metadata',
  '-cluster:default',
  'user:ÄLICE',
  '*',
];

type Run = { records: string[]; matched: number; bad: BadRecord[]; files: { file: string; how: FileRead }[] };

async function run(
  filter: string,
  duckdb: boolean,
  extra: { since?: number; until?: number } = {},
): Promise<Run> {
  const quarantine = createMemoryQuarantine();
  const bad: BadRecord[] = [];
  const inputs = [dir, ...(corpus ? [corpus] : [])].flatMap((d) =>
    d === dir
      ? [d]
      : readdirSync(d)
          .map((sub) => path.join(d, sub))
          .filter((p) => !p.endsWith('.md')),
  );
  const r = await queryFiles({
    inputs,
    filter: parseQuery(filter),
    limit: 5000,
    order: 'desc',
    cluster: 'default',
    quarantine: { ...quarantine, add: (b) => void bad.push(b), count: 0, samples: [] },
    redaction: redactTransform(),
    duckdb,
    now: NOW,
    ...extra,
  });
  return { records: r.records.map((x) => line(x)), matched: r.matched, bad, files: r.files };
}

describe('query --file with DuckDB', () => {
  beforeAll(writeInputs);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(FILTERS)(
    'finds what the JavaScript reader finds: %s',
    async (filter) => {
      const [duck, js] = [await run(filter, true), await run(filter, false)];
      expect(duck.records).toEqual(js.records);
      expect(duck.matched).toBe(js.matched);
      expect(duck.bad.map((b) => [b.file, b.line, b.reason])).toEqual(
        js.bad.map((b) => [b.file, b.line, b.reason]),
      );
    },
    60_000,
  );

  it('applies the time range the same way', async () => {
    const range = { since: Date.UTC(2026, 10, 1, 6) * 1000, until: Date.UTC(2026, 10, 1, 9) * 1000 };
    const [duck, js] = [await run('-verb:watch', true, range), await run('-verb:watch', false, range)];
    expect(duck.records).toEqual(js.records);
    expect(duck.matched).toBe(js.matched);
    expect(duck.matched).toBeGreaterThan(0);
  }, 60_000);

  it('reads with DuckDB what it can, and the rest with JavaScript', async () => {
    const { files, matched } = await run('verb:delete', true);
    const how = Object.fromEntries(files.map((f) => [path.basename(f.file), f.how.path]));
    expect(matched).toBeGreaterThan(0);
    expect(how).toMatchObject({
      'gen.jsonl': 'duckdb',
      'gen-copy.json.gz': 'duckdb',
      'shapes.jsonl': 'duckdb',
      'malformed.jsonl': 'js',
      'duplicate.jsonl': 'js',
      'pretty.json': 'js',
      'lenient-first.jsonl': 'js',
      [`it's "x"'); --.jsonl`]: 'duckdb',
    });
    const gen = files.find((f) => path.basename(f.file) === 'gen.jsonl')!.how;
    // The narrowing works: far fewer candidates than lines.
    expect(gen.path === 'duckdb' && gen.candidates < gen.lines / 5).toBe(true);
  }, 60_000);
});
