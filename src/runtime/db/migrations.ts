/**
 * Versioned migrations. Each runs once, in order, in its own transaction, recorded in
 * `schema_meta`; an advisory lock keeps two nodes (or `kctl`) from migrating at once.
 * Running them again is a no-op.
 */
import pg from 'pg'
import {bundledPlugins} from '../plugins/registry.js'
import {CORE_ENTITIES, topologicalOrder} from '../schema/registry.js'
import {createTableSql} from './ddl.js'
import {connectionConfig, type PgOptions} from './pool.js'

export interface Migration {
  name: string
  up: () => string[]
}

const CORE: readonly Migration[] = [
  {
    name: '000_base',
    up: () => topologicalOrder(CORE_ENTITIES).flatMap(createTableSql),
  },
  {
    // Every CP records the DPs it serves here, so that every CP sees every DP.
    name: '001_clustering_data_planes',
    up: () => [
      `CREATE TABLE IF NOT EXISTS clustering_data_planes (
        id uuid PRIMARY KEY,
        hostname text NOT NULL,
        ip text NOT NULL,
        last_seen bigint NOT NULL,
        config_hash text NOT NULL,
        version text,
        sync_status text NOT NULL DEFAULT 'unknown',
        labels jsonb,
        cert_details jsonb,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        expires_at bigint NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS clustering_data_planes_expires_at_idx ON clustering_data_planes (expires_at)',
    ],
  },
]

/**
 * The core migrations, then each bundled plugin's (registry order): `<plugin>/000_base`
 * creates its entities' tables, then the plugin's own.
 */
export const MIGRATIONS: readonly Migration[] = [
  ...CORE,
  ...bundledPlugins().flatMap(({name, storage}): Migration[] => [
    ...(storage.entities?.length ? [{name: `${name}/000_base`, up: () => topologicalOrder(storage.entities).flatMap(createTableSql)}] : []),
    ...(storage.migrations ?? []),
  ]),
]

const LOCK_KEY = 0x6b63746c // "kctl"

async function withClient<T>(o: PgOptions, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(connectionConfig(o))
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

async function executed(c: pg.Client): Promise<Set<string>> {
  const exists = await c.query(`SELECT to_regclass('schema_meta') IS NOT NULL AS ok`)
  if (!exists.rows[0].ok) return new Set()
  const res = await c.query('SELECT name FROM schema_meta')
  return new Set(res.rows.map((r) => r.name as string))
}

/** Names of the migrations not yet run on this database. */
export async function pendingMigrations(o: PgOptions): Promise<string[]> {
  return withClient(o, async (c) => {
    const done = await executed(c)
    return MIGRATIONS.filter((m) => !done.has(m.name)).map((m) => m.name)
  })
}

/** Runs the pending migrations; returns the names it ran. */
export async function migrate(o: PgOptions): Promise<string[]> {
  return withClient(o, async (c) => {
    await c.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    try {
      await c.query(`CREATE TABLE IF NOT EXISTS schema_meta (name text PRIMARY KEY, executed_at timestamptz NOT NULL DEFAULT now())`)
      const done = await executed(c)
      const ran: string[] = []
      for (const m of MIGRATIONS) {
        if (done.has(m.name)) continue
        await c.query('BEGIN')
        try {
          for (const sql of m.up()) await c.query(sql)
          await c.query('INSERT INTO schema_meta (name) VALUES ($1)', [m.name])
          await c.query('COMMIT')
        } catch (err) {
          await c.query('ROLLBACK')
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`)
        }
        ran.push(m.name)
      }
      return ran
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {})
    }
  })
}
