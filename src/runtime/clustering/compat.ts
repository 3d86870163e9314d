/**
 * Which data planes a control plane serves: the rules as data (Kong's
 * `clustering/compat`): same major; a DP minor newer than the CP is refused; every
 * plugin the configuration uses must be on the DP, with the same major version.
 */
import {SyncStatus, type PluginInfo, type SyncStatusValue} from './protocol.js'

interface Rule {
  status: SyncStatusValue
  /** A message when the DP is refused, else null. */
  check(cp: string, dp: string): string | null
}

const parse = (v: string) => {
  const m = /^(\d+)\.(\d+)/.exec(v)
  return m ? {major: Number(m[1]), minor: Number(m[2])} : null
}

const VERSION_RULES: readonly Rule[] = [
  {
    status: SyncStatus.KONG_VERSION_INCOMPATIBLE,
    check: (cp, dp) => (parse(dp) ? null : `data plane version '${dp}' is not a version`),
  },
  {
    status: SyncStatus.KONG_VERSION_INCOMPATIBLE,
    check: (cp, dp) => (parse(cp)!.major !== parse(dp)!.major ? `data plane version ${dp} is incompatible with control plane version ${cp} (major versions differ)` : null),
  },
  {
    status: SyncStatus.KONG_VERSION_INCOMPATIBLE,
    check: (cp, dp) => (parse(dp)!.minor > parse(cp)!.minor ? `data plane version ${dp} is newer than control plane version ${cp}` : null),
  },
]

export interface Verdict {
  status: SyncStatusValue
  reason: string | null
}

export function checkVersion(cpVersion: string, dpVersion: string): Verdict {
  for (const rule of VERSION_RULES) {
    const reason = rule.check(cpVersion, dpVersion)
    if (reason) return {status: rule.status, reason}
  }
  return {status: SyncStatus.NORMAL, reason: null}
}

/** The plugins a configuration uses must be on the data plane (same major version). */
export function checkPlugins(used: ReadonlyMap<string, string>, dpPlugins: readonly PluginInfo[]): Verdict {
  const onDp = new Map(dpPlugins.map((p) => [p.name, p.version]))
  for (const [name, version] of used) {
    const dpv = onDp.get(name)
    if (dpv === undefined) return {status: SyncStatus.PLUGIN_SET_INCOMPATIBLE, reason: `plugin '${name}' is configured but missing on the data plane`}
    if (dpv.split('.')[0] !== version.split('.')[0]) {
      return {status: SyncStatus.PLUGIN_VERSION_INCOMPATIBLE, reason: `plugin '${name}' is ${dpv} on the data plane, ${version} on the control plane`}
    }
  }
  return {status: SyncStatus.NORMAL, reason: null}
}
