// Generates docs/errors.md from the error registry.
import { ERROR_CODES } from './errors.js';

export function errorsMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, info]) => `| \`${code}\` | ${info.exit} | ${info.summary} | ${info.fix} |`,
  );
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/core/errors.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Every error kubetrail reports carries one of these stable codes, printed as `CODE: place: message`',
    'followed by a hint. Scripts may rely on the codes and on the exit status: 0 success, 1 "found" (leaks,',
    'no match with `--fail-if-empty`, lint warnings with `--strict`), 2 usage or input error, 3 store or I/O fault.',
    '',
    '| code | exit | meaning | how to fix |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
