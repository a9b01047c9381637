// The set-up generators produce valid YAML with the shapes kube-apiserver, kubeadm and kind expect,
// checked field by field with strict schemas, and refuse values that would produce a broken config.
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
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
} from './setup.js';

const both: AuditSetup = checkSetup(DEFAULT_SETUP);
const logOnly: AuditSetup = checkSetup({ policyFile: DEFAULT_SETUP.policyFile, log: DEFAULT_SETUP.log });

const one = (text: string) => {
  const docs = parseAllDocuments(text);
  expect(docs).toHaveLength(1);
  expect(docs[0]!.errors).toEqual([]);
  return parse(text) as unknown;
};

const flag = z.string().regex(/^--audit-[a-z-]+=\S+$/);

describe('setup apiserver', () => {
  it('is a YAML list of --audit-* flags with the log backend (CIS defaults)', () => {
    const flags = z.array(flag).parse(one(apiserverYaml(logOnly)));
    expect(flags).toEqual([
      '--audit-policy-file=/etc/kubernetes/audit/policy.yaml',
      '--audit-log-path=/var/log/kubernetes/audit/audit.log',
      '--audit-log-format=json',
      '--audit-log-maxsize=100',
      '--audit-log-maxbackup=10',
      '--audit-log-maxage=30',
    ]);
  });
  it('adds the webhook backend with its batch settings', () => {
    const flags = z.array(flag).parse(one(apiserverYaml(both)));
    expect(flags).toContain('--audit-webhook-config-file=/etc/kubernetes/audit/webhook.kubeconfig');
    expect(flags).toContain('--audit-webhook-mode=batch');
    expect(flags).toContain('--audit-webhook-batch-max-size=400');
    expect(flags).toContain('--audit-webhook-batch-max-wait=5s');
    expect(apiserverArgsText(both).split(' \\\n')).toHaveLength(flags.length);
  });
  it('quotes odd paths for the shell and refuses relative ones and bad numbers', () => {
    const s = checkSetup({ policyFile: "/etc/k8s audit/it's.yaml" });
    expect(apiserverArgsText(s)).toBe(`'--audit-policy-file=/etc/k8s audit/it'\\''s.yaml'\n`);
    expect(() => checkSetup({ policyFile: 'policy.yaml' })).toThrow(/absolute/);
    expect(() => checkSetup({ ...logOnly, log: { ...DEFAULT_SETUP.log, maxAge: -1 } })).toThrow(
      /whole number/,
    );
    expect(() =>
      checkSetup({ ...both, webhook: { ...DEFAULT_SETUP.webhook, batchMaxWait: '5 seconds' } }),
    ).toThrow(/duration/);
  });
});

const kubeconfig = z
  .object({
    apiVersion: z.literal('v1'),
    kind: z.literal('Config'),
    clusters: z
      .array(
        z
          .object({
            name: z.string(),
            cluster: z
              .object({
                server: z.string().url(),
                'certificate-authority': z.string().optional(),
                'certificate-authority-data': z.string().optional(),
                'insecure-skip-tls-verify': z.boolean().optional(),
              })
              .strict(),
          })
          .strict(),
      )
      .length(1),
    users: z
      .array(
        z
          .object({
            name: z.string(),
            user: z
              .object({
                token: z.string().optional(),
                tokenFile: z.string().optional(),
                'client-certificate': z.string().optional(),
                'client-certificate-data': z.string().optional(),
                'client-key': z.string().optional(),
                'client-key-data': z.string().optional(),
              })
              .strict(),
          })
          .strict(),
      )
      .length(1),
    contexts: z
      .array(
        z
          .object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string() }).strict() })
          .strict(),
      )
      .length(1),
    'current-context': z.string(),
  })
  .strict();

