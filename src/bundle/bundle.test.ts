// Evidence bundles end to end on real DuckDB stores: export from a store of generated events, verify,
// tamper (a member edited, a member removed, the manifest edited, the signature swapped, the whole thing
// re-signed by another key) and see verification name what is wrong, and import into a fresh store.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertLog } from '../core/alert.js';
import type { EventRecord } from '../core/event.js';
import { generateEvents } from '../generate/index.js';
import { compileJs, parseQuery } from '../query/index.js';
import { openDuckDBStore, type DuckDBStore } from '../store/duckdb/store.js';
import { allEvents } from '../store/paging.js';
import { writeBundle } from './export.js';
import { importBundle } from './import.js';
import {
  createKeyFiles,
  fingerprint,
  generateSigningKey,
  loadPublicKey,
  loadSigningKey,
  publicPem,
} from './keys.js';
import { manifestBytes, signManifest, type Manifest } from './manifest.js';
import { readTarGz, writeTarGz } from './tar.js';
import { verifyBundle } from './verify.js';

const START = Date.UTC(2026, 2, 10, 9);

async function members(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  await readTarGz(file, (name) => {
    const parts: Buffer[] = [];
    return {
      data: (c) => void parts.push(Buffer.from(c)),
      end: () => void out.set(name, Buffer.concat(parts)),
    };
  });
  return out;
}

async function rewrite(
  dir: string,
  file: string,
  name: string,
  edit: (m: Map<string, Buffer>) => void,
): Promise<string> {
  const m = await members(file);
  edit(m);
  const out = path.join(dir, `${name}.tar.gz`);
  await writeTarGz(
    out,
    [...m].map(([n, data]) => ({ name: n, data, size: data.length })),
  );
  return out;
}

async function everything(store: DuckDBStore): Promise<string[]> {
  const out: string[] = [];
  for await (const page of allEvents(store, {})) for (const r of page) out.push(JSON.stringify(r));
  return out.sort();
}

class MemoryAlerts implements AlertLog {
  constructor(private readonly alerts: Alert[]) {}
  async list() {
    return this.alerts;
  }
  async get(id: string) {
    return this.alerts.find((a) => a.id === id);
  }
  async acknowledge() {
    return false;
  }
  async acks() {
    return new Map();
  }
}

