// Transform stage: the per-event size cap (src/ingest/truncate.ts). After the policy, which may drop the
// bodies anyway; before redaction, which then does not walk bodies that will not be stored.
import { truncateTransform } from '../../ingest/truncate.js';
import type { TransformStage } from './stage.js';

export const truncateStage: TransformStage = {
  name: 'truncate',
  create: (o) => (o.maxEventBytes === false ? [] : [truncateTransform(o.maxEventBytes, o.onTruncated)]),
};
