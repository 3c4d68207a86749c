/**
 * The store contract on a real PostgreSQL server, plus what only a server can show (concurrent
 * migrators, connection errors). Each run works in its own schemas and drops them afterwards.
 * PostgreSQL being unreachable is a failure, not a skip: the deployment engine must stay tested.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, openStore } from '../../server/registry/index.ts';
import { MIGRATIONS } from '../../server/registry/migrations.ts';
import { redactConnectionString } from '../../server/registry/postgres.ts';
import { defineStoreContract } from './store-contract.ts';

const DATABASE_URL = process.env.IOTCLOUD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN_ID = `${process.pid}_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];

function newSchema(label: string): string {
  const schema = `iotcloud_test_${label}_${RUN_ID}`;
  schemas.push(schema);
  return schema;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `PostgreSQL is unreachable at ${redactConnectionString(DATABASE_URL)} (${reason}). ` +
        'These tests need it: start PostgreSQL or point IOTCLOUD_TEST_DATABASE_URL at one.',
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await withAdmin((client) => client.query('SELECT 1'));
});

afterAll(async () => {
  if (schemas.length === 0) return; // nothing was created (e.g. PostgreSQL was unreachable)
  await withAdmin(async (client) => {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });
});

defineStoreContract('PostgreSQL', { open: () => openPostgresStore(DATABASE_URL, { schema: newSchema('contract') }) });

describe('PostgreSQL registry specifics', () => {
  it('lets two instances migrate one database at once; the migrations apply once', async () => {
    const schema = newSchema('race');
    const [a, b] = [await openPostgresStore(DATABASE_URL, { schema }), await openPostgresStore(DATABASE_URL, { schema })];
    try {
      await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
      const applied = await b.appliedMigrations();
      expect(applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
      const user = await a.createUser('raced', 'hash');
      expect((await b.findUserByUsername('raced'))?.id).toBe(user.id);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('openStore picks PostgreSQL when given a databaseUrl (tables land in that database)', async () => {
    const schema = newSchema('openstore');
    await withAdmin((client) => client.query(`CREATE SCHEMA ${schema}`));
    const url = new URL(DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);

    const store = await openStore({ databaseUrl: url.toString(), dataDir: '/nonexistent/must-not-be-used' });
    try {
      await store.migrate();
      await store.createUser('via-open-store', 'hash');
    } finally {
      await store.close();
    }
    const { rows } = await withAdmin((client) => client.query<{ username: string }>(`SELECT username FROM ${schema}.users`));
    expect(rows).toEqual([{ username: 'via-open-store' }]);
  });

  it('fails to open with a clear message that hides the password', async () => {
    const error = await openPostgresStore('postgres://postgres:s3cret@127.0.0.1:1/test').then(
      () => expect.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toMatch(/^cannot open the PostgreSQL registry at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test: /);
    expect(error.message).not.toContain('s3cret');
  });

  it('refuses a schema name that is not a plain lower-case identifier', async () => {
    await expect(openPostgresStore(DATABASE_URL, { schema: 'x; DROP TABLE users' })).rejects.toThrow(/invalid schema name/);
    await expect(openPostgresStore(DATABASE_URL, { schema: 'MixedCase' })).rejects.toThrow(/invalid schema name/);
  });
});
