// Transform stage: the audit policy, first, so that nothing a policy drops or strips is cut, redacted,
// evaluated or stored (src/policy/apply.ts evaluates it with the API server's semantics).
import { policyTransform } from '../../policy/apply.js';
import type { TransformStage } from './stage.js';

export const policyStage: TransformStage = {
  name: 'policy',
  create: (o) => (o.policy ? [policyTransform(o.policy)] : []),
};
