// Generates the configuration that turns auditing on: kube-apiserver flags for the log backend and the
// webhook backend, the webhook kubeconfig that points the API server at a kubetrail server, a patch for
// kubeadm's kube-apiserver static pod (flags, volumes, mounts) or the equivalent ClusterConfiguration, and
// a kind cluster config. Everything is built as objects and serialized by the YAML library, so values from
// the command line are always quoted correctly.
import { posix } from 'node:path';
import { stringify } from 'yaml';
import { KubetrailError } from '../core/errors.js';

export interface LogBackend {
  /** Where the API server writes the log, as seen inside its container. */
  path: string;
  /** Megabytes before rotation. */
  maxSize: number;
  /** Rotated files kept. */
  maxBackup: number;
  /** Days rotated files are kept. */
  maxAge: number;
}

export interface WebhookBackend {
  /** The webhook kubeconfig, as seen inside the API server's container. */
  configFile: string;
  mode: 'batch' | 'blocking' | 'blocking-strict';
  batchMaxSize: number;
  batchMaxWait: string;
  initialBackoff: string;
}

export interface AuditSetup {
  /** The policy file, as seen inside the API server's container. */
  policyFile: string;
  log?: LogBackend;
  webhook?: WebhookBackend;
}

/** Defaults meet the CIS Kubernetes Benchmark (1.2.x): 30 days, 10 backups, 100 MB. */
export const DEFAULT_SETUP: Required<AuditSetup> = {
  policyFile: '/etc/kubernetes/audit/policy.yaml',
  log: { path: '/var/log/kubernetes/audit/audit.log', maxSize: 100, maxBackup: 10, maxAge: 30 },
  webhook: {
    configFile: '/etc/kubernetes/audit/webhook.kubeconfig',
    mode: 'batch',
    batchMaxSize: 400,
    batchMaxWait: '5s',
    initialBackoff: '10s',
  },
};

function checkPath(what: string, p: string): string {
  if (!posix.isAbsolute(p) || /[\0\n\r]/.test(p))
    throw new KubetrailError(
      'KT_USAGE',
      `${what} must be an absolute path on the control-plane node, not ${JSON.stringify(p)}`,
      {
        where: { path: what },
      },
    );
  return posix.normalize(p);
}

function checkCount(what: string, n: number, min: number): number {
  if (!Number.isInteger(n) || n < min)
    throw new KubetrailError('KT_USAGE', `${what} takes a whole number ≥ ${min}, not ${JSON.stringify(n)}`, {
      where: { path: what },
    });
  return n;
}

function checkDuration(what: string, d: string): string {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(d))
    throw new KubetrailError(
      'KT_USAGE',
      `${what} takes a Go duration such as 5s or 1m30s, not ${JSON.stringify(d)}`,
      {
        where: { path: what },
      },
    );
  return d;
}

/** Validates a setup (paths absolute, counts whole); raises KT_USAGE. */
export function checkSetup(s: AuditSetup): AuditSetup {
  const out: AuditSetup = { policyFile: checkPath('--policy-file', s.policyFile) };
  if (s.log)
    out.log = {
      path: checkPath('--log-path', s.log.path),
      maxSize: checkCount('--log-maxsize', s.log.maxSize, 0),
      maxBackup: checkCount('--log-maxbackup', s.log.maxBackup, 0),
      maxAge: checkCount('--log-maxage', s.log.maxAge, 0),
    };
  if (s.webhook)
    out.webhook = {
      configFile: checkPath('--webhook-config-file', s.webhook.configFile),
      mode: s.webhook.mode,
      batchMaxSize: checkCount('--batch-max-size', s.webhook.batchMaxSize, 1),
      batchMaxWait: checkDuration('--batch-max-wait', s.webhook.batchMaxWait),
      initialBackoff: checkDuration('--initial-backoff', s.webhook.initialBackoff),
    };
  return out;
}

