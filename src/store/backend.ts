// What a store back end tells the registry (src/store/open.ts): its name, which locations are its own,
// how to open one, how a filter would run on it (`query --explain`) and where files kept beside the store
// go. A back end is a folder of src/store/ that exports one StoreBackend; adding one is that folder and
// one line in the registry.
import type { DataKey } from '../crypto/cipher.js';
import type { QueryNode } from '../query/syntax/ast.js';
import type { Store, TimeRange } from './store.js';

export interface OpenOptions {
  readOnly?: boolean;
  /** DuckDB's memory limit (e.g. `512MB`, the default); other back ends ignore it. */
  memoryLimit?: string;
  /**
   * The data key of an encrypted store (docs/security.md): rows are sealed with it on the way in and
   * opened on the way out. Opening an encrypted store without it, or with another key, fails
   * (KT_KEY_REQUIRED, KT_KEY_MISMATCH) and changes nothing; an empty store opened for writing with a key
   * becomes encrypted; a plain store that holds events refuses a key (KT_KEY_UNEXPECTED).
   */
  key?: DataKey;
  /**
   * `kubetrail key rotate` only: the new key. `key` is then the old one (absent for a plain store), the
   * store opens in the middle of a rotation too, writes are sealed with the new key, and
   * Store.keyRotation() re-seals the rest (src/store/rotate.ts).
   */
  rotateTo?: DataKey;
  /**
   * Read-only opens only: open an encrypted store without its key, for work that reads no event content
   * (`kubetrail verify` hashes the stored rows as they are). Reading an event then fails (KT_KEY_REQUIRED).
   */
  withoutKey?: boolean;
  /**
   * The identity of the digest chain this process extends, on a store several processes write to
   * (ClickHouse; default a new one per open). Keep it across restarts, so that the chain a crash left
   * unsigned is signed at the next start; never the same for two processes writing at once.
   */
  writer?: string;
}

export interface StoreBackend {
  /** The back end's name, as Store.kind says it: "duckdb", "clickhouse". */
  readonly name: string;
  /** The locations it takes, for messages: `clickhouse://USER:PASSWORD@HOST:8123/DATABASE`. */
  readonly locations: string;
  /** Whether a location names a store of this back end. */
  recognizes(location: string): boolean;
  /** Opens the store. Heavy modules (native bindings, HTTP clients) are loaded here, on first use. */
  open(location: string, opts: OpenOptions): Promise<Store>;
  /**
   * How a filter over a time range would run on the store, as text for people; runs nothing.
   * `encrypted`: as on an encrypted store, whose SQL reads only the index columns.
   */
  explain(location: string, filter: QueryNode, range: TimeRange, now: number, encrypted?: boolean): string;
  /**
   * The directory of the store's file, where files that belong with the store (the quarantine) go by
   * default; undefined for a store on a server, whose location says nothing about the local disk.
   */
  directory(location: string): string | undefined;
  /**
   * After rows were removed on purpose (a key rotation): rewrites the closed store so that the removed
   * rows leave no bytes behind in its files; false when the back end has nothing to rewrite (a server
   * rewrites its own parts).
   */
  rewrite?(location: string): Promise<boolean>;
}
