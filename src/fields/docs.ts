// Generates docs/fields.md from the field catalog, so the reference can never drift from the code.
import { FIELDS, JSON_ROOTS } from './catalog.js';

const esc = (s: string) => s.replace(/\|/g, '\\|');

export function fieldsMarkdown(): string {
  const lines = [
    '# Field reference',
    '',
    '<!-- Generated from src/fields/catalog.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Every field the filter language knows, for the CLI, the web UI, live tail and detection rules.',
    'Names are case-insensitive; aliases work everywhere the name does.',
    '',
    '| field | aliases | type | source in the audit event | store column | description |',
    '|---|---|---|---|---|---|',
    ...FIELDS.map(
      (f) =>
        `| \`${f.name}\` | ${f.aliases.map((a) => `\`${a}\``).join(', ')} | ${f.type}${f.multi ? ' (many)' : ''} | \`${esc(f.source)}\` | ${f.column ? `\`${f.column}\`` : '(computed)'} | ${esc(f.description)}${f.text ? ' Searched by free text.' : ''} |`,
    ),
    '',
    'Types: `string` values match exactly or with `*` wildcards; `number` and `duration` (milliseconds; write',
    '`250ms`, `1s`, `2m`) and `time` (RFC 3339 or a date) also take `>`, `>=`, `<`, `<=`. A field marked',
    '*(many)* holds several values; a filter matches when any of them matches.',
    '',
    '## Annotations',
    '',
    '`annotations.KEY` (or `annotation.KEY`) reads one annotation by its full key, which may contain dots and',
    'slashes: `annotations.authorization.k8s.io/decision:forbid`, `annotations.pod-security.kubernetes.io/enforce-policy:*`.',
    '',
    '## JSON paths',
    '',
    `A dotted path under ${JSON_ROOTS.map((r) => `\`${r}\``).join(', ')} reads inside the event. Arrays`,
    'anywhere along the path are crossed: the filter matches when any element matches. For example',
    '`requestObject.spec.containers.securityContext.privileged:true` finds pods with a privileged container,',
    'and `requestObject.subjects.name:system:anonymous` finds bindings that name the anonymous user.',
    '',
    '## Examples',
    '',
    ...FIELDS.flatMap((f) => f.examples.map((e) => `- \`${e}\``)),
    '',
  ];
  return lines.join('\n');
}