/** The kube-apiserver flags, as [name, value] pairs (name without the leading dashes). */
export function apiserverArgs(s: AuditSetup): [string, string][] {
  const args: [string, string][] = [['audit-policy-file', s.policyFile]];
  if (s.log) {
    args.push(
      ['audit-log-path', s.log.path],
      ['audit-log-format', 'json'],
      ['audit-log-maxsize', String(s.log.maxSize)],
      ['audit-log-maxbackup', String(s.log.maxBackup)],
      ['audit-log-maxage', String(s.log.maxAge)],
    );
  }
  if (s.webhook) {
    args.push(
      ['audit-webhook-config-file', s.webhook.configFile],
      ['audit-webhook-mode', s.webhook.mode],
      ['audit-webhook-initial-backoff', s.webhook.initialBackoff],
    );
    if (s.webhook.mode === 'batch')
      args.push(
        ['audit-webhook-batch-max-size', String(s.webhook.batchMaxSize)],
        ['audit-webhook-batch-max-wait', s.webhook.batchMaxWait],
      );
  }
  return args;
}

const header = (lines: string[]) => lines.map((l) => (l ? `# ${l}` : '#')).join('\n') + '\n';

/** `setup apiserver`: the flags as a YAML list, ready for the static pod's `command`. */
export function apiserverYaml(s: AuditSetup): string {
  const flags = apiserverArgs(s).map(([k, v]) => `--${k}=${v}`);
  return (
    header([
      'kube-apiserver flags for auditing (kubetrail setup apiserver).',
      'Append them to the command of the kube-apiserver container (kubeadm: /etc/kubernetes/manifests/',
      'kube-apiserver.yaml) and mount the directories of the policy and the log into the container;',
      '`kubetrail setup kubeadm` writes the whole change as a patch.',
    ]) + stringify(flags)
  );
}

