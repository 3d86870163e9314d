/**
 * What Kong's proxy specs need beyond the plugin specs' node (../plugins/kong-proxy.ts):
 * the same configuration served by proxies started with other kong.conf settings, as Kong's
 * specs restart Kong with another `trusted_ips`, `headers` or `error_default_type` over the
 * same database. Each extra proxy listens on its own free loopback port and serves the
 * node's configuration as it is when `proxyWith` is called; `adminWith` is an Admin API
 * over the node's database with other settings (`headers`).
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {buildAdminApi, type AdminDeps} from '../../../src/runtime/admin/server.js'
import {loadEntities} from '../../../src/runtime/db/load-entities.js'
import {createLogger} from '../../../src/runtime/kit/log.js'
import {createProxy, type ProxyOptions} from '../../../src/runtime/proxy/server.js'
import {buildSnapshot} from '../../../src/runtime/proxy/snapshot.js'
import {deadPort} from '../../proxy/helpers.js'
import {KongClient} from '../admin-api/kong-client.js'
import type {PluginSpecNode} from '../plugins/kong-proxy.js'

export interface ExtraProxy {
  proxy: KongClient
  port: number
  close(): Promise<void>
}

export async function proxyWith(node: PluginSpecNode, options: Partial<ProxyOptions>): Promise<ExtraProxy> {
  const proxy = createProxy({...options, log: createLogger({level: 'crit'}), database: node.pool})
  try {
    proxy.swap(buildSnapshot(await loadEntities(node.pool)))
    const port = await deadPort()
    await proxy.listen([{host: '127.0.0.1', port, ssl: false, http2: false, reuseport: false, flags: []}])
    return {proxy: new KongClient(`http://127.0.0.1:${port}`), port, close: () => proxy.close()}
  } catch (err) {
    await proxy.close()
    throw err
  }
}

export interface ExtraAdmin {
  admin: KongClient
  close(): Promise<void>
}

/** An Admin API over `node`'s database with `options` (its `headers` setting…), on a free loopback port. */
export async function adminWith(node: PluginSpecNode, options: Partial<AdminDeps>): Promise<ExtraAdmin> {
  const handler = buildAdminApi({
    pool: node.pool,
    nodeId: '00000000-0000-4000-8000-000000000002',
    configuration: {role: 'traditional'},
    log: createLogger({level: 'crit'}),
    onChange: async () => {},
    status: async () => ({database: {reachable: true}}),
    ready: async () => null,
    ...options,
  })
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const {port} = server.address() as AddressInfo
  return {admin: new KongClient(`http://127.0.0.1:${port}`), close: () => new Promise<void>((r) => server.close(() => r()))}
}
