// Value detectors: the well-known shapes of credentials (private keys, JWTs, cloud keys, tokens of popular
// services, passwords in URLs and Authorization headers, bootstrap tokens) and `name=value` assignments
// whose name is sensitive, found inside any string. Each detector has a stable id used in the config's
// allow-list, in scan reports and in docs/redaction.md.
import type { NameClassifier } from './names.js';

export interface Detector {
  /** Stable id (kebab-case). */
  id: string;
  title: string;
  /** The regular expression; must carry the `g` flag. */
  regex: RegExp;
  /** Capture group holding the secret part; 0 (the default) is the whole match. */
  group?: number;
  /** Extra check on a candidate (the secret part); false discards it. */
  accept?: (secret: string) => boolean;
  /** Examples that must be detected (used by the tests and the docs). */
  examples: readonly string[];
  /**
   * Built-in detectors: a cheap expression that every match of `regex` satisfies somewhere inside it (a
   * literal prefix or infix). Text that holds no built-in detector's hint is not given to them.
   */
  hint?: RegExp;
  /** Built-in detectors run only on text matching one of their hints; configured ones always run. */
  builtin?: boolean;
}

export interface Hit {
  start: number;
  end: number;
  detector: string;
}

const b64ToText = (s: string): string => {
  try {
    return Buffer.from(s, 'base64').toString('latin1');
  } catch {
    return '';
  }
};

const hasDigit = /\d/;

