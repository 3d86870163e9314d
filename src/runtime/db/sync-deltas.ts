/**
 * Configuration versions for incremental sync (Kong 3.9's `clustering_sync_version` and
 * `clustering_sync_delta`), kept in Postgres so that every control plane agrees:
 *
 *   any write to a configuration table (Admin API, declarative sync, a cascaded delete)
 *     ─► row trigger ─► the transaction's version (one per transaction, allocated on its
 *        first change) ─► one delta row: kind, id, the row after the change (null: deleted)
 *
 * The triggers run in the writing transaction, so a change and its delta commit together,
 * whichever code path wrote it. The version is allocated under a transaction-scoped
 * advisory lock held until commit, so versions become visible in the order they were
 * allocated: the committed versions are always every version up to the highest one, and a
 * reader that saw version N has seen every change up to N. (Writers of configuration are
 * serialised by it; they were short already.) Old versions are pruned (`pruneVersions`);
 * a data plane older than what is kept gets a full configuration instead.
 */
import type pg from 'pg'
import {ENTITIES, type EntitySet} from '../schema/registry.js'
import {column} from './ddl.js'
import {loadEntities} from './load-entities.js'

/** `pg_advisory_xact_lock(KEY_A, KEY_B)`: "kctl", "sync" (the two-key form, apart from the migration lock's). */
const KEY_A = 0x6b63746c
const KEY_B = 0x73796e63

/** The trigger that records a table's changes (a later migration adding a configuration table runs it too). */
export const syncTriggerSql = (table: string): string[] => [
  `DROP TRIGGER IF EXISTS kctl_sync_delta ON ${table}`,
  `CREATE TRIGGER kctl_sync_delta AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION kctl_sync_delta()`,
]

