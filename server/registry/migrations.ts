/**
 * The registry schema as versioned migrations, shared by both engines. Append new migrations;
 * never edit one that has shipped (databases in the field have already applied it).
 */
import type { SqlClient, SqlEngine } from './sql-client.ts';

export interface Migration {
  version: number;
  name: string;
  /** One statement each: PGlite's parameterised query runs a single statement. */
  statements: readonly string[];
}

export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: Date;
}

/** Constraint names the store maps to RegistryConflictError fields. */
export const CONSTRAINTS = {
  username: 'users_username_key',
  deviceId: 'devices_pkey',
  deviceName: 'devices_owner_name_active_key',
} as const;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, sessions, devices',
    statements: [
      `CREATE TABLE users (
        id uuid PRIMARY KEY,
        username text NOT NULL CONSTRAINT ${CONSTRAINTS.username} UNIQUE,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      // Only the token's hash is stored: a leaked table grants no logins.
      `CREATE TABLE sessions (
        token_hash text PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)`,
      // created_at uses clock_timestamp(), not now(): now() is fixed per transaction and would
      // give devices created together the same time. revoked_at (not a flag) keeps when a
      // device was unregistered, for audit.
      `CREATE TABLE devices (
        id text CONSTRAINT ${CONSTRAINTS.deviceId} PRIMARY KEY,
        owner_id uuid NOT NULL REFERENCES users (id),
        name text NOT NULL,
        cert_fingerprint text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_seen_at timestamptz,
        online boolean NOT NULL DEFAULT false,
        revoked_at timestamptz
      )`,
      // Names are unique per owner among live devices only, so unregistering frees the name.
      `CREATE UNIQUE INDEX ${CONSTRAINTS.deviceName} ON devices (owner_id, name) WHERE revoked_at IS NULL`,
      `CREATE INDEX devices_owner_listing_idx ON devices (owner_id, created_at, name) WHERE revoked_at IS NULL`,
    ],
  },
  {
    version: 2,
    name: 'device registration order',
    statements: [
      // Two registrations can share a timestamp (PGlite's clock ticks in milliseconds): a
      // sequence gives listings the true registration order.
      `ALTER TABLE devices ADD COLUMN registration_seq bigserial`,
      `DROP INDEX devices_owner_listing_idx`,
      `CREATE INDEX devices_owner_listing_idx ON devices (owner_id, registration_seq) WHERE revoked_at IS NULL`,
    ],
  },
  {
    version: 3,
    name: 'device certificate',
    statements: [
      // The certificate is public (the private key is never stored): the original libpyiotcloud
      // API's get_device_list answers it. Devices registered before have none (NULL).
      `ALTER TABLE devices ADD COLUMN cert_pem text`,
    ],
  },
];

/** Arbitrary, fixed key for pg_advisory_xact_lock; only has to differ from other apps' keys in the same database. */
const MIGRATION_LOCK_KEY = 7_318_004_211;

/** Applies every migration not yet recorded in schema_migrations, all in one transaction. */
export async function runMigrations(engine: SqlEngine, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  await engine.transaction(async (tx) => {
    // Several API instances may start at once against one PostgreSQL: the lock makes the
    // second wait and then find nothing left to do, instead of failing on duplicate tables.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
  });
}

/** What schema_migrations records, oldest first; empty before the first migrate(). */
export async function appliedMigrations(client: SqlClient): Promise<AppliedMigration[]> {
  const exists = await client.query<{ found: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS found`);
  if (!exists.rows[0]?.found) return [];
  const { rows } = await client.query<{ version: number; name: string; applied_at: Date }>(
    'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
  );
  return rows.map((row) => ({ version: row.version, name: row.name, appliedAt: row.applied_at }));
}
