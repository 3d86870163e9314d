/**
 * What Kong's proxy specs need beyond the plugin specs' node (../plugins/kong-proxy.ts):
 * the same configuration served by proxies started with other kong.conf settings, as Kong's
 * specs restart Kong with another `trusted_ips`, `headers` or `error_default_type` over the
 * same database. Each extra proxy listens on its own free loopback port and serves the
 * node's configuration as it is when `proxyWith` is called.
 */
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