export function syncDeltaSql(): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS clustering_sync_version (
      version bigserial PRIMARY KEY,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE IF NOT EXISTS clustering_sync_delta (
      seq bigserial PRIMARY KEY,
      version bigint NOT NULL REFERENCES clustering_sync_version(version) ON DELETE CASCADE,
      kind text NOT NULL,
      id uuid NOT NULL,
      entity jsonb
    )`,
    'CREATE INDEX IF NOT EXISTS clustering_sync_delta_version_idx ON clustering_sync_delta (version)',
    `CREATE OR REPLACE FUNCTION kctl_sync_version() RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE v bigint;
    BEGIN
      v := NULLIF(current_setting('kctl.sync_version', true), '')::bigint;
      IF v IS NULL THEN
        PERFORM pg_advisory_xact_lock(${KEY_A}, ${KEY_B});
        INSERT INTO clustering_sync_version DEFAULT VALUES RETURNING version INTO v;
        PERFORM set_config('kctl.sync_version', v::text, true);
      END IF;
      RETURN v;
    END $$`,
    `CREATE OR REPLACE FUNCTION kctl_sync_delta() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO clustering_sync_delta (version, kind, id, entity) VALUES (kctl_sync_version(), TG_TABLE_NAME, OLD.id, NULL);
      ELSE
        INSERT INTO clustering_sync_delta (version, kind, id, entity) VALUES (kctl_sync_version(), TG_TABLE_NAME, NEW.id, to_jsonb(NEW));
      END IF;
      RETURN NULL;
    END $$`,
    ...ENTITIES.flatMap((s) => syncTriggerSql(s.name)),
  ]
}

/** One change as it travels to data planes: the entity in the export's shape (`config_table` rows), or null when deleted. */
export interface Delta {
  kind: string
  id: string
  entity: Record<string, unknown> | null
}

/** The configuration with the version it is at, read in one snapshot. */
export async function loadVersionedEntities(pool: pg.Pool): Promise<{entities: EntitySet; version: number}> {
  return loadEntities(pool, async (c) => Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM clustering_sync_version')).rows[0].v))
}

/**
 * The changes after `from` up to and including `to`, each entity's last one, in the order
 * made; null when some of them are no longer kept (pruned), so the caller sends the whole
 * configuration.
 */
export async function readDeltas(pool: pg.Pool, from: number, to: number): Promise<Delta[] | null> {
  if (from === to) return []
  return (await readHistory(pool, from, to))?.deltas ?? null
}

/**
 * Every change after `from`, up to the latest version, read in one snapshot (a control
 * plane following the database); null when some of them are no longer kept.
 */
export const readChangesSince = (pool: pg.Pool, from: number): Promise<{version: number; deltas: Delta[]} | null> => readHistory(pool, from, null)

/** The changes after `from` up to `to` (null: the latest version), with the version they lead to. */
async function readHistory(pool: pg.Pool, from: number, to: number | null): Promise<{version: number; deltas: Delta[]} | null> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const span = (await client.query('SELECT coalesce(min(version), 0) AS min, coalesce(max(version), 0) AS max FROM clustering_sync_version')).rows[0]
    const min = Number(span.min)
    const until = to ?? Number(span.max)
    if (until === from) {
      await client.query('COMMIT')
      return {version: until, deltas: []}
    }
    // every version after `from` must still be there: the oldest kept is at most from + 1
    if (min === 0 || from < min - 1 || from > until) {
      await client.query('COMMIT')
      return null
    }
    // only each entity's last change: the result is the same, whatever happened in between
    const res = await client.query(
      `SELECT kind, id, entity FROM (
         SELECT DISTINCT ON (kind, id) seq, kind, id, entity FROM clustering_sync_delta
         WHERE version > $1 AND version <= $2 ORDER BY kind, id, seq DESC
       ) last ORDER BY seq`,
      [from, until],
    )
    await client.query('COMMIT')
    return {version: until, deltas: res.rows.map((r) => ({kind: r.kind, id: r.id, entity: r.entity === null ? null : exportRow(r.kind, r.entity)}))}
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/** One recorded change with the version it was made in (Kong's `clustering_sync_delta` row). */
export interface VersionedDelta extends Delta {
  version: number
}

/**
 * Every change after `from`, each with its version, in the order made (not only each
 * entity's last: Kong's `kong.sync.v2.get_delta` sends them all), read in one snapshot with
 * the latest version. `changes` is null when they cannot all be sent: more than `limit`
 * versions after `from`, `from` past the latest version, or some of them no longer kept.
 */
export async function readVersionedChanges(pool: pg.Pool, from: number, limit: number): Promise<{latest: number; changes: VersionedDelta[] | null}> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const span = (await client.query('SELECT coalesce(min(version), 0) AS min, coalesce(max(version), 0) AS max FROM clustering_sync_version')).rows[0]
    const [min, latest] = [Number(span.min), Number(span.max)]
    let changes: VersionedDelta[] | null = null
    if (from === latest) changes = []
    // every version after `from` must still be there: the oldest kept is at most from + 1
    else if (from < latest && latest - from <= limit && min > 0 && from >= min - 1) {
      const res = await client.query('SELECT version, kind, id, entity FROM clustering_sync_delta WHERE version > $1 AND version <= $2 ORDER BY version, seq', [from, latest])
      changes = res.rows.map((r) => ({version: Number(r.version), kind: r.kind, id: r.id, entity: r.entity === null ? null : exportRow(r.kind, r.entity)}))
    }
    await client.query('COMMIT')
    return {latest, changes}
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/** Keeps the latest `keep` versions (and their deltas). */
export async function pruneVersions(pool: pg.Pool, current: number, keep: number): Promise<void> {
  if (current - keep <= 0) return
  await pool.query('DELETE FROM clustering_sync_version WHERE version <= $1', [current - keep])
}

const SCHEMAS = new Map(ENTITIES.map((s) => [s.name, s]))

/** A row as `to_jsonb` wrote it (by column) → the export's shape: foreign keys as plain ids, nulls left out. */
export function exportRow(kind: string, row: Record<string, unknown>): Record<string, unknown> {
  const schema = SCHEMAS.get(kind)
  if (!schema) throw new Error(`unknown entity kind '${kind}' in the sync history`)
  const e: Record<string, unknown> = {}
  for (const [name, f] of schema.fields) {
    const v = row[column(name, f)]
    if (v === null || v === undefined) continue
    e[name] = v
  }
  return e
}
