/**
 * `kctl hosts`: the machines of the cluster (this one, then each of `spec.hosts`) and what
 * each is, asked through its Host (`facts()`): reachability, OS/arch, Node version, hostname,
 * systemd, and which nodes the spec puts there.
 */
import {existsSync} from 'node:fs'
import {specHosts} from '../cluster/hosts/index.js'
import {DATABASE_NODE, loadSpec, type ClusterSpec} from '../cluster/spec.js'
import {LOCAL_HOST_NAME} from '../cluster/spec-hosts.js'
import {localHost} from '../cluster/hosts/local.js'
import type {Host} from '../cluster/hosts/host.js'
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
  /** null: not checked (no way to reach it). */
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
  /**
   * What kctl installed under the host's install folder: the versions present and the one
   * `current` points at; null for this machine or when the host was not reached.
   */
  installed: {path: string; current: string | null; versions: string[]} | null
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
      const unknown = {os: null, arch: null, node_version: null, hostname: null, systemd: null, installed: null}
      if (!host) return {...base, reachable: null, error: 'not checked: the host has no ssh definition', ...unknown}
      try {
        const f = await host.facts()
        const installed = !host.isLocal && def ? await installedOn(host, def.paths.install) : null
        return {...base, reachable: true, error: null, os: f.os, arch: f.arch, node_version: f.nodeVersion ?? null, hostname: f.hostname, systemd: f.systemd, installed}
      } catch (err) {
        return {...base, reachable: false, error: (err as Error).message, ...unknown}
      }
    }),
  )
  return {cluster: spec?.metadata.name ?? null, hosts: rows}
}

/** The versions under `<install>/` (folders) and the target of `<install>/current`. */
async function installedOn(host: Host, path: string): Promise<NonNullable<HostRow['installed']>> {
  const script = 'd=$1; [ -d "$d" ] || exit 0\necho "current=$(readlink -- "$d/current" 2>/dev/null)"\nfor v in "$d"/*; do [ -d "$v" ] && [ ! -L "$v" ] && echo "version=${v##*/}"; done; exit 0'
  const out = (await host.run('sh', ['-c', script, 'sh', path], {timeoutMs: 20_000})).stdout.split('\n')
  const current = out.find((l) => l.startsWith('current='))?.slice('current='.length).replace(/\/+$/, '')
  const versions = out.filter((l) => l.startsWith('version=')).map((l) => l.slice('version='.length))
  return {path, current: current ? current.split('/').pop()! : null, versions: versions.sort(compareVersions)}
}

/** `0.9.0` before `0.10.0`. */
function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', {numeric: true})
}

/** Names of what the spec runs on host `name`: the embedded database, then nodes in spec order. */
function placed(spec: ClusterSpec, name: string): string[] {
  const on = (host: string | undefined) => (host ?? LOCAL_HOST_NAME) === name
  const db = spec.spec.database
  return [...('embedded' in db && on(db.host) ? [DATABASE_NODE] : []), ...spec.spec.nodes.filter((n) => on(n.host)).map((n) => n.name)]
}
