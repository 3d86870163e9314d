/** `kctl start|stop|restart [NODE]`: bring nodes (and the embedded database) up or down. */
import type {Reporter} from '../kit/output.js'
import {stopNode} from '../cluster/launcher.js'
import {DATABASE_PHASES, runPhases, upPhases} from '../cluster/phases.js'
import {stopServer} from '../cluster/postgres.js'
import {DATABASE_NODE} from '../cluster/spec.js'
import {writeState} from '../cluster/state.js'
import {checkNodeName, loadCluster, type ClusterRef, type LoadedCluster} from './cluster.js'

export interface LifecycleOptions extends ClusterRef {
  /** One node (or `postgres`); absent: the whole cluster. */
  node?: string
  report: Reporter
}

export interface LifecycleResult {
  cluster: string
  /** Names acted on, in order. */
  nodes: string[]
}

/**
 * Starts the node (the database first, always) or the whole cluster, and waits until ready;
 * a data plane started while its control plane is down is not waited for (phases-hybrid.ts).
 */
export async function start(options: LifecycleOptions): Promise<LifecycleResult> {
  const c = await loadCluster(options)
  checkNodeName(c, options.node)
  const names = options.node === DATABASE_NODE ? [] : options.node ? [options.node] : Object.keys(c.state.nodes)
  const phases = options.node === DATABASE_NODE ? DATABASE_PHASES : upPhases(c.state.mode)
  await runPhases(phases, {...c, nodes: names, report: options.report, started: {nodes: []}})
  return {cluster: c.state.name, nodes: [...(c.state.embedded ? [DATABASE_NODE] : []), ...names]}
}

/**
 * Stops the node, or every node (last in the spec first, so data planes go before their
 * control plane and never log a lost connection) then the database. Nodes drain on SIGTERM.
 */
export async function stop(options: LifecycleOptions): Promise<LifecycleResult> {
  const c = await loadCluster(options)
  checkNodeName(c, options.node)
  const done: string[] = []
  const names = options.node ? (options.node === DATABASE_NODE ? [] : [options.node]) : Object.keys(c.state.nodes).reverse()
  for (const name of names) {
    await stopOne(c, name, options.report)
    done.push(name)
  }
  const emb = c.state.embedded
  if (emb && (!options.node || options.node === DATABASE_NODE)) {
    const running = Object.values(c.state.nodes).filter((n) => n.intent === 'running').map((n) => n.name)
    if (running.length) options.report.warn(`nodes ${running.join(', ')} lose their database until \`kctl start ${DATABASE_NODE}\``)
    options.report.step(`Stopping ${DATABASE_NODE}`)
    emb.intent = 'stopped' // before the signal, as for nodes
    await writeState(c.stateDir, c.state)
    await stopServer({pid: emb.pid, dataDir: emb.instance.dataDir})
    emb.pid = undefined
    await writeState(c.stateDir, c.state)
    done.push(DATABASE_NODE)
  }
  return {cluster: c.state.name, nodes: done}
}

async function stopOne(c: LoadedCluster, name: string, report: Reporter): Promise<void> {
  const node = c.state.nodes[name]
  report.step(`Stopping ${name}`)
  // The intent is written before the signal: whoever reads the state while the process
  // exits (kctl status --watch) sees an orderly stop, never a dead pid meant to run.
  node.intent = 'stopped'
  await writeState(c.stateDir, c.state)
  if (node.pid) {
    const how = await stopNode(node.pid)
    if (how === 'killed') report.warn(`${name} did not stop within 15 s and was killed`)
  }
  node.pid = undefined
  await writeState(c.stateDir, c.state)
}

export async function restart(options: LifecycleOptions): Promise<LifecycleResult> {
  await stop(options)
  return start(options)
}
