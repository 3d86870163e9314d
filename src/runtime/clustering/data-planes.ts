/**
 * The `clustering_data_planes` table: one row per data plane a control plane has seen,
 * refreshed on every ping, kept for `cluster_data_plane_purge_delay` seconds after the
 * last one. The Admin API's `/clustering/data-planes` reads it, so every CP sharing the
 * database sees every DP.
 */
import type pg from 'pg'
import {invalidOffset, invalidSize} from '../db/errors.js'
import {isUuid, nowSeconds} from '../schema/validate.js'

/** What a control plane records about one data plane (written on every ping). */
export interface DataPlaneRow {
  id: string
  hostname: string
  ip: string
  last_seen: number
  config_hash: string
  version: string
  sync_status: string
  labels: Record<string, string>
  cert_details: {expiry_timestamp?: number}
  /** The RPC capabilities it announced on `/v2/outlet` (Kong's); none for a DP connected by `/v1/outlet` alone. */
  rpc_capabilities: string[]
}

/**
 * One row of `GET /clustering/data-planes` on the wire, as Kong lists it: the recorded
 * fields plus `updated_at` and `ttl` (seconds until it is purged); times in epoch seconds,
 * `labels` and `cert_details` always objects. The CLI's `kctl status` reads this type.
 */
export interface ListedDataPlane extends DataPlaneRow {
  updated_at: number
  ttl: number
}

/** The config hash a data plane following by `kong.sync.v2` reports: its version, as Kong's `%032d`. */
export const versionHash = (version: number): string => String(version).padStart(32, '0')

/** Whether a data plane follows by `kong.sync.v2` (its config hash is then versionHash of its version). */
export const syncsByVersion = (row: {rpc_capabilities?: readonly string[] | null}): boolean => row.rpc_capabilities?.includes('kong.sync.v2') ?? false

const COLS = 'id, hostname, ip, last_seen, config_hash, version, sync_status, labels, cert_details, rpc_capabilities, created_at, updated_at, expires_at'

/**
 * Many rows in one statement (a CP's coalesced ping records). Each id must appear once:
 * ON CONFLICT cannot update the same row twice in one statement.
 */
export async function upsertDataPlanes(pool: pg.Pool, rows: readonly DataPlaneRow[], purgeDelay: number): Promise<void> {
  if (rows.length === 0) return
  const now = nowSeconds()
  const data = rows.map((r) => ({...r, created_at: now, updated_at: now, expires_at: r.last_seen + purgeDelay}))
  await pool.query(
    `INSERT INTO clustering_data_planes (${COLS})
     SELECT ${COLS} FROM jsonb_populate_recordset(NULL::clustering_data_planes, $1::jsonb)
     ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, ip = EXCLUDED.ip, last_seen = EXCLUDED.last_seen,
       config_hash = EXCLUDED.config_hash, version = EXCLUDED.version, sync_status = EXCLUDED.sync_status,
       labels = EXCLUDED.labels, cert_details = EXCLUDED.cert_details, rpc_capabilities = EXCLUDED.rpc_capabilities, updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at`,
    [JSON.stringify(data)],
  )
}

/** A data plane removed for good; nothing when there is no such row. */
export async function deleteDataPlane(pool: pg.Pool, id: string): Promise<void> {
  await pool.query('DELETE FROM clustering_data_planes WHERE id = $1', [id])
}

/** Rows whose TTL ran out are deleted, as Kong's TTL does. */
export async function purgeExpired(pool: pg.Pool): Promise<void> {
  await pool.query('DELETE FROM clustering_data_planes WHERE expires_at < $1', [nowSeconds()])
}

export async function pageDataPlanes(pool: pg.Pool, size = 100, offset?: string): Promise<{data: ListedDataPlane[]; offset: string | null}> {
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw invalidSize('size must be an integer between 1 and 1000')
  const params: unknown[] = [nowSeconds()]
  let where = 'expires_at >= $1'
  if (offset !== undefined) {
    const last = Buffer.from(offset, 'base64url').toString()
    if (!isUuid(last)) throw invalidOffset(offset)
    params.push(last)
    where += ` AND id > $${params.length}`
  }
  params.push(size + 1)
  const res = await pool.query(`SELECT ${COLS} FROM clustering_data_planes WHERE ${where} ORDER BY id LIMIT $${params.length}`, params)
  const now = nowSeconds()
  const data = res.rows.slice(0, size).map((r): ListedDataPlane => ({
    id: r.id,
    hostname: r.hostname,
    ip: r.ip,
    last_seen: r.last_seen,
    updated_at: r.updated_at,
    config_hash: r.config_hash,
    version: r.version,
    sync_status: r.sync_status,
    ttl: Math.max(0, r.expires_at - now),
    labels: r.labels ?? {},
    cert_details: r.cert_details ?? {},
    rpc_capabilities: r.rpc_capabilities ?? [],
  }))
  const more = res.rows.length > size
  return {data, offset: more ? Buffer.from(String(data[data.length - 1].id)).toString('base64url') : null}
}

/** Every data plane not yet purged, by id (the prometheus exporter's `kong_data_plane_*` gauges). */
export async function allDataPlanes(pool: pg.Pool): Promise<DataPlaneRow[]> {
  const res = await pool.query(`SELECT ${COLS} FROM clustering_data_planes WHERE expires_at >= $1 ORDER BY id`, [nowSeconds()])
  return res.rows.map((r): DataPlaneRow => ({id: r.id, hostname: r.hostname, ip: r.ip, last_seen: r.last_seen, config_hash: r.config_hash, version: r.version, sync_status: r.sync_status, labels: r.labels ?? {}, cert_details: r.cert_details ?? {}, rpc_capabilities: r.rpc_capabilities ?? []}))
}
