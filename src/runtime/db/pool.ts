/**
 * The Postgres connection pool of a node. bigint columns (timestamps) come back as
 * numbers; jsonb as parsed JSON (pg's default).
 */
import pg from 'pg'
import type {NodeConf} from '../conf/defaults.js'

export interface PgOptions {
  host: string
  port: number
  user: string
  password?: string | null
  database: string
  ssl?: boolean
  /** Connection and statement timeout in ms. */
  timeout?: number
  poolSize?: number
}

/** The `pg_*` keys of a node's conf. */
export const pgOptions = (c: NodeConf): PgOptions => ({
  host: c.pg_host,
  port: c.pg_port,
  user: c.pg_user,
  password: c.pg_password,
  database: c.pg_database,
  ssl: c.pg_ssl,
  timeout: c.pg_timeout,
  poolSize: c.pg_pool_size,
})

const INT8 = 20
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (v: string) => Number(v)
    return pg.types.getTypeParser(oid, format)
  },
}

export function connectionConfig(o: PgOptions): pg.ClientConfig {
  return {
    host: o.host,
    port: o.port,
    user: o.user,
    password: o.password ?? undefined,
    database: o.database,
    ssl: o.ssl ? {rejectUnauthorized: false} : undefined,
    connectionTimeoutMillis: o.timeout ?? 5000,
    types,
  }
}

export function createPool(o: PgOptions): pg.Pool {
  const pool = new pg.Pool({...connectionConfig(o), max: o.poolSize ?? 10})
  // An idle client losing its connection must not take the process down; the next
  // query reconnects.
  pool.on('error', () => {})
  return pool
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/** Human description of a connection failure: what to check. */
export function describePgError(err: unknown, o: PgOptions): string {
  const e = (err ?? {}) as {code?: unknown; message?: unknown}
  const where = `${o.host}:${o.port}`
  if (e.code === 'ECONNREFUSED') return `can't connect to Postgres at ${where} (connection refused): is the server running?`
  if (e.code === '28P01') return `Postgres at ${where} refused the password of user '${o.user}'`
  if (e.code === '3D000') return `database '${o.database}' does not exist on the Postgres server at ${where}`
  return `Postgres at ${where}: ${e.message ?? String(err)}`
}
