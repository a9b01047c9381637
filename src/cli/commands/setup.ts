// `kubetrail setup apiserver|webhook|kubeadm|kind|cluster`: prints the configuration that turns auditing
// on and sends it to kubetrail: kube-apiserver flags, the webhook kubeconfig, a kubeadm static-pod patch
// (or ClusterConfiguration), a kind cluster config, and the flags (and kubeconfig) for each way of
// running kubetrail in the cluster from deploy/ (setup-cluster.ts). Output is YAML on stdout. The webhook
// defaults match what `kubetrail serve` does without a configuration (its listen address, plain http),
// and a token is checked by the server's own rule for webhook tokens, so the kubeconfig printed is one
// the server accepts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { defaultConfig } from '../../config/load.js';
import { configSchema } from '../../config/schema.js';
import { KubetrailError } from '../../core/errors.js';
import {
  apiserverArgsText,
  apiserverYaml,
  checkSetup,
  DEFAULT_SETUP,
  kindConfigYaml,
  kubeadmConfigYaml,
  kubeadmPatchYaml,
  webhookKubeconfigYaml,
  type AuditSetup,
  type WebhookKubeconfigOptions,
} from '../../policy/setup.js';
import { choice, processIo, type Io } from '../common.js';
import { CLUSTER_DEFAULTS, clusterSetupYaml, type ClusterMode } from './setup-cluster.js';

interface BackendOpts {
  backend: string;
  policyFile: string;
  logPath: string;
  logMaxsize: string;
  logMaxbackup: string;
  logMaxage: string;
  webhookConfigFile: string;
  webhookMode: string;
  batchMaxSize: string;
  batchMaxWait: string;
  initialBackoff: string;
}

const BACKENDS = ['log', 'webhook', 'both'] as const;

function withBackendOptions(cmd: Command, backend = true): Command {
  const d = DEFAULT_SETUP;
  if (backend)
    cmd.option(
      '--backend <backend>',
      'log (a file on the node), webhook (to a kubetrail server) or both',
      'log',
    );
  return cmd
    .option('--policy-file <path>', 'audit policy path inside the API server container', d.policyFile)
    .option('--log-path <path>', 'audit log path inside the API server container', d.log.path)
    .option('--log-maxsize <mb>', 'megabytes before the log is rotated', String(d.log.maxSize))
    .option('--log-maxbackup <n>', 'rotated logs kept', String(d.log.maxBackup))
    .option('--log-maxage <days>', 'days rotated logs are kept', String(d.log.maxAge))
    .option(
      '--webhook-config-file <path>',
      'webhook kubeconfig path inside the API server container',
      d.webhook.configFile,
    )
    .option('--webhook-mode <mode>', 'batch, blocking or blocking-strict', d.webhook.mode)
    .option('--batch-max-size <n>', 'events per webhook batch', String(d.webhook.batchMaxSize))
    .option(
      '--batch-max-wait <duration>',
      'longest wait before a partial batch is sent',
      d.webhook.batchMaxWait,
    )
    .option(
      '--initial-backoff <duration>',
      'wait before the first retry of a failed batch',
      d.webhook.initialBackoff,
    );
}

function num(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v))
    throw new KubetrailError('KT_USAGE', `${flag} takes a number, not ${JSON.stringify(text)}`, {
      where: { path: flag },
    });
  return v;
}

export function setupFromOptions(o: BackendOpts): AuditSetup {
  const backend = choice('--backend', o.backend, BACKENDS);
  const s: AuditSetup = { policyFile: o.policyFile };
  if (backend !== 'webhook')
    s.log = {
      path: o.logPath,
      maxSize: num('--log-maxsize', o.logMaxsize),
      maxBackup: num('--log-maxbackup', o.logMaxbackup),
      maxAge: num('--log-maxage', o.logMaxage),
    };
  if (backend !== 'log')
    s.webhook = {
      configFile: o.webhookConfigFile,
      mode: choice('--webhook-mode', o.webhookMode, ['batch', 'blocking', 'blocking-strict'] as const),
      batchMaxSize: num('--batch-max-size', o.batchMaxSize),
      batchMaxWait: o.batchMaxWait,
      initialBackoff: o.initialBackoff,
    };
  return checkSetup(s);
}

