// Writing an evidence bundle: the events matching a filter and time range (as stored, so redacted as
// stored), the change history of every object they touch over the range (the history module's writes
// and revisions, each revision with its state and the object as rebuilt), the alerts raised by those
// events, a manifest (what was asked, counts, each member's SHA-256) and an
// Ed25519 signature over the manifest. Members are spooled to a private temporary directory while their
// digests are computed, then written as one gzip-compressed tar: memory stays bounded whatever the range.
import { createHash, type Hash, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Alert, AlertLog } from '../core/alert.js';
import type { EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { microsToTime } from '../core/time.js';
import { buildObjectHistory } from '../history/changes.js';
import type { QueryNode } from '../query/index.js';
import { allEvents } from '../store/paging.js';
import type { ObjectKey, Store } from '../store/store.js';
import { generateSigningKey } from './keys.js';
import {
  ALERTS,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  EVENTS,
  HISTORIES,
  MANIFEST,
  SIGNATURE,
  manifestBytes,
  signManifest,
  signerOf,
  type Manifest,
  type MemberInfo,
} from './manifest.js';
import { writeTarGz } from './tar.js';

/** What an API caller may see: the bundle holds only that, as they may see it. */
export interface BundleView {
  /** Whether a stored event is in the caller's scope (object histories are read unfiltered). */
  visible: (r: EventRecord) => boolean;
  /** The event as the caller may see it (bodies removed when they may not see them). */
  project: (r: EventRecord) => EventRecord;
  bodiesHidden: boolean;
  /** The alerts among these that the caller may see. */
  alerts: (alerts: Alert[]) => Promise<Alert[]>;
  requestedBy: string;
  scope?: string;
}

export interface ExportOptions {
  /** The filter (already joined to any scope) and its text as asked. */
  filter: QueryNode;
  filterText: string;
  since?: number;
  until?: number;
  out: string;
  /** Absent: a one-time key is made for this bundle (the manifest says so). */
  signingKey?: KeyObject;
  /** The kubetrail command that writes the same bundle, for the manifest. */
  command: string;
  toolVersion: string;
  alerts?: AlertLog;
  view?: BundleView;
  /** Most objects whose histories are included (default 10,000). */
  maxObjects?: number;
  /** Events per store page. */
  pageSize?: number;
  now?: number;
}

/** Appends lines to a member file while counting its bytes and computing its digest. */
class MemberWriter {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  records = 0;
  private buffer: string[] = [];
  private constructor(
    readonly name: string,
    readonly file: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(dir: string, name: string): Promise<MemberWriter> {
    const file = path.join(dir, name);
    return new MemberWriter(name, file, await open(file, 'wx', 0o600));
  }

  async line(value: unknown): Promise<void> {
    this.buffer.push(`${JSON.stringify(value)}\n`);
    this.records++;
    if (this.buffer.length >= 1000) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const data = Buffer.from(this.buffer.join(''), 'utf8');
    this.buffer = [];
    this.hash.update(data);
    this.bytes += data.length;
    await this.fh.write(data);
  }

  async close(): Promise<MemberInfo> {
    await this.flush();
    await this.fh.close();
    return {
      name: this.name as MemberInfo['name'],
      bytes: this.bytes,
      sha256: this.hash.digest('hex'),
      records: this.records,
    };
  }
}

const objectId = (k: ObjectKey) =>
  [k.cluster ?? '', k.apiGroup ?? '', k.resource, k.namespace ?? '', k.name].join('\u0000');

/** The object an event is about, when it names one. */
export function objectOf(r: EventRecord): ObjectKey | undefined {
  const ref = r.event.objectRef;
  if (!ref?.resource || !ref.name) return undefined;
  return {
    cluster: r.cluster,
    apiGroup: ref.apiGroup ?? '',
    resource: ref.resource,
    namespace: ref.namespace ?? '',
    name: ref.name,
  };
}

function auditIdFilter(cluster: string, ids: readonly string[]): QueryNode {
  const m = (field: string, text: string): QueryNode => ({
    type: 'match',
    field,
    value: { text, quoted: true, wildcard: false },
  });
  return {
    type: 'and',
    children: [m('cluster', cluster), { type: 'or', children: ids.map((id) => m('auditid', id)) }],
  };
}

/** Writes the bundle; resolves to its manifest. The output file must not exist. */
export async function writeBundle(store: Store, opts: ExportOptions): Promise<Manifest> {
  if (existsSync(opts.out)) throw outputExists(opts.out);
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-bundle-'));
  try {
    const range = {
      ...(opts.since !== undefined ? { since: opts.since } : {}),
      ...(opts.until !== undefined ? { until: opts.until } : {}),
    };
    const maxObjects = opts.maxObjects ?? 10_000;
    const objects = new Map<string, ObjectKey>();
    let objectsCapped = false;

    const events = await MemberWriter.create(dir, EVENTS);
    for await (const page of allEvents(store, {
      filter: opts.filter,
      ...range,
      pageSize: opts.pageSize ?? 2000,
    })) {
      for (const stored of page) {
        if (opts.view && !opts.view.visible(stored)) continue;
        const r = opts.view ? opts.view.project(stored) : stored;
        await events.line({ cluster: r.cluster, event: r.event });
        const key = objectOf(r);
        if (!key) continue;
        const id = objectId(key);
        if (objects.has(id)) continue;
        if (objects.size >= maxObjects) objectsCapped = true;
        else objects.set(id, key);
      }
    }
    const eventsInfo = await events.close();

    const histories = await MemberWriter.create(dir, HISTORIES);
    for (const key of objects.values()) {
      let records = await store.history(key, range);
      if (opts.view) records = records.filter(opts.view.visible).map(opts.view.project);
      const h = buildObjectHistory(records, { bodiesHidden: opts.view?.bodiesHidden ?? false });
      if (h.entries.length === 0) continue;
      // Each write with its actor and outcome, and each revision with its state (known, derived,
      // unknown, deleted) and the object as rebuilt.
      await histories.line({ object: key, entries: h.entries, revisions: h.revisions });
    }
    const historiesInfo = await histories.close();

    // Alerts of the range raised by at least one event of the bundle.
    const alertsOut = await MemberWriter.create(dir, ALERTS);
    if (opts.alerts && eventsInfo.records > 0) {
      let list = await opts.alerts.list({ ...range, limit: 100_000 });
      if (opts.view) list = await opts.view.alerts(list);
      for (const a of list) {
        if (a.auditIDs.length === 0) continue;
        const filter: QueryNode = {
          type: 'and',
          children: [opts.filter, auditIdFilter(a.cluster, a.auditIDs.slice(0, 200))],
        };
        if ((await store.count(filter, range)) > 0) await alertsOut.line(a);
      }
    }
    const alertsInfo = await alertsOut.close();

    const oneTime = opts.signingKey === undefined;
    const key = opts.signingKey ?? generateSigningKey();
    const manifest: Manifest = {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      created: new Date(opts.now ?? Date.now()).toISOString(),
      tool: { name: 'kubetrail', version: opts.toolVersion },
      request: {
        filter: opts.filterText,
        ...(opts.since !== undefined ? { since: microsToTime(opts.since) } : {}),
        ...(opts.until !== undefined ? { until: microsToTime(opts.until) } : {}),
        command: opts.command,
        ...(opts.view
          ? {
              requestedBy: opts.view.requestedBy,
              ...(opts.view.scope !== undefined ? { scope: opts.view.scope } : {}),
              bodies: !opts.view.bodiesHidden,
            }
          : {}),
      },
      counts: { events: eventsInfo.records, objects: historiesInfo.records, alerts: alertsInfo.records },
      ...(objectsCapped ? { objectsCapped } : {}),
      members: [eventsInfo, historiesInfo, alertsInfo],
      signer: signerOf(key, oneTime),
    };
    const bytes = manifestBytes(manifest);
    const sig = signManifest(bytes, key);
    await writeOut(
      opts.out,
      [
        { name: MANIFEST, data: bytes, size: bytes.length },
        { name: SIGNATURE, data: sig, size: sig.length },
        ...[eventsInfo, historiesInfo, alertsInfo].map((m) => ({
          name: m.name,
          file: path.join(dir, m.name),
          size: m.bytes,
        })),
      ],
      opts.now,
    );
    return manifest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the archive; an existing file is refused, a half-written one removed. */
async function writeOut(out: string, members: Parameters<typeof writeTarGz>[1], now?: number): Promise<void> {
  try {
    await writeTarGz(out, members, now);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw outputExists(out);
    rmSync(out, { force: true });
    if (err instanceof KubetrailError) throw err;
    throw new KubetrailError('KT_OUTPUT_WRITE', `cannot write the bundle: ${(err as Error).message}`, {
      where: { file: out },
    });
  }
}

function outputExists(out: string): KubetrailError {
  return new KubetrailError('KT_OUTPUT_EXISTS', `${out} already exists`, {
    where: { file: out },
    hint: 'choose another --out: a bundle is never written over a file',
  });
}
