// Where the common Kubernetes distributions write the API server's audit log when it is enabled, so that
// `kubetrail serve` with no configuration follows the one that exists on this machine.
import { existsSync } from 'node:fs';

export const STANDARD_AUDIT_LOG_PATHS: readonly { path: string; distribution: string }[] = [
  // kubeadm: the path the Kubernetes auditing documentation and kubeadm guides use.
  { path: '/var/log/kubernetes/audit/audit.log', distribution: 'kubeadm' },
  { path: '/var/log/kubernetes/audit.log', distribution: 'kubeadm' },
  // k3s: --kube-apiserver-arg=audit-log-path default location in its documentation.
  { path: '/var/lib/rancher/k3s/server/logs/audit.log', distribution: 'k3s' },
  // kind: the auditing guide mounts /var/log/kubernetes and writes kube-apiserver-audit.log.
  { path: '/var/log/kubernetes/kube-apiserver-audit.log', distribution: 'kind' },
  // minikube: its audit guide logs to stdout (audit-log-path=-); set-ups that log to a file inside the
  // VM use /var/log/kubernetes/audit.log (above) or, as in the CIS benchmark's example, this one.
  { path: '/var/log/apiserver/audit.log', distribution: 'minikube' },
];

/** The standard paths that exist here (checked once, at start-up). */
export function detectAuditLogs(exists: (p: string) => boolean = existsSync): string[] {
  return STANDARD_AUDIT_LOG_PATHS.filter((p) => exists(p.path)).map((p) => p.path);
}
