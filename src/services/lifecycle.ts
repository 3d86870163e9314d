/** `kctl start|stop|restart [NODE]`: bring nodes (and the embedded database) up or down. */
import type {Reporter} from '../kit/output.js'
import {stopNode} from '../cluster/launcher.js'
import {DATABASE_PHASES, runPhases, upPhases, type UpContext} from '../cluster/phases.js'
import {stopServer} from '../cluster/postgres.js'
import {DATABASE_NODE} from '../cluster/spec.js'
import {checkHostsAvailable, hostFor, processRunning} from '../cluster/hosts/index.js'
import {launchedProcess, recordProcess, writeState} from '../cluster/state.js'
import {checkNodeName, loadCluster, type ClusterRef, type LoadedCluster} from './cluster.js'
import {cannotReplace, replace, rollingOrder} from './reload.js'
import {refreshUnit} from './upgrade-hosts.js'

export interface LifecycleOptions extends ClusterRef {
  /** One node (or `postgres`); absent: the whole cluster. */
  node?: string
  report: Reporter
  /** restart: stop everything, then start it (connections are refused meanwhile). */
  allAtOnce?: boolean
}

export interface StartResult {
  cluster: string
  /** What this run started, database first, in spec order. */
  started: string[]
  /** What was asked for and already ran (untouched). */
  already_running: string[]
}

export interface StopResult {
  cluster: string
  /** What this run stopped, in the order it stopped them. */
  stopped: string[]
  /** What was asked for and was not running. */
  already_stopped: string[]
}

export interface RestartResult {
  cluster: string
  /** Stopped, then started again. */
  restarted: string[]
  /** Not running before, started by this run (a database that was down, a stopped node). */
  started: string[]
  /** Left running: the database when one node is restarted. */
  already_running: string[]
}

/**
 * Starts the node (the database first, always) or the whole cluster, and waits until ready;
 * a data plane started while its control plane is down is not waited for (phases-hybrid.ts).
 */
export async function start(options: LifecycleOptions): Promise<StartResult> {
  const c = await loadCluster(options)
  checkNodeName(c, options.node)
  checkHostsAvailable(c.spec)
  const names = options.node === DATABASE_NODE ? [] : options.node ? [options.node] : Object.keys(c.state.nodes)
  const phases = options.node === DATABASE_NODE ? DATABASE_PHASES : upPhases(c.state.mode)
  const started: UpContext['started'] = {nodes: []}
  await runPhases(phases, {...c, nodes: names, report: options.report, started})
  const asked = [...(c.state.embedded ? [DATABASE_NODE] : []), ...names]
  const startedNames = new Set([...(started.database ? [DATABASE_NODE] : []), ...names.filter((n) => started.nodes.some((p) => p.pid === c.state.nodes[n].pid))])
  return {cluster: c.state.name, started: asked.filter((n) => startedNames.has(n)), already_running: asked.filter((n) => !startedNames.has(n))}
}

/**
 * Stops the node, or every node (last in the spec first, so data planes go before their
 * control plane and never log a lost connection) then the database. Nodes drain on SIGTERM.
 */
export async function stop(options: LifecycleOptions): Promise<StopResult> {
  const c = await loadCluster(options)
  checkNodeName(c, options.node)
  const result: StopResult = {cluster: c.state.name, stopped: [], already_stopped: []}
  const names = options.node ? (options.node === DATABASE_NODE ? [] : [options.node]) : Object.keys(c.state.nodes).reverse()
  for (const name of names) {
    const was = await stopOne(c, name, options.report)
    result[was ? 'stopped' : 'already_stopped'].push(name)
  }
  const emb = c.state.embedded
  if (emb && (!options.node || options.node === DATABASE_NODE)) {
    const running = Object.values(c.state.nodes).filter((n) => n.intent === 'running').map((n) => n.name)
    if (running.length) options.report.warn(`nodes ${running.join(', ')} lose their database until \`kctl start ${DATABASE_NODE}\``)
    const was = await processRunning(c.state, DATABASE_NODE)
    options.report.step(`Stopping ${DATABASE_NODE}`)
    emb.intent = 'stopped' // before the signal, as for nodes
    await writeState(c.stateDir, c.state)
    await stopServer({process: launchedProcess(emb), dataDir: emb.instance.dataDir, host: hostFor(c.state, DATABASE_NODE)})
    recordProcess(emb, undefined)
    await writeState(c.stateDir, c.state)
    result[was ? 'stopped' : 'already_stopped'].push(DATABASE_NODE)
  }
  return result
}

/** Stops one node; true when it was running. */
async function stopOne(c: LoadedCluster, name: string, report: Reporter): Promise<boolean> {
  const node = c.state.nodes[name]
  const was = await processRunning(c.state, name)
  report.step(`Stopping ${name}`)
  // The intent is written before the signal: whoever reads the state while the process
  // exits (kctl status --watch) sees an orderly stop, never a dead pid meant to run.
  node.intent = 'stopped'
  await writeState(c.stateDir, c.state)
  const proc = launchedProcess(node)
  if (proc) {
    const how = await stopNode(proc, hostFor(c.state, name))
    if (how === 'killed') report.warn(`${name} did not stop within 15 s and was killed`)
  }
  recordProcess(node, undefined)
  await writeState(c.stateDir, c.state)
  return was
}

/**
 * Rolling by default: each running node, control planes first, gets a new supervisor that
 * takes its sockets over (services/reload.ts), ready and in sync before the next one; the
 * database keeps running; nodes that were not running are started. `allAtOnce` (and the
 * database itself): stop then start. The result tells what really went down and came back.
 */
export async function restart(options: LifecycleOptions): Promise<RestartResult> {
  if (options.allAtOnce || options.node === DATABASE_NODE) return stopThenStart(options)
  let c = await loadCluster(options)
  checkNodeName(c, options.node)
  const result: RestartResult = {cluster: c.state.name, restarted: [], started: [], already_running: []}
  const down: string[] = []
  for (const name of rollingOrder(c, options.node).map((n) => n.name)) {
    const node = c.state.nodes[name]
    if (!(await processRunning(c.state, node.name))) {
      down.push(node.name)
      continue
    }
    const why = await cannotReplace(c, node, 'handover')
    if (why) {
      // an older runtime or proxy workers of its own: this one node goes down and up
      options.report.warn(`${node.name} is restarted by stopping it (${why.message.replace(/\.$/, '')}); its connections are refused meanwhile`)
      await stopThenStart({...options, node: node.name})
      result.restarted.push(node.name)
      c = await loadCluster(options) // what that wrote, so the next node's record does not undo it
      continue
    }
    options.report.step(`Restarting ${node.name}`)
    await refreshUnit(c, node)
    if (await replace(c, node, 'handover')) result.restarted.push(node.name)
    else down.push(node.name)
  }
  if (down.length || (c.state.embedded && !(await processRunning(c.state, DATABASE_NODE)))) {
    const up = await start({...options, node: options.node})
    result.started.push(...up.started.filter((n) => !result.restarted.includes(n)))
  }
  if (c.state.embedded && !result.started.includes(DATABASE_NODE)) result.already_running.unshift(DATABASE_NODE)
  return result
}

/** Stop then start. */
async function stopThenStart(options: LifecycleOptions): Promise<RestartResult> {
  const {stopped} = await stop(options)
  const up = await start(options)
  return {
    cluster: up.cluster,
    restarted: up.started.filter((n) => stopped.includes(n)),
    started: up.started.filter((n) => !stopped.includes(n)),
    already_running: up.already_running,
  }
}
