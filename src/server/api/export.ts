// Exports of the explorer's view (`/api/v1/export`): the events matching a filter and time range as an
// evidence bundle (signed with a key made for the export: the manifest says so), as NDJSON (one audit
// event per line, as `kubetrail query -o ndjson` prints them) or as CSV (the columns of `query -o csv`).
// Everything is limited to the caller's scope and shown as the caller may see it (no bodies for a token
// without them); the answer names the kubetrail command that gives the same result
// (`x-kubetrail-command`), and `?command=only` answers with that command alone.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { exportCommand, FLAT_EXPORT_LIMIT } from '../../bundle/command.js';
import { csvRow, EVENT_CSV_HEADER, eventCsvLine } from '../../core/csv.js';
import { writeBundle } from '../../bundle/export.js';
import { toolVersion } from '../../bundle/version.js';
import { KubetrailError } from '../../core/errors.js';
import { allEvents } from '../../store/paging.js';
import { project, scopePredicate, seesBodies } from '../auth/scope.js';
import { filterOf, timeRangeOf, userOf, validate, type ApiContext, type Guard } from './common.js';
import { alertsInScope } from './events.js';

const exportQuery = z.strictObject({
  q: z.string().max(10_000).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  format: z.enum(['bundle', 'ndjson', 'csv'], { error: 'must be bundle, ndjson or csv' }).default('bundle'),
  command: z.enum(['only'], { error: 'must be only' }).optional(),
});

/** The file name offered for a download: the format and the time range. */
function fileName(format: string, since?: number): string {
  const stamp =
    since !== undefined ? new Date(since / 1000).toISOString().slice(0, 19).replace(/[-:]/g, '') : 'all';
  return `kubetrail-${stamp}.${format === 'bundle' ? 'tar.gz' : format}`;
}

export function registerExportRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  app.get('/api/v1/export', guard(), async (req, reply) => {
    const user = userOf(req);
    const p = validate(exportQuery, req.query);
    const filter = filterOf(user, p.q);
    const range = timeRangeOf(p);
    const file = fileName(p.format, range.since);
    const command = exportCommand(p.format, { filter: p.q ?? '*', ...range, out: file });
    if (p.command === 'only') return { command, format: p.format };
    reply.header('x-kubetrail-command', encodeURIComponent(command));
    reply.header('content-disposition', `attachment; filename="${file}"`);

    if (p.format === 'bundle') {
      const count = await ctx.store.count(filter, range);
      if (count > FLAT_EXPORT_LIMIT)
        throw new KubetrailError(
          'KT_API_REQUEST',
          `${count} events match: a bundle through the API holds at most ${FLAT_EXPORT_LIMIT}`,
          {
            where: { path: 'q' },
            hint: `narrow the filter or the time range, or run the command on the server: ${command}`,
          },
        );
      const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-export-'));
      const out = path.join(dir, file);
      try {
        const visible = scopePredicate(user);
        await writeBundle(ctx.store, {
          filter,
          filterText: p.q ?? '*',
          ...range,
          out,
          command,
          toolVersion: toolVersion(),
          ...(ctx.alerts ? { alerts: ctx.alerts } : {}),
          view: {
            visible,
            project: (r) => project(user, r),
            bodiesHidden: !seesBodies(user),
            alerts: (list) => alertsInScope(ctx, user, list),
            requestedBy: user.name,
            ...(user.role === 'viewer' && user.scope !== undefined ? { scope: user.scope } : {}),
          },
        });
      } catch (err) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      const stream = createReadStream(out);
      stream.on('close', () => rmSync(dir, { recursive: true, force: true }));
      return reply.header('content-type', 'application/gzip').send(stream);
    }

    const pages = allEvents(ctx.store, { filter, ...range, max: FLAT_EXPORT_LIMIT });
    const csv = p.format === 'csv';
    async function* lines(): AsyncGenerator<string> {
      if (csv) yield `${csvRow([...EVENT_CSV_HEADER])}\n`;
      for await (const page of pages) {
        const out: string[] = [];
        for (const r of page) {
          const v = project(user, r);
          out.push(csv ? `${eventCsvLine(v)}\n` : `${JSON.stringify(v.event)}\n`);
        }
        yield out.join('');
      }
    }
    return reply
      .header('content-type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .send(Readable.from(lines()));
  });
}
