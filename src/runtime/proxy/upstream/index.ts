/**
 * The upstream client: sends one try to one peer over a keep-alive connection, and says
 * what went wrong in the terms the retry logic and Kong's status codes need:
 *
 *   connect   refused, unreachable, connect timeout   → retry any method; 502 / 504
 *   dns       name does not resolve                   → retry; 503 "name resolution failed"
 *   timeout   no response headers within read_timeout,
 *             or the body not taken within write_timeout → retry idempotent; 504
 *   error     reset, bad response, …                  → retry idempotent; 502
 *
 * Split by concern as undici splits its dispatcher:
 *
 *   index.ts          the pools of a proxy process (one per origin and connection settings),
 *                     the client picked at start, cancellation; what the proxy imports
 *   pool.ts           the pool per origin: idle connections, keep-alive limits, one retry
 *   connection.ts     one connection: socket, parser, timeouts, the exchange in flight
 *   exchange.ts       the request head on the wire, the response body to the client
 *   parser.ts         Node's llhttp binding and its start-up check
 *   types.ts          the contract both clients share: requests, failures, keep-alive
 *   node-fallback.ts  the same contract over node:http, when the binding fails its check
 *                     or with KCTL_UPSTREAM_CLIENT=node
 *
 * Imports: types.ts imports nothing; parser.ts only Node; exchange.ts types; connection.ts
 * parser, exchange and types; pool.ts connection and types; node-fallback.ts exchange and
 * types; only this index knows both clients. From the rest of the runtime only types (the
 * balancer's Peer, the node conf). Code outside this folder imports this index only.
 */
import type {LookupFunction} from 'node:net'
import type {Peer} from '../balancer/index.js'
import type {NodeConf} from '../../conf/defaults.js'
import type {UpstreamResponse} from './exchange.js'
import {NodeOriginPool} from './node-fallback.js'
import {fastClientProblem} from './parser.js'
import {OriginPool} from './pool.js'
import {KONG_KEEPALIVE, UpstreamFailure, type ClientRequest, type Keepalive} from './types.js'

export {UpstreamResponse} from './exchange.js'
export {NodeOriginPool} from './node-fallback.js'
export {fastClientProblem} from './parser.js'
export {OriginPool} from './pool.js'
export {classifyConnect, KONG_KEEPALIVE, UpstreamFailure, type ClientRequest, type FailureKind, type Keepalive, type Origin} from './types.js'

/** One try: the request as the client sends it, and where and how to connect for it. */
export interface TryOptions extends ClientRequest {
  scheme: 'http' | 'https'
  peer: Peer
  connectTimeout: number
  tlsVerify: boolean
  /** TLS server name; Kong sends the upstream host. */
  servername?: string
  /** TLS client certificate (a service's `client_certificate`); pools are kept apart per certificate, as Kong's. */
  clientCertificate?: {id: string; cert: string; key: string} | null
  signal?: Cancellation
}

/**
 * Cancels a request's upstream try when its client goes away: a flag and one listener
 * slot (the try in flight). An AbortController per request (an EventTarget, a DOMException
 * on abort) and then an EventEmitter showed in profiles.
 */
export class Cancellation {
  aborted = false
  private listener: (() => void) | null = null

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    const fn = this.listener
    this.listener = null
    fn?.()
  }

  /** Sets (or with null clears) what `abort()` calls. */
  onAbort(fn: (() => void) | null): void {
    this.listener = fn
  }
}

export type UpstreamClientKind = 'fast' | 'node'

let checked: {kind: UpstreamClientKind; problem: string | null} | undefined

/**
 * The fast client (Node's internal llhttp binding) when it passes its check, else the
 * public `node:http` client, with a notice saying why (once per pool set). The environment
 * variable `KCTL_UPSTREAM_CLIENT=node` picks the public client (tests run both).
 */
export function upstreamClientKind(notice: (message: string) => void = () => {}): UpstreamClientKind {
  if (process.env.KCTL_UPSTREAM_CLIENT === 'node') return 'node'
  checked ??= (() => {
    const problem = fastClientProblem()
    return {kind: problem ? ('node' as const) : ('fast' as const), problem}
  })()
  if (checked.problem) notice(`${checked.problem}; upstream requests use node:http instead (slower, same behaviour)`)
  return checked.kind
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|.*:.*)$/

