/**
 * Kong 3.9's incremental sync service, `kong.sync.v2`, on the cluster RPC (rpc.ts):
 *
 *   DP ──kong.sync.v2.get_delta([{default:{version:N}}])──► CP
 *   CP ──{default:{deltas:[{type, entity|null, version, ws_id, pk:{id}}], wipe}}──► DP
 *   CP ──kong.sync.v2.notify_new_version([{default:{new_version:V}}])──► DP   (every new version)
 *
 * A full sync (`wipe`: the DP drops what it has) carries every entity at the latest
 * version; it goes when N is 0, more than FULL_SYNC_THRESHOLD versions behind, or the
 * changes after N are no longer kept. Otherwise every change after N, each with its
 * version (an empty list: the DP is up to date). An entity travels as Kong's DAO row:
 * every field, null when unset, foreign keys as `{id}`, plus `ws_id`. kctl has no
 * workspaces: everything is in Kong's declarative default workspace, which a full sync
 * carries first (a Kong DP takes the default workspace's id from it).
 *
 * The DP stores its version as its configuration hash, `%032d` of it, and reports it by
 * every get_delta; the CP records that as the DP's `config_hash`.
 */
import type {VersionedDelta} from '../db/sync-deltas.js'
import {getSchema, topologicalOrder, type EntitySet} from '../schema/registry.js'
import {toChange, type Change} from './frame.js'
import {RpcCode, RpcError} from './rpc.js'

export const SYNC_V2 = 'kong.sync.v2'
export const GET_DELTA = 'kong.sync.v2.get_delta'
export const NOTIFY_NEW_VERSION = 'kong.sync.v2.notify_new_version'
/** Versions behind after which a DP gets a full sync, as Kong's. */
export const FULL_SYNC_THRESHOLD = 512
/** Kong's DECLARATIVE_DEFAULT_WORKSPACE_ID. */
export const DEFAULT_WORKSPACE_ID = '0dc6f45b-8f8d-40d2-a504-473544ee190b'

/** One delta as it travels. */
export interface SyncV2Delta {
  type: string
  entity: Record<string, unknown> | null
  version: number
  ws_id: string
  pk: {id: string}
}

export interface SyncV2Result {
  deltas: SyncV2Delta[]
  wipe: boolean
}

export {versionHash} from './data-planes.js'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/**
 * get_delta's params → the DP's version.
 * @throws RpcError INVALID_PARAMS
 */
export function checkGetDeltaParams(params: unknown[]): number {
  const p = params[0]
  if (!isObject(p)) throw new RpcError(RpcCode.INVALID_PARAMS, 'params[1] must be an object like {"default":{"version":0}}')
  if (!isObject(p.default)) throw new RpcError(RpcCode.INVALID_PARAMS, 'default namespace does not exist inside params')
  if (!isVersion(p.default.version)) throw new RpcError(RpcCode.INVALID_PARAMS, "'version' must be an integer, 0 or greater")
  return p.default.version
}

/**
 * notify_new_version's params → the new version.
 * @throws RpcError INVALID_PARAMS
 */
export function checkNotifyParams(params: unknown[]): number {
  const p = params[0]
  if (!isObject(p)) throw new RpcError(RpcCode.INVALID_PARAMS, 'params[1] must be an object like {"default":{"new_version":1}}')
  if (!isObject(p.default)) throw new RpcError(RpcCode.INVALID_PARAMS, 'default namespace does not exist inside params')
  if (!isVersion(p.default.new_version)) throw new RpcError(RpcCode.INVALID_PARAMS, "'new_version' key does not exist or is not an integer, 0 or greater")
  return p.default.new_version
}

const entityDelta = (kind: string, entity: Record<string, unknown>, version: number): SyncV2Delta => ({
  type: kind,
  entity: {...entity, ws_id: DEFAULT_WORKSPACE_ID},
  version,
  ws_id: DEFAULT_WORKSPACE_ID,
  pk: {id: entity.id as string},
})

/** The default workspace, as Kong's DAO row. */
const workspaceDelta = (version: number): SyncV2Delta => ({
  type: 'workspaces',
  entity: {id: DEFAULT_WORKSPACE_ID, name: 'default', comment: null, meta: {}, config: {}},
  version,
  ws_id: DEFAULT_WORKSPACE_ID,
  pk: {id: DEFAULT_WORKSPACE_ID},
})

/** A full sync: the default workspace, then every entity at `version`, parents first (Kong's export order). */
export function fullSync(entities: EntitySet, version: number): SyncV2Result {
  const rows = entities as unknown as Record<string, ReadonlyArray<Record<string, unknown>> | undefined>
  const deltas = [workspaceDelta(version)]
  for (const schema of topologicalOrder()) for (const e of rows[schema.name] ?? []) deltas.push(entityDelta(schema.name, e, version))
  return {deltas, wipe: true}
}

/** The recorded changes (the database's history, db/sync-deltas.ts) as deltas. */
export function incrementalSync(changes: readonly VersionedDelta[]): SyncV2Result {
  const deltas = changes.map((d): SyncV2Delta => {
    const c = toChange(d, `${d.kind} ${d.id}`, false)
    return c.entity ? entityDelta(d.kind, c.entity, d.version) : {type: d.kind, entity: null, version: d.version, ws_id: DEFAULT_WORKSPACE_ID, pk: {id: d.id}}
  })
  return {deltas, wipe: false}
}

/**
 * get_delta's result, as the DP reads it.
 * @throws Error saying what is wrong with it
 */
export function checkGetDeltaResult(result: unknown): SyncV2Result {
  if (!isObject(result) || !isObject(result.default)) throw new Error('default namespace does not exist inside the result')
  const {deltas, wipe} = result.default
  if (!Array.isArray(deltas)) throw new Error("the result's deltas must be a list")
  return {deltas, wipe: wipe === true}
}

/**
 * Deltas → the changes they make (each entity validated against its schema), the version
 * they lead to (the last delta's), and the kinds this gateway does not have (skipped, as a
 * whole configuration's are).
 * @throws Error naming the first delta that is not one
 */
export function changesOf(deltas: readonly unknown[]): {changes: Change[]; version: number; skipped: string[]} {
  const changes: Change[] = []
  const skipped = new Set<string>()
  let version = 0
  deltas.forEach((raw, i) => {
    const at = `deltas[${i + 1}]`
    if (!isObject(raw) || typeof raw.type !== 'string') throw new Error(`${at}: expected a delta with a type`)
    if (!isVersion(raw.version)) throw new Error(`${at}: 'version' must be an integer, 0 or greater`)
    version = raw.version
    if (!getSchema(raw.type)) {
      skipped.add(raw.type)
      return
    }
    if (raw.entity === null || raw.entity === undefined) {
      const id = isObject(raw.pk) ? raw.pk.id : undefined
      if (typeof id !== 'string') throw new Error(`${at}: a deletion needs pk.id`)
      changes.push({kind: raw.type, id, entity: null})
      return
    }
    if (!isObject(raw.entity) || typeof raw.entity.id !== 'string') throw new Error(`${at}: expected an entity with an id`)
    changes.push(toChange({kind: raw.type, id: raw.entity.id, entity: raw.entity}, at, true))
  })
  return {changes, version, skipped: [...skipped]}
}

/** Each entity's last change only, in the order of those (what they leave is the same). */
export function lastChanges(changes: readonly Change[]): Change[] {
  const last = new Map<string, number>()
  changes.forEach((c, i) => last.set(`${c.kind}\n${c.id}`, i))
  return changes.filter((c, i) => last.get(`${c.kind}\n${c.id}`) === i)
}
