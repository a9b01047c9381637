// Transform stage: redaction of secrets and personal data (src/redact/), before anything is stored,
// streamed, evaluated by the rules or printed.
import type { TransformStage } from './stage.js';

export const redactStage: TransformStage = {
  name: 'redact',
  create: (o) => (o.redaction ? [o.redaction] : []),
};
