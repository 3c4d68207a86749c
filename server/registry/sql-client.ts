/**
 * The one seam between the store and a database engine. Each engine (PGlite, node-postgres)
 * supplies a small adapter; everything above it — SQL, migrations, row mapping — is shared.
 */

export interface SqlResult<R> {
  rows: R[];
  /** Rows returned or affected. */
  rowCount: number;
}

export interface SqlClient {
  /** One statement, with $1..$n parameters. */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
}

export interface SqlEngine extends SqlClient {
  /**
   * Change notices between server processes sharing the database (PostgreSQL LISTEN/NOTIFY).
   * Absent for PGlite, which one process at a time opens.
   */
  notices?: {
    send(payload: string): Promise<void>;
    /** Starts listening (once); `onNotice` gets every payload sent by any process, this one included. */
    listen(onNotice: (payload: string) => void): Promise<void>;
  };
  /** Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Postgres reports a unique violation with SQLSTATE 23505 and the constraint's name; both engines pass them through. */
export function uniqueViolation(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  if (code !== '23505') return undefined;
  return typeof constraint === 'string' ? constraint : '';
}
