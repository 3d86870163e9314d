/**
 * Versioned migrations. Each runs once, in order, in its own transaction, recorded in
 * `schema_meta`; an advisory lock keeps two nodes (or `kctl`) from migrating at once.
 * Running them again is a no-op.
 */
import pg from 'pg'
import {acls} from '../plugins/acl/credentials.js'
import {basicauthCredentials} from '../plugins/basic-auth/credentials.js'
import {keyauthCredentials} from '../plugins/key-auth/credentials.js'
import {ENTITIES, topologicalOrder} from '../schema/registry.js'
import {createTableSql} from './ddl.js'
import {connectionConfig, type PgOptions} from './pool.js'

export interface Migration {
  name: string
  up: () => string[]
}

/** Tables added with the bundled plugins, after the base migration. */
const CREDENTIALS = [keyauthCredentials, basicauthCredentials, acls]

export const MIGRATIONS: readonly Migration[] = [
  {
    name: '000_base',
    up: () => topologicalOrder(ENTITIES.filter((s) => !CREDENTIALS.includes(s))).flatMap(createTableSql),
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
  {
    name: '002_plugin_credentials',
    up: () => CREDENTIALS.flatMap(createTableSql),
  },
  {
    // rate-limiting's `cluster` policy keeps its counters here, as Kong does (its
    // 000_base_rate_limiting + the ttl column and index of 004_200_to_210).
    name: '003_ratelimiting_metrics',
    up: () => [
      `CREATE TABLE IF NOT EXISTS ratelimiting_metrics (
        identifier text NOT NULL,
        period text NOT NULL,
        period_date timestamp with time zone NOT NULL,
        service_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid,
        route_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid,
        value integer,
        ttl timestamp with time zone,
        PRIMARY KEY (identifier, period, period_date, service_id, route_id)
      )`,
      'CREATE INDEX IF NOT EXISTS ratelimiting_metrics_ttl_idx ON ratelimiting_metrics (ttl)',
    ],
  },
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
