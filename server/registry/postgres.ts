/** The deployment engine: a PostgreSQL server through a node-postgres connection pool. */
import pg from 'pg';
import type { SqlClient, SqlEngine, SqlResult } from './sql-client.ts';
import { createSqlStore, type SqlRegistryStore } from './sql-store.ts';

export interface PostgresStoreOptions {
  /** Keep the registry's tables in this schema (created if missing); lets tests isolate themselves. */
  schema?: string;
}

// Lower-case only: the name goes unquoted into search_path, where Postgres folds case.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function client(db: pg.Pool | pg.PoolClient): SqlClient {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const result = await db.query<R & pg.QueryResultRow>(sql, [...params]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
  };
}

export function postgresEngine(pool: pg.Pool, channel = 'iotcloud_registry'): SqlEngine {
  let listener: pg.Client | undefined;
  return {
    ...client(pool),
    notices: {
      async send(payload) {
        await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
      },
      async listen(onNotice) {
        // One connection of its own, outside the pool: LISTEN holds it. If it drops, caches fall
        // back to their TTL (5 s) until the server restarts; the error is not fatal.
        listener = new pg.Client(pool.options);
        listener.on('error', () => {});
        listener.on('notification', (message) => {
          if (message.channel === channel && message.payload) onNotice(message.payload);
        });
        await listener.connect();
        await listener.query(`LISTEN ${channel}`);
      },
    },
    async transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T> {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        const result = await work(client(connection));
        await connection.query('COMMIT');
        connection.release();
        return result;
      } catch (error) {
        // A connection whose ROLLBACK failed is in an unknown state: destroy it, not reuse it.
        await connection.query('ROLLBACK').then(
          () => connection.release(),
          (rollbackError: unknown) => connection.release(rollbackError instanceof Error ? rollbackError : true),
        );
        throw error;
      }
    },
    async close() {
      await listener?.end().catch(() => {});
      await pool.end();
    },
  };
}

/** Hides the password when a connection string appears in an error message. */
export function redactConnectionString(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable connection string)';
  }
}

/** Opens a pooled PostgreSQL registry; connects once up front so a wrong URL fails here, not at the first request. */
export async function openPostgresStore(connectionString: string, options: PostgresStoreOptions = {}): Promise<SqlRegistryStore> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _ (max 63)`);
  }
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: 10_000,
    // Every pooled connection gets the schema at startup, so no query can run before it is set.
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection that dies (server restart) is emitted here; without a listener Node
  // would crash the process. The pool drops it and the next query opens a fresh one.
  pool.on('error', () => {});
  try {
    await pool.query(schema !== undefined ? `CREATE SCHEMA IF NOT EXISTS ${schema}` : 'SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open the PostgreSQL registry at ${redactConnectionString(connectionString)}: ${reason}`, { cause: error });
  }
  // A schema is a registry of its own (tests isolate themselves that way): so is its channel.
  return createSqlStore(postgresEngine(pool, schema === undefined ? 'iotcloud_registry' : `iotcloud_registry_${schema}`));
}
