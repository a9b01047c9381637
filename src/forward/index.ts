// The forwarders of a run, as one sink: `write` takes the records the store gets (after policy and
// redaction), computes each record's content hash once, and appends to every forwarder's queue what its
// filter and field choice select, durably, before it resolves. Each forwarder then delivers from its own
// queue in its own loop, so a slow or dead destination holds up no other forwarder and not the store
// (unless its queue is full under the `block` policy, which is backpressure by choice).
import type { EventRecord } from '../core/event.js';
import type { DataKey } from '../crypto/cipher.js';
import { ElasticsearchDestination } from './destinations/elasticsearch.js';
import { FileDestination } from './destinations/file.js';
import { HttpDestination } from './destinations/http-ndjson.js';
import { LokiDestination } from './destinations/loki.js';
import { OtlpDestination } from './destinations/otlp.js';
import { SplunkDestination } from './destinations/splunk.js';
import { SyslogDestination } from './destinations/syslog.js';
import { Forwarder, type ForwarderLog, type ForwarderStats } from './forwarder.js';
import type { ForwardConfig } from './options.js';
import { hashed, selector, type Selector } from './select.js';
import { checkUniqueNames, resolveForwarder, type ResolvedForwarder } from './spec.js';
import type { Destination, ForwardRecord } from './types.js';

export type { ForwarderStats } from './forwarder.js';
export { forwardFromSpec, forwardSchema, type ForwardConfig } from './options.js';

/** The client for a forwarder's destination. */
export function createDestination(def: ResolvedForwarder): Destination {
  const t = def.target;
  switch (t.kind) {
    case 'elasticsearch':
    case 'opensearch':
      return new ElasticsearchDestination(def, t.url);
    case 'splunk':
      return new SplunkDestination(def, t.url);
    case 'loki':
      return new LokiDestination(def, t.url);
    case 'otlp':
      return new OtlpDestination(def, t.url);
    case 'http':
      return new HttpDestination(def, t.url);
    case 'syslog':
      return new SyslogDestination(def, t);
    case 'file':
      return new FileDestination(def, t.path);
  }
}

export interface OpenForwardersOptions {
  /** The data directory: queues and dead-letter files go to DATADIR/forward/NAME. */
  dataDir: string;
  log: ForwarderLog;
  /** How errors name the list: `forward` (the configuration) or `--forward`. */
  where?: string;
  env?: NodeJS.ProcessEnv;
  /** The data key: queues and dead-letter files are sealed with it. */
  key?: DataKey;
}

export class ForwarderSet {
  private readonly selectors: Selector[];

  private constructor(readonly forwarders: readonly Forwarder[]) {
    this.selectors = forwarders.map((f) => selector(f.def));
  }

  /** Checks every entry (all before opening any), opens the queues and starts the delivery loops. */
  static async open(entries: readonly ForwardConfig[], opts: OpenForwardersOptions): Promise<ForwarderSet> {
    const where = opts.where ?? 'forward';
    const defs = entries.map((e, i) => resolveForwarder(e, opts.dataDir, `${where}[${i}]`, opts.env));
    checkUniqueNames(defs, where);
    const opened: Forwarder[] = [];
    try {
      for (const def of defs)
        opened.push(await Forwarder.open(def, createDestination(def), opts.log, opts.key));
    } catch (err) {
      await Promise.all(opened.map((f) => f.close(0)));
      throw err;
    }
    for (const f of opened) f.start();
    return new ForwarderSet(opened);
  }

  get size(): number {
    return this.forwarders.length;
  }

  /** Appends the records to every forwarder's queue (what each selects); resolves once all are on disk. */
  async write(records: readonly EventRecord[]): Promise<void> {
    if (records.length === 0 || this.forwarders.length === 0) return;
    const all = records.map(hashed);
    await Promise.all(
      this.forwarders.map((f, i) => {
        const pick = this.selectors[i]!;
        const out: ForwardRecord[] = [];
        for (const r of all) {
          const s = pick(r);
          if (s) out.push(s);
        }
        return f.write(out);
      }),
    );
  }

  stats(): ForwarderStats[] {
    return this.forwarders.map((f) => f.snapshot());
  }

  /** Waits until every queue is empty; the names of the forwarders that made no progress for `idleMs`. */
  async drained(idleMs: number): Promise<string[]> {
    const done = await Promise.all(this.forwarders.map((f) => f.drained(idleMs)));
    return this.forwarders.filter((_, i) => !done[i]).map((f) => f.name);
  }

  /**
   * Stopping: writes that wait for room in a full `block` queue fail instead (their sources keep the
   * batch and send it again after the restart), so that closing the write path cannot hang on a dead
   * destination. Writes that fit go on.
   */
  refuseWaiting(): void {
    for (const f of this.forwarders) f.refuseWaiting();
  }

  /** Stops the delivery loops (a batch being sent gets `graceMs`) and closes the queues. */
  async close(graceMs?: number): Promise<void> {
    await Promise.all(this.forwarders.map((f) => f.close(graceMs)));
  }
}
