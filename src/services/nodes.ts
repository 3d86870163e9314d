/** `kctl nodes`: one row per process of the cluster, database included. */
import {DATABASE_NODE, type Mode} from '../cluster/spec.js'
import {loadCluster, processState, type ClusterRef, type ProcessState} from './cluster.js'

/** The JSON contract of `kctl nodes --json`; other commands and checks rely on it. */
export interface NodesResult {
  cluster: string
  mode: Mode
  nodes: NodeRow[]
}

export interface NodeRow {
  name: string
  role: string
  host: string
  pid: number | null
  /** `external`: a database given by URL, which kctl neither starts nor watches. */
  state: ProcessState | 'external'
  /** `postgres`: where the database listens (host:port; never the password). */
  listen: {proxy?: string; admin?: string; cluster?: string; status?: string; postgres?: string}
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
    const s = processState(emb)
    rows.push({name: DATABASE_NODE, role: 'database', host: 'localhost', pid: s === 'running' ? emb.pid! : null, state: s, listen: {postgres}})
  } else {
    rows.push({name: EXTERNAL_DATABASE_ROW, role: 'database', host, pid: null, state: 'external', listen: {postgres}})
  }
  for (const n of Object.values(state.nodes)) {
    const s = processState(n)
    const listen = Object.fromEntries(Object.entries(n.listen).filter(([, v]) => v !== undefined)) as NodeRow['listen']
    rows.push({name: n.name, role: n.role, host: 'localhost', pid: s === 'running' ? n.pid! : null, state: s, listen})
  }
  return {cluster: state.name, mode: state.mode, nodes: rows}
}
