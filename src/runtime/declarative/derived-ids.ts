/**
 * The id Kong's declarative config gives a target written without one
 * (`declarative_config.lua`'s `generate_ids`): a v5 UUID of its cache key,
 * `targets:<workspace>:<upstream id>:<target as written>`, in Kong's namespace for
 * entities. kctl has no workspaces: that part is empty. A target repeated under one
 * upstream so repeats its primary key, as in Kong.
 */
import {createHash} from 'node:crypto'

const KONG_ENTITIES_NAMESPACE = 'fd02801f-0957-4a15-a55a-c8d9606f30b5'

/** A name-based (v5) UUID, RFC 4122. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name).digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const TARGETS_NAMESPACE = uuidV5(KONG_ENTITIES_NAMESPACE, 'targets')

export const derivedTargetId = (upstreamId: string, target: string): string => uuidV5(TARGETS_NAMESPACE, `targets::${upstreamId}:${target}`)