/** Keep-alive pools, one per origin and connection settings; shared across snapshots. */
export class UpstreamPools {
  private readonly pools = new Map<string, OriginPool | NodeOriginPool>()
  private byPeer = new WeakMap<Peer, {pool: OriginPool | NodeOriginPool; scheme: string; connectTimeout: number; tlsVerify: boolean; servername: string | undefined; certId: string | undefined}>()
  /** Which client this process uses (see `upstreamClientKind`). */
  readonly kind: UpstreamClientKind

  /**
   * @param lookup resolves target and service host names (kong.conf `dns_*`, see proxy/dns.ts);
   *   Node's default when absent
   */
  constructor(private readonly keepalive: Keepalive = KONG_KEEPALIVE, notice: (message: string) => void = () => {}, private readonly lookup?: LookupFunction) {
    this.kind = upstreamClientKind(notice)
  }

  send(o: TryOptions): Promise<UpstreamResponse> {
    if (o.signal?.aborted) return Promise.reject(new UpstreamFailure('error', 'the client closed the connection'))
    return this.pool(o).send(o)
  }

  /** Origins with a pool now. */
  get origins(): number {
    return this.pools.size
  }

  async close(): Promise<void> {
    for (const p of this.pools.values()) p.close()
    this.pools.clear()
    this.byPeer = new WeakMap()
  }

  private pool(o: TryOptions): OriginPool | NodeOriginPool {
    // the pool this peer object went to last time, if the settings are the same: no key to
    // build and hash per request (peers are kept per service and per balancer target)
    const last = this.byPeer.get(o.peer)
    const certId = o.clientCertificate?.id
    if (last !== undefined && last.scheme === o.scheme && last.connectTimeout === o.connectTimeout && last.tlsVerify === o.tlsVerify && last.servername === o.servername && last.certId === certId) return last.pool
    const pool = this.keyed(o)
    this.byPeer.set(o.peer, {pool, scheme: o.scheme, connectTimeout: o.connectTimeout, tlsVerify: o.tlsVerify, servername: o.servername, certId})
    return pool
  }

  private keyed(o: TryOptions): OriginPool | NodeOriginPool {
    const tls = o.scheme === 'https'
    const servername = tls && o.servername && !IP.test(o.servername) ? o.servername : undefined
    const cert = tls && o.clientCertificate ? o.clientCertificate : undefined
    const key = `${o.scheme}|${o.peer.host}|${o.peer.port}|${o.connectTimeout}|${o.tlsVerify}|${servername ?? ''}|${cert?.id ?? ''}`
    let pool = this.pools.get(key)
    if (!pool) {
      if (this.pools.size >= SWEEP_FROM) this.sweep()
      const origin = {tls, host: o.peer.host, port: o.peer.port, connectTimeout: o.connectTimeout, tlsVerify: o.tlsVerify, servername, clientCertificate: cert && {cert: cert.cert, key: cert.key}, lookup: this.lookup}
      pool = this.kind === 'fast' ? new OriginPool(origin, this.keepalive) : new NodeOriginPool(origin, this.keepalive)
      this.pools.set(key, pool)
    }
    return pool
  }

  /** Drops pools with no connection (all idle ones timed out): targets come and go. */
  private sweep(): void {
    this.byPeer = new WeakMap()
    for (const [key, pool] of this.pools) if (pool.connections === 0) this.pools.delete(key)
  }
}

/** Origins at which unused pools are looked for, before one more is added. */
const SWEEP_FROM = 256

/** The `upstream_keepalive_*` settings of a node's conf. */
export function keepaliveOf(conf: Pick<NodeConf, 'upstream_keepalive_pool_size' | 'upstream_keepalive_max_requests' | 'upstream_keepalive_idle_timeout'>): Keepalive {
  return {
    poolSize: conf.upstream_keepalive_pool_size,
    maxRequests: conf.upstream_keepalive_max_requests,
    // Node's timers stop at 2^31 - 1 ms (about 24.8 days); a longer one would fire at once
    idleTimeoutMs: Math.min(conf.upstream_keepalive_idle_timeout * 1000, 2 ** 31 - 1),
  }
}
