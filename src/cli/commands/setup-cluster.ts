// `kubetrail setup cluster --mode node|webhook`: what the API server needs when kubetrail runs in the
// cluster from the manifests of deploy/ (docs/deploy.md). Node mode: the DaemonSet on the control-plane
// nodes follows the audit log through a read-only hostPath, so the API server writes its log backend
// there. Webhook mode: the Deployment behind the Service `kubetrail-webhook` receives the webhook over
// TLS, so the API server gets the webhook backend flags and a kubeconfig naming the Service, the CA file
// and the token file on the node. Output is YAML: the flags as a list (the static pod's `command`), and in
// webhook mode a second document, the kubeconfig.
import { stringify } from 'yaml';
import { KubetrailError } from '../../core/errors.js';
import { apiserverArgs, webhookKubeconfig, type AuditSetup } from '../../policy/setup.js';

/** The names deploy/ uses; deploy's tests check the manifests against them. */
export const CLUSTER_DEFAULTS = {
  namespace: 'kubetrail',
  service: 'kubetrail-webhook',
  port: 7480,
  /** The CA that signed the webhook's certificate, on each control-plane node. */
  caFile: '/etc/kubernetes/audit/kubetrail-ca.crt',
  /** The bearer token the API server sends, on each control-plane node. */
  tokenFile: '/etc/kubernetes/audit/kubetrail-webhook.token',
} as const;

export type ClusterMode = 'node' | 'webhook';

export interface ClusterSetupOptions {
  mode: ClusterMode;
  /** The API server's audit flags (log backend for node mode, webhook backend for webhook mode). */
  setup: AuditSetup;
  namespace: string;
  service: string;
  port: number;
  /** How the API server reaches the Service: its ClusterIP or a name the node resolves. */
  address?: string;
  /** Cluster name appended to the webhook path (/webhook/NAME); must match the token's cluster. */
  cluster?: string;
  caFile: string;
  tokenFile: string;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)$/;

function checkLabel(flag: string, value: string): string {
  if (!DNS_LABEL.test(value))
    throw new KubetrailError(
      'KT_USAGE',
      `${flag} ${JSON.stringify(value)} is not a Kubernetes name (lowercase letters, digits and '-', at most 63)`,
      { where: { path: flag } },
    );
  return value;
}

/** The Service's DNS name, the one its certificate is issued for. */
export function serviceDnsName(o: Pick<ClusterSetupOptions, 'service' | 'namespace'>): string {
  return `${o.service}.${o.namespace}.svc`;
}

/** The webhook kubeconfig for webhook mode: the Service's URL, the CA and token files on the node. */
export function clusterWebhookKubeconfig(o: ClusterSetupOptions): Record<string, unknown> {
  checkLabel('--namespace', o.namespace);
  checkLabel('--service', o.service);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)
    throw new KubetrailError('KT_USAGE', `--port takes a port number (1-65535), not ${o.port}`, {
      where: { path: '--port' },
    });
  for (const [flag, file] of [
    ['--ca', o.caFile],
    ['--token-file', o.tokenFile],
  ] as const)
    if (!file.startsWith('/') || /[\0\n\r]/.test(file))
      throw new KubetrailError(
        'KT_USAGE',
        `${flag} must be an absolute path on the control-plane node, not ${JSON.stringify(file)}`,
        { where: { path: flag } },
      );
  const dns = serviceDnsName(o);
  const host = o.address ?? dns;
  if (!HOST.test(host))
    throw new KubetrailError('KT_USAGE', `--address ${JSON.stringify(host)} is not a host name or address`, {
      where: { path: '--address' },
      hint: "give the Service's ClusterIP: kubectl -n kubetrail get svc kubetrail-webhook -o jsonpath='{.spec.clusterIP}'",
    });
  const config = webhookKubeconfig({
    server: `https://${host}:${o.port}/webhook`,
    ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
    ca: { path: o.caFile },
    tokenFile: o.tokenFile,
  });
  // Reached by address, the server's certificate is still checked against the Service's name.
  if (host !== dns) {
    const clusters = config.clusters as { cluster: Record<string, unknown> }[];
    clusters[0]!.cluster['tls-server-name'] = dns;
  }
  return config;
}

const comment = (lines: string[]) => lines.map((l) => (l ? `# ${l}` : '#')).join('\n') + '\n';

/** The whole output of `setup cluster`. */
export function clusterSetupYaml(o: ClusterSetupOptions): string {
  const flags = apiserverArgs(o.setup).map(([k, v]) => `--${k}=${v}`);
  if (o.mode === 'node') {
    const log = o.setup.log!;
    const dir = log.path.slice(0, log.path.lastIndexOf('/')) || '/';
    return (
      comment([
        'kube-apiserver flags for kubetrail in the cluster, node mode (deploy/node/, docs/deploy.md).',
        `The DaemonSet on the control-plane nodes follows ${log.path}`,
        `through a read-only hostPath of ${dir}; with another --log-path, change that hostPath`,
        'and the files: entry of its ConfigMap too. Put the audit policy at',
        `${o.setup.policyFile} on every control-plane node (kubetrail policy preset recommended),`,
        'append these flags to the kube-apiserver command and mount both directories into its container',
        '(`kubetrail setup kubeadm` with the same options writes the whole change as a patch).',
      ]) + stringify(flags)
    );
  }
  const kubeconfig = clusterWebhookKubeconfig(o);
  const webhook = o.setup.webhook!;
  const dns = serviceDnsName(o);
  return (
    comment([
      'kube-apiserver flags for kubetrail in the cluster, webhook mode (deploy/webhook/, docs/deploy.md).',
      'On every control-plane node, before adding the flags:',
      `- the audit policy at ${o.setup.policyFile} (kubetrail policy preset recommended);`,
      `- the CA that signed the webhook's certificate (for ${dns})`,
      `  at ${o.caFile};`,
      '- the webhook token (the Secret kubetrail-webhook-token, key token)',
      `  at ${o.tokenFile}, mode 0600;`,
      `- the kubeconfig of the second document below at ${webhook.configFile}.`,
      'Then append the flags to the kube-apiserver command and mount their directory into its container',
      '(`kubetrail setup kubeadm --backend webhook` with the same options writes the whole change as a patch).',
    ]) +
    stringify(flags) +
    '---\n' +
    comment([
      `Webhook kubeconfig: save it as ${webhook.configFile} on every control-plane node.`,
      o.address === undefined
        ? `The API server must resolve ${dns}; or pass --address with the Service's ClusterIP.`
        : `The certificate is checked against ${dns} (tls-server-name).`,
    ]) +
    stringify(kubeconfig)
  );
}
