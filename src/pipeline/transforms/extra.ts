// Transform stage: the caller's own transforms (tests, embedding), after redaction, before detection, so
// that they never see a secret and detection still sees what they leave.
import type { TransformStage } from './stage.js';

export const extraStage: TransformStage = {
  name: 'extra',
  create: (o) => [...(o.extra ?? [])],
};
