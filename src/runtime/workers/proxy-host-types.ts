/**
 * What a node sees of where its proxy runs (proxy-host.ts makes one: in process, or a
 * pool of worker processes, pool.ts); apart so that both implementations share it.
 */
import type {EntityArrays} from '../config-loader.js'
import type {NodeGauges} from '../plugins/registry.js'
import type {HealthRegistry} from '../proxy/health/registry.js'
import type {ProxyStats} from '../proxy/server.js'
import type {ProxySnapshot} from '../proxy/snapshot.js'

export interface WorkerStats extends ProxyStats {
  pid: number
}

export interface HostStats extends ProxyStats {
  /** Per worker process; absent when the node proxies in its own process. */
  workers?: WorkerStats[]
}

/**
 * Target health as the node can tell it: the registry of its one proxy process, or why
 * it cannot (several worker processes each keep their own, see pool.ts).
 */
export type HealthView = {registry: HealthRegistry} | {unavailable: string}

export interface ProxyHost {
  /**
   * Makes `entities` the configuration every proxy process serves; resolves once all of
   * them serve it. `built` is the snapshot of `entities` when the caller already built it.
   * @throws Error when the configuration does not build; nothing changes then.
   */
  apply(entities: EntityArrays, built?: ProxySnapshot): Promise<void>
  /** Opens `proxy_listen`; rejects naming the key when it cannot. */
  listen(): Promise<void>
  /** null when every proxy process listens and serves the latest configuration. */
  notReady(): string | null
  stats(): Promise<HostStats>
  health(): HealthView
  /** Prometheus text, summed over the proxy processes. */
  metrics(node?: NodeGauges): Promise<string>
  /** Stops accepting, drains in-flight requests, stops the workers. Idempotent. */
  close(): Promise<void>
}
