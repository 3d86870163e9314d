/**
 * A node process as Kong's `helpers.start_kong { status_listen = … }` gives the prometheus
 * specs: `database = postgres` on a fresh database, one proxy worker process, Admin API,
 * proxy and status listener on free loopback ports, Kong's mock upstream beside it. `seed`
 * inserts what the spec's `setup` does, through the Admin API, once the node is ready.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {findFreePort} from '../../../src/kit/ports.js'
import {freshDatabase, pgValues, spawnNode, type NodeProcess} from '../../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../../helpers/postgres.js'
import {until} from '../../helpers/until.js'
import {KongClient} from '../admin-api/kong-client.js'
import {startMockUpstream, type MockUpstream} from './kong-proxy.js'

export interface StatusNode {
  admin: KongClient
  /** Plain HTTP proxy. */
  proxy: KongClient
  /** The status listener (https:// when `ssl`). */
  status: KongClient
  statusPort: number
  /** Kong's `proxy_ssl_client()`: the proxy's TLS listener. */
  proxySsl: KongClient
  upstream: MockUpstream
  /** Kong's `mock_upstream_ssl_*`. */
  sslUpstream: MockUpstream
  node: NodeProcess
  close(): Promise<void>
}

export interface StatusNodeOptions {
  /** `status_listen … ssl`. */
  ssl?: boolean
  /** More kong.conf keys. */
  conf?: Record<string, string | number>
}

export async function startStatusNode(seed: (admin: KongClient, upstream: MockUpstream, node: {statusPort: number; sslUpstream: MockUpstream}) => Promise<void>, opts: StatusNodeOptions = {}): Promise<StatusNode> {
  const pg: TestPostgres = await startTestPostgres()
  const dir = mkdtempSync(join(tmpdir(), 'kctl-kong-prometheus-'))
  let node: NodeProcess | undefined
  let upstream: MockUpstream | undefined
  let sslUpstream: MockUpstream | undefined
  const close = async () => {
    await node?.stop()
    await upstream?.close()
    await sslUpstream?.close()
    await pg.stop()
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    upstream = await startMockUpstream()
    sslUpstream = await startMockUpstream({ssl: true})
    const database = await freshDatabase(pg, `prometheus_${process.pid}_${Date.now()}`)
    const [adminPort, proxyPort, proxySslPort, statusPort] = [await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort()]
    const status = `${opts.ssl ? 'https' : 'http'}://127.0.0.1:${statusPort}`
    const values = {
      ...pgValues(pg, database),
      proxy_listen: `127.0.0.1:${proxyPort}, 127.0.0.1:${proxySslPort} ssl`,
      admin_listen: `127.0.0.1:${adminPort}`,
      status_listen: `127.0.0.1:${statusPort}${opts.ssl ? ' ssl' : ''}`,
      node_worker_processes: 1,
      ...opts.conf,
    }
    node = spawnNode(dir, values, {status})
    const statusClient = new KongClient(status)
    // https: the node's self-signed certificate, which fetch would refuse
    await until(`${status}/status/ready to answer 200`, async () => (await statusClient.get('/status/ready').catch(() => null))?.status === 200, {
      timeoutMs: 60_000,
      abort: () => (node!.proc.exitCode !== null ? `the node exited (${node!.proc.exitCode})` : undefined),
      context: () => `node output:\n${node!.output()}`,
    })
    const admin = new KongClient(`http://127.0.0.1:${adminPort}`)
    await seed(admin, upstream, {statusPort, sslUpstream})
    return {
      admin,
      proxy: new KongClient(`http://127.0.0.1:${proxyPort}`),
      proxySsl: new KongClient(`https://127.0.0.1:${proxySslPort}`),
      status: statusClient,
      statusPort,
      upstream,
      sslUpstream,
      node,
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