describe('setup webhook', () => {
  it('a kubeconfig whose context ties the cluster and the user, with a token and a CA path', () => {
    const k = kubeconfig.parse(
      one(
        webhookKubeconfigYaml({
          server: 'https://10.0.0.5:8443/webhook',
          cluster: 'prod-eu',
          ca: { path: '/etc/kubetrail/ca.crt' },
          token: 's3cr3t',
        }),
      ),
    );
    expect(k.clusters[0]!.cluster.server).toBe('https://10.0.0.5:8443/webhook/prod-eu');
    expect(k.clusters[0]!.cluster['certificate-authority']).toBe('/etc/kubetrail/ca.crt');
    expect(k.users[0]!.user.token).toBe('s3cr3t');
    expect(k.contexts[0]!.context).toEqual({ cluster: k.clusters[0]!.name, user: k.users[0]!.name });
    expect(k['current-context']).toBe(k.contexts[0]!.name);
  });
  it('embeds certificates as base64 data', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const k = kubeconfig.parse(
      one(
        webhookKubeconfigYaml({
          server: 'https://k:1/webhook',
          ca: { data: pem },
          clientCert: { data: pem },
          clientKey: { data: 'KEY' },
        }),
      ),
    );
    expect(Buffer.from(k.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString()).toBe(pem);
    expect(Buffer.from(k.users[0]!.user['client-key-data']!, 'base64').toString()).toBe('KEY');
  });
  it('refuses what would break or leak', () => {
    expect(() => webhookKubeconfigYaml({ server: 'not a url' })).toThrow(/not a URL/);
    expect(() => webhookKubeconfigYaml({ server: 'ftp://x/webhook' })).toThrow(/https/);
    expect(() => webhookKubeconfigYaml({ server: 'https://u:p@x/webhook' })).toThrow(/credentials/);
    expect(() => webhookKubeconfigYaml({ server: 'https://x/webhook', token: 'a\nb' })).toThrow(/token/);
    expect(() => webhookKubeconfigYaml({ server: 'https://x/webhook', cluster: '../x' })).toThrow(/cluster/);
    expect(() => webhookKubeconfigYaml({ server: 'https://x/webhook', clientCert: { path: '/c' } })).toThrow(
      /together/,
    );
    expect(webhookKubeconfigYaml({ server: 'http://x/webhook' })).toContain('WARNING');
  });
});

const jsonPatch = z.array(
  z
    .object({
      op: z.literal('add'),
      path: z.enum(['/spec/containers/0/command/-', '/spec/containers/0/volumeMounts/-', '/spec/volumes/-']),
      value: z.unknown(),
    })
    .strict(),
);
const volumeMount = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    mountPath: z.string().startsWith('/'),
    readOnly: z.boolean(),
  })
  .strict();
const hostPathVolume = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    hostPath: z.object({ path: z.string().startsWith('/'), type: z.literal('DirectoryOrCreate') }).strict(),
  })
  .strict();

