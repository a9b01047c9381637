// docs/configuration.md cannot go stale: its reference table lists exactly the keys of the schema (a key
// added to src/config/schema.ts fails here until it is documented), each with the schema's default, and
// every YAML example in it is a valid configuration file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseConfig } from './load.js';
import { configSchema } from './schema.js';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/configuration.md');

interface KeyInfo {
  path: string;
  /** The schema's default, when it has one. */
  default?: unknown;
  hasDefault: boolean;
}

/** Wrappers that do not change which keys exist below them. */
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** Every key of the schema: leaves, arrays and maps (`files`, `files[].path`); objects only through theirs. */
function schemaKeys(schema: z.ZodType = configSchema): KeyInfo[] {
  const out: KeyInfo[] = [];
  const walk = (t: z.ZodType, p: string, info: { default?: unknown; hasDefault: boolean }) => {
    const def = (t as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
    if (def.type === 'default') {
      const d = def.defaultValue;
      walk(def.innerType as z.ZodType, p, {
        hasDefault: true,
        default: typeof d === 'function' ? (d as () => unknown)() : d,
      });
    } else if (WRAPPERS.has(def.type)) {
      walk(def.innerType as z.ZodType, p, info);
    } else if (def.type === 'pipe') {
      walk(def.in as z.ZodType, p, info);
    } else if (def.type === 'object') {
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        walk(v, p ? `${p}.${k}` : k, { hasDefault: false });
      }
    } else if (def.type === 'array') {
      out.push({ path: p, ...info });
      const element = def.element as z.ZodType;
      const elementDef = (element as unknown as { _zod: { def: { type: string } } })._zod.def;
      if (elementDef.type === 'object' || WRAPPERS.has(elementDef.type))
        walk(element, `${p}[]`, { hasDefault: false });
    } else {
      out.push({ path: p, ...info });
    }
  };
  walk(schema, '', { hasDefault: false });
  // An array of scalars (detect.rules) lands on its own path twice: keep the array's entry.
  return out.filter((k, i) => out.findIndex((o) => o.path === k.path) === i);
}

interface DocRow {
  key: string;
  type: string;
  default: string;
  line: number;
}

/** The rows of the reference table: `| \`key\` | type | default | meaning |`. */
function docRows(text: string): DocRow[] {
  const rows: DocRow[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^\|\s*`([^`]+)`\s*\|([^|]*)\|([^|]*)\|/.exec(l);
    if (m) rows.push({ key: m[1]!, type: m[2]!.trim(), default: m[3]!.trim(), line: i + 1 });
  });
  return rows;
}

/** How the table writes a default: a string as it is, anything else as JSON, in backticks. */
function defaultCell(v: unknown): string {
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

describe('docs/configuration.md', () => {
  const text = readFileSync(DOC, 'utf8');
  const rows = docRows(text);
  const keys = schemaKeys();

  it('finds the keys of the schema (the walk itself)', () => {
    const paths = keys.map((k) => k.path);
    for (const p of [
      'dataDir',
      'webhook.tokens',
      'webhook.tokens[].tokenEnv',
      'files[].startAt',
      'log.level',
    ])
      expect(paths).toContain(p);
    expect(keys.find((k) => k.path === 'webhook.maxBodyBytes')).toMatchObject({
      hasDefault: true,
      default: 64 * 1024 * 1024,
    });
    expect(keys.find((k) => k.path === 'tls.cert')?.hasDefault).toBe(false);
  });

  it('documents every key of the schema, and no key the schema does not have', () => {
    const documented = new Set(rows.map((r) => r.key));
    const missing = keys.map((k) => k.path).filter((p) => !documented.has(p));
    expect(missing, 'keys in src/config/schema.ts without a row in docs/configuration.md').toEqual([]);
    const known = new Set(keys.map((k) => k.path));
    const unknown = rows.filter((r) => !known.has(r.key)).map((r) => `${r.key} (line ${r.line})`);
    expect(unknown, 'rows in docs/configuration.md for keys the schema does not have').toEqual([]);
    const twice = rows.filter((r, i) => rows.findIndex((o) => o.key === r.key) !== i).map((r) => r.key);
    expect(twice, 'keys documented twice').toEqual([]);
  });

  it("states each key's default as the schema has it", () => {
    for (const k of keys) {
      const row = rows.find((r) => r.key === k.path);
      if (!row) continue;
      if (k.hasDefault) expect(row.default.startsWith(defaultCell(k.default)), k.path).toBe(true);
      else expect(row.default.startsWith('—'), `${k.path} has no default: write —`).toBe(true);
      expect(row.type, `${k.path}: type`).not.toBe('');
    }
  });

  it('has only valid configuration files as YAML examples', () => {
    const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    blocks.forEach((b, i) => {
      expect(() => parseConfig(b, `docs/configuration.md example ${i + 1}`)).not.toThrow();
    });
  });
});
