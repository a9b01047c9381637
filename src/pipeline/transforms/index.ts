// The transform order, written once for every topology (serve, import, query --file): policy, size cap,
// redaction, the caller's own, detection. Each stage is a thin adapter over the module that does the
// work; a stage with nothing to do adds no transform.
import type { Transform } from '../contracts.js';
import { detectStage } from './detect.js';
import { extraStage } from './extra.js';
import { policyStage } from './policy.js';
import { redactStage } from './redact.js';
import type { StageOptions, TransformStage } from './stage.js';
import { truncateStage } from './truncate.js';

export const TRANSFORM_ORDER: readonly TransformStage[] = [
  policyStage,
  truncateStage,
  redactStage,
  extraStage,
  detectStage,
];

/** The transforms for the options, in the one order. */
export function buildTransforms(o: StageOptions): Transform[] {
  return TRANSFORM_ORDER.flatMap((s) => s.create(o));
}