describe('setup kubeadm', () => {
  it('a JSON patch adding flags, mounts and host-path volumes that pair up by name', () => {
    const ops = jsonPatch.parse(one(kubeadmPatchYaml(both)));
    const flags = ops.filter((o) => o.path.endsWith('command/-')).map((o) => z.string().parse(o.value));
    expect(flags[0]).toBe('--audit-policy-file=/etc/kubernetes/audit/policy.yaml');
    const mounts = ops
      .filter((o) => o.path.endsWith('volumeMounts/-'))
      .map((o) => volumeMount.parse(o.value));
    const volumes = ops.filter((o) => o.path === '/spec/volumes/-').map((o) => hostPathVolume.parse(o.value));
    expect(mounts.map((m) => m.name)).toEqual(volumes.map((v) => v.name));
    expect(mounts).toEqual([
      { name: 'audit-policy', mountPath: '/etc/kubernetes/audit', readOnly: true },
      { name: 'audit-logs', mountPath: '/var/log/kubernetes/audit', readOnly: false },
    ]);
    for (const f of flags) {
      const value = f.split('=')[1]!;
      if (value.startsWith('/')) expect(mounts.some((m) => value.startsWith(`${m.mountPath}/`))).toBe(true);
    }
  });
  it('a log in the policy directory makes that mount writable, once', () => {
    const s = checkSetup({
      policyFile: '/etc/audit/policy.yaml',
      log: { ...DEFAULT_SETUP.log, path: '/etc/audit/audit.log' },
    });
    const ops = jsonPatch.parse(one(kubeadmPatchYaml(s)));
    expect(ops.filter((o) => o.path.endsWith('volumeMounts/-')).map((o) => o.value)).toEqual([
      { name: 'audit-policy', mountPath: '/etc/audit', readOnly: false },
    ]);
  });
  const extraVolume = z
    .object({
      name: z.string(),
      hostPath: z.string(),
      mountPath: z.string(),
      readOnly: z.boolean(),
      pathType: z.literal('DirectoryOrCreate'),
    })
    .strict();
  it('a v1beta4 ClusterConfiguration: extraArgs as a name/value list', () => {
    const c = z
      .object({
        apiVersion: z.literal('kubeadm.k8s.io/v1beta4'),
        kind: z.literal('ClusterConfiguration'),
        apiServer: z
          .object({
            extraArgs: z.array(z.object({ name: z.string(), value: z.string() }).strict()),
            extraVolumes: z.array(extraVolume),
          })
          .strict(),
      })
      .strict()
      .parse(one(kubeadmConfigYaml(both, 'v1beta4')));
    expect(c.apiServer.extraArgs).toContainEqual({ name: 'audit-log-maxage', value: '30' });
  });
  it('a v1beta3 ClusterConfiguration: extraArgs as a map of strings', () => {
    const c = z
      .object({
        apiVersion: z.literal('kubeadm.k8s.io/v1beta3'),
        kind: z.literal('ClusterConfiguration'),
        apiServer: z
          .object({ extraArgs: z.record(z.string(), z.string()), extraVolumes: z.array(extraVolume) })
          .strict(),
      })
      .strict()
      .parse(one(kubeadmConfigYaml(both, 'v1beta3')));
    expect(c.apiServer.extraArgs['audit-log-path']).toBe('/var/log/kubernetes/audit/audit.log');
  });
});

describe('setup kind', () => {
  it('a kind Cluster whose control-plane node patches kubeadm and mounts the policy, log and webhook config', () => {
    const cfg = z
      .object({
        kind: z.literal('Cluster'),
        apiVersion: z.literal('kind.x-k8s.io/v1alpha4'),
        nodes: z
          .array(
            z
              .object({
                role: z.literal('control-plane'),
                kubeadmConfigPatches: z.array(z.string()).length(1),
                extraMounts: z.array(
                  z
                    .object({
                      hostPath: z.string().startsWith('/'),
                      containerPath: z.string().startsWith('/'),
                      readOnly: z.boolean().optional(),
                    })
                    .strict(),
                ),
              })
              .strict(),
          )
          .length(1),
      })
      .strict()
      .parse(
        one(
          kindConfigYaml(both, {
            policyHostPath: '/home/me/audit-policy.yaml',
            logHostDir: '/home/me/audit-logs',
            webhookHostPath: '/home/me/webhook.kubeconfig',
            kubeadmApi: 'v1beta3',
          }),
        ),
      );
    const node = cfg.nodes[0]!;
    const patch = z
      .object({
        kind: z.literal('ClusterConfiguration'),
        apiServer: z
          .object({
            extraArgs: z.record(z.string(), z.string()),
            extraVolumes: z.array(z.object({ hostPath: z.string(), mountPath: z.string() }).passthrough()),
          })
          .strict(),
      })
      .strict()
      .parse(one(node.kubeadmConfigPatches[0]!));
    expect(patch.apiServer.extraArgs['audit-policy-file']).toBe('/etc/kubernetes/audit/policy.yaml');
    expect(node.extraMounts).toEqual([
      {
        hostPath: '/home/me/audit-policy.yaml',
        containerPath: '/etc/kubernetes/audit/policy.yaml',
        readOnly: true,
      },
      {
        hostPath: '/home/me/webhook.kubeconfig',
        containerPath: '/etc/kubernetes/audit/webhook.kubeconfig',
        readOnly: true,
      },
      { hostPath: '/home/me/audit-logs', containerPath: '/var/log/kubernetes/audit' },
    ]);
    // Every file the API server reads is inside a directory kubeadm mounts into its pod.
    for (const m of node.extraMounts)
      expect(
        patch.apiServer.extraVolumes.some(
          (v) => m.containerPath === v.hostPath || m.containerPath.startsWith(`${v.hostPath}/`),
        ),
      ).toBe(true);
  });
});
