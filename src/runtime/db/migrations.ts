/**
 * Versioned migrations. Each runs once, in order, in its own transaction, recorded in
 * `schema_meta`; an advisory lock keeps two nodes (or `kctl`) from migrating at once.
 * Running them again is a no-op.
 *
 * Each says whether it is backward compatible: nodes of the previous kctl release keep
 * working on the migrated schema (it adds tables, nullable or defaulted columns, indexes;
 * Kong's `up` phase). `kctl upgrade` runs those while old nodes still serve, and refuses an
 * online upgrade across one that is not (it drops, renames or rewrites what old code reads;
 * Kong's `teardown`), naming it.
 */
import pg from 'pg'
import {bundledPlugins} from '../plugins/registry.js'
import {CORE_ENTITIES, topologicalOrder} from '../schema/registry.js'
import {createTableSql} from './ddl.js'
import {syncDeltaSql} from './sync-deltas.js'
import {connectionConfig, type PgOptions} from './pool.js'

export interface Migration {
  name: string
  /** Nodes of the previous release keep working on the schema it leaves (see above). */
  compatible: boolean
  up: () => string[]
}

const CORE: readonly Migration[] = [
  {
    name: '000_base',
    compatible: true,
    up: () => topologicalOrder(CORE_ENTITIES).flatMap(createTableSql),
  },
  {
    // Every CP records the DPs it serves here, so that every CP sees every DP.
    name: '001_clustering_data_planes',
    compatible: true,
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
    ...(storage.entities?.length ? [{name: `${name}/000_base`, compatible: true, up: () => topologicalOrder(storage.entities).flatMap(createTableSql)}] : []),
    ...(storage.migrations ?? []),
  ]),
  // after the plugins' tables: it puts a trigger on every configuration table
  {name: '002_clustering_sync', compatible: true, up: syncDeltaSql},
  // Kong's targets keep milliseconds (a no-op on a database created with this release);
  // an older node writes whole seconds into them and reads them back as numbers
  {
    name: '003_targets_timestamp_ms',
    compatible: true,
    up: () => ['ALTER TABLE targets ALTER COLUMN created_at TYPE double precision, ALTER COLUMN updated_at TYPE double precision'],
  },
  // Kong's: the RPC capabilities a data plane announced on /v2/outlet
  {
    name: '004_clustering_rpc_capabilities',
    compatible: true,
    up: () => ['ALTER TABLE clustering_data_planes ADD COLUMN IF NOT EXISTS rpc_capabilities jsonb'],
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
export async function pendingMigrations(o: PgOptions, list: readonly Migration[] = MIGRATIONS): Promise<string[]> {
  return (await pending(o, list)).map((m) => m.name)
}

/** The migrations of `list` not yet run on this database, in order. */
export async function pending(o: PgOptions, list: readonly Migration[] = MIGRATIONS): Promise<Migration[]> {
  return withClient(o, async (c) => {
    const done = await executed(c)
    return list.filter((m) => !done.has(m.name))
  })
}

/** Runs the pending migrations of `list` (default: this release's); returns the names it ran. */
export async function migrate(o: PgOptions, list: readonly Migration[] = MIGRATIONS): Promise<string[]> {
  return withClient(o, async (c) => {
    await c.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    try {
      await c.query(`CREATE TABLE IF NOT EXISTS schema_meta (name text PRIMARY KEY, executed_at timestamptz NOT NULL DEFAULT now())`)
      const done = await executed(c)
      const ran: string[] = []
      for (const m of list) {
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
