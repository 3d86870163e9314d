/** correlation-id: makes sure the upstream request carries an id, keeping a client's. */
import {randomUUID} from 'node:crypto'
import {GATEWAY_VERSION, type PluginContext, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

// uuid#counter: one uuid per process, then a counter, as Kong's per-worker generator.
let worker: string | undefined
let counter = 0

const GENERATORS: Record<string, (k: PluginContext) => string> = {
  uuid: () => randomUUID(),
  'uuid#counter': () => `${(worker ??= randomUUID())}#${++counter}`,
  // Kong's: server address-port-worker pid-connection serial-requests on it-seconds.milliseconds
  tracker: (k) => `${k.serverAddress}-${k.port}-${process.pid}-${k.connection.serial}-${k.connection.requests}-${(Date.now() / 1000).toFixed(3)}`,
}

export const handler: PluginHandler<Config> = {
  name: 'correlation-id',
  version: GATEWAY_VERSION,
  priority: 100001,
  access(k, conf) {
    const name = String(conf.header_name).toLowerCase()
    let id = k.header(name)
    if (!id) {
      id = GENERATORS[conf.generator](k)
      k.setUpstreamHeader(name, id)
    }
    // what loggers write about the request carries it (Kong's set_serialize_value)
    k.setSerializeValue('correlation_id', id)
    if (conf.echo_downstream) k.setResponseHeader(name, id)
  },
}
