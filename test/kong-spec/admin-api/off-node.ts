/**
 * A node with `database = off` for the specs Kong runs with its "off" strategy: a real node
 * process with its Admin API, and Kong's way of giving it entities (Kong's helpers export
 * what the blueprints inserted to a declarative file; here `POST /config` loads it).
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {connect} from 'node:net'
import {findFreePort} from '../../../src/kit/ports.js'
import {until} from '../../helpers/until.js'
import {spawnNode} from '../../helpers/nodes.js'
import {KongClient} from './kong-client.js'

export interface OffNode {
  client: KongClient
  proxyPort: number
  /** Loads a declarative configuration (`POST /config`), as Kong's `declarative_config`. */
  load(config: Record<string, unknown>): Promise<void>
  stop(): Promise<void>
}

export async function startOffNode(extra: Record<string, string | number> = {}): Promise<OffNode> {
  const dir = mkdtempSync(join(tmpdir(), 'kctl-kong-off-'))
  const admin = await findFreePort()
  const proxyPort = await findFreePort()
  const node = spawnNode(dir, {database: 'off', proxy_listen: `127.0.0.1:${proxyPort}`, admin_listen: `127.0.0.1:${admin}`, status_listen: `127.0.0.1:${await findFreePort()}`, ...extra})
  const client = new KongClient(`http://127.0.0.1:${admin}`)
  const stop = async () => {
    await node.stop()
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    // a DB-less node without a configuration is not ready (503), yet serves its Admin API
    await until('the Admin API answers', async () => (await client.get('/status').catch(() => null))?.status === 200, {timeoutMs: 60_000})
    // the proxy listener opens after the Admin API: a test may send to it at once
    if (extra.proxy_listen === undefined) await until(`the proxy to listen on ${proxyPort}`, () => accepts(proxyPort), {timeoutMs: 15_000})
  } catch (err) {
    await stop()
    throw err
  }
  return {
    client,
    proxyPort,
    async load(config) {
      const res = await client.post('/config', {body: {_format_version: '3.0', ...config}})
      assert.equal(res.status, 201, res.text)
    },
    stop,
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}
