// docs/redaction.md must describe every rule, every sensitive word, exact name and safe ending, and every
// key of the configuration file.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileRedactConfig } from './config.js';
import { SAFE_SUFFIXES, SENSITIVE_EXACT, SENSITIVE_WORDS } from './names.js';
import { ruleCatalog } from './rules.js';

const doc = readFileSync(new URL('../../docs/redaction.md', import.meta.url), 'utf8');

describe('docs/redaction.md', () => {
  it('lists every rule id', () => {
    for (const r of ruleCatalog(compileRedactConfig())) expect(doc, r.id).toContain(`\`${r.id}\``);
  });

  it('lists every sensitive word, exact name and safe ending', () => {
    for (const w of [...SENSITIVE_WORDS, ...SENSITIVE_EXACT, ...SAFE_SUFFIXES])
      expect(doc, w).toContain(`\`${w}\``);
  });

  it('shows every configuration key', () => {
    for (const k of [
      'hashValues:',
      'key:',
      'env:',
      'file:',
      'patterns:',
      'regex:',
      'group:',
      'description:',
      'sensitiveNames:',
      'assignments:',
      'flags:',
      'allow:',
      'values:',
      'names:',
      'detectors:',
      'pseudonymize:',
      'users:',
      'emails:',
      'sourceIPs:',
      'keepUsers:',
      'keepPrivateIPs:',
      'keepEmailDomains:',
    ])
      expect(doc, k).toContain(k);
  });
});
