// Sensitive names: decides whether a key, flag, environment variable or query parameter name says that its
// value is a credential (`password`, `apiKey`, `--token`, `DB_PASSWD`). Names are compared in a normalized
// form (lower case, letters and digits only); decisions are cached because the same keys recur in every event.

/** Words that make a name sensitive wherever they appear in it. */
export const SENSITIVE_WORDS: readonly string[] = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'accesskey',
  'accountkey',
  'privatekey',
  'clientkey',
  'credential',
  'signingkey',
  'encryptionkey',
  'masterkey',
  'sessionkey',
  'authkey',
  'hmackey',
  'sshkey',
  'connectionstring',
];

/** Names that are sensitive only when they are the whole name. */
export const SENSITIVE_EXACT: readonly string[] = [
  'pass',
  'pw',
  'pwd',
  'auth',
  'authorization',
  'cookie',
  'dsn',
];

/**
 * Endings that make a sensitive-looking name describe a credential instead of holding one: `secretName`,
 * `secretKeyRef`, `tokenTTL`, `passwordFile`, `tokenExpirationSeconds`, `tokenUrl`.
 */
export const SAFE_SUFFIXES: readonly string[] = [
  'name',
  'names',
  'ref',
  'refs',
  'path',
  'paths',
  'file',
  'files',
  'dir',
  'namespace',
  'type',
  'types',
  'kind',
  'ttl',
  'expiry',
  'expiration',
  'expirationseconds',
  'seconds',
  'timeout',
  'length',
  'size',
  'count',
  'limit',
  'enabled',
  'disabled',
  'required',
  'mode',
  'policy',
  'url',
  'uri',
  'endpoint',
  'audience',
  'audiences',
  'issuer',
  'header',
  'scope',
  'scopes',
  'format',
  'version',
  'provider',
  'store',
  'class',
  'template',
  'selector',
  'generation',
  'rotation',
];

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface NameRules {
  /** Extra words (normalized) that make a name sensitive wherever they appear. */
  extraWords?: readonly string[];
  /** Names (normalized) that are never sensitive. */
  allowNames?: readonly string[];
}

const CACHE_LIMIT = 20_000;

/** A compiled name classifier with its own cache. */
export class NameClassifier {
  private readonly words: readonly string[];
  private readonly exact: ReadonlySet<string>;
  private readonly safe: readonly string[];
  private readonly allowed: ReadonlySet<string>;
  private readonly cache = new Map<string, boolean>();
  /** Whether words beyond the built-in ones are configured. */
  readonly hasExtraWords: boolean;
  /**
   * Matches text that may hold a sensitive `name=value` key (letters, digits, `_`, `.`, `-`): one of the
   * words or exact names, in any case, with `_`, `.` or `-` between its letters (`TO_KEN` is `token`).
   * Derived from the same lists as isSensitive, so that text it does not match holds no such key.
   */
  readonly keyHint: RegExp;

  constructor(rules: NameRules = {}) {
    const extra = (rules.extraWords ?? []).map(normalizeName).filter(Boolean);
    this.words = [...SENSITIVE_WORDS, ...extra];
    this.hasExtraWords = extra.length > 0;
    this.exact = new Set(SENSITIVE_EXACT);
    this.safe = SAFE_SUFFIXES;
    this.allowed = new Set((rules.allowNames ?? []).map(normalizeName));
    const spelled = [...this.words, ...this.exact].map((w) => w.split('').join('[_.-]*'));
    this.keyHint = new RegExp(spelled.join('|'), 'i');
  }

  /** Whether a value stored under this name is to be treated as a credential. */
  isSensitive(name: string): boolean {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const result = this.classify(normalizeName(name));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(name, result);
    return result;
  }

  private classify(n: string): boolean {
    if (n === '' || this.allowed.has(n)) return false;
    if (this.exact.has(n)) return true;
    let at = -1;
    let word = '';
    for (const w of this.words) {
      const i = n.lastIndexOf(w);
      if (i >= 0 && i + w.length > at + word.length) {
        at = i;
        word = w;
      }
    }
    if (at < 0) return false;
    // What follows the last sensitive word decides: nothing (`dbPassword`), or a safe ending (`secretName`).
    const rest = n.slice(at + word.length);
    if (rest === '' || rest === 's') return true;
    for (const s of this.safe) if (rest.endsWith(s)) return false;
    return true;
  }
}
