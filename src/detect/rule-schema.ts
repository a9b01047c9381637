// The schema of a rule file, strict (unknown keys are errors): rule ids and names, conditions, windows,
// aggregates, first-seen and silence rules, suppression, exceptions and examples. load.ts parses files
// against it and reports each problem with its file, line and path.
import { z } from 'zod';
import { SEVERITIES } from './types.js';

const idRe = /^[a-z0-9][a-z0-9-]*$/;
const nameRe = /^[A-Za-z_][A-Za-z0-9_-]*$/;

const exceptionSchema = z
  .object({
    name: z.string().min(1),
    condition: z.string().min(1).optional(),
    every: z.array(z.string().min(1)).min(1).optional(),
    in: z
      .string()
      .regex(/^\$[A-Za-z_][A-Za-z0-9_-]*$/, 'must name a list, as in $trusted_images')
      .optional(),
    repository: z.boolean().optional(),
  })
  .strict()
  .refine((e) => (e.condition !== undefined) !== (e.every !== undefined), {
    message: 'an exception has either a condition or every + in',
  })
  .refine((e) => (e.every === undefined) === (e.in === undefined), {
    message: 'every and in go together',
  });

const stepSchema = z
  .object({
    at: z.string().optional(),
    repeat: z.number().int().min(1).max(10_000).optional(),
    every: z.string().optional(),
    event: z.record(z.string(), z.unknown()),
  })
  .strict();

const caseSchema = z.union([
  z
    .object({
      name: z.string().optional(),
      event: z.record(z.string(), z.unknown()).optional(),
      events: z.array(stepSchema).min(1).optional(),
      lists: z.record(z.string(), z.array(z.string())).optional(),
      ipLists: z.record(z.string(), z.array(z.string())).optional(),
      macros: z.record(z.string(), z.string()).optional(),
    })
    .strict()
    .refine((c) => (c.event === undefined) !== (c.events === undefined), {
      message: 'an example has event or events',
    }),
  z.record(z.string(), z.unknown()),
]);

const ipListName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must name an IP list, as in tor-exit-nodes');

const ruleSchema = z
  .object({
    id: z.string().regex(idRe, 'ids are lower-case words joined by dashes'),
    title: z.string().min(1).optional(),
    description: z.string().optional(),
    severity: z.enum(SEVERITIES).optional(),
    mitre: z.array(z.string().regex(/^T\d{4}(\.\d{3})?$/, 'an ATT&CK technique id such as T1611')).optional(),
    covers: z
      .array(z.string().regex(/^(falco|panther|sigma|elastic|guardduty):.+$/, 'tool:rule, as in falco:…'))
      .optional(),
    tags: z.array(z.string()).optional(),
    enabled: z.boolean().optional(),
    condition: z.string().min(1).optional(),
    exceptions: z.array(exceptionSchema).optional(),
    search: z
      .array(
        z
          .object({
            under: z.string().min(1),
            for: z.string().regex(/^\$[A-Za-z_][A-Za-z0-9_-]*$/, 'must name a list, as in $markers'),
          })
          .strict(),
      )
      .optional(),
    ipList: z
      .union([ipListName, z.object({ name: ipListName, outside: z.boolean().optional() }).strict()])
      .optional(),
    output: z.string().min(1).optional(),
    aggregate: z
      .object({
        function: z.enum(['count', 'distinct']),
        field: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
        window: z.string(),
        by: z.array(z.string()).default([]),
        threshold: z.number().int().min(1),
        baseline: z.object({ factor: z.number().positive(), learn: z.string() }).strict().optional(),
      })
      .strict()
      .refine((a) => (a.function === 'distinct') === (a.field !== undefined), {
        message: 'distinct needs field; count takes none',
      })
      .optional(),
    firstSeen: z
      .object({
        key: z.array(z.string()).min(1),
        value: z.array(z.string()).min(1),
        learn: z.string(),
        newKeys: z.boolean().optional(),
      })
      .strict()
      .optional(),
    silence: z
      .object({ after: z.string(), by: z.array(z.string()).default(['cluster']) })
      .strict()
      .optional(),
    suppress: z
      .object({ window: z.string(), by: z.array(z.string()).default(['auditid']) })
      .strict()
      .optional(),
    examples: z
      .object({ fire: z.array(caseSchema).optional(), quiet: z.array(caseSchema).optional() })
      .strict()
      .optional(),
  })
  .strict();

const listSchema = z.union([
  z.array(z.string()),
  z.object({ items: z.array(z.string()), append: z.boolean().optional() }).strict(),
]);

/** A rule file: named lists and macros, and rules. */
export const fileSchema = z
  .object({
    lists: z.record(z.string().regex(nameRe, 'list names are words'), listSchema).optional(),
    macros: z.record(z.string().regex(nameRe, 'macro names are words'), z.string().min(1)).optional(),
    rules: z.array(ruleSchema).optional(),
  })
  .strict();

/** One rule as written in a file. */
export type RuleEntry = z.infer<typeof ruleSchema>;
