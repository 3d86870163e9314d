/** `kctl nodes`: one row per process of the cluster, database included. */
import {DATABASE_NODE, type Mode} from '../cluster/spec.js'
import {hostDefinition, hostNameOf} from '../cluster/hosts/index.js'
import {LOCAL_HOST_NAME} from '../cluster/spec-hosts.js'
import type {ClusterState} from '../cluster/state.js'
import {loadCluster, processStateOf, type ClusterRef, type ProcessState} from './cluster.js'

/** The JSON contract of `kctl nodes --json`; other commands and checks rely on it. */
export interface NodesResult {
  cluster: string
  mode: Mode
  nodes: NodeRow[]
}

export interface NodeRow {
  name: string
  role: string
  /** `localhost` for this machine; else the spec's host name and its address (`edge-1 (10.0.0.12)`). */
  host: string
  pid: number | null
  /** `external`: a database given by URL, which kctl neither starts nor watches. */
  state: ProcessState | 'external'
  /** `postgres`: where the database listens (host:port; never the password). */
  listen: {proxy?: string; admin?: string; cluster?: string; status?: string; postgres?: string}
  /** The kctl release whose runtime the node runs or starts on (`kctl upgrade`); null for the database. */
  kctl_version: string | null
}

/** The row naming a database given by URL (the embedded one is `postgres`). */
export const EXTERNAL_DATABASE_ROW = 'database'

export type NodesOptions = ClusterRef

export async function nodes(options: NodesOptions): Promise<NodesResult> {
  const {state} = await loadCluster(options)
  const rows: NodeRow[] = []
  const emb = state.embedded
  const {host, port} = state.connection
  const postgres = `${host.includes(':') ? `[${host}]` : host}:${port}`
  if (emb) {
    const s = await processStateOf(state, DATABASE_NODE)
    rows.push({name: DATABASE_NODE, role: 'database', host: hostColumn(state, DATABASE_NODE), pid: s === 'running' ? emb.pid! : null, state: s, listen: {postgres}, kctl_version: null})
  } else {
    rows.push({name: EXTERNAL_DATABASE_ROW, role: 'database', host, pid: null, state: 'external', listen: {postgres}, kctl_version: null})
  }
  for (const n of Object.values(state.nodes)) {
    const s = await processStateOf(state, n.name)
    const listen = Object.fromEntries(Object.entries(n.listen).filter(([, v]) => v !== undefined)) as NodeRow['listen']
    rows.push({name: n.name, role: n.role, host: hostColumn(state, n.name), pid: s === 'running' ? n.pid! : null, state: s, listen, kctl_version: n.runtime?.version ?? null})
  }
  return {cluster: state.name, mode: state.mode, nodes: rows}
}

function hostColumn(state: ClusterState, name: string): string {
  const host = hostNameOf(state, name)
  if (host === LOCAL_HOST_NAME) return 'localhost'
  const ssh = hostDefinition(state, host)?.ssh
  const address = ssh?.address ?? ssh?.host
  return address ? `${host} (${address})` : host
}