/** Built-in detectors, in the order they are tried. Ids are stable. */
export const BUILTIN_DETECTORS: readonly Detector[] = (
  [
    {
      id: 'private-key',
      title: 'PEM or OpenSSH private key (RSA, EC, DSA, PKCS#8, encrypted, OpenSSH, PGP)',
      hint: /-----BEGIN/,
      regex:
        /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
      examples: ['-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----'],
    },
    {
      id: 'private-key-base64',
      title: 'Base64-encoded PEM private key (kubeconfig client-key-data, Secret values)',
      hint: /LS0tLS1CRUdJTi/,
      regex: /LS0tLS1CRUdJTi[A-Za-z0-9+/]{8,}={0,2}/g,
      accept: (s) => /PRIVATE KEY/.test(b64ToText(s.slice(0, 96))),
      examples: [
        Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n').toString('base64'),
      ],
    },
    {
      id: 'jwt',
      title: 'JSON Web Token (service-account tokens, OIDC ID tokens)',
      hint: /eyJ/,
      regex: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
      examples: ['eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ'],
    },
    {
      id: 'aws-access-key-id',
      title: 'AWS access key id',
      hint: /AKIA|ASIA|ABIA|ACCA/,
      regex: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/g,
      examples: ['AKIAIOSFODNN7EXAMPLE'],
    },
    {
      id: 'gcp-api-key',
      title: 'Google Cloud API key',
      hint: /AIza/,
      regex: /AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
      examples: ['AIzaSyA1234567890abcdefghijklmnopqrstuv'],
    },
    {
      id: 'google-oauth-token',
      title: 'Google OAuth access token',
      hint: /ya29\./,
      regex: /ya29\.[0-9A-Za-z_-]{20,}/g,
      examples: ['ya29.a0AfH6SMBx3kLmNoPqRsTuVwXyZ0123456789'],
    },
    {
      id: 'azure-storage-key',
      title: 'Azure storage account key or shared access signature in a connection string or URL',
      hint: /AccountKey=|SharedAccessKey=|sig=/,
      regex: /(?:AccountKey=|SharedAccessKey=|[?&]sig=)([A-Za-z0-9+/%]{20,}(?:={0,2}|(?:%3D){0,2}))/g,
      group: 1,
      examples: [
        'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=dGhpcyBpcyBub3QgYSByZWFsIGtleSBhdCBhbGwgb2s=;',
      ],
    },
    {
      id: 'github-token',
      title: 'GitHub token (personal, OAuth, app, refresh, fine-grained)',
      hint: /gh[pousr]_|github_pat_/,
      regex: /(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
      examples: ['ghp_0123456789abcdefghijABCDEFGHIJ012345'],
    },
    {
      id: 'gitlab-token',
      title: 'GitLab personal, project, deploy or runner token',
      hint: /gl(?:pat|dt|rt|ptt|soat)-/,
      regex: /(?:glpat|gldt|glrt|glptt|glsoat)-[A-Za-z0-9_-]{20,}/g,
      examples: ['glpat-abcdefghij0123456789'],
    },
    {
      id: 'slack-token',
      title: 'Slack bot, user, app or refresh token',
      hint: /xox[abeoprs]-/,
      regex: /xox[abeoprs]-(?:[0-9A-Za-z]+-){1,4}[0-9A-Za-z]{6,}/g,
      examples: ['xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx'],
    },
    {
      id: 'slack-webhook',
      title: 'Slack incoming-webhook URL',
      hint: /hooks\.slack\.com\/services\//,
      regex: /hooks\.slack\.com\/services\/(T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]{16,})/g,
      group: 1,
      examples: ['https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/abcdefghijklmnopqrstuvwx'],
    },
    {
      id: 'stripe-key',
      title: 'Stripe secret or restricted key',
      hint: /_live_|_test_/,
      regex: /(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,}/g,
      examples: ['sk_live_0123456789abcdefghijABCD'],
    },
    {
      id: 'ai-api-key',
      title: 'OpenAI or Anthropic API key',
      hint: /sk-/,
      regex: /(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{32,}/g,
      accept: (s) => hasDigit.test(s),
      examples: ['sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD'],
    },
    {
      id: 'npm-token',
      title: 'npm access token',
      hint: /npm_/,
      regex: /npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
      examples: ['npm_abcdefghijklmnopqrstuvwxyz0123456789'],
    },
    {
      id: 'pypi-token',
      title: 'PyPI upload token',
      hint: /pypi-/,
      regex: /pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{40,}/g,
      examples: ['pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA'],
    },
    {
      id: 'docker-hub-token',
      title: 'Docker Hub personal access token',
      hint: /dckr_pat_/,
      regex: /dckr_pat_[A-Za-z0-9_-]{20,}/g,
      examples: ['dckr_pat_abcdefghijklmnopqrstuvwxyz0'],
    },
    {
      id: 'sendgrid-key',
      title: 'SendGrid API key',
      hint: /SG\./,
      regex: /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/g,
      examples: ['SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'],
    },
    {
      id: 'vault-token',
      title: 'HashiCorp Vault service, batch or recovery token',
      hint: /hv[sbr]\./,
      regex: /(?<![A-Za-z0-9])hv[sbr]\.[A-Za-z0-9_-]{24,}/g,
      examples: ['hvs.CAESIJlWh1b2f9Zx0123456789abcdefgh'],
    },
    {
      id: 'digitalocean-token',
      title: 'DigitalOcean token',
      hint: /_v1_/,
      regex: /do[por]_v1_[a-f0-9]{64}/g,
      examples: [`dop_v1_${'ab12'.repeat(16)}`],
    },
    {
      id: 'bootstrap-token',
      title: 'Kubernetes bootstrap token (token-id.token-secret)',
      hint: /\.[a-z0-9]{16}/,
      regex: /(?<![A-Za-z0-9_.-])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9_.-])/g,
      examples: ['abcdef.0123456789abcdef'],
    },
    {
      id: 'url-password',
      title: 'Password in a URL (scheme://user:password@host)',
      hint: /:\/\//,
      regex: /[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s:/?#@"'<>]*:([^\s/?#@"'<>]+)@/g,
      group: 1,
      examples: ['postgres://app:s3cr3t-pa55@db.internal:5432/app'],
    },
    {
      id: 'authorization-header',
      title: 'Credential in an Authorization header or a Bearer/Basic scheme',
      hint: /Bearer|Basic|Token|Digest/,
      regex: /(?:Bearer|Basic|Token|Digest)[ \t]+([A-Za-z0-9._~+/-]{16,}=*)/g,
      group: 1,
      accept: (s) => hasDigit.test(s),
      examples: ['Authorization: Bearer 3f1c9a7d2b8e4f60a1b2c3d4e5f60718'],
    },
  ] as Detector[]
).map((d) => ({ ...d, builtin: true }));

