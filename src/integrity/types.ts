// The shapes of a verification of the trail (findings, the report, the record a store keeps of it), for
// the verifier, the CLI, the API and the dashboard. They are defined in src/core/integrity.ts, below the
// store layer, so that store back ends can keep the last verification; this module names them here.
export type { FindingKind, IntegrityFinding, VerifyReport, VerificationRecord } from '../core/integrity.js';
