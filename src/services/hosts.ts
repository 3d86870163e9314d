/**
 * `kctl hosts`: the machines of the cluster (this one, then each of `spec.hosts`) and what
 * each is, asked through its Host (`facts()`): reachability, OS/arch, Node version, hostname,
 * systemd, and which nodes the spec puts there. A host kctl cannot operate is listed, not checked.
 */
import {existsSync} from 'node:fs'
import {specHosts} from '../cluster/hosts/index.js'
import {DATABASE_NODE, loadSpec, type ClusterSpec} from '../cluster/spec.js'
import {LOCAL_HOST_NAME} from '../cluster/spec-hosts.js'
import {localHost} from '../cluster/hosts/local.js'
import {specPathOf, type ClusterRef} from './cluster.js'

/** The JSON contract of `kctl hosts --json`. */
export interface HostsResult {
  /** The cluster of the spec; null without a spec (this machine only). */
  cluster: string | null
  hosts: HostRow[]
}

export interface HostRow {
  name: string
  /** How kctl reaches it: 127.0.0.1 for this machine, else the ssh address or config alias. */
  address: string
  local: boolean
  /** null: not checked (kctl cannot operate this host yet). */
  reachable: boolean | null
  /** Why it is unreachable or not checked; null when reachable. */
  error: string | null
  os: string | null
  arch: string | null
  /** `node --version` there; null when it has none or it was not checked. */
  node_version: string | null
  hostname: string | null
  systemd: boolean | null
  /** What the spec runs there, in spec order (`postgres`: the embedded database). */
  nodes: string[]
}

export type HostsOptions = ClusterRef

export async function hosts(options: HostsOptions): Promise<HostsResult> {
  const specPath = specPathOf(options)
  const spec = existsSync(specPath) ? await loadSpec(specPath) : undefined
  const entries = spec ? specHosts(spec) : [{name: LOCAL_HOST_NAME, host: localHost, def: undefined}]
  const rows = await Promise.all(
    entries.map(async ({name, host, def}): Promise<HostRow> => {
      const address = host?.isLocal ? host.address : def?.ssh.address ?? def?.ssh.host ?? name
      const base = {name, address, local: Boolean(host?.isLocal), nodes: spec ? placed(spec, name) : []}
      const unknown = {os: null, arch: null, node_version: null, hostname: null, systemd: null}
      if (!host) return {...base, reachable: null, error: 'not checked: this version of kctl cannot reach other machines yet', ...unknown}
      try {
        const f = await host.facts()
        return {...base, reachable: true, error: null, os: f.os, arch: f.arch, node_version: f.nodeVersion ?? null, hostname: f.hostname, systemd: f.systemd}
      } catch (err) {
        return {...base, reachable: false, error: (err as Error).message, ...unknown}
      }
    }),
  )
  return {cluster: spec?.metadata.name ?? null, hosts: rows}
}

/** Names of what the spec runs on host `name`: the embedded database, then nodes in spec order. */
function placed(spec: ClusterSpec, name: string): string[] {
  const on = (host: string | undefined) => (host ?? LOCAL_HOST_NAME) === name
  const db = spec.spec.database
  return [...('embedded' in db && on(db.host) ? [DATABASE_NODE] : []), ...spec.spec.nodes.filter((n) => on(n.host)).map((n) => n.name)]
}