/**
 * Matches text holding the hint of at least one of the given detectors (the union of their hints), so that
 * text it does not match holds no match of any of them. A detector without a hint matches every text.
 */
export function hintOf(detectors: readonly Detector[]): RegExp {
  const sources = detectors.map((d) => (d.hint ? `(?:${d.hint.source})` : '[\\s\\S]|^'));
  return sources.length === 0 ? /(?!)/ : new RegExp(sources.join('|'));
}

/** The built-in detector ids, for the config's allow-list and the docs. */
export const BUILTIN_DETECTOR_IDS: readonly string[] = BUILTIN_DETECTORS.map((d) => d.id);

/** Id of the rule that finds `name = value` assignments with a sensitive name inside text. */
export const ASSIGNMENT_RULE = 'sensitive-assignment';

// `name: value`, `name=value`, `"name": "value"`, `--name value`, `-name=value`: the value is what follows.
// Keys are identifier-like so that prose does not match; a value after only whitespace counts only for a
// flag (`--token abc`), never for a plain word ("token was rejected"). After `:` or `=`, an unquoted value
// runs to the end of the line or to a delimiter (`;`, `&`, `,`, a closing bracket).
//
// Two steps keep the scan linear in the text: KEY finds a name and its separator (bounded length); only
// for a sensitive name is the value read, with a sticky expression at the position KEY stopped.
const KEY = /(?<![A-Za-z0-9_.-])(--?)?(["']?)([A-Za-z_][A-Za-z0-9_.-]{1,63})\2([ \t]*[:=][ \t]*|[ \t]+)/g;
const VALUE_AFTER_SEPARATOR =
  /"[^"\n]*"|'[^'\n]*'|["'][^\n]*|[^\s"',;&)}\]](?:[^\n\r"',;&)}\]]*[^\s"',;&)}\]])?/y;
const VALUE_AFTER_FLAG = /"[^"\n]*"|'[^'\n]*'|[^\s"',;&)}\]-][^\s"',;&)}\]]*/y;

/** Finds sensitive `name=value` assignments in text; the hit covers the value (without quotes). */
export function findAssignments(text: string, names: NameClassifier, out: Hit[]): void {
  if (!names.keyHint.test(text)) return;
  const re = KEY;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const flag = m[1];
    const sep = m[4]!;
    const spaced = sep.indexOf(':') < 0 && sep.indexOf('=') < 0;
    if ((spaced && flag === undefined) || !names.isSensitive(m[3]!)) {
      // Not an assignment of a credential; what follows may hold one, and is looked at next.
      if (spaced) re.lastIndex = m.index + m[0].length - sep.length + 1;
      continue;
    }
    const valueStart = m.index + m[0].length;
    const v = spaced ? VALUE_AFTER_FLAG : VALUE_AFTER_SEPARATOR;
    v.lastIndex = valueStart;
    const vm = v.exec(text);
    if (!vm) continue;
    let value = vm[0];
    re.lastIndex = valueStart + value.length;
    if (text.startsWith('[REDACTED', valueStart)) continue;
    let start = valueStart;
    if (value[0] === '"' || value[0] === "'") {
      // Quoted: the quotes stay; an unterminated quote runs to the end of the line.
      const closed = value.length >= 2 && value.at(-1) === value[0];
      value = value.slice(1, closed ? -1 : undefined);
      start += 1;
    }
    if (value === '') continue;
    out.push({ start, end: start + value.length, detector: ASSIGNMENT_RULE });
  }
}

/** Runs detectors over text, appending their hits. */
export function findPatterns(text: string, detectors: readonly Detector[], out: Hit[]): void {
  for (const d of detectors) {
    const re = d.regex;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      const g = d.group ?? 0;
      const secret = m[g];
      if (secret === undefined || secret === '') continue;
      if (d.accept && !d.accept(secret)) continue;
      const start = g === 0 ? m.index : (m.indices?.[g]?.[0] ?? m.index + m[0].lastIndexOf(secret));
      out.push({ start, end: start + secret.length, detector: d.id });
    }
  }
}
