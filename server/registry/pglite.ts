/** The embedded engine: PostgreSQL compiled to WebAssembly, in memory or in a data directory. */
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlClient, SqlEngine, SqlResult } from './sql-client.ts';
import { withActiveDevicesInMemory } from './active-devices-in-memory.ts';
import { createSqlStore, type SqlRegistryStore } from './sql-store.ts';

function client(db: PGlite | Transaction): SqlClient {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const result = await db.query<R>(sql, [...params]);
      // affectedRows counts INSERT/UPDATE/DELETE; rows covers SELECT.
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    },
  };
}

export function pgliteEngine(db: PGlite): SqlEngine {
  return {
    ...client(db),
    transaction: (work) => db.transaction((tx) => work(client(tx))),
    close: () => db.close(),
  };
}

/**
 * Opens a PGlite registry: in memory when `dataDir` is undefined, else persisted there.
 * One process at a time may open a given directory, so who may connect is kept in memory.
 */
export async function openPgliteStore(dataDir: string | undefined): Promise<SqlRegistryStore> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(dataDir);
  return withActiveDevicesInMemory(createSqlStore(pgliteEngine(db)));
}
