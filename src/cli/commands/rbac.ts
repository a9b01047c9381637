// `kubetrail rbac suggest|unused`: least-privilege RBAC from what a subject actually did in a range
// (Roles, ClusterRoles and bindings for `kubectl apply`), and the permissions the cluster's roles grant
// that no request used in the range, dangerous ones first, with a diff that removes them. Events come
// from the store (through a running server when it holds the file) or from audit log files.
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import { microsToTime } from '../../core/time.js';
import { createMemoryQuarantine, readEvents } from '../../ingest/index.js';
import { RbacEvaluator } from '../../rbac/evaluate.js';
import { loadRbac } from '../../rbac/load.js';
import { suggestionJson, suggestionYaml } from '../../rbac/render.js';
import type { RequestTally } from '../../rbac/requests.js';
import { subjectFilter, tallyBatches, tallyStore } from '../../rbac/source.js';
import {
  parseServiceAccount,
  parseSubject,
  subjectText,
  SUBJECT_SYNTAX,
  type SubjectRef,
} from '../../rbac/subject.js';
import { suggest } from '../../rbac/suggest.js';
import { analyzeUnused, describePermission, type Grant } from '../../rbac/unused.js';
import { unusedData, unusedDiff, unusedYaml } from '../../rbac/unused-render.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import { openStore } from '../../store/open.js';
import { renderTable } from '../terminal.js';
import {
  choice,
  collect,
  dbLocation,
  dbOption,
  keyFileOption,
  storeOptions,
  n,
  processIo,
  timeRange,
  type Io,
} from '../common.js';

interface SourceOpts {
  db?: string;
  keyFile?: string;
  file: string[];
  since?: string;
  until?: string;
}

interface SuggestOpts extends SourceOpts {
  user?: string;
  serviceaccount?: string;
  group?: string;
  namespace?: string;
  names?: boolean;
  expandVerbs?: boolean;
  name?: string;
  rbac: string[];
  output: string;
}

interface UnusedOpts extends SourceOpts {
  rbac: string[];
  subject?: string;
  output: string;
}

/** The requests of the range, from files or from the store. */
async function tallyOf(opts: SourceOpts, filter: QueryNode | undefined): Promise<RequestTally> {
  const range = timeRange(opts);
  if (opts.file.length > 0)
    return tallyBatches(readEvents(opts.file, { quarantine: createMemoryQuarantine() }), range);
  const store = await openStore(dbLocation(opts.db), storeOptions(opts, { readOnly: true }));
  try {
    return await tallyStore(store, { ...range, ...(filter ? { filter } : {}) });
  } finally {
    await store.close();
  }
}

function subjectOf(opts: SuggestOpts): SubjectRef {
  const given = [
    opts.user !== undefined ? { kind: 'User' as const, name: opts.user } : undefined,
    opts.serviceaccount !== undefined ? parseServiceAccount(opts.serviceaccount) : undefined,
    opts.group !== undefined ? { kind: 'Group' as const, name: opts.group } : undefined,
  ].filter((s) => s !== undefined);
  if (given.length !== 1)
    throw new KubetrailError(
      'KT_USAGE',
      'name one subject: --user NAME, --serviceaccount NAMESPACE:NAME or --group NAME',
      {
        where: { path: '--user' },
      },
    );
  const s = given[0]!;
  if (s.name === '')
    throw new KubetrailError('KT_USAGE', 'the subject name is empty', { where: { path: '--user' } });
  return s;
}

function grantNote(g: Grant): string {
  if (g.uses > 0) return '';
  return g.dangerous ? `UNUSED, DANGEROUS (${g.dangerous})` : 'unused';
}

