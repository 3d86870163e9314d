/**
 * Sends one try to one peer over a keep-alive connection pool (undici), and says what
 * went wrong in the terms the retry logic and Kong's status codes need:
 *
 *   connect   refused, unreachable, connect timeout   → retry any method; 502 / 504
 *   dns       name does not resolve                   → retry; 503 "name resolution failed"
 *   timeout   no response headers within read_timeout,
 *             or the body not taken within write_timeout → retry idempotent; 504
 *   error     reset, bad response, …                  → retry idempotent; 502
 */
import {EventEmitter} from 'node:events'
import type {Readable} from 'node:stream'
import {Pool, type Dispatcher} from 'undici'
import type {Peer} from './balancer.js'

export type FailureKind = 'connect' | 'connect-timeout' | 'dns' | 'timeout' | 'error'

export class UpstreamFailure extends Error {
  constructor(readonly kind: FailureKind, message: string) {
    super(message)
    this.name = 'UpstreamFailure'
  }
}

export interface TryOptions {
  scheme: 'http' | 'https'
  peer: Peer
  method: string
  path: string
  headers: Record<string, string | string[]> | Array<string | string[]>
  body: Buffer | Readable | null
  connectTimeout: number
  readTimeout: number
  tlsVerify: boolean
  /** TLS server name; Kong sends the upstream host. */
  servername?: string
  signal?: AbortSignal | Cancellation
}

/**
 * Cancels a request's upstream tries when its client goes away. undici takes an
 * EventEmitter with `aborted` (and `reason`) as a signal; an AbortController per request
 * (an EventTarget, its listener bookkeeping, a DOMException on abort) showed in profiles.
 */
export class Cancellation extends EventEmitter {
  aborted = false
  reason: Error | undefined = undefined

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = new Error('the client closed the connection')
    this.emit('abort')
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_SOCKET_CLOSED'])
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL'])
const IP = /^(\d{1,3}(\.\d{1,3}){3}|.*:.*)$/

/** Keep-alive pools, one per origin and connection settings; shared across snapshots. */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>()

  send(o: TryOptions): Promise<Dispatcher.ResponseData> {
    const pool = this.pool(o)
    // undici's callback form: one promise per try instead of undici's plus an async wrapper's
    return new Promise((resolve, reject) => {
      try {
        pool.request({
          path: o.path,
          method: o.method as Dispatcher.HttpMethod,
          headers: o.headers as Dispatcher.RequestOptions['headers'],
          body: o.body,
          headersTimeout: o.readTimeout,
          bodyTimeout: o.readTimeout,
          signal: o.signal,
        }, (err, data) => (err ? reject(classify(err)) : resolve(data)))
      } catch (err) {
        reject(classify(err))
      }
    })
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})))
  }

  private pool(o: TryOptions): Pool {
    const host = o.peer.host.includes(':') ? `[${o.peer.host}]` : o.peer.host
    const origin = `${o.scheme}://${host}:${o.peer.port}`
    const servername = o.scheme === 'https' && o.servername && !IP.test(o.servername) ? o.servername : undefined
    const key = `${origin}|${o.connectTimeout}|${o.tlsVerify}|${servername ?? ''}`
    let pool = this.pools.get(key)
    if (!pool) {
      pool = new Pool(origin, {
        connect: {timeout: o.connectTimeout, rejectUnauthorized: o.tlsVerify, ...(servername ? {servername} : {})},
        keepAliveTimeout: 60_000,
        keepAliveMaxTimeout: 60_000,
      })
      this.pools.set(key, pool)
    }
    return pool
  }
}

function classify(err: unknown): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err
  const e = err as {code?: string; message?: string; cause?: {code?: string}}
  const code = e.code ?? e.cause?.code ?? ''
  const msg = e.message ?? String(err)
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamFailure('connect-timeout', `connect timed out: ${msg}`)
  if (CONNECT_CODES.has(code)) return new UpstreamFailure('connect', `${code}: ${msg}`)
  if (DNS_CODES.has(code)) return new UpstreamFailure('dns', `name resolution failed: ${msg}`)
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamFailure('timeout', 'upstream timed out reading response headers')
  return new UpstreamFailure('error', code ? `${code}: ${msg}` : msg)
}
