// What a verification of the trail reports, shared by everything that verifies it, keeps its result or
// shows it: the kinds of finding, one finding, the report, and the record of a verification a store keeps
// (the last one is shown by the API and the dashboard). The verifier is src/integrity/verify.ts; each store
// back end keeps the last verification through src/store/integrity.ts. src/integrity/types.ts re-exports
// these names for the layers above the store.

/**
 * `modified`: a stored row differs from what was signed; `deleted`: signed but no longer stored;
 * `inserted`: stored but never signed; `chain`: a digest record missing, reordered, altered or with a bad
 * signature.
 */
export type FindingKind = 'modified' | 'deleted' | 'inserted' | 'chain';

export interface IntegrityFinding {
  kind: FindingKind;
  /** The event's auditID, when the finding is about one event. */
  auditID?: string;
  /** The event's time (RFC 3339, UTC), when the finding is about one event. */
  time?: string;
  detail: string;
}

export interface VerifyReport {
  /** Stored events checked and the span of their times (RFC 3339, UTC). */
  verified: { events: number; from?: string; to?: string };
  findings: IntegrityFinding[];
}

/** One verification as a store keeps it. */
export interface VerificationRecord extends VerifyReport {
  /** When it ran (RFC 3339, UTC). */
  at: string;
  /** The range asked for (RFC 3339, UTC), when one was. */
  since?: string;
  until?: string;
  /** No findings. */
  ok: boolean;
  durationMs: number;
  by: 'cli' | 'server';
}