async function fileText(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new KubetrailError(
      code === 'ENOENT' ? 'KT_INPUT_NOT_FOUND' : 'KT_INPUT_READ',
      `${flag} ${JSON.stringify(file)}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { where: { file, path: flag }, cause: err },
    );
  }
}

/** The webhook URL of `kubetrail serve` started without a configuration file. */
export function defaultWebhookUrl(): string {
  const c = defaultConfig();
  return `${c.tls ? 'https' : 'http'}://${c.listen}/webhook`;
}

/**
 * Refuses a token that `kubetrail serve` would refuse: checked by the server's configuration schema for
 * `webhook.tokens[].token`, and free of white space (it travels as `Authorization: Bearer TOKEN`).
 */
export function checkWebhookToken(token: string): void {
  const r = configSchema.safeParse({ webhook: { tokens: [{ token, cluster: 'default' }] } });
  const issue = r.success ? undefined : r.error.issues.find((i) => i.path.at(-1) === 'token');
  const problem = issue ? issue.message : /\s/.test(token) ? 'must not contain white space' : undefined;
  if (problem)
    throw new KubetrailError('KT_USAGE', `the token ${problem}; kubetrail serve would refuse it`, {
      where: { path: '--token' },
      hint: 'make one with `openssl rand -hex 32` and give the server the same token (webhook.tokens in its configuration), or use `kubetrail token create --role ingest`',
    });
}

interface WebhookOpts {
  server: string;
  cluster?: string;
  ca?: string;
  token?: string;
  tokenFile?: string;
  clientCert?: string;
  clientKey?: string;
  embed?: boolean;
  insecureSkipTlsVerify?: boolean;
}

export function registerSetupCommands(program: Command, io: Io = processIo()): void {
  const setup = program
    .command('setup')
    .description(
      'print the configuration that turns auditing on: API server flags, webhook kubeconfig, kubeadm, kind',
    );

  withBackendOptions(
    setup
      .command('apiserver')
      .description(
        'kube-apiserver flags for the log backend (path, policy, rotation) and the webhook backend',
      ),
  )
    .option('-o, --output <format>', 'yaml (a list for the static pod command) or args (shell lines)', 'yaml')
    .action((opts: BackendOpts & { output: string }) => {
      const format = choice('--output', opts.output, ['yaml', 'args'] as const);
      const s = setupFromOptions(opts);
      io.out(format === 'yaml' ? apiserverYaml(s) : apiserverArgsText(s));
    });

  setup
    .command('webhook')
    .description(
      'the webhook kubeconfig that points kube-apiserver at a kubetrail server (CA, token or client cert)',
    )
    .option(
      '--server <url>',
      'the kubetrail webhook URL as the API server reaches it (default: where `kubetrail serve` listens)',
      defaultWebhookUrl(),
    )
    .option('--cluster <name>', 'cluster name to tag the events with (appended to the URL path)')
    .option('--ca <file>', 'CA bundle that signed the kubetrail server certificate')
    .option('--token <token>', 'bearer token the API server sends (at least 16 characters)')
    .option('--token-file <file>', 'file holding the bearer token, on the control-plane node')
    .option('--client-cert <file>', 'client certificate the API server presents')
    .option('--client-key <file>', 'key of the client certificate')
    .option(
      '--embed',
      'embed the CA and client certificate/key files (read now) instead of referring to their paths',
    )
    .option('--insecure-skip-tls-verify', 'do not verify the server certificate (tests only)')
    .action(async (opts: WebhookOpts) => {
      const ref = async (flag: string, file: string | undefined) =>
        file === undefined
          ? undefined
          : opts.embed
            ? { data: await fileText(flag, file) }
            : { path: path.resolve(file) };
      const o: WebhookKubeconfigOptions = { server: opts.server };
      if (opts.cluster !== undefined) o.cluster = opts.cluster;
      const ca = await ref('--ca', opts.ca);
      if (ca) o.ca = ca;
      if (opts.token !== undefined) {
        checkWebhookToken(opts.token);
        o.token = opts.token;
      }
      if (opts.tokenFile !== undefined) o.tokenFile = path.resolve(opts.tokenFile);
      const cert = await ref('--client-cert', opts.clientCert);
      if (cert) o.clientCert = cert;
      const key = await ref('--client-key', opts.clientKey);
      if (key) o.clientKey = key;
      if (opts.insecureSkipTlsVerify) o.insecureSkipTlsVerify = true;
      io.out(webhookKubeconfigYaml(o));
    });

  withBackendOptions(
    setup
      .command('kubeadm')
      .description(
        'a patch for the kubeadm kube-apiserver static pod (flags, volumes, mounts), or a ClusterConfiguration',
      ),
  )
    .option(
      '--format <format>',
      'patch (kubeadm --patches), v1beta4 or v1beta3 (ClusterConfiguration)',
      'patch',
    )
    .action((opts: BackendOpts & { format: string }) => {
      const format = choice('--format', opts.format, ['patch', 'v1beta4', 'v1beta3'] as const);
      const s = setupFromOptions(opts);
      io.out(format === 'patch' ? kubeadmPatchYaml(s) : kubeadmConfigYaml(s, format));
    });

  withBackendOptions(setup.command('kind').description('a kind cluster config with auditing on'))
    .option('--policy <file>', 'the policy file on this machine', './audit-policy.yaml')
    .option('--log-dir <dir>', 'directory on this machine where the audit log appears', './audit-logs')
    .option(
      '--webhook-kubeconfig <file>',
      'the webhook kubeconfig on this machine (with --backend webhook|both)',
      './kubetrail-webhook.kubeconfig',
    )
    .option('--kubeadm-api <version>', 'kubeadm config API of the node image: v1beta3 or v1beta4', 'v1beta3')
    .action(
      (
        opts: BackendOpts & { policy: string; logDir: string; webhookKubeconfig: string; kubeadmApi: string },
      ) => {
        const s = setupFromOptions(opts);
        io.out(
          kindConfigYaml(s, {
            policyHostPath: path.resolve(opts.policy),
            logHostDir: path.resolve(opts.logDir),
            webhookHostPath: path.resolve(opts.webhookKubeconfig),
            kubeadmApi: choice('--kubeadm-api', opts.kubeadmApi, ['v1beta3', 'v1beta4'] as const),
          }),
        );
      },
    );

  withBackendOptions(
    setup
      .command('cluster')
      .description(
        'kube-apiserver flags (and webhook kubeconfig) for kubetrail run in the cluster from deploy/: node or webhook mode',
      ),
    false,
  )
    .requiredOption(
      '--mode <mode>',
      'node (DaemonSet on control-plane nodes tailing the audit log) or webhook (Deployment behind a TLS Service)',
    )
    .option('--namespace <name>', 'namespace of the kubetrail Service', CLUSTER_DEFAULTS.namespace)
    .option('--service <name>', 'the webhook Service', CLUSTER_DEFAULTS.service)
    .option('--port <port>', 'the webhook Service port', String(CLUSTER_DEFAULTS.port))
    .option(
      '--address <host>',
      "how the API server reaches the Service: its ClusterIP (default: the Service's DNS name)",
    )
    .option('--cluster <name>', 'cluster name appended to the webhook path; must match the token')
    .option('--ca <file>', 'CA of the webhook certificate, on the node', CLUSTER_DEFAULTS.caFile)
    .option('--token-file <file>', 'webhook bearer token, on the node', CLUSTER_DEFAULTS.tokenFile)
    .action(
      (
        opts: BackendOpts & {
          mode: string;
          namespace: string;
          service: string;
          port: string;
          address?: string;
          cluster?: string;
          ca: string;
          tokenFile: string;
        },
      ) => {
        const mode: ClusterMode = choice('--mode', opts.mode, ['node', 'webhook'] as const);
        const s = setupFromOptions({ ...opts, backend: mode === 'node' ? 'log' : 'webhook' });
        io.out(
          clusterSetupYaml({
            mode,
            setup: s,
            namespace: opts.namespace,
            service: opts.service,
            port: num('--port', opts.port),
            ...(opts.address !== undefined ? { address: opts.address } : {}),
            ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}),
            caFile: opts.ca,
            tokenFile: opts.tokenFile,
          }),
        );
      },
    );
}
