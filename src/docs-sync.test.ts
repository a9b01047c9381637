// Generated references in docs/ must match the code they are generated from (`npm run docs` rewrites them).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorsMarkdown } from './core/errors-docs.js';
import { fieldsMarkdown } from './fields/docs.js';
import { cliMarkdown } from './cli/docs.js';
import { buildProgram } from './cli/main.js';

const doc = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), 'utf8');

describe('generated docs are current (run `npm run docs` after changing the catalog or error codes)', () => {
  it('docs/fields.md', () => expect(doc('fields.md')).toBe(fieldsMarkdown()));
  it('docs/errors.md', () => expect(doc('errors.md')).toBe(errorsMarkdown()));
  it('docs/cli.md', () => expect(doc('cli.md')).toBe(cliMarkdown(buildProgram())));
});
