/**
 * Who is connected to whom in a hybrid cluster, read from the nodes themselves:
 *   a data plane's `/status`: `control_plane` {connected, address} and the certificate its
 *     serving process presents (`cluster_certificate`);
 *   a control plane's `/status`: `connected_data_planes`, counted by its serving process.
 * Each read opens a new connection (no keep-alive), so after a reload the answer comes from
 * the new process, never from the old one draining its idle connections.
 */
import {request} from 'node:http'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExternalError, tail} from '../kit/errors.js'
import {hostFor, processRunning, reachUrl} from './hosts/index.js'
import {listenUrl} from './listen.js'
import type {ClusterState, NodeState} from './state.js'

export interface DataPlaneLink {
  connected: boolean
  /** The `host:port` of the control plane it talks to (or last tried). */
  address: string | null
  /** SHA-256 (lowercase hex) of the certificate the DP presents. */
  fingerprint: string | null
}

/** One GET on a fresh connection; undefined when it does not answer 200 with JSON. */
export function freshJson(url: string, timeoutMs = 2000): Promise<StatusBody | undefined> {
  return new Promise((resolve) => {
    const req = request(url, {agent: false, timeout: timeoutMs, headers: {connection: 'close'}}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(text) : undefined)
        } catch {
          resolve(undefined)
        }
      })
      res.on('error', () => resolve(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

/** The parts of a node's `/status` read here. */
interface StatusBody {
  connected_data_planes?: unknown
  control_plane?: {connected?: unknown; address?: unknown}
  cluster_certificate?: {fingerprint_sha256?: unknown}
}

async function statusOf(state: ClusterState, node: NodeState): Promise<StatusBody | undefined> {
  const url = await reachUrl(hostFor(state, node.name), listenUrl(node.listen.status)).catch(() => undefined)
  return url ? freshJson(`${url}/status`) : undefined
}

export async function dataPlaneLink(state: ClusterState, dp: NodeState): Promise<DataPlaneLink | undefined> {
  const body = await statusOf(state, dp)
  if (!body) return undefined
  const cp = body.control_plane ?? {}
  return {
    connected: cp.connected === true,
    address: typeof cp.address === 'string' ? cp.address : null,
    fingerprint: typeof body.cluster_certificate?.fingerprint_sha256 === 'string' ? body.cluster_certificate.fingerprint_sha256 : null,
  }
}

export const runningNodes = async (state: ClusterState, role: NodeState['role']): Promise<NodeState[]> => {
  const nodes = Object.values(state.nodes).filter((n) => n.role === role)
  const running = await Promise.all(nodes.map((n) => processRunning(state, n.name)))
  return nodes.filter((_, i) => running[i])
}

const WAIT_MS = 60_000

/**
 * Waits until the data plane is connected to a control plane, presenting the certificate
 * with `fingerprint` (any when absent).
 * @throws ExternalError NODE_RELOAD_FAILED with the DP's log tail when it does not within a minute
 */
export async function waitDataPlaneLinked(state: ClusterState, dp: NodeState, fingerprint?: string): Promise<DataPlaneLink> {
  const deadline = Date.now() + WAIT_MS
  let link: DataPlaneLink | undefined
  for (;;) {
    link = await dataPlaneLink(state, dp)
    if (link?.connected && (!fingerprint || link.fingerprint === fingerprint)) return link
    if (Date.now() > deadline || !(await processRunning(state, dp.name))) break
    await sleep(200)
  }
  const why = !link ? 'its /status does not answer' : !link.connected ? `it is not connected to a control plane (last tried ${link.address ?? 'none'})` : `it presents the certificate ${link.fingerprint}, not ${fingerprint}`
  throw await linkFailure(state, dp, why)
}

/**
 * Waits until the running control planes together count every running data plane as
 * connected (to their serving processes, so after a control plane's reload: to the new one).
 * @throws ExternalError NODE_RELOAD_FAILED naming a DP that is not connected
 */
export async function waitAllLinked(state: ClusterState): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const [cps, dps] = [await runningNodes(state, 'control_plane'), await runningNodes(state, 'data_plane')]
    if (cps.length === 0) return
    const counts = await Promise.all(cps.map(async (cp) => Number((await statusOf(state, cp))?.connected_data_planes ?? 0)))
    const links = await Promise.all(dps.map((dp) => dataPlaneLink(state, dp)))
    if (counts.reduce((a, b) => a + b, 0) >= dps.length && links.every((l) => l?.connected)) return
    if (Date.now() > deadline) {
      const late = dps.find((_, i) => !links[i]?.connected) ?? dps[0]
      throw await linkFailure(state, late, `the control planes count ${counts.reduce((a, b) => a + b, 0)} connected data plane(s) of ${dps.length} running`)
    }
    await sleep(200)
  }
}

async function linkFailure(state: ClusterState, dp: NodeState, why: string): Promise<ExternalError> {
  const log = (await hostFor(state, dp.name).readFile(dp.logFile).catch(() => undefined))?.toString('utf8') ?? ''
  return new ExternalError('NODE_RELOAD_FAILED', `${dp.name} is not back with its control plane: ${why}.\n--- ${dp.logFile} (tail) ---\n${tail(log, 10)}`, tail(log, 10), {
    hint: `\`kctl logs ${dp.name}\` and the control plane's log say why; run the command again once it is fixed (it goes on where it stopped).`,
  })
}
