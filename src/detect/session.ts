// Wiring for commands that detect against a store: the rules, the engine with its saved state, the alert
// tables, the outputs and their outbox dispatcher, and the transform that joins them to a pipeline.
// `import --detect`, the live collector and `detect --save` all set detection up through here. Where the
// state, the outbox and the alerts live is the store's business (Store.detection(), src/store/detection.ts):
// a DuckDB store keeps them itself; a ClickHouse store in a local state file, every new alert being
// delivered to ClickHouse through the outbox.
import type { DetectionState, DetectionStorageOptions } from '../store/detection.js';
import type { Store } from '../store/store.js';
import type { AlertLog } from '../core/alert.js';
import { DetectionEngine, type EngineSnapshot } from './engine.js';
import { Dispatcher, DEFAULT_BACKOFF, type BackoffOptions } from './outbox.js';
import { createOutput, type AlertOutput } from './outputs.js';
import { openIpLists } from './ip-list.js';
import { loadRules, type LoadRulesOptions } from './rules.js';
import { DetectTransform } from './transform.js';
import type { Alert, Severity } from './types.js';

export interface SessionOptions extends LoadRulesOptions, DetectionStorageOptions {
  /** Output specs (stdout, file:PATH, webhook:URL, slack:URL, alertmanager:URL). */
  outputs?: readonly string[];
  /** Lowest severity sent to outputs (default low: informational alerts are stored, not sent). */
  outputMinSeverity?: Severity;
  /** Where the stdout output writes. */
  write?: (text: string) => void;
  backoff?: BackoffOptions;
  /** Restore the engine's saved state (default true). */
  resume?: boolean;
  /** Called with the alerts that were new (not already stored). */
  onAlerts?: (alerts: Alert[]) => void;
  /**
   * IP list files (name → file) rules may name; read now, then checked for changes every
   * `ipListCheckMs` (default 30 s) until finish(). Ignored when `ipLists` is given.
   */
  ipListFiles?: Readonly<Record<string, string>>;
  ipListCheckMs?: number;
  /** Bad lines and unreadable files of the IP lists, as `file:line: message`. */
  onIpListWarning?: (message: string) => void;
}

export interface DetectionSession {
  engine: DetectionEngine;
  /** Alerts raised here, the outbox and the engine's state (the store, or the local state file). */
  alerts: DetectionState;
  /** Where the store's alerts are read and acknowledged. */
  log: AlertLog;
  /** Where the state is kept, for messages: `the store` or the local state file. */
  where: string;
  dispatcher: Dispatcher;
  /** The internal targets (the ClickHouse store), then the configured outputs. */
  outputs: AlertOutput[];
  transform: DetectTransform;
  /** Alerts stored as new during the session. */
  readonly stored: number;
  /** Checkpoints state, delivers what can be delivered within `drainMs`; returns deliveries still pending. */
  finish(drainMs?: number): Promise<number>;
}

export async function openDetection(store: Store, opts: SessionOptions = {}): Promise<DetectionSession> {
  const ipLists =
    opts.ipLists ??
    (opts.ipListFiles && Object.keys(opts.ipListFiles).length > 0
      ? openIpLists(opts.ipListFiles, opts.onIpListWarning ? { onWarning: opts.onIpListWarning } : {})
      : undefined);
  const rules = loadRules({ ...opts, ...(ipLists ? { ipLists } : {}) });
  const configured = (opts.outputs ?? []).map((spec) =>
    createOutput(spec, {
      minSeverity: opts.outputMinSeverity ?? 'low',
      ...(opts.write ? { write: opts.write } : {}),
    }),
  );
  const place = await store.detection(opts.stateFile !== undefined ? { stateFile: opts.stateFile } : {});
  const alerts = place.state;
  const outputs = [...place.targets, ...configured];
  const engine = new DetectionEngine(rules);
  if (opts.resume !== false) {
    const snap = await alerts.loadState().catch(async (err: unknown) => {
      await place.close();
      throw err;
    });
    // The store keeps the snapshot the engine gave it; the engine checks each rule's version on restore.
    if (snap) engine.restore(snap as EngineSnapshot);
  }
  const dispatcher = new Dispatcher(alerts, outputs, opts.backoff ?? DEFAULT_BACKOFF);
  let stored = 0;
  const transform = new DetectTransform(engine, {
    alerts: async (list) => {
      const fresh = await alerts.save(list, outputs);
      stored += fresh.length;
      if (fresh.length > 0) {
        opts.onAlerts?.(fresh);
        dispatcher.notify();
      }
    },
    checkpoint: (snap) => alerts.saveState(snap),
  });
  if (outputs.length > 0) dispatcher.start();
  // Lists opened here are re-read when their files change, until finish().
  if (ipLists && !opts.ipLists) ipLists.watch(opts.ipListCheckMs ?? 30_000);
  return {
    engine,
    alerts,
    log: place.log,
    where: place.where,
    dispatcher,
    outputs,
    transform,
    get stored() {
      return stored;
    },
    async finish(drainMs = 10_000) {
      try {
        await transform.close();
        if (outputs.length === 0) {
          dispatcher.stop();
          return 0;
        }
        return await dispatcher.drain(drainMs);
      } finally {
        if (!opts.ipLists) ipLists?.close();
        await place.close();
      }
    },
  };
}
