import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { makeEvent } from '../test-support/events.js';
import { orderLogFiles } from './files.js';
import { createMemoryQuarantine } from './quarantine.js';
import { readEvents, type ReadOptions } from './read.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-ingest-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(inputs: string[], opts: ReadOptions = {}): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for await (const b of readEvents(inputs, opts)) out.push(...b);
  return out;
}

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

const e1 = makeEvent({ verb: 'create' });
const e2 = makeEvent({ verb: 'delete' });
const e3 = makeEvent({ verb: 'list' });
const lines = (...evs: object[]) => evs.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe('readEvents: input shapes', () => {
  it('reads JSON lines, with CRLF, a BOM, blank lines and no final newline', async () => {
    const text = '\uFEFF' + JSON.stringify(e1) + '\r\n\r\n' + JSON.stringify(e2) + '\n' + JSON.stringify(e3);
    const got = await readAll([file('a.log', text)]);
    expect(got.map((r) => r.event.verb)).toEqual(['create', 'delete', 'list']);
    expect(got[0]!.cluster).toBe('default');
  });

  it('reads a single pretty-printed event and a pretty-printed EventList', async () => {
    expect(
      (await readAll([file('one.json', JSON.stringify(e1, null, 2))])).map((r) => r.event.auditID),
    ).toEqual([e1.auditID]);
    const list = {
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      items: [e1, e2].map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
    };
    const got = await readAll([file('list.json', JSON.stringify(list, null, 2))]);
    expect(got.map((r) => r.event.verb)).toEqual(['create', 'delete']);
    expect(got[0]!.event.apiVersion).toBe('audit.k8s.io/v1');
  });

  it('reads an EventList on one line and a JSON array of events', async () => {
    const one = await readAll([
      file('list.log', JSON.stringify({ kind: 'EventList', items: [e1, e2] }) + '\n'),
    ]);
    expect(one).toHaveLength(2);
    const arr = await readAll([file('arr.json', JSON.stringify([e1, e2, e3], null, 1))]);
    expect(arr.map((r) => r.event.verb)).toEqual(['create', 'delete', 'list']);
  });

  it('reads gzip by extension and by magic bytes', async () => {
    expect(await readAll([file('z.log.gz', gzipSync(lines(e1, e2)))])).toHaveLength(2);
    expect(await readAll([file('z-no-ext.log', gzipSync(lines(e1, e2, e3)))])).toHaveLength(3);
  });

  it('reads stdin, plain or gzip', async () => {
    expect(await readAll(['-'], { stdin: Readable.from([Buffer.from(lines(e1, e2))]) })).toHaveLength(2);
    expect(await readAll(['-'], { stdin: Readable.from([gzipSync(lines(e1))]) })).toHaveLength(1);
  });

  it('splits batches and keeps order across chunk boundaries', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => makeEvent({ auditID: `id-${i}` }));
    const got: EventRecord[][] = [];
    for await (const b of readEvents([file('many.log', lines(...many))], { batchSize: 700 })) got.push(b);
    expect(got.length).toBeGreaterThan(1);
    expect(got.every((b) => b.length < 700 + 2500)).toBe(true);
    expect(got.flat().map((r) => r.event.auditID)).toEqual(many.map((e) => e.auditID));
  });

  it('handles events of several MB', async () => {
    const big = makeEvent({ requestObject: { data: { blob: 'x'.repeat(5 * 1024 * 1024) } } });
    const got = await readAll([file('big.log', lines(e1, big, e2))]);
    expect(got).toHaveLength(3);
    expect((got[1]!.event.requestObject as { data: { blob: string } }).data.blob.length).toBe(
      5 * 1024 * 1024,
    );
  });

  it('normalizes v1beta1 events and the older `timestamp` field', async () => {
    const { stageTimestamp: _s, requestReceivedTimestamp: _r, ...rest } = e1;
    const old = { ...rest, apiVersion: 'audit.k8s.io/v1beta1', timestamp: '2017-09-11T19:55:05Z' };
    const [r] = await readAll([file('beta.log', lines(old))]);
    expect(r!.event).toMatchObject({
      apiVersion: 'audit.k8s.io/v1',
      stageTimestamp: '2017-09-11T19:55:05Z',
      requestReceivedTimestamp: '2017-09-11T19:55:05Z',
    });
  });
});

