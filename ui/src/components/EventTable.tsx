// The results table: virtualized rows (only the visible ones are in the DOM, so it stays smooth at any
// result count), the next page loaded as the end comes into view, a column chooser, and a click on a
// row opening the event. Cell values are React text.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { AuditEvent } from '../api.js';
import { COLUMNS, codeClass, isSensitive, type Column } from '../format.js';
import { href, Link } from '../router.js';

export interface Row {
  cluster: string;
  event: AuditEvent;
}

const ROW_HEIGHT = 30;

export function ColumnChooser(props: { columns: string[]; onChange: (cols: string[]) => void }): ReactNode {
  const [open, setOpen] = useState(false);
  return (
    <div className="column-chooser">
      <button type="button" onClick={() => setOpen(!open)} aria-expanded={open}>
        Columns
      </button>
      {open && (
        <div className="menu" role="menu">
          {COLUMNS.map((c) => (
            <label key={c.id}>
              <input
                type="checkbox"
                checked={props.columns.includes(c.id)}
                onChange={(e) => {
                  const next = e.target.checked
                    ? COLUMNS.filter((x) => x.id === c.id || props.columns.includes(x.id)).map((x) => x.id)
                    : props.columns.filter((x) => x !== c.id);
                  if (next.length > 0) props.onChange(next);
                }}
              />
              {c.title}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}

export function EventTable(props: {
  rows: Row[];
  columns: string[];
  hasMore: boolean;
  loadingMore: boolean;
  onMore: () => void;
  onCellFilter?: (field: string, value: string) => void;
}): ReactNode {
  const { rows, hasMore, loadingMore, onMore } = props;
  const cols = props.columns
    .map((id) => COLUMNS.find((c) => c.id === id))
    .filter((c): c is Column => c !== undefined);
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length + (hasMore ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 1 && hasMore && !loadingMore) onMore();
  }, [last, rows.length, hasMore, loadingMore, onMore]);
  const width = cols.reduce((s, c) => s + c.width, 0);
  return (
    <div className="event-table" data-testid="results">
      <div className="event-table-scroll" ref={scroller}>
        <div className="thead" style={{ width }}>
          {cols.map((c) => (
            <div key={c.id} className="th" style={{ width: c.width }}>
              {c.title}
            </div>
          ))}
        </div>
        <div className="tbody" style={{ height: virtualizer.getTotalSize(), width }}>
          {items.map((item) => {
            const row = rows[item.index];
            if (!row) {
              return (
                <div
                  key="more"
                  className="tr more"
                  style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                >
                  Loading more…
                </div>
              );
            }
            const e = row.event;
            const cls = `tr code-${codeClass(e.responseStatus?.code)}${isSensitive(e) ? ' sensitive' : ''}`;
            return (
              <div
                key={`${e.auditID}-${e.stage}-${item.index}`}
                className={cls}
                data-testid="result-row"
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                {cols.map((c) => {
                  const v = c.get(e, row.cluster);
                  return (
                    <div key={c.id} className={`td col-${c.id}`} style={{ width: c.width }} title={v}>
                      {c.id === 'time' ? (
                        <Link to={href(`/events/${encodeURIComponent(e.auditID)}`)} className="event-link">
                          {v}
                        </Link>
                      ) : c.field && v && props.onCellFilter ? (
                        <button
                          type="button"
                          className="cell-filter"
                          onClick={() => props.onCellFilter?.(c.field!, v)}
                        >
                          {v}
                        </button>
                      ) : (
                        v
                      )}
                    </div>
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
      {rows.length === 0 && !hasMore && <div className="empty">No events match.</div>}
    </div>
  );
}
