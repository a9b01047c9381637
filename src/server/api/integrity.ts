// The integrity of the trail (`/api/v1/integrity`): the last verification of the store's tamper evidence
// (by the server or by `kubetrail verify`, as the store recorded it) with the digest chain's state, and a
// verification on demand. Findings name auditIDs and times of any event in the store, so only roles that
// read every event (admin, analyst) may see them; a viewer, whatever its scope, and an ingest token get
// 403. Running a verification reads the whole store: admin only.
import type { FastifyInstance } from 'fastify';
import { KubetrailError } from '../../core/errors.js';
import type { ApiContext, Guard, IntegrityApi } from './common.js';

function integrityOf(ctx: ApiContext): IntegrityApi {
  if (!ctx.integrity)
    throw new KubetrailError('KT_STORE_OPEN', 'the tamper evidence of this store is unavailable', {
      hint: 'see the server log for why it could not be opened',
    });
  return ctx.integrity;
}

export function registerIntegrityRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  app.get('/api/v1/integrity', guard(['admin', 'analyst']), async () => {
    const integrity = integrityOf(ctx);
    const [last, chain] = await Promise.all([integrity.lastVerification(), integrity.chainState()]);
    const { task } = integrity;
    const next = task.next;
    return {
      ...(last ? { last } : {}),
      chain,
      schedule: {
        intervalSeconds: Math.round(task.intervalMs / 1000),
        running: task.running,
        ...(next !== undefined ? { next: new Date(next).toISOString() } : {}),
      },
    };
  });

  app.post('/api/v1/integrity/verify', guard(['admin']), async () => integrityOf(ctx).task.run());
}
