/**
 * The configuration of a DB-less node, held in memory. Applying one is all or nothing:
 * parse → validate every entity → build (the node's proxy snapshot) → swap; any failure
 * leaves the previous configuration serving. What is built and swapped is the node's
 * (roles/dbless-node.ts): this store knows nothing of the proxy.
 */
import {configHash, EMPTY_CONFIG_HASH} from '../clustering/config-hash.js'
import {exportConfig, type EntityArrays} from '../clustering/export.js'
import {ConfigInvalid} from './errors.js'
import {resolveFiles, toEntityArrays} from './load.js'
import type {ParsedFile} from './source.js'
import {getSchema, KINDS, rowsOf} from '../schema/registry.js'

export interface LoadedConfig {
  entities: EntityArrays
  /**
   * Kong's config hash of the entities as loaded (ids generated, defaults filled), over
   * the same table a control plane exports: the same entities give the same hash on a
   * DB-less node and on a CP.
   */
  hash: string
  warnings: string[]
}

export interface DbLessConfig {
  /** null until a configuration is loaded. */
  current(): LoadedConfig | null
  hash(): string
  /** The hash `file` would load with, loading nothing (`?check_hash=1`). @throws ConfigInvalid */
  hashOf(file: ParsedFile): string
  /** @throws ConfigInvalid; nothing changes then. */
  apply(file: ParsedFile): LoadedConfig
}

/** The hash of loaded entities: Kong's algorithm over the control plane's export of them. */
export const entitiesHash = (entities: EntityArrays): string => configHash(exportConfig(entities)).config

/**
 * `build` turns loaded entities into what the node serves from; a throw there is the
 * configuration's fault (ConfigInvalid, nothing swapped). `swap` then puts it in place.
 */
export function createDbLessConfig<T>(build: (entities: EntityArrays) => T, swap: (built: T) => void): DbLessConfig {
  let loaded: LoadedConfig | null = null
  const prepare = (file: ParsedFile): LoadedConfig => {
    // Entries without ids keep the ids (and timestamps) they had, so re-posting a file
    // changes no id and gives the same hash.
    const resolved = resolveFiles([file], {current: loaded?.entities})
    const entities = toEntityArrays(resolved.state, loaded?.entities)
    try {
      onWrite(entities, loaded?.entities, resolved.untransformed)
    } catch (err) {
      throw new ConfigInvalid([{message: (err as Error).message}])
    }
    return {entities, hash: entitiesHash(entities), warnings: resolved.warnings}
  }
  return {
    current: () => loaded,
    hash: () => loaded?.hash ?? EMPTY_CONFIG_HASH,
    hashOf: (file) => prepare(file).hash,
    apply(file) {
      const next = prepare(file)
      let built: T
      try {
        built = build(next.entities)
      } catch (err) {
        throw new ConfigInvalid([{message: (err as Error).message}])
      }
      swap(built)
      loaded = next
      return loaded
    },
  }
}

/**
 * Runs each schema's on-write transformation as the database paths do (basic-auth
 * hashes passwords), against the loaded entity with the same id: a value equal to the
 * loaded one (a file posted back from `GET /config`) is kept, anything else transformed.
 * Entities of a `_transform: false` file (`asWritten`) are kept as they are, as in Kong.
 */
function onWrite(entities: EntityArrays, previous: EntityArrays | undefined, asWritten: ReadonlySet<string>): void {
  for (const kind of KINDS) {
    const transform = getSchema(kind)?.onWrite
    if (!transform) continue
    const rows = rowsOf(entities, kind)
    const before = new Map(rowsOf(previous ?? {}, kind).map((e) => [e.id, e]))
    for (const row of rows) if (!asWritten.has(row.id)) transform(row, before.get(row.id) ?? null)
  }
}
