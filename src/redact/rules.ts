// The catalog of redaction rules: structural rules (where Kubernetes keeps credentials), name rules and the
// value detectors, each with its stable id, what it removes and whether the configuration can switch it off.
// `kubetrail redact --list` prints it, scan reports name leaks by it, and docs/redaction.md lists every id.
import { ASSIGNMENT_RULE, BUILTIN_DETECTORS } from './detectors.js';
import { RULES, type RedactOptions } from './redactor.js';

export type RuleKind = 'structure' | 'name' | 'pattern' | 'configured' | 'pseudonym';

export interface RuleInfo {
  id: string;
  kind: RuleKind;
  title: string;
  /** Whether `allow.detectors` may switch it off. */
  switchable: boolean;
}

export const STRUCTURAL_RULE_INFO: readonly RuleInfo[] = [
  {
    id: RULES.secretData,
    kind: 'structure',
    title:
      'every value of a Secret\'s data (Secrets, SecretLists, kind-less bodies and patches of "secrets", Secrets nested in lists, tables and last-applied-configuration; covers service-account token and bootstrap token Secrets)',
    switchable: false,
  },
  {
    id: RULES.secretStringData,
    kind: 'structure',
    title: "every value of a Secret's stringData",
    switchable: false,
  },
  {
    id: RULES.secretBody,
    kind: 'structure',
    title:
      "a Secret body that is not an object (a raw patch), or a Secret's last-applied-configuration that cannot be parsed",
    switchable: false,
  },
  {
    id: RULES.tokenRequest,
    kind: 'structure',
    title: 'the token a TokenRequest (serviceaccounts/token) returns in status.token',
    switchable: false,
  },
  {
    id: RULES.tokenReview,
    kind: 'structure',
    title: 'the token a TokenReview carries in spec.token (request and response)',
    switchable: false,
  },
  {
    id: RULES.csrPrivateKey,
    kind: 'structure',
    title: 'a CertificateSigningRequest whose spec.request holds a private key',
    switchable: false,
  },
  {
    id: RULES.sensitiveName,
    kind: 'name',
    title:
      'a value under a sensitive name: object keys, env vars and other name/value pairs, query parameters of the request URI, the last step of a JSON-patch path',
    switchable: false,
  },
  {
    id: RULES.sensitiveFlag,
    kind: 'name',
    title:
      'the value of a command-line flag with a sensitive name (`--password=x`, `--token x`) in command/args arrays and exec commands',
    switchable: true,
  },
  {
    id: ASSIGNMENT_RULE,
    kind: 'name',
    title:
      'the value of a `name=value` / `name: value` assignment with a sensitive name inside text (ConfigMap files, connection strings, scripts)',
    switchable: true,
  },
];

export const TOO_DEEP_RULE_INFO: RuleInfo = {
  id: RULES.tooDeep,
  kind: 'structure',
  title: 'a part of a body nested deeper than 128 levels (deeper than any Kubernetes object): replaced whole',
  switchable: false,
};

export const PSEUDONYM_RULE_INFO: RuleInfo = {
  id: RULES.pseudonym,
  kind: 'pseudonym',
  title: 'a user name, e-mail address or source IP replaced by its keyed pseudonym (when configured)',
  switchable: false,
};

/** Every rule: structural and name rules, built-in detectors, then configured patterns. */
export function ruleCatalog(options?: RedactOptions): RuleInfo[] {
  const out: RuleInfo[] = [...STRUCTURAL_RULE_INFO];
  for (const d of BUILTIN_DETECTORS)
    out.push({ id: d.id, kind: 'pattern', title: d.title, switchable: true });
  for (const d of options?.detectors ?? []) {
    if (!d.builtin) out.push({ id: d.id, kind: 'configured', title: d.title, switchable: true });
  }
  out.push(TOO_DEEP_RULE_INFO, PSEUDONYM_RULE_INFO);
  return out;
}

/** Title of a rule id, for reports. */
export function ruleTitle(id: string, options?: RedactOptions): string {
  return ruleCatalog(options).find((r) => r.id === id)?.title ?? id;
}
