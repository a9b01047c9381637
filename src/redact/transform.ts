// The redaction transform of the pipeline (import and live collection): every event of every batch goes
// through the redactor before anything stores, forwards or prints it. Also wraps event sources (for
// commands that read files directly) and quarantines (records set aside keep no secret either).
import type { EventRecord } from '../core/event.js';
import type { Quarantine } from '../ingest/quarantine.js';
import type { Transform } from '../core/transform.js';
import { loadRedactOptions } from './config.js';
import { Redactor, type RedactOptions } from './redactor.js';

export interface RedactStats {
  /** Events seen. */
  events: number;
  /** Events changed. */
  redacted: number;
  /** Values replaced (or pseudonymized), per rule. */
  byRule: Record<string, number>;
}

export interface RedactTransform extends Transform {
  readonly redactor: Redactor;
  readonly stats: RedactStats;
}

/** The redaction transform; with no options, the built-in rules. Events are changed in place. */
export function redactTransform(options?: RedactOptions | Redactor): RedactTransform {
  const redactor =
    options instanceof Redactor ? options : new Redactor(options ?? loadRedactOptions(undefined));
  const stats: RedactStats = { events: 0, redacted: 0, byRule: {} };
  return {
    name: 'redact',
    redactor,
    stats,
    apply(batch: EventRecord[]): EventRecord[] {
      for (const r of batch) {
        const findings = redactor.redact(r.event);
        stats.events++;
        if (findings.length === 0) continue;
        stats.redacted++;
        for (const f of findings) stats.byRule[f.rule] = (stats.byRule[f.rule] ?? 0) + 1;
      }
      return batch;
    },
  };
}

/** Redacts the events of a source as they are read (for commands that print events from files). */
export async function* redactBatches(
  source: AsyncIterable<EventRecord[]>,
  transform: Transform = redactTransform(),
): AsyncGenerator<EventRecord[]> {
  for await (const batch of source) yield await transform.apply(batch);
}

/** A quarantine that redacts the raw text of each record before keeping it. */
export function redactQuarantine(inner: Quarantine, redactor: Redactor): Quarantine {
  return {
    add: (bad) => inner.add({ ...bad, raw: redactor.redactRaw(bad.raw) }),
    get count() {
      return inner.count;
    },
    get samples() {
      return inner.samples;
    },
    close: () => inner.close(),
  };
}
