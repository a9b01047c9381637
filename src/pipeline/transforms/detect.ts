// Transform stage: detection (src/detect/transform.ts), last, so that rules evaluate exactly what is
// stored: events pass unchanged, alerts go to the alert outbox as they are raised.
import type { TransformStage } from './stage.js';

export const detectStage: TransformStage = {
  name: 'detect',
  create: (o) => (o.detection ? [o.detection] : []),
};
