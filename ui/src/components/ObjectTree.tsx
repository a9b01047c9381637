// The objects written in a time range as a tree: cluster → kind → namespace → name → subresource. A name
// (or one of its subresources) selects the object; the counts say how many writes each holds and how
// many were refused.
import { useMemo, type ReactNode } from 'react';

/** One object as /api/v1/objects lists it. */
export interface ObjectSummary {
  cluster: string;
  apiGroup: string;
  resource: string;
  namespace: string;
  name: string;
  writes: Record<string, number>;
  failed: number;
  last: string;
}

/** The kubectl-style KIND/NAME of an object (`deployments.apps/web`, `configmaps/settings`). */
export function objectArg(o: Pick<ObjectSummary, 'resource' | 'apiGroup' | 'name'>): string {
  return `${o.resource}${o.apiGroup ? `.${o.apiGroup}` : ''}/${o.name}`;
}

type Tree = Map<string, Map<string, Map<string, ObjectSummary[]>>>;

function group(objects: readonly ObjectSummary[]): Tree {
  const tree: Tree = new Map();
  for (const o of objects) {
    const kinds = tree.get(o.cluster) ?? new Map<string, Map<string, ObjectSummary[]>>();
    tree.set(o.cluster, kinds);
    const kind = `${o.resource}${o.apiGroup ? `.${o.apiGroup}` : ''}`;
    const namespaces = kinds.get(kind) ?? new Map<string, ObjectSummary[]>();
    kinds.set(kind, namespaces);
    const list = namespaces.get(o.namespace) ?? [];
    namespaces.set(o.namespace, list);
    list.push(o);
  }
  return tree;
}

/** A button that reads as a link. */
const linkButton = {
  background: 'none',
  border: 0,
  padding: 0,
  color: 'var(--accent)',
  cursor: 'pointer',
  font: 'inherit',
} as const;

const total = (o: ObjectSummary) => Object.values(o.writes).reduce((a, b) => a + b, 0);

export function ObjectTree(props: {
  objects: readonly ObjectSummary[];
  selected?: { cluster: string; namespace: string; object: string };
  onSelect: (o: ObjectSummary) => void;
}): ReactNode {
  const tree = useMemo(() => group(props.objects), [props.objects]);
  const isSelected = (o: ObjectSummary) =>
    props.selected !== undefined &&
    props.selected.cluster === o.cluster &&
    props.selected.namespace === o.namespace &&
    props.selected.object === objectArg(o);
  return (
    <nav className="object-tree" data-testid="object-tree" aria-label="Objects">
      {[...tree.entries()].map(([cluster, kinds]) => (
        <details key={cluster} open>
          <summary>{cluster}</summary>
          {[...kinds.entries()].map(([kind, namespaces]) => (
            <details key={kind} open={kinds.size < 8} style={{ marginLeft: 12 }}>
              <summary>{kind}</summary>
              {[...namespaces.entries()].map(([ns, objects]) => (
                <details key={ns} open={namespaces.size < 8} style={{ marginLeft: 12 }}>
                  <summary>{ns === '' ? <span className="muted">(cluster-scoped)</span> : ns}</summary>
                  <ul style={{ listStyle: 'none', margin: 0, paddingLeft: 12 }}>
                    {objects.map((o) => (
                      <li key={o.name}>
                        <button
                          type="button"
                          aria-current={isSelected(o) ? 'true' : undefined}
                          style={{ ...linkButton, fontWeight: isSelected(o) ? 700 : 400 }}
                          onClick={() => props.onSelect(o)}
                          title={`${total(o)} writes, ${o.failed} refused, last ${o.last}`}
                        >
                          {o.name}
                        </button>{' '}
                        <span className="muted small">
                          {total(o)}
                          {o.failed > 0 && (
                            <span style={{ color: 'var(--danger)' }}> ({o.failed} refused)</span>
                          )}
                        </span>
                        {Object.keys(o.writes).some((s) => s !== '') && (
                          <ul style={{ listStyle: 'none', margin: 0, paddingLeft: 12 }}>
                            {Object.entries(o.writes)
                              .filter(([s]) => s !== '')
                              .map(([s, n]) => (
                                <li key={s} className="small">
                                  <button
                                    type="button"
                                    style={{ ...linkButton, color: 'var(--muted)' }}
                                    onClick={() => props.onSelect(o)}
                                  >
                                    {s}
                                  </button>{' '}
                                  <span className="muted">{n}</span>
                                </li>
                              ))}
                          </ul>
                        )}
                      </li>
                    ))}
                  </ul>
                </details>
              ))}
            </details>
          ))}
        </details>
      ))}
    </nav>
  );
}
