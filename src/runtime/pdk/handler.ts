/**
 * A plugin's handler: name, version, priority, the per-proxy state it keeps (if any)
 * and only the phases it uses.
 */
import type {PluginContext} from './context.js'
import type {PluginEntities, PluginStateSlot} from './types.js'

/**
 * The phases a handler may implement. Each receives the request's plugin context, the
 * instance's validated config and the data its `prepare` built from the snapshot.
 * A phase may return a promise; synchronous phases cost no await.
 */
export interface PluginHandler<C = unknown, D = unknown, S = unknown> {
  name: string
  version: string
  /** Higher runs first (Kong's PRIORITY). */
  priority: number
  /** Per-proxy state, reached in the phases as `k.state`. */
  state?: PluginStateSlot<S>
  /** Built once per snapshot, off the request path (credential indexes, parsed config). */
  prepare?(entities: PluginEntities): D
  /** Before proxying: authenticate, limit, rewrite the upstream request, or exit. */
  access?(k: PluginContext<S>, conf: C, data: D): void | Promise<void>
  /** Upstream response headers arrived: change `k.response` before they are sent. */
  response?(k: PluginContext<S>, conf: C, data: D): void
  /** After the client got the response; errors are only logged. */
  log?(k: PluginContext<S>, conf: C, data: D): void
}
