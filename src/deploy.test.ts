// Running kubetrail in a cluster, checked as far as a machine without a container engine or a cluster
// allows (docs/deploy.md): the Kubernetes manifests of deploy/ parse, use kinds that current Kubernetes
// serves, and carry what the docs promise (probes, security contexts, resources, ports and paths that
// match the server's configuration, labels that select what they should); the API-server side in
// deploy/apiserver/ is what `kubetrail setup cluster` prints; the Dockerfile builds in the expected stages
// and its runtime holds the package's files and runs unprivileged.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CLUSTER_DEFAULTS, serviceDnsName } from './cli/commands/setup-cluster.js';
import { parseConfig } from './config/load.js';
import { configSchema, type Config } from './config/schema.js';
import { runCli } from './test-support/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');
const pkg = JSON.parse(read('package.json')) as { version: string; files: string[] };

// Loosely typed views of the manifests: the test reads what it checks.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

/** Every document of every YAML file under a directory of deploy/. */
function manifests(dir: string): { file: string; doc: Obj }[] {
  const out: { file: string; doc: Obj }[] = [];
  for (const f of readdirSync(path.join(root, 'deploy', dir)).filter((x) => /\.ya?ml$/.test(x))) {
    const file = `deploy/${dir}/${f}`;
    for (const d of parseAllDocuments(read(file))) {
      expect(d.errors, file).toEqual([]);
      const doc = d.toJS() as Obj | null;
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

/** The kinds these manifests may use, by the API version current Kubernetes (1.29+) serves them at. */
const SERVED: Record<string, string[]> = {
  v1: ['Namespace', 'ServiceAccount', 'ConfigMap', 'Secret', 'Service', 'PersistentVolumeClaim'],
  'apps/v1': ['Deployment', 'DaemonSet'],
  'networking.k8s.io/v1': ['NetworkPolicy'],
  'cert-manager.io/v1': ['Issuer', 'Certificate'],
  'kustomize.config.k8s.io/v1beta1': ['Kustomization'],
};

const one = (docs: { doc: Obj }[], kind: string): Obj => {
  const found = docs.filter((d) => d.doc.kind === kind);
  expect(found.length, kind).toBe(1);
  return found[0]!.doc;
};

const DEFAULT_PORT = Number(configSchema.parse({}).listen.split(':').pop());

/** The server configuration a ConfigMap holds, read by the server's own loader. */
function configOf(docs: { doc: Obj }[]): Config {
  return parseConfig(one(docs, 'ConfigMap').data['kubetrail.yaml'], 'kubetrail.yaml');
}

interface Mode {
  dir: 'webhook' | 'node';
  workload: 'Deployment' | 'DaemonSet';
  portName: string;
  scheme: 'HTTPS' | undefined;
}
const MODES: Mode[] = [
  { dir: 'webhook', workload: 'Deployment', portName: 'https', scheme: 'HTTPS' },
  { dir: 'node', workload: 'DaemonSet', portName: 'http', scheme: undefined },
];

describe.each(MODES)('deploy/$dir', (mode) => {
  const docs = manifests(mode.dir);
  const workload = one(docs, mode.workload);
  const pod = workload.spec.template.spec;
  const container = pod.containers[0];
  const config = configOf(docs);

  it('uses only kinds current Kubernetes serves, and the kustomization lists the manifests', () => {
    for (const { file, doc } of docs)
      expect(SERVED[doc.apiVersion] ?? [], `${file}: ${doc.apiVersion} ${doc.kind}`).toContain(doc.kind);
    const k = one(docs, 'Kustomization');
    for (const r of k.resources as string[])
      expect(existsSync(path.join(root, 'deploy', mode.dir, r)), r).toBe(true);
    const listed = new Set(['kustomization.yaml', 'cert-manager.yaml', ...(k.resources as string[])]);
    for (const f of readdirSync(path.join(root, 'deploy', mode.dir)))
      expect(listed.has(f), `${f} is in neither the kustomization nor the optional files`).toBe(true);
    // Nothing asks for API permissions: kubetrail does not call the Kubernetes API.
    for (const { doc } of docs) expect(doc.kind).not.toMatch(/Role/);
    expect(one(docs, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('runs the image of this version, with the configuration from the ConfigMap', () => {
    expect(container.image).toBe(`kubetrail:${pkg.version}`);
    const k = one(docs, 'Kustomization');
    expect(k.images).toEqual([{ name: 'kubetrail', newName: 'kubetrail', newTag: pkg.version }]);
    expect(container.args).toEqual(['serve', '--config', '/etc/kubetrail/kubetrail.yaml']);
    const mount = container.volumeMounts.find((m: Obj) => m.mountPath === '/etc/kubetrail/kubetrail.yaml');
    expect(pod.volumes.find((v: Obj) => v.name === mount.name).configMap.name).toBe(
      one(docs, 'ConfigMap').metadata.name,
    );
  });

  it('is locked down: read-only root, no capabilities, no privilege escalation, RuntimeDefault seccomp', () => {
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext.capabilities.add).toBeUndefined();
    expect(pod.hostNetwork).toBeUndefined();
    // The writable paths: the data directory and a bounded /tmp.
    const writable = (container.volumeMounts as Obj[]).filter((m) => !m.readOnly).map((m) => m.mountPath);
    expect(writable.sort()).toEqual(['/tmp', config.dataDir].sort());
    const tmp = pod.volumes.find((v: Obj) => v.name === 'tmp');
    expect(tmp.emptyDir.sizeLimit).toBeTruthy();
  });

  it('has requests and limits, the ones docs/deploy.md derives from the benchmarks', () => {
    const r = container.resources;
    expect(Object.keys(r.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(r.limits).sort()).toEqual(['cpu', 'memory']);
    const doc = read('docs/deploy.md');
    for (const v of [r.requests.cpu, r.requests.memory, r.limits.cpu, r.limits.memory])
      expect(doc).toContain(`\`${v}\``);
  });

  it('listens where the probes, the Service and the NetworkPolicy look: the default port', () => {
    const port = (container.ports as Obj[]).find((p) => p.name === mode.portName)!;
    expect(port.containerPort).toBe(DEFAULT_PORT);
    expect(config.listen).toBe(`0.0.0.0:${DEFAULT_PORT}`);
    expect(container.livenessProbe.httpGet).toEqual({
      path: '/healthz',
      port: mode.portName,
      ...(mode.scheme ? { scheme: mode.scheme } : {}),
    });
    expect(container.readinessProbe.httpGet).toEqual({
      path: '/readyz',
      port: mode.portName,
      ...(mode.scheme ? { scheme: mode.scheme } : {}),
    });
    expect(container.startupProbe.httpGet.path).toBe('/healthz');
    // TLS on the server itself exactly when the probes speak HTTPS.
    expect(Boolean(config.tls)).toBe(mode.scheme === 'HTTPS');
    const labels = workload.spec.template.metadata.labels;
    expect(labels).toMatchObject(workload.spec.selector.matchLabels);
    const svc = one(docs, 'Service');
    expect(labels).toMatchObject(svc.spec.selector);
    expect(svc.spec.ports).toEqual([
      { name: mode.portName, port: DEFAULT_PORT, targetPort: mode.portName, protocol: 'TCP' },
    ]);
    const np = one(docs, 'NetworkPolicy');
    expect(labels).toMatchObject(np.spec.podSelector.matchLabels);
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    for (const rule of np.spec.ingress as Obj[])
      expect(rule.ports).toEqual([{ port: mode.portName, protocol: 'TCP' }]);
  });

  it('keeps its data where the configuration says', () => {
    expect(config.dataDir).toBe('/var/lib/kubetrail');
    expect(config.db).toBeUndefined();
    const data = (container.volumeMounts as Obj[]).find((m) => m.mountPath === config.dataDir)!;
    const volume = pod.volumes.find((v: Obj) => v.name === data.name);
    if (mode.dir === 'webhook') {
      expect(volume.persistentVolumeClaim.claimName).toBe(one(docs, 'PersistentVolumeClaim').metadata.name);
      expect(one(docs, 'PersistentVolumeClaim').spec.accessModes).toEqual(['ReadWriteOnce']);
      // One writer: the old pod is gone before the new one opens the store.
      expect(workload.spec.replicas).toBe(1);
      expect(workload.spec.strategy).toEqual({ type: 'Recreate' });
    } else {
      expect(volume.hostPath).toEqual({ path: config.dataDir, type: 'DirectoryOrCreate' });
    }
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });
});

describe('deploy/webhook specifics', () => {
  const docs = manifests('webhook');
  const pod = one(docs, 'Deployment').spec.template.spec;
  const container = pod.containers[0];
  const config = configOf(docs);

  it('runs as the image user, not root, in a namespace that enforces the restricted level', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 });
    expect(pod.securityContext.fsGroup).toBe(10001);
    expect(one(docs, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('serves TLS from the Secret and takes the webhook token from the environment', () => {
    const tls = (container.volumeMounts as Obj[]).find((m) => m.name === 'tls')!;
    expect(config.tls!.cert).toBe(`${tls.mountPath}/tls.crt`);
    expect(config.tls!.key).toBe(`${tls.mountPath}/tls.key`);
    expect(pod.volumes.find((v: Obj) => v.name === 'tls').secret.secretName).toBe('kubetrail-tls');
    const token = config.webhook.tokens[0]!;
    const env = (container.env as Obj[]).find((e) => e.name === token.tokenEnv)!;
    expect(env.valueFrom.secretKeyRef).toEqual({ name: 'kubetrail-webhook-token', key: 'token' });
    expect(token.cluster).toBe(config.cluster);
  });

  it('is the Service `setup cluster` points the API server at, with a certificate for its name', () => {
    const svc = one(docs, 'Service');
    expect(svc.metadata).toMatchObject({
      name: CLUSTER_DEFAULTS.service,
      namespace: CLUSTER_DEFAULTS.namespace,
    });
    expect(svc.spec.ports[0].port).toBe(CLUSTER_DEFAULTS.port);
    const certs = docs.filter((d) => d.doc.kind === 'Certificate').map((d) => d.doc);
    const server = certs.find((c) => c.spec.secretName === 'kubetrail-tls')!;
    expect(server.spec.dnsNames).toContain(serviceDnsName(CLUSTER_DEFAULTS));
    // The API server reaches it from the control-plane nodes: an address block must be allowed.
    const np = one(docs, 'NetworkPolicy');
    expect((np.spec.ingress as Obj[]).some((r) => r.from.some((f: Obj) => f.ipBlock?.cidr))).toBe(true);
  });
});

describe('deploy/node specifics', () => {
  const docs = manifests('node');
  const pod = one(docs, 'DaemonSet').spec.template.spec;
  const container = pod.containers[0];
  const config = configOf(docs);

  it('runs on the control-plane nodes and follows the audit log through a read-only hostPath', () => {
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(pod.tolerations).toContainEqual({
      key: 'node-role.kubernetes.io/control-plane',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    const file = config.files[0]!.path;
    const mount = (container.volumeMounts as Obj[]).find((m) => file.startsWith(`${m.mountPath}/`))!;
    expect(mount.readOnly).toBe(true);
    expect(pod.volumes.find((v: Obj) => v.name === mount.name).hostPath.path).toBe(mount.mountPath);
    expect(config.webhook.enabled).toBe(false);
    expect(config.autodetect).toBe(false);
    // Root without capabilities: the API server writes its log as root, mode 0600.
    expect(pod.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(one(docs, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });
});

describe('deploy/apiserver: what `kubetrail setup cluster` prints', () => {
  it('node-mode.yaml and webhook-mode.yaml are its output, and match the manifests', async () => {
    for (const mode of ['node', 'webhook']) {
      const r = await runCli(['setup', 'cluster', '--mode', mode]);
      expect(r.code).toBe(0);
      expect(read(`deploy/apiserver/${mode}-mode.yaml`)).toBe(r.out);
    }
    const flags = parse(read('deploy/apiserver/node-mode.yaml')) as string[];
    const logPath = flags.find((f) => f.startsWith('--audit-log-path='))!.split('=')[1]!;
    expect(configOf(manifests('node')).files[0]!.path).toBe(logPath);
    const [webhookFlags, kubeconfig] = parseAllDocuments(read('deploy/apiserver/webhook-mode.yaml')).map(
      (d) => d.toJS() as Obj,
    );
    const configFile = (webhookFlags as unknown as string[])
      .find((f) => f.startsWith('--audit-webhook-config-file='))!
      .split('=')[1];
    expect(configFile).toBe('/etc/kubernetes/audit/webhook.kubeconfig');
    const server = new URL(kubeconfig!.clusters[0].cluster.server);
    expect(server.host).toBe(`${serviceDnsName(CLUSTER_DEFAULTS)}:${CLUSTER_DEFAULTS.port}`);
    expect(server.protocol).toBe('https:');
    expect(kubeconfig!.users[0].user.tokenFile).toBe(CLUSTER_DEFAULTS.tokenFile);
  });

  it('reached by ClusterIP, the certificate is still checked against the Service name', async () => {
    const r = await runCli([
      'setup',
      'cluster',
      '--mode',
      'webhook',
      '--address',
      '10.96.0.42',
      '--cluster',
      'prod',
    ]);
    const kubeconfig = parseAllDocuments(r.out)[1]!.toJS() as Obj;
    expect(kubeconfig.clusters[0].cluster).toMatchObject({
      server: 'https://10.96.0.42:7480/webhook/prod',
      'tls-server-name': serviceDnsName(CLUSTER_DEFAULTS),
      'certificate-authority': CLUSTER_DEFAULTS.caFile,
    });
    expect((await runCli(['setup', 'cluster', '--mode', 'sidecar'])).code).toBe(2);
    expect((await runCli(['setup', 'cluster', '--mode', 'webhook', '--address', 'a b'])).code).toBe(2);
    expect((await runCli(['setup', 'cluster', '--mode', 'webhook', '--ca', 'ca.crt'])).code).toBe(2);
    expect((await runCli(['setup', 'cluster', '--mode', 'webhook', '--namespace', 'Bad_Name'])).code).toBe(2);
  });

  it('audit-policy.yaml is the recommended preset', async () => {
    const r = await runCli(['policy', 'preset', 'recommended']);
    expect(parse(read('deploy/apiserver/audit-policy.yaml'))).toEqual(parse(r.out));
  });
});

describe('kubectl kustomize renders each mode', () => {
  const kubectl = (() => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!kubectl)('deploy/node, deploy/webhook and grafana/ render', () => {
    for (const dir of ['deploy/node', 'deploy/webhook', 'grafana']) {
      const out = execFileSync('kubectl', ['kustomize', path.join(root, dir)], { encoding: 'utf8' });
      const kinds = parseAllDocuments(out).map((d) => (d.toJS() as Obj).kind);
      expect(kinds.length, dir).toBeGreaterThan(0);
    }
  });
});

describe('Dockerfile', () => {
  interface Stage {
    name: string;
    from: string;
    lines: string[];
  }
  const text = read('Dockerfile').replace(/\\\n/g, ' ');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = Object.fromEntries(
    lines.filter((l) => /^ARG \w+=/.test(l)).map((l) => l.slice(4).split('=') as [string, string]),
  );
  const stages: Stage[] = [];
  for (const l of lines) {
    const from = /^FROM (\S+) AS (\S+)$/i.exec(l);
    if (from)
      stages.push({
        name: from[2]!,
        from: from[1]!.replace(/\$\{(\w+)\}/, (_m, a: string) => args[a] ?? ''),
        lines: [],
      });
    else stages.at(-1)?.lines.push(l);
  }
  const runtime = stages.at(-1)!;
  const instr = (s: Stage, word: string) => s.lines.filter((l) => l.startsWith(`${word} `));

  it('builds in three stages on a small Node.js 20 base', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    for (const s of stages) expect(s.from).toBe('node:20-bookworm-slim');
    expect(instr(stages[0]!, 'RUN').join('\n')).toMatch(/tsc -p tsconfig\.build\.json && npx vite build/);
    expect(instr(stages[1]!, 'RUN').join('\n')).toMatch(/npm ci --omit=dev/);
  });

  it('runs bin/kubetrail.js as an unprivileged user, with the data directory as its volume', () => {
    const user = instr(runtime, 'USER');
    expect(user).toHaveLength(1);
    const [uid] = user[0]!.slice(5).split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(uid)).toBe(10001);
    expect(runtime.lines.at(-2)).toBe(
      'ENTRYPOINT ["node", "--max-semi-space-size=64", "/app/bin/kubetrail.js"]',
    );
    const cmd = JSON.parse(runtime.lines.at(-1)!.slice(4)) as string[];
    expect(cmd.slice(0, 1)).toEqual(['serve']);
    expect(cmd[cmd.indexOf('--data-dir') + 1]).toBe('/var/lib/kubetrail');
    expect(cmd[cmd.indexOf('--listen') + 1]).toBe(`0.0.0.0:${DEFAULT_PORT}`);
    expect(instr(runtime, 'VOLUME')).toEqual(['VOLUME ["/var/lib/kubetrail"]']);
    expect(instr(runtime, 'EXPOSE')).toEqual([`EXPOSE ${DEFAULT_PORT}`]);
    // The same directory is where the manifests mount the data volume.
    expect(configOf(manifests('webhook')).dataDir).toBe('/var/lib/kubetrail');
  });

  it('copies every file the package ships, its manifest and production dependencies', () => {
    // What each COPY brings into /app: its sources (from the context, or a path of an earlier stage).
    const copied = instr(runtime, 'COPY').flatMap((l) =>
      l
        .split(/\s+/)
        .slice(1, -1)
        .filter((w) => !w.startsWith('--'))
        .map((w) => path.posix.basename(w)),
    );
    for (const f of [...pkg.files, 'package.json', 'node_modules']) expect(copied, f).toContain(f);
    expect(instr(runtime, 'COPY').join('\n')).toMatch(/--from=deps \/app\/node_modules/);
    expect(instr(runtime, 'COPY').join('\n')).toMatch(/--from=build \/src\/dist/);
    expect(instr(runtime, 'WORKDIR')[0]).toBe('WORKDIR /app');
    // bin/kubetrail.js runs the compiled CLI from dist/.
    expect(read('bin/kubetrail.js')).toContain("'../dist/src/cli/main.js'");
  });

  it('.dockerignore keeps local builds and data out and every source the build needs in', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.git', 'data']) expect(ignored).toContain(p);
    const needed = stages
      .flatMap((s) => instr(s, 'COPY'))
      .filter((l) => !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(needed).toContain('src');
    const matches = (name: string, pattern: string) =>
      new RegExp(`^${pattern.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(name);
    for (const n of needed) {
      expect(existsSync(path.join(root, n)), n).toBe(true);
      expect(
        ignored.filter((p) => matches(n, p)),
        n,
      ).toEqual([]);
    }
  });
});
