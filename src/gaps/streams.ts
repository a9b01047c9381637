// The event streams that should be continuous in a healthy cluster, watched for silences: kubelets
// renewing their node leases (every 10 s per node), the control plane's leader-election renewals in
// kube-system (every 2 s), the leader-election heartbeats of other controllers and operators, and the
// cluster's overall event rate. Each is a filter of the query language, so every store counts it in SQL.
import { parseQuery, type QueryNode } from '../query/index.js';

export interface StreamDef {
  /** Stable name, used in reports and the API. */
  name: string;
  /** What it is, for people. */
  description: string;
  /** The filter selecting the stream's events. */
  filter: string;
  /** A heartbeat: periodic by design, so a silence in it says more than a quiet spell of the whole rate. */
  heartbeat: boolean;
}

export const STREAMS: readonly StreamDef[] = [
  {
    name: 'node-leases',
    description: 'kubelets renewing their node leases (kube-node-lease, every 10 s per node)',
    filter: 'resource:leases ns:kube-node-lease verb:(update OR patch)',
    heartbeat: true,
  },
  {
    name: 'leader-election',
    description: 'control-plane leader-election renewals (leases in kube-system, every 2 s)',
    filter: 'resource:leases ns:kube-system verb:(update OR patch)',
    heartbeat: true,
  },
  {
    name: 'controller-heartbeats',
    description: 'other controllers and operators renewing their leader-election leases',
    filter: 'resource:leases verb:(update OR patch) -ns:(kube-node-lease OR kube-system)',
    heartbeat: true,
  },
  {
    name: 'all-events',
    description: "the cluster's overall event rate",
    filter: '*',
    heartbeat: false,
  },
];

/** The stream's filter, restricted to one cluster when given. */
export function streamFilter(stream: StreamDef, cluster?: string): QueryNode {
  const node = parseQuery(stream.filter);
  if (cluster === undefined) return node;
  const only: QueryNode = {
    type: 'match',
    field: 'cluster',
    value: { text: cluster, quoted: true, wildcard: false },
  };
  return node.type === 'all' ? only : { type: 'and', children: [only, node] };
}
