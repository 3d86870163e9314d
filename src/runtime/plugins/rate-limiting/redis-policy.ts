/**
 * rate-limiting's `redis` policy: counters shared by every node in a Redis server, with
 * Kong's keys (`ratelimit:<route>:<service>:<identifier>:<window start ms>:<period>`)
 * and expiries. One client per connection settings, made on first use and dropped when
 * it fails, so the next request reconnects. Every command is bounded by `redis.timeout`.
 * With `redis.ssl` the connection is TLS; `ssl_verify` checks the server's certificate
 * against the node's trusted CAs and, when `server_name` is set, its name against it
 * (as Kong: without one, the host is not checked).
 */
import {createClient} from 'redis'
import type {ConfigOf} from '../../pdk/index.js'
import type {Period} from './counters.js'
import type {schema} from './schema.js'

type Client = ReturnType<typeof createClient>
/** What the policy reads of the plugin's config: its `redis` record. */
type Conf = Pick<ConfigOf<typeof schema>, 'redis'>
type RedisConf = NonNullable<Conf['redis']>

const EXPIRY: Record<Period, number> = {second: 1, minute: 60, hour: 3600, day: 86400, month: 2592000, year: 31536000}

export const redisKey = (route: string, service: string, id: string, start: number, period: Period) => `ratelimit:${route}:${service}:${id}:${start}:${period}`

/** The connection settings; the schema requires `redis.host` with the redis policy. @throws Error without them */
function settings(conf: Conf): RedisConf & {host: string} {
  const r = conf.redis
  if (!r?.host) throw new Error('the redis policy needs config.redis.host')
  return {...r, host: r.host}
}

export class RedisCounters {
  private readonly clients = new Map<string, Promise<Client>>()

  /** `trusted`: the CAs (PEM) a server's certificate is verified against with `ssl_verify` (kong.conf `lua_ssl_trusted_certificate`); Node's roots if absent. */
  constructor(private readonly trusted?: string[]) {}

  /** Current counts of `keys` (0 when absent). Rejects when Redis fails or times out. */
  async usage(conf: Conf, keys: string[]): Promise<number[]> {
    const r = settings(conf)
    const client = await this.client(r)
    const values = await bounded(client.mGet(keys), r.timeout)
    return values.map((v) => (v == null ? 0 : Number(v)))
  }

  /** Counts one request in each window; resolves when Redis has it. */
  async increment(conf: Conf, entries: Array<[key: string, period: Period]>): Promise<void> {
    const r = settings(conf)
    const client = await this.client(r)
    const multi = client.multi()
    for (const [key, period] of entries) multi.incrBy(key, 1).expire(key, EXPIRY[period], 'NX')
    await bounded(multi.exec(), r.timeout)
  }

  async close(): Promise<void> {
    const pending = [...this.clients.values()]
    this.clients.clear()
    await Promise.all(pending.map((p) => p.then((c) => c.destroy()).catch(() => {})))
  }

  /**
   * As Kong's (lua-resty-redis's `sslhandshake(false, server_name, ssl_verify)`): SNI only
   * from `server_name`; with `ssl_verify` the chain is checked against the trusted CAs, and
   * the certificate's name against `server_name` only when one is set.
   */
  private tls(r: RedisConf): {tls: true; rejectUnauthorized: boolean; servername?: string; ca?: string[]; checkServerIdentity?: () => undefined} {
    const servername = r.server_name ?? undefined
    if (!r.ssl_verify) return {tls: true, rejectUnauthorized: false, servername}
    return {tls: true, rejectUnauthorized: true, servername, ...(this.trusted ? {ca: this.trusted} : {}), ...(servername ? {} : {checkServerIdentity: () => undefined})}
  }

  private client(r: RedisConf & {host: string}): Promise<Client> {
    const key = `${r.host}|${r.port}|${r.database}|${r.username ?? ''}|${r.ssl}|${r.ssl_verify}|${r.server_name ?? ''}`
    let p = this.clients.get(key)
    if (p) return p
    const c = createClient({
      socket: {host: r.host, port: r.port, connectTimeout: r.timeout, reconnectStrategy: false, ...(r.ssl ? this.tls(r) : {})},
      username: r.username ?? undefined,
      password: r.password ?? undefined,
      database: r.database,
      disableOfflineQueue: true,
    })
    const drop = () => {
      if (this.clients.get(key) === p) this.clients.delete(key)
      // 'error' then 'end' when the server goes away: destroying a closed client throws,
      // and from an event handler that would take the node down
      if (c.isOpen) c.destroy()
    }
    // Without a listener an 'error' event would take the process down.
    c.on('error', drop)
    c.on('end', drop)
    p = c.connect().catch((err) => {
      drop()
      throw err
    }) as Promise<Client>
    this.clients.set(key, p)
    return p
  }
}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`redis timed out after ${ms} ms`)), ms)))
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
