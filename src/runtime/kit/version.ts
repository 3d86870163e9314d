/**
 * Two versions. GATEWAY_VERSION is the Kong version this runtime is compatible with: what
 * the node reports in `GET /`, the `Via` header and the hybrid protocol's `node_version`,
 * where Kong's major/minor compatibility rules apply to it; an upgrade of kctl leaves it.
 * runtimeVersion() is the kctl release this runtime's code comes from (its package.json),
 * which `kctl upgrade` moves nodes between; a node reports it as `kctl_version` in `/status`.
 */
import {readFileSync} from 'node:fs'

export const GATEWAY_VERSION = '3.9.0'

let version: string | undefined

/**
 * The `version` of the package.json at the root of this runtime's copy (this file is
 * `<root>/dist/src/runtime/kit/version.js`, in the package and in an installed copy alike);
 * `unknown` when there is none. Read once, on first use.
 */
export function runtimeVersion(): string {
  if (version === undefined) {
    try {
      version = String(JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).version ?? 'unknown')
    } catch {
      version = 'unknown'
    }
  }
  return version
}