describe('readEvents: bad records are set aside with file, line and reason', () => {
  it.each([
    ['not JSON', 'this is not json', /invalid JSON/],
    ['JSON that is not an object', '[1,2]', /not an object|array/],
    ['a number', '42', /not an object/],
    [
      'no verb or requestURI',
      JSON.stringify({ kind: 'Event', auditID: 'x', stageTimestamp: '2024-01-01T00:00:00Z' }),
      /neither verb nor requestURI/,
    ],
    ['a wrong type', JSON.stringify({ ...e1, verb: 7 }), /verb must be a string/],
    ['a bad timestamp', JSON.stringify({ ...e1, stageTimestamp: 'yesterday' }), /not an RFC 3339 time/],
    ['a bad stage', JSON.stringify({ ...e1, stage: 'Done' }), /stage "Done"/],
    ['binary garbage', '\u0000\u0001\u00ff\u00fe', /invalid JSON/],
    ['the Falco malformed case', '{"kind": 0}', /kind must be "Event"/],
  ])('%s', async (_name, bad, reason) => {
    const q = createMemoryQuarantine();
    const p = file(`bad-${Math.random()}.log`, `${JSON.stringify(e1)}\n${bad}\n${JSON.stringify(e2)}\n`);
    const got = await readAll([p], { quarantine: q });
    expect(got.map((r) => r.event.verb)).toEqual(['create', 'delete']);
    expect(q.count).toBe(1);
    expect(q.all[0]).toMatchObject({ file: p, line: 2 });
    expect(q.all[0]!.reason).toMatch(reason);
  });

  it('skips an oversized record without buffering it and goes on', async () => {
    const q = createMemoryQuarantine();
    const huge = JSON.stringify(makeEvent({ requestObject: { x: 'y'.repeat(200_000) } }));
    const got = await readAll([file('huge.log', lines(e1) + huge + '\n' + lines(e2))], {
      quarantine: q,
      maxRecordBytes: 50_000,
    });
    expect(got).toHaveLength(2);
    expect(q.all[0]!.reason).toMatch(/larger than the maximum of 50000 bytes/);
    expect(q.all[0]!.line).toBe(2);
  });

  it('reports a truncated last record', async () => {
    const q = createMemoryQuarantine();
    await readAll([file('trunc.log', lines(e1) + JSON.stringify(e2).slice(0, 50))], { quarantine: q });
    expect(q.all[0]!.reason).toMatch(/truncated record at end of input/);
  });

  it('reports a corrupt gzip and keeps what was read before', async () => {
    const q = createMemoryQuarantine();
    const gz = gzipSync(lines(...Array.from({ length: 2000 }, () => makeEvent())));
    const broken = Buffer.concat([gz.subarray(0, gz.length - 200), Buffer.from('garbage')]);
    const got = await readAll([file('broken.log.gz', broken), file('after.log', lines(e3))], {
      quarantine: q,
    });
    expect(q.count).toBeGreaterThan(0);
    expect(got[got.length - 1]!.event.verb).toBe('list');
  });

  it('fails clearly on a missing path before reading anything', async () => {
    await expect(readAll([path.join(dir, 'nope.log')])).rejects.toThrow(KubetrailError);
    await expect(readAll([path.join(dir, 'nope.log')])).rejects.toMatchObject({ code: 'KT_INPUT_NOT_FOUND' });
  });
});

describe('rotated log directories', () => {
  it('orders backups oldest first by the time in their name, then the live file', () => {
    expect(
      orderLogFiles([
        'audit.log',
        'audit-2024-05-02T00-00-00.000.log.gz',
        'audit-2024-05-01T10-00-00.000.log',
        'notes.txt',
        'audit-2024-05-01T09-59-59.999.log.gz',
      ]),
    ).toEqual([
      'audit-2024-05-01T09-59-59.999.log.gz',
      'audit-2024-05-01T10-00-00.000.log',
      'audit-2024-05-02T00-00-00.000.log.gz',
      'audit.log',
    ]);
  });

  it('reads a directory in that order', async () => {
    const d = mkdtempSync(path.join(dir, 'rot-'));
    writeFileSync(path.join(d, 'audit.log'), lines(e3));
    writeFileSync(path.join(d, 'audit-2024-05-01T10-00-00.000.log.gz'), gzipSync(lines(e2)));
    writeFileSync(path.join(d, 'audit-2024-05-01T09-00-00.000.log'), lines(e1));
    writeFileSync(path.join(d, 'README.txt'), 'not a log');
    expect((await readAll([d])).map((r) => r.event.verb)).toEqual(['create', 'delete', 'list']);
  });
});

const corpus = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/corpus');

describe.skipIf(!existsSync(corpus))('the shared corpus (skipped without ../shared/corpus)', () => {
  it('falco files: every event read, only the malformed one set aside', async () => {
    const d = path.join(corpus, 'falco-k8s-audit');
    const files = readdirSync(d)
      .filter((f) => f.endsWith('.json'))
      .map((f) => path.join(d, f));
    const q = createMemoryQuarantine();
    const got = await readAll(files, { quarantine: q });
    expect(q.count).toBe(1);
    expect(q.all[0]!.file).toMatch(/fal_01_003\.json$/);
    expect(got.length).toBe(51);
  });

  it('audit2rbac demo log: 37 events', async () => {
    expect(await readAll([path.join(corpus, 'audit2rbac/demo.log')])).toHaveLength(37);
  });
});
