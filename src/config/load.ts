// Loads the configuration file (YAML or JSON) and validates it against the schema, reporting every
// problem at once with its key path and the line and column where it is in the file.
import { readFileSync } from 'node:fs';
import { KubetrailError } from '../core/errors.js';
import { parseLocated, pathText, placeOf } from '../core/located-yaml.js';
import { configSchema, type Config } from './schema.js';

export interface ConfigProblem {
  path: string;
  line?: number;
  column?: number;
  message: string;
}

/** A configuration that does not validate; carries every problem found. */
export class ConfigError extends KubetrailError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
    code: 'KT_CONFIG_INVALID' | 'KT_CONFIG_READ' = 'KT_CONFIG_INVALID',
  ) {
    const first = problems[0];
    super(
      code,
      problems.length === 1
        ? first!.message
        : `${problems.length} problems:\n${problems.map((p) => `  ${describe(file, p)}`).join('\n')}`,
      {
        where: {
          file,
          ...(first?.line !== undefined ? { line: first.line } : {}),
          ...(first?.column !== undefined ? { column: first.column } : {}),
          ...(first?.path ? { path: first.path } : {}),
        },
      },
    );
  }
}

/** `file:line:column: path: message`, as much of it as is known. */
export function describe(file: string, p: ConfigProblem): string {
  const place = [file, p.line, p.column].filter((x) => x !== undefined).join(':');
  return `${place}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** Validates an already-read configuration text; `file` names it in messages. */
export function parseConfig(text: string, file: string): Config {
  const y = parseLocated(text, { uniqueKeys: true });
  if (y.errors.length > 0) {
    throw new ConfigError(
      file,
      y.errors.map((e) => ({ path: '', ...e })),
      'KT_CONFIG_READ',
    );
  }
  const value: unknown = y.doc.toJS() ?? {};
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    let path = issue.path;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      path = [...issue.path, issue.keys[0]!];
    }
    return { path: pathText(path), ...placeOf(y, path), message };
  });
  throw new ConfigError(file, problems);
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubetrailError('KT_CONFIG_READ', `cannot read ${file}: ${(err as Error).message}`, {
      where: { file },
    });
  }
  return parseConfig(text, file);
}

/** The configuration when no file is given: every default. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