/** `setup apiserver -o args`: one flag per line, shell-quoted, for a systemd unit or a shell script. */
export function apiserverArgsText(s: AuditSetup): string {
  const q = (v: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return (
    apiserverArgs(s)
      .map(([k, v]) => q(`--${k}=${v}`))
      .join(' \\\n') + '\n'
  );
}

export interface WebhookKubeconfigOptions {
  /** URL of the kubetrail webhook receiver, e.g. https://10.0.0.5:8443/webhook. */
  server: string;
  /** Cluster name the events are tagged with (appended to the path: /webhook/NAME). */
  cluster?: string;
  /** CA bundle: a path as the API server sees it, or PEM contents to embed. */
  ca?: { path: string } | { data: string };
  token?: string;
  tokenFile?: string;
  clientCert?: { path: string } | { data: string };
  clientKey?: { path: string } | { data: string };
  insecureSkipTlsVerify?: boolean;
}

/** `setup webhook`: the kubeconfig the API server's webhook backend reads. */
export function webhookKubeconfig(o: WebhookKubeconfigOptions): Record<string, unknown> {
  let url: URL;
  try {
    url = new URL(o.server);
  } catch {
    throw new KubetrailError('KT_USAGE', `--server ${JSON.stringify(o.server)} is not a URL`, {
      where: { path: '--server' },
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new KubetrailError(
      'KT_USAGE',
      `--server must be an https:// (or http://) URL, not ${url.protocol}`,
      {
        where: { path: '--server' },
      },
    );
  if (url.username || url.password)
    throw new KubetrailError(
      'KT_USAGE',
      '--server must not carry credentials; use --token or a client certificate',
      {
        where: { path: '--server' },
      },
    );
  if (o.cluster !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(o.cluster))
      throw new KubetrailError(
        'KT_USAGE',
        `--cluster ${JSON.stringify(o.cluster)}: use letters, digits, '.', '_' and '-'`,
        {
          where: { path: '--cluster' },
        },
      );
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${o.cluster}`;
  }
  if (o.token !== undefined && (o.token === '' || /[\s\0]/.test(o.token)))
    throw new KubetrailError('KT_USAGE', '--token must be a non-empty token without spaces or line breaks', {
      where: { path: '--token' },
    });
  if ((o.clientCert === undefined) !== (o.clientKey === undefined))
    throw new KubetrailError('KT_USAGE', '--client-cert and --client-key go together', {
      where: { path: '--client-cert' },
    });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const cluster: Record<string, unknown> = { server: url.toString() };
  if (o.ca && 'path' in o.ca) cluster['certificate-authority'] = o.ca.path;
  if (o.ca && 'data' in o.ca) cluster['certificate-authority-data'] = b64(o.ca.data);
  if (o.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, unknown> = {};
  if (o.token !== undefined) user.token = o.token;
  if (o.tokenFile !== undefined) user.tokenFile = o.tokenFile;
  if (o.clientCert && 'path' in o.clientCert) user['client-certificate'] = o.clientCert.path;
  if (o.clientCert && 'data' in o.clientCert) user['client-certificate-data'] = b64(o.clientCert.data);
  if (o.clientKey && 'path' in o.clientKey) user['client-key'] = o.clientKey.path;
  if (o.clientKey && 'data' in o.clientKey) user['client-key-data'] = b64(o.clientKey.data);
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kubetrail', cluster }],
    users: [{ name: 'kube-apiserver', user }],
    contexts: [{ name: 'kubetrail', context: { cluster: 'kubetrail', user: 'kube-apiserver' } }],
    'current-context': 'kubetrail',
  };
}

export function webhookKubeconfigYaml(o: WebhookKubeconfigOptions): string {
  const config = webhookKubeconfig(o);
  const lines = [
    'Webhook kubeconfig for kube-apiserver (kubetrail setup webhook).',
    'Install it on each control-plane node and point --audit-webhook-config-file at it',
    '(`kubetrail setup apiserver --backend webhook`). The API server POSTs EventLists to the server URL.',
  ];
  if (new URL((config.clusters as { cluster: { server: string } }[])[0]!.cluster.server).protocol === 'http:')
    lines.push('WARNING: plain http: events (and any token) cross the network unencrypted.');
  return header(lines) + stringify(config);
}

interface HostDir {
  name: string;
  dir: string;
  readOnly: boolean;
}

/** The host directories the API server needs: the policy (and webhook config) read-only, the log writable. */
export function hostDirs(s: AuditSetup): HostDir[] {
  const dirs: HostDir[] = [{ name: 'audit-policy', dir: posix.dirname(s.policyFile), readOnly: true }];
  if (s.webhook) {
    const d = posix.dirname(s.webhook.configFile);
    if (!dirs.some((x) => x.dir === d)) dirs.push({ name: 'audit-webhook', dir: d, readOnly: true });
  }
  if (s.log) {
    const d = posix.dirname(s.log.path);
    const same = dirs.find((x) => x.dir === d);
    if (same) same.readOnly = false;
    else dirs.push({ name: 'audit-logs', dir: d, readOnly: false });
  }
  return dirs;
}

/** `setup kubeadm`: a JSON patch (RFC 6902) of the kube-apiserver static pod, for `kubeadm --patches`. */
export function kubeadmPatch(s: AuditSetup): Record<string, unknown>[] {
  const ops: Record<string, unknown>[] = apiserverArgs(s).map(([k, v]) => ({
    op: 'add',
    path: '/spec/containers/0/command/-',
    value: `--${k}=${v}`,
  }));
  for (const d of hostDirs(s)) {
    ops.push({
      op: 'add',
      path: '/spec/containers/0/volumeMounts/-',
      value: { name: d.name, mountPath: d.dir, readOnly: d.readOnly },
    });
    ops.push({
      op: 'add',
      path: '/spec/volumes/-',
      value: { name: d.name, hostPath: { path: d.dir, type: 'DirectoryOrCreate' } },
    });
  }
  return ops;
}

export function kubeadmPatchYaml(s: AuditSetup): string {
  return (
    header([
      'kubeadm patch for the kube-apiserver static pod (kubetrail setup kubeadm).',
      'Save it as <dir>/kube-apiserver+json.yaml and pass --patches <dir> to kubeadm init, join',
      '--control-plane or upgrade apply. Put the policy at the path below on every control-plane node first.',
    ]) + stringify(kubeadmPatch(s))
  );
}

/** The kubeadm ClusterConfiguration `apiServer` section (v1beta4: extraArgs is a list; v1beta3: a map). */
export function kubeadmApiServer(s: AuditSetup, api: 'v1beta3' | 'v1beta4'): Record<string, unknown> {
  const args = apiserverArgs(s);
  return {
    extraArgs: api === 'v1beta4' ? args.map(([name, value]) => ({ name, value })) : Object.fromEntries(args),
    extraVolumes: hostDirs(s).map((d) => ({
      name: d.name,
      hostPath: d.dir,
      mountPath: d.dir,
      readOnly: d.readOnly,
      pathType: 'DirectoryOrCreate',
    })),
  };
}

export function kubeadmConfigYaml(s: AuditSetup, api: 'v1beta3' | 'v1beta4'): string {
  return (
    header([
      `kubeadm ClusterConfiguration (${api}) enabling auditing (kubetrail setup kubeadm --format ${api}).`,
      'Merge the apiServer section into your kubeadm configuration. Put the policy at the path below on',
      'every control-plane node first.',
    ]) +
    stringify({
      apiVersion: `kubeadm.k8s.io/${api}`,
      kind: 'ClusterConfiguration',
      apiServer: kubeadmApiServer(s, api),
    })
  );
}

export interface KindOptions {
  /** The policy file on the machine that runs kind. */
  policyHostPath: string;
  /** Host directory the audit log appears in (for `kubetrail serve --tail`). */
  logHostDir?: string;
  /** The webhook kubeconfig on the machine that runs kind (from `kubetrail setup webhook`). */
  webhookHostPath?: string;
  /** kubeadm config API the node image uses (kind's own documentation uses v1beta3). */
  kubeadmApi: 'v1beta3' | 'v1beta4';
}

/** `setup kind`: a kind cluster config with auditing on in the control-plane node. */
export function kindConfig(s: AuditSetup, k: KindOptions): Record<string, unknown> {
  const patch = stringify({ kind: 'ClusterConfiguration', apiServer: kubeadmApiServer(s, k.kubeadmApi) });
  const mounts: Record<string, unknown>[] = [
    { hostPath: k.policyHostPath, containerPath: s.policyFile, readOnly: true },
  ];
  if (s.webhook && k.webhookHostPath)
    mounts.push({ hostPath: k.webhookHostPath, containerPath: s.webhook.configFile, readOnly: true });
  if (s.log && k.logHostDir)
    mounts.push({ hostPath: k.logHostDir, containerPath: posix.dirname(s.log.path) });
  return {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    nodes: [{ role: 'control-plane', kubeadmConfigPatches: [patch], extraMounts: mounts }],
  };
}

export function kindConfigYaml(s: AuditSetup, k: KindOptions): string {
  const lines = [
    'kind cluster with auditing on (kubetrail setup kind). Create it with',
    '  kind create cluster --config <this file>',
    `The policy is read from ${k.policyHostPath} on this machine (write one with \`kubetrail policy preset\`).`,
  ];
  if (s.log && k.logHostDir) lines.push(`The audit log appears in ${k.logHostDir}/ on this machine.`);
  if (s.webhook && k.webhookHostPath)
    lines.push(
      `The webhook kubeconfig is read from ${k.webhookHostPath} (\`kubetrail setup webhook\`); from inside the`,
      'kind node the host is usually reachable at the kind network gateway (docker network inspect kind).',
    );
  return header(lines) + stringify(kindConfig(s, k));
}
