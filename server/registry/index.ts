/**
 * The server's persistence — users, sessions, devices — behind one interface with two engines:
 * PGlite (embedded, the default) and PostgreSQL (deployments). Both share one SQL store.
 */
import { openPgliteStore } from './pglite.ts';
import { openPostgresStore } from './postgres.ts';
import type { SqlRegistryStore } from './sql-store.ts';

export type { Device, NewDevice, RegistryStore, Session, User } from './types.ts';
export { RegistryConflictError } from './types.ts';
export type { SqlRegistryStore } from './sql-store.ts';
export type { AppliedMigration } from './migrations.ts';
export type { PostgresStoreOptions } from './postgres.ts';
export { openPgliteStore, openPostgresStore };

export interface StoreConfig {
  /** A postgres:// URL; when set, the registry lives in that PostgreSQL database. */
  databaseUrl?: string;
  /** Where PGlite keeps its files when there is no databaseUrl; undefined means in memory. */
  dataDir?: string;
}

/** PostgreSQL when `databaseUrl` is set, else PGlite. Call migrate() before use. */
export function openStore(config: StoreConfig): Promise<SqlRegistryStore> {
  return config.databaseUrl ? openPostgresStore(config.databaseUrl) : openPgliteStore(config.dataDir);
}
