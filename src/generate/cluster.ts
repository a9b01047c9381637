// The simulated cluster behind generated audit events, and its "normal": who acts, from where, with what.
//
// - Nodes: node-1..node-3 at 10.0.0.11-13; kubelets renew leases every 10 s, patch node status, read the
//   pods, secrets and configmaps of their pods, and create events.
// - Control plane: kube-controller-manager, kube-scheduler and controllers' service accounts from
//   10.0.0.11; coredns and kube-proxy from pod IPs 10.244.0.0/16.
// - Health checks: system:anonymous GETs of /healthz, /livez and /readyz from 10.0.0.1.
// - People, from the office network 198.51.100.0/24 with kubectl: alice@example.com (platform team,
//   group oidc:platform-admins), bob@example.com and carol@example.com (group oidc:devs). They read pods,
//   deployments, services and logs, and apply deployments in team namespaces. Nobody execs into pods,
//   and nobody but controllers reads secrets.
// - CI: system:serviceaccount:ci:deployer from in-cluster runners (10.244.3.0/24) patches deployments,
//   creates configmaps and updates one application secret in team namespaces.
export const START_OF_DEMO = Date.UTC(2026, 10, 24);

export const NODES = ['node-1', 'node-2', 'node-3'];
export const NODE_IPS = ['10.0.0.11', '10.0.0.12', '10.0.0.13'];
export const NAMESPACES = [
  'default',
  'kube-system',
  'team-a',
  'team-b',
  'payments',
  'monitoring',
  'ingress',
  'ci',
  'web',
  'data',
];
export const TEAM_NAMESPACES = ['team-a', 'team-b', 'payments', 'web', 'data'];
export const APPS = ['api', 'web', 'worker', 'cache', 'gateway', 'billing', 'search'];
export const PEOPLE = [
  {
    user: 'alice@example.com',
    groups: ['oidc:platform-admins', 'system:authenticated'],
    ip: '198.51.100.10',
  },
  { user: 'bob@example.com', groups: ['oidc:devs', 'system:authenticated'], ip: '198.51.100.23' },
  { user: 'carol@example.com', groups: ['oidc:devs', 'system:authenticated'], ip: '198.51.100.31' },
];
export const KUBECTL_UA = 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46';
export const KUBECTL_UA_MAC = 'kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46';
export const KUBELET_UA = 'kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46';
export const CONTROLLERS = [
  'replicaset-controller',
  'deployment-controller',
  'endpointslice-controller',
  'namespace-controller',
  'job-controller',
  'horizontal-pod-autoscaler',
];
export const CI_SA = 'system:serviceaccount:ci:deployer';