describe('evidence bundles', () => {
  let dir: string;
  let store: DuckDBStore;
  let records: EventRecord[];
  let bundle: string;
  let keyFile: string;
  let manifest: Manifest;
  const filterText = 'resource:(deployments OR configmaps)';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kt-bundle-'));
    store = await openDuckDBStore(path.join(dir, 'source.duckdb'));
    records = [...generateEvents({ seed: 7, start: START, durationMs: 3_600_000, count: 6000 })].map(
      (event) => ({
        cluster: 'prod',
        event,
      }),
    );
    await store.write(records);
    keyFile = path.join(dir, 'signing.pem');
    createKeyFiles(keyFile);
    const matching = records.filter(compileJs(parseQuery(filterText)));
    const alerts: Alert[] = [
      {
        id: 'a1',
        rule: 'test-rule',
        title: 'A test alert',
        severity: 'high',
        time: matching[0]!.event.stageTimestamp,
        cluster: 'prod',
        auditIDs: [matching[0]!.event.auditID],
        message: 'raised by an exported event',
        references: [],
        key: 'k',
        count: 1,
      },
      {
        ...records[0]!,
        id: 'a2',
        rule: 'other',
        title: 'Other',
        severity: 'low',
        time: records[0]!.event.stageTimestamp,
        cluster: 'prod',
        auditIDs: ['not-in-the-bundle'],
        message: 'unrelated',
        references: [],
        key: 'k2',
        count: 1,
      },
    ];
    bundle = path.join(dir, 'evidence.tar.gz');
    manifest = await writeBundle(store, {
      filter: parseQuery(filterText),
      filterText,
      since: START * 1000,
      until: (START + 3_600_000) * 1000,
      out: bundle,
      signingKey: loadSigningKey(keyFile),
      command: `kubetrail export '${filterText}' --out evidence.tar.gz`,
      toolVersion: 'test',
      alerts: new MemoryAlerts(alerts),
    });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the matching events, the histories of the objects they touch and their alerts', async () => {
    const m = await members(bundle);
    expect([...m.keys()]).toEqual([
      'manifest.json',
      'manifest.sig',
      'events.ndjson',
      'histories.ndjson',
      'alerts.ndjson',
    ]);
    const matching = records.filter(compileJs(parseQuery(filterText)));
    expect(matching.length).toBeGreaterThan(20);
    expect(manifest.counts.events).toBe(matching.length);
    const lines = m.get('events.ndjson')!.toString().trim().split('\n');
    expect(lines).toHaveLength(matching.length);
    expect(manifest.counts.objects).toBeGreaterThan(0);
    const histories = m
      .get('histories.ndjson')!
      .toString()
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            object: { resource: string };
            entries: unknown[];
            revisions: { state: string; object?: unknown }[];
          },
      );
    expect(['deployments', 'configmaps']).toContain(histories[0]!.object.resource);
    expect(histories[0]!.entries.length).toBeGreaterThan(0);
    // Revisions carry their state, and the rebuilt object where it is known or derived.
    const revisions = histories.flatMap((h) => h.revisions);
    expect(revisions.some((r) => r.state === 'known' && r.object !== undefined)).toBe(true);
    const alerts = m
      .get('alerts.ndjson')!
      .toString()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as Alert).id);
    expect(alerts).toEqual(['a1']);
    expect(manifest.request).toMatchObject({ filter: filterText, since: '2026-03-10T09:00:00.000000Z' });
    expect(manifest.signer.oneTime).toBe(false);
  });

  it('verifies clean, and against the right public key', async () => {
    const r = await verifyBundle(bundle, loadPublicKey(`${keyFile}.pub`));
    expect(r.findings).toEqual([]);
    const plain = await verifyBundle(bundle);
    expect(plain.findings).toEqual([]);
    expect(plain.notes.join(' ')).toMatch(/give --public-key/);
  });

  it('names the member that was edited', async () => {
    const f = await rewrite(dir, bundle, 'edited', (m) => {
      const text = m.get('events.ndjson')!.toString().replace('"verb":"patch"', '"verb":"get"');
      m.set('events.ndjson', Buffer.from(text));
    });
    const r = await verifyBundle(f);
    expect(r.findings.map((x) => x.part)).toEqual(['events.ndjson']);
    expect(r.findings[0]!.message).toMatch(/does not match the manifest.*edited/);
  });

  it('names the member that was removed, and one that was added', async () => {
    const f = await rewrite(dir, bundle, 'removed', (m) => {
      m.delete('alerts.ndjson');
      m.set('notes.txt', Buffer.from('hello'));
    });
    const r = await verifyBundle(f);
    expect(r.findings.map((x) => [x.part, x.message.replace(/:.*/, '')])).toEqual([
      ['alerts.ndjson', 'member alerts.ndjson is listed in the manifest but missing from the bundle'],
      ['notes.txt', 'member notes.txt is not listed in the manifest'],
    ]);
  });

  it('says the manifest was edited', async () => {
    const f = await rewrite(dir, bundle, 'manifest', (m) => {
      const text = m.get('manifest.json')!.toString().replace(filterText, 'resource:deployments');
      m.set('manifest.json', Buffer.from(text));
    });
    const r = await verifyBundle(f);
    expect(r.findings.map((x) => x.part)).toEqual(['signature']);
    expect(r.findings[0]!.message).toMatch(/manifest was edited or the signature replaced/);
  });

  it('says the signature was swapped', async () => {
    const other = generateSigningKey();
    const f = await rewrite(dir, bundle, 'swapped', (m) => {
      m.set('manifest.sig', signManifest(m.get('manifest.json')!, other));
    });
    expect((await verifyBundle(f)).findings.map((x) => x.part)).toEqual(['signature']);
    const gone = await rewrite(dir, bundle, 'unsigned', (m) => m.delete('manifest.sig'));
    expect((await verifyBundle(gone)).findings.map((x) => x.part)).toEqual(['signature']);
  });

  it('catches a bundle re-signed by another key only when the expected key is given', async () => {
    const other = generateSigningKey();
    const f = await rewrite(dir, bundle, 'resigned', (m) => {
      const edited = JSON.parse(m.get('manifest.json')!.toString()) as Manifest;
      edited.request.filter = 'resource:deployments';
      edited.signer = { ...edited.signer, publicKey: publicPem(other), fingerprint: fingerprint(other) };
      const bytes = manifestBytes(edited);
      m.set('manifest.json', bytes);
      m.set('manifest.sig', signManifest(bytes, other));
    });
    expect((await verifyBundle(f)).findings).toEqual([]);
    const r = await verifyBundle(f, loadPublicKey(`${keyFile}.pub`));
    expect(r.findings.map((x) => x.part)).toEqual(['signer']);
    expect(r.findings[0]!.message).toMatch(/not by the key given/);
  });

  it('round-trips through import into a fresh store, and a second import stores nothing', async () => {
    const fresh = await openDuckDBStore(path.join(dir, 'fresh.duckdb'));
    try {
      const first = await importBundle(bundle, fresh, { publicKey: loadPublicKey(`${keyFile}.pub`) });
      expect(first.read).toBe(manifest.counts.events);
      expect(first.stored).toBe(manifest.counts.events);
      expect(first.alertsStored).toBe(1);
      expect((await (await fresh.alertLog({ existing: true }))!.list()).map((a) => a.id)).toEqual(['a1']);
      const second = await importBundle(bundle, fresh);
      expect(second).toMatchObject({ stored: 0, duplicates: manifest.counts.events, alertsStored: 0 });
      const want: string[] = [];
      for await (const page of allEvents(store, { filter: parseQuery(filterText) }))
        for (const r of page) want.push(JSON.stringify(r));
      expect(await everything(fresh)).toEqual(want.sort());
    } finally {
      await fresh.close();
    }
  });

  it('refuses to import a tampered bundle, writing nothing', async () => {
    const f = await rewrite(dir, bundle, 'tampered', (m) => {
      const text = m.get('events.ndjson')!.toString().replace('"verb":"patch"', '"verb":"get"');
      m.set('events.ndjson', Buffer.from(text));
    });
    const fresh = await openDuckDBStore(path.join(dir, 'refused.duckdb'));
    try {
      await expect(importBundle(f, fresh)).rejects.toMatchObject({ code: 'KT_BUNDLE_INVALID' });
      expect(await fresh.span()).toBeUndefined();
    } finally {
      await fresh.close();
    }
  });

  it('refuses a file that is not a bundle, and never overwrites an output', async () => {
    const junk = path.join(dir, 'junk.tar.gz');
    writeFileSync(junk, 'not gzip');
    await expect(verifyBundle(junk)).rejects.toMatchObject({ code: 'KT_BUNDLE_READ' });
    await expect(
      writeBundle(store, {
        filter: parseQuery('*'),
        filterText: '*',
        out: bundle,
        command: '',
        toolVersion: 'test',
      }),
    ).rejects.toMatchObject({ code: 'KT_OUTPUT_EXISTS' });
    expect(readFileSync(bundle).length).toBeGreaterThan(0);
  });

  it('signs with a one-time key when none is given, and says so', async () => {
    const out = path.join(dir, 'one-time.tar.gz');
    const m = await writeBundle(store, {
      filter: parseQuery('verb:delete'),
      filterText: 'verb:delete',
      out,
      command: 'kubetrail export verb:delete --out one-time.tar.gz',
      toolVersion: 'test',
    });
    expect(m.signer.oneTime).toBe(true);
    const r = await verifyBundle(out);
    expect(r.findings).toEqual([]);
    expect(r.notes.join(' ')).toMatch(/one-time key/);
  });
});
