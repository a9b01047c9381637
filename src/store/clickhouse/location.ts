// ClickHouse store locations: `clickhouse://USER:PASSWORD@HOST:8123/DATABASE` (`clickhouses://` for
// HTTPS), parsed into what the HTTP client needs, with a display form that hides the password for every
// message and log line.
import { KubetrailError } from '../../core/errors.js';

export interface ClickHouseLocation {
  /** http(s)://host:port */
  url: string;
  username: string;
  password: string;
  database: string;
  /** The location with the password hidden, for messages. */
  display: string;
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** True when the location names a ClickHouse store. */
export function isClickHouseLocation(location: string): boolean {
  return /^clickhouses?:\/\//i.test(location);
}

/** Parses clickhouse://user:pass@host:8123/db (or clickhouses:// for HTTPS). */
export function parseClickHouseLocation(location: string): ClickHouseLocation {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    throw new KubetrailError('KT_STORE_OPEN', 'the ClickHouse location is not a URL', {
      hint: 'write it as clickhouse://USER:PASSWORD@HOST:8123/DATABASE',
    });
  }
  const secure = u.protocol === 'clickhouses:';
  if (!secure && u.protocol !== 'clickhouse:') {
    throw new KubetrailError('KT_STORE_OPEN', `not a ClickHouse location: ${u.protocol}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, '')) || 'default';
  const hidden = `${u.protocol}//${u.username ? `${u.username}${u.password ? ':…' : ''}@` : ''}${u.host}/${database}`;
  if (!DATABASE_NAME.test(database)) {
    throw new KubetrailError('KT_STORE_OPEN', `${JSON.stringify(database)} is not a usable database name`, {
      where: { file: hidden },
      hint: 'use letters, digits and underscores, starting with a letter or underscore',
    });
  }
  if (!u.hostname) throw new KubetrailError('KT_STORE_OPEN', `no host in ${hidden}`);
  const port = u.port || (secure ? '8443' : '8123');
  return {
    url: `${secure ? 'https' : 'http'}://${u.hostname}:${port}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database,
    display: hidden,
  };
}
