// The redactor: walks one audit event and replaces every secret value by a marker, or (inspect mode) only
// reports where secrets are. It composes the parts: the event walker (walker.ts) visits every place of the
// event, the per-kind rules (kinds.ts) know where Kubernetes keeps credentials (Secret data and stringData,
// lists and patches of Secrets, last-applied-configuration annotations, TokenRequest and TokenReview
// tokens, private keys in CertificateSigningRequests), name rules catch values stored under sensitive names
// (keys, env vars, flags, query parameters, JSON-patch paths), and the text scanner (text.ts) finds the
// known shapes of credentials anywhere in text and in request URIs. Optional pseudonymization of users,
// e-mails and source IPs (pseudonymize-event.ts) runs last. Events are changed in place; a changed event
// gets the `kubetrail.io/redacted` annotation. Records that are not valid events (the quarantine) are
// redacted as JSON, or as text when unreadable.
import { REDACTED_ANNOTATION, type AuditEvent } from '../core/event.js';
import { summarizePaths } from './paths.js';
import { pseudonymizeEvent } from './pseudonymize-event.js';
import { isObj, parseJson, type Finding, type RedactOptions, type Walk } from './walk.js';
import { EventWalker } from './walker.js';

export { LAST_APPLIED, MAX_DEPTH, RULES, type Finding, type RedactOptions } from './walk.js';

const DATA_BLOCK = /"(?:data|stringData)"\s*:\s*\{[^{}]*\}?/g;
const DATA_ENTRY = /"((?:[^"\\]|\\.)*)"\s*:\s*"((?:[^"\\]|\\.)*)"?/g;

export class Redactor {
  readonly options: RedactOptions;
  private readonly walker: EventWalker;

  constructor(options: RedactOptions) {
    this.options = options;
    this.walker = new EventWalker(options);
  }

  /** Redacts the event in place; returns what was redacted (paths and rules, never values). */
  redact(event: AuditEvent): Finding[] {
    const w: Walk = { mutate: true, path: [], findings: [] };
    this.walker.event(event, w);
    const pz = this.options.pseudonymizer;
    if (pz) pseudonymizeEvent(event, pz, w);
    if (w.findings.length > 0) {
      const previous = event.annotations?.[REDACTED_ANNOTATION];
      let listed: string[] = [];
      if (previous) {
        try {
          const p = JSON.parse(previous) as unknown;
          if (Array.isArray(p)) listed = p.filter((x): x is string => typeof x === 'string');
        } catch {
          listed = [];
        }
      }
      event.annotations = {
        ...event.annotations,
        [REDACTED_ANNOTATION]: JSON.stringify(summarizePaths([...listed, ...w.findings.map((f) => f.path)])),
      };
    }
    return w.findings;
  }

  /** Reports where secrets are, without changing the event (each path and rule once). */
  inspect(event: AuditEvent): Finding[] {
    const w: Walk = { mutate: false, path: [], findings: [] };
    this.walker.event(event, w);
    const seen = new Set<string>();
    return w.findings.filter((f) => {
      const k = `${f.rule}\u0000${f.path}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /**
   * Redacts a raw record that is not a valid event (for the quarantine): JSON is redacted as an event and
   * walked whole; unreadable text goes through the text rules, and values of any `data`/`stringData`
   * object in it are dropped.
   */
  redactRaw(raw: string): string {
    const w: Walk = { mutate: true, path: [], findings: [] };
    const parsed = parseJson(raw);
    if (isObj(parsed)) {
      this.walker.event(parsed as unknown as AuditEvent, w);
      // Then the whole record, as any JSON (the event fields again: already redacted parts are skipped).
      this.walker.object(parsed, w);
      // Unchanged records keep their text as it was (it shows why they were set aside).
      return w.findings.length > 0 ? JSON.stringify(parsed) : raw;
    }
    if (Array.isArray(parsed)) {
      this.walker.array(parsed, w);
      return w.findings.length > 0 ? JSON.stringify(parsed) : raw;
    }
    const dropped = raw.replace(DATA_BLOCK, (block: string) =>
      block.replace(DATA_ENTRY, (_m, k: string, v: string) => `"${k}":"${this.options.marker.of(v)}"`),
    );
    return this.walker.text(dropped, w);
  }
}
