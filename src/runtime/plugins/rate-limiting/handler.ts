/**
 * rate-limiting, `local` policy: fixed calendar windows per period, counted per proxy.
 * Kong's order: read usage, refuse when a limit is reached (429 + headers), otherwise
 * count this request and send the remaining budget in X-RateLimit-* / RateLimit-*.
 */
import {GATEWAY_VERSION} from '../../version.js'
import type {PluginContext} from '../context.js'
import {PERIODS, windowOf} from '../counters.js'
import type {PluginHandler} from '../types.js'

const HEADER_LIMIT = Object.fromEntries(PERIODS.map((p) => [p, `x-ratelimit-limit-${p}`]))
const HEADER_REMAINING = Object.fromEntries(PERIODS.map((p) => [p, `x-ratelimit-remaining-${p}`]))

export const handler: PluginHandler = {
  name: 'rate-limiting',
  version: GATEWAY_VERSION,
  priority: 910,
  access(k, conf) {
    if (conf.policy !== 'local') {
      // Only local counters exist here; fault_tolerant decides whether to proxy anyway.
      if (conf.fault_tolerant) return void k.log.warn(`rate-limiting: policy ${conf.policy} is not supported; request not limited`)
      throw new Error(`rate-limiting policy ${conf.policy} is not supported`)
    }
    const now = Date.now()
    const id = identifier(k, conf)
    const base = `${k.route?.id ?? ''}:${k.service?.id ?? ''}:${id}:`
    let best: {limit: number; remaining: number; end: number} | null = null
    let exceeded = false
    const headers: Record<string, string> = {}
    const windows: Array<[string, number]> = []
    for (const p of PERIODS) {
      const limit: number | null = conf[p]
      if (limit == null) continue
      const [start, end] = windowOf(p, now)
      const key = base + p
      windows.push([key, start])
      const used = k.state.counters.get(key, start)
      if (limit - used <= 0) exceeded = true
      const remaining = Math.max(0, limit - used - (exceeded ? 0 : 1))
      if (!best || remaining < best.remaining || (remaining === best.remaining && end > best.end)) best = {limit, remaining, end}
      headers[HEADER_LIMIT[p]] = String(limit)
      headers[HEADER_REMAINING[p]] = String(remaining)
    }
    if (best) {
      const reset = Math.max(1, Math.ceil((best.end - now) / 1000))
      headers['ratelimit-limit'] = String(best.limit)
      headers['ratelimit-remaining'] = String(best.remaining)
      headers['ratelimit-reset'] = String(reset)
      if (exceeded) headers['retry-after'] = String(reset)
    }
    if (exceeded) return k.error(conf.error_code, conf.error_message, conf.hide_client_headers ? {} : headers)
    for (const [key, start] of windows) k.state.counters.increment(key, start)
    if (!conf.hide_client_headers) for (const [h, v] of Object.entries(headers)) k.setResponseHeader(h, v)
  },
}

/** What the counters are per; the client IP when the chosen one is unknown (as Kong). */
function identifier(k: PluginContext, conf: any): string {
  let id: string | undefined
  switch (conf.limit_by) {
    case 'consumer':
      id = k.consumer?.id ?? k.credential?.id
      break
    case 'credential':
      id = k.credential?.id
      break
    case 'service':
      id = k.service?.id
      break
    case 'header':
      id = k.header(String(conf.header_name).toLowerCase())
      break
    case 'path':
      id = k.path === conf.path ? k.path : undefined
      break
  }
  return id ?? k.ip
}
