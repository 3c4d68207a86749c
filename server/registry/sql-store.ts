/** The one RegistryStore implementation, written against SqlEngine so both engines share it. */
import { randomUUID } from 'node:crypto';
import { appliedMigrations, CONSTRAINTS, runMigrations, type AppliedMigration } from './migrations.ts';
import { uniqueViolation, type SqlEngine } from './sql-client.ts';
import { RegistryConflictError, type Device, type NewDevice, type PresenceUpdate, type RegistryChange, type RegistryStore, type Session, type User } from './types.ts';

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: Date;
}

interface DeviceRow {
  id: string;
  owner_id: string;
  name: string;
  cert_fingerprint: string;
  cert_pem: string | null;
  created_at: Date;
  last_seen_at: Date | null;
  online: boolean;
  revoked: boolean;
}

const DEVICE_COLUMNS = 'id, owner_id, name, cert_fingerprint, cert_pem, created_at, last_seen_at, online, revoked_at IS NOT NULL AS revoked';

function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    certFingerprint: row.cert_fingerprint,
    ...(row.cert_pem === null ? {} : { certPem: row.cert_pem }),
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    online: row.online,
    revoked: row.revoked,
  };
}

/** A RegistryStore that can also report its migrations (for tests and diagnostics). */
export interface SqlRegistryStore extends RegistryStore {
  appliedMigrations(): Promise<AppliedMigration[]>;
}

