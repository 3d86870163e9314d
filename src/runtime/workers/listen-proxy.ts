/**
 * Binding the proxy with errors that name `proxy_listen`, like the other listeners. Its
 * own module so a proxy worker loads no database or Admin API code.
 */
import type {NodeConf} from '../conf/defaults.js'
import {parseListen} from '../proxy/listen.js'
import type {Proxy} from '../proxy/server.js'

export async function listenProxy(proxy: Proxy, conf: NodeConf): Promise<void> {
  await proxy.listen(parseListen(conf.proxy_listen)).catch((err: Error) => {
    throw new Error(err.message.replace(/^(could not listen on \S+?): /, '$1 (proxy_listen): '))
  })
}
