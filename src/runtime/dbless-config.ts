/**
 * The configuration of a DB-less node, held in memory. Applying one is all or nothing:
 * parse → validate every entity → build the proxy snapshot → swap; any failure leaves
 * the previous configuration serving.
 */
import {configHash, EMPTY_CONFIG_HASH} from './clustering/config-hash.js'
import type {EntityArrays} from './clustering/export.js'
import {ConfigInvalid} from './declarative/errors.js'
import {resolveFiles, toEntityArrays} from './declarative/load.js'
import type {ParsedFile} from './declarative/source.js'
import {buildSnapshot, type EntitySet, type ProxySnapshot} from './proxy/snapshot.js'
import {getSchema} from './schema/registry.js'

export interface LoadedConfig {
  entities: EntityArrays
  /** Kong's config hash of the configuration as given (same input ⇒ same hash). */
  hash: string
  warnings: string[]
}

export interface DbLessConfig {
  /** null until a configuration is loaded. */
  current(): LoadedConfig | null
  hash(): string
  /** @throws ConfigInvalid; nothing changes then. */
  apply(file: ParsedFile): LoadedConfig
}

/** The hash `?check_hash=1` compares: Kong's algorithm over the parsed input. */
export const inputHash = (file: ParsedFile): string => configHash(file.data).config

export function createDbLessConfig(swap: (snapshot: ProxySnapshot) => void): DbLessConfig {
  let loaded: LoadedConfig | null = null
  return {
    current: () => loaded,
    hash: () => loaded?.hash ?? EMPTY_CONFIG_HASH,
    apply(file) {
      // Entries without ids keep the ids they had, so re-posting a file changes no id.
      const resolved = resolveFiles([file], {current: loaded?.entities})
      const entities = toEntityArrays(resolved.state, loaded?.entities)
      let snapshot: ProxySnapshot
      try {
        onWrite(entities, loaded?.entities)
        snapshot = buildSnapshot(entities as unknown as EntitySet)
      } catch (err) {
        throw new ConfigInvalid([{message: (err as Error).message}])
      }
      swap(snapshot)
      loaded = {entities, hash: inputHash(file), warnings: resolved.warnings}
      return loaded
    },
  }
}

/**
 * Runs each schema's on-write transformation as the database paths do (basic-auth
 * hashes passwords), against the loaded entity with the same id: a value equal to the
 * loaded one (a file posted back from `GET /config`) is kept, anything else transformed.
 */
function onWrite(entities: EntityArrays, previous: EntityArrays | undefined): void {
  for (const [kind, rows] of Object.entries(entities)) {
    const transform = getSchema(kind)?.onWrite
    if (!transform) continue
    const before = new Map((previous?.[kind] ?? []).map((e) => [e.id, e]))
    for (const row of rows) transform(row, before.get(row.id) ?? null)
  }
}
