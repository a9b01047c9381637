// The ClickHouse store's connection: opening the HTTP client (ping, then the schema migrations for a
// writer, or a check that the store exists for a reader), and the two ways the store's modules read
// through it: a query's rows at once, or streamed in blocks. Failures become KT_STORE_OPEN or
// KT_STORE_QUERY with the location's display form (never the password).
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { KubetrailError } from '../../core/errors.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import { parseClickHouseLocation, type ClickHouseLocation } from './location.js';
import { migrate } from './migrations.js';

/** An open client on one database, and the store's events table in it. */
export class ClickHouseConnection {
  /** The events table, qualified by the database. */
  readonly events: string;
  private closed = false;

  constructor(
    readonly location: ClickHouseLocation,
    readonly client: ClickHouseClient,
  ) {
    this.events = `${location.database}.events`;
  }

  /** Runs a query and returns all its rows. */
  async rows<T>(query: string): Promise<T[]> {
    this.checkOpen();
    try {
      const rs = await this.client.query({ query, format: 'JSONEachRow' });
      return await rs.json<T>();
    } catch (err) {
      throw new KubetrailError('KT_STORE_QUERY', `query failed: ${String(err)}`, { cause: err });
    }
  }

  /** Runs a query and yields its rows block by block, so memory stays bounded. */
  async *stream<T>(query: string): AsyncGenerator<T[]> {
    this.checkOpen();
    try {
      const rs = await this.client.query({ query, format: 'JSONEachRow' });
      for await (const rows of rs.stream<T>()) yield rows.map((row) => row.json());
    } catch (err) {
      if (err instanceof KubetrailError) throw err;
      throw new KubetrailError('KT_STORE_QUERY', `query failed: ${String(err)}`, { cause: err });
    }
  }

  /** Runs a statement. */
  async command(query: string): Promise<void> {
    await this.client.command({ query });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new KubetrailError('KT_STORE_QUERY', 'the store is closed');
  }
}

/**
 * Connects to the store a location names. A writer creates the database and applies the migrations it
 * lacks; a reader only checks that the events table exists.
 */
export async function connectClickHouse(
  location: string,
  readOnly: boolean,
  /** Runs after the ping and before anything is created or migrated (the encryption key check). */
  beforeChanges?: (client: ClickHouseClient, database: string, display: string) => Promise<void>,
): Promise<ClickHouseConnection> {
  const loc = parseClickHouseLocation(location);
  const client = createClient({
    url: loc.url,
    username: loc.username,
    password: loc.password,
    request_timeout: 300_000,
    max_open_connections: 8,
    application: 'kubetrail',
    // Failures reach the caller as KubetrailErrors; the client's own log lines (stack traces on
    // stderr, outside the collector's structured log) would only repeat them.
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    const ping = await client.ping();
    if (!ping.success) throw ping.error;
    await beforeChanges?.(client, loc.database, loc.display);
    if (readOnly) {
      const rs = await client.query({
        query: `SELECT count() AS n FROM system.tables WHERE database = ${sqlLiteral(loc.database)} AND name = 'events'`,
        format: 'JSONEachRow',
      });
      const [row] = await rs.json<{ n: string | number }>();
      if (Number(row?.n ?? 0) === 0) {
        throw new KubetrailError('KT_STORE_OPEN', `no store at ${loc.display}`, {
          where: { file: loc.display },
          hint: 'start a collector (`kubetrail serve --db …`) or import events into it first',
        });
      }
    } else {
      await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${loc.database}` });
      await migrate(client, loc.database, loc.display);
    }
  } catch (err) {
    await client.close().catch(() => undefined);
    if (err instanceof KubetrailError) throw err;
    throw new KubetrailError('KT_STORE_OPEN', `cannot open the store: ${String(err)}`, {
      where: { file: loc.display },
      hint: 'check that ClickHouse answers on its HTTP port and that the user and password are right',
      cause: err,
    });
  }
  return new ClickHouseConnection(loc, client);
}