export function registerRbacCommands(program: Command, io: Io = processIo()): void {
  const rbac = program
    .command('rbac')
    .description('least-privilege RBAC from the audit trail; granted permissions that go unused');

  rbac
    .command('suggest')
    .description(
      'Roles, ClusterRoles and bindings that allow exactly what a subject did and was allowed to do',
    )
    .option('--user <name>', 'the user (as the API server names it)')
    .option('--serviceaccount <namespace:name>', 'the service account NAMESPACE:NAME')
    .option('--group <name>', 'the group (requests of every member)')
    .option('--since <time>', 'only requests at or after: a duration (30d) or a time')
    .option('--until <time>', 'only requests before: a duration ago or a time')
    .option('--namespace <ns>', 'only requests in this namespace')
    .option('--names', 'limit get, update, patch and delete to the object names seen (resourceNames)')
    .option('--expand-verbs', 'grant get, list and watch together where any of them was used')
    .option('--name <name>', 'name of the generated objects (default kubetrail:SUBJECT)')
    .option(
      '--rbac <path>',
      "the cluster's RBAC (kubectl get ... -o yaml output, YAML, JSON or a folder): leave out what it already allows (repeatable)",
      collect,
      [],
    )
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--file <path>', 'read requests from an audit log file or directory (repeatable)', collect, [])
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (opts: SuggestOpts) => {
      const format = choice('--output', opts.output, ['yaml', 'json'] as const);
      const subject = subjectOf(opts);
      const existing = opts.rbac.length > 0 ? new RbacEvaluator((await loadRbac(opts.rbac)).set) : undefined;
      const tally = await tallyOf(opts, subjectFilter(subject));
      const s = suggest(tally.observations(), {
        ...(existing ? { existing } : {}),
        subject,
        ...(opts.names ? { names: true } : {}),
        ...(opts.expandVerbs ? { expandVerbs: true } : {}),
        ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
      });
      if (s.allowed.length === 0 && s.refused.length === 0 && s.alreadyAllowed === 0) {
        io.err(`no requests by ${subjectText(subject)} in the range\n`);
        io.exitCode = 1;
        return;
      }
      io.out(format === 'json' ? suggestionJson(s) : suggestionYaml(s));
      const refused = s.refused.filter((r) => !r.grantedAnyway).length;
      io.err(
        `${n(s.allowed.reduce((a, o) => a + o.count, 0))} allowed requests → ${s.objects.length} objects` +
          (refused > 0 ? `; ${refused} refused requests not granted (listed in the comment)` : '') +
          '\n',
      );
    });

  rbac
    .command('unused')
    .description(
      "each subject's granted permissions and whether requests used them, dangerous unused ones first",
    )
    .requiredOption(
      '--rbac <path>',
      'the cluster RBAC: `kubectl get clusterroles,clusterrolebindings,roles,rolebindings -A -o yaml` output, multi-document YAML, or a folder (repeatable)',
      collect,
      [],
    )
    .option('--subject <subject>', `only this subject: ${SUBJECT_SYNTAX}`)
    .option('--since <time>', 'only requests at or after: a duration (90d) or a time')
    .option('--until <time>', 'only requests before: a duration ago or a time')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--file <path>', 'read requests from an audit log file or directory (repeatable)', collect, [])
    .option(
      '-o, --output <format>',
      'table, json, yaml or diff (what to remove, against the given roles)',
      'table',
    )
    .action(async (opts: UnusedOpts) => {
      const format = choice('--output', opts.output, ['table', 'json', 'yaml', 'diff'] as const);
      const subject = opts.subject !== undefined ? parseSubject(opts.subject) : undefined;
      const range = timeRange(opts);
      const loaded = await loadRbac(opts.rbac);
      const tally = await tallyOf(opts, undefined);
      const report = analyzeUnused(loaded.set, tally.observations(), subject ? { subject } : {});
      const grants = report.subjects.flatMap((s) => s.grants.map((g) => ({ s, g })));
      const unused = grants.filter((x) => x.g.uses === 0);
      if (unused.length > 0) io.exitCode = 1;
      if (format === 'diff') {
        io.out(unusedDiff(report));
      } else if (format === 'json' || format === 'yaml') {
        const data = unusedData(report, { events: tally.events, ...range });
        io.out(format === 'json' ? `${JSON.stringify(data)}\n` : unusedYaml(data));
      } else if (grants.length > 0) {
        io.out(
          renderTable(
            grants,
            [
              { header: 'SUBJECT', get: (x) => subjectText(x.s.subject), weight: 2 },
              { header: 'NAMESPACE', get: (x) => x.g.scope || '*', min: 3 },
              { header: 'PERMISSION', get: (x) => describePermission(x.g.permission), weight: 3 },
              {
                header: 'ROLE',
                get: (x) => `${x.g.role.kind}/${x.g.role.name}${x.g.via ? ` (via ${x.g.via})` : ''}`,
                weight: 2,
              },
              { header: 'USES', get: (x) => n(x.g.uses), right: true, min: 4 },
              {
                header: 'LAST USED',
                get: (x) =>
                  x.g.lastUsed !== undefined ? microsToTime(x.g.lastUsed).slice(0, 19) + 'Z' : '-',
                min: 10,
              },
              { header: 'NOTE', get: (x) => grantNote(x.g), weight: 2 },
            ],
            io.width,
          ) + '\n',
        );
      }
      const dangerous = unused.filter((x) => x.g.dangerous).length;
      io.err(
        `${report.subjects.length} subjects, ${n(grants.length)} granted permissions, ${n(unused.length)} unused in the range` +
          ` (${n(dangerous)} dangerous), from ${n(tally.events)} events` +
          (loaded.skipped > 0 ? `; ${loaded.skipped} objects of other kinds skipped` : '') +
          '\n',
      );
      if (subject && report.subjects.length === 0)
        io.err(
          `no binding names ${subjectText(subject)} (bindings to its groups are listed under the groups)\n`,
        );
    });
}