export function createSqlStore(engine: SqlEngine): SqlRegistryStore {
  async function activeFingerprints(ids: readonly string[]): Promise<Map<string, string>> {
    // Primary-key lookups: this runs for every device CONNECT (batched by the caller).
    const { rows } = await engine.query<{ id: string; cert_fingerprint: string }>(
      'SELECT id, cert_fingerprint FROM devices WHERE id = ANY($1::text[]) AND revoked_at IS NULL',
      [ids],
    );
    return new Map(rows.map((row) => [row.id, row.cert_fingerprint]));
  }

  async function allActiveFingerprints(): Promise<Map<string, string>> {
    const { rows } = await engine.query<{ id: string; cert_fingerprint: string }>('SELECT id, cert_fingerprint FROM devices WHERE revoked_at IS NULL');
    return new Map(rows.map((row) => [row.id, row.cert_fingerprint]));
  }

  async function recordPresence(updates: readonly PresenceUpdate[]): Promise<void> {
    // One statement per batch. Only the newest event per device goes in (UPDATE ... FROM with
    // two rows for one target row would pick either), and an event older than the one already
    // recorded is ignored: batches from several servers may reach the database out of order.
    const newest = new Map<string, PresenceUpdate>();
    for (const update of updates) {
      const seen = newest.get(update.deviceId);
      if (!seen || seen.at.getTime() <= update.at.getTime()) newest.set(update.deviceId, update);
    }
    if (newest.size === 0) return;
    const rows = [...newest.values()];
    await engine.query(
      `UPDATE devices AS d SET online = u.online, last_seen_at = u.at
         FROM unnest($1::text[], $2::boolean[], $3::timestamptz[]) AS u(id, online, at)
        WHERE d.id = u.id AND (d.last_seen_at IS NULL OR d.last_seen_at <= u.at)`,
      [rows.map((row) => row.deviceId), rows.map((row) => row.online), rows.map((row) => row.at.toISOString())],
    );
  }

  let closed: Promise<void> | undefined;
  const changeListeners: ((change: RegistryChange) => void)[] = [];
  const announce = (change: RegistryChange) => engine.notices?.send(change.kind === 'session-ended' ? `s:${change.tokenHash}` : `d:${change.deviceId}`);

  return {
    migrate: () => runMigrations(engine),

    appliedMigrations: () => appliedMigrations(engine),

    async createUser(username: string, passwordHash: string): Promise<User> {
      const { rows } = await engine
        .query<UserRow>('INSERT INTO users (id, username, password_hash) VALUES ($1, $2, $3) RETURNING id, username, created_at', [
          randomUUID(),
          username,
          passwordHash,
        ])
        .catch((error: unknown) => {
          if (uniqueViolation(error) === CONSTRAINTS.username) {
            throw new RegistryConflictError('username', `username ${JSON.stringify(username)} is taken`);
          }
          throw error;
        });
      const row = one(rows);
      return { id: row.id, username: row.username, createdAt: row.created_at };
    },

    async findUserByUsername(username: string): Promise<(User & { passwordHash: string }) | null> {
      const { rows } = await engine.query<UserRow>('SELECT id, username, password_hash, created_at FROM users WHERE username = $1', [username]);
      const row = rows[0];
      return row ? { id: row.id, username: row.username, createdAt: row.created_at, passwordHash: row.password_hash } : null;
    },

    async createSession(userId: string, tokenHash: string, expiresAt: Date): Promise<void> {
      await engine.query('INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)', [tokenHash, userId, expiresAt]);
    },

    async findSession(tokenHash: string, now: Date): Promise<Session | null> {
      const { rows } = await engine.query<{ user_id: string; expires_at: Date }>(
        'SELECT user_id, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2',
        [tokenHash, now],
      );
      const row = rows[0];
      return row ? { userId: row.user_id, expiresAt: row.expires_at } : null;
    },

    async deleteSession(tokenHash: string): Promise<void> {
      await engine.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
      await announce({ kind: 'session-ended', tokenHash });
    },

    async deleteExpiredSessions(now: Date): Promise<number> {
      const { rowCount } = await engine.query('DELETE FROM sessions WHERE expires_at <= $1', [now]);
      return rowCount;
    },

    async createDevice(input: NewDevice): Promise<Device> {
      const { rows } = await engine
        .query<DeviceRow>(
          `INSERT INTO devices (id, owner_id, name, cert_fingerprint, cert_pem) VALUES ($1, $2, $3, $4, $5) RETURNING ${DEVICE_COLUMNS}`,
          [input.id, input.ownerId, input.name, input.certFingerprint, input.certPem ?? null],
        )
        .catch((error: unknown) => {
          const constraint = uniqueViolation(error);
          if (constraint === CONSTRAINTS.deviceName) {
            throw new RegistryConflictError('name', `a device named ${JSON.stringify(input.name)} is already registered to this owner`);
          }
          if (constraint === CONSTRAINTS.deviceId) {
            throw new RegistryConflictError('id', `device id ${JSON.stringify(input.id)} is taken`);
          }
          throw error;
        });
      return toDevice(one(rows));
    },

    async getDevice(id: string): Promise<Device | null> {
      const { rows } = await engine.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = $1`, [id]);
      return rows[0] ? toDevice(rows[0]) : null;
    },

    async findDeviceByName(ownerId: string, name: string): Promise<Device | null> {
      const { rows } = await engine.query<DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices WHERE owner_id = $1 AND name = $2 AND revoked_at IS NULL`,
        [ownerId, name],
      );
      return rows[0] ? toDevice(rows[0]) : null;
    },

    async listDevices(ownerId: string): Promise<Device[]> {
      const { rows } = await engine.query<DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices WHERE owner_id = $1 AND revoked_at IS NULL ORDER BY registration_seq`,
        [ownerId],
      );
      return rows.map(toDevice);
    },

    async revokeDevice(id: string): Promise<boolean> {
      // COALESCE keeps the first revocation time when a device is unregistered twice.
      const { rowCount } = await engine.query('UPDATE devices SET revoked_at = COALESCE(revoked_at, clock_timestamp()) WHERE id = $1', [id]);
      if (rowCount > 0) await announce({ kind: 'device-revoked', deviceId: id });
      return rowCount > 0;
    },

    async isDeviceActive(id: string, certFingerprint: string): Promise<boolean> {
      return (await activeFingerprints([id])).get(id) === certFingerprint;
    },

    activeFingerprints,
    allActiveFingerprints,

    async setDevicePresence(id: string, online: boolean, at: Date): Promise<void> {
      await recordPresence([{ deviceId: id, online, at }]);
    },

    recordPresence,

    async onChange(listener) {
      changeListeners.push(listener);
      if (changeListeners.length > 1 || !engine.notices) return;
      await engine.notices.listen((payload) => {
        const change: RegistryChange | undefined = payload.startsWith('s:')
          ? { kind: 'session-ended', tokenHash: payload.slice(2) }
          : payload.startsWith('d:')
            ? { kind: 'device-revoked', deviceId: payload.slice(2) }
            : undefined;
        if (change) for (const each of changeListeners) each(change);
      });
    },

    close(): Promise<void> {
      closed ??= engine.close();
      return closed;
    },
  };
}

/** The single row an INSERT ... RETURNING yields. */
function one<R>(rows: R[]): R {
  const row = rows[0];
  if (row === undefined) throw new Error('registry: INSERT ... RETURNING returned no row');
  return row;
}
