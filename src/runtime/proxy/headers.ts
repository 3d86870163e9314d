/**
 * Header rewriting between client and upstream, as Kong's runloop does: client-sent
 * X-Forwarded-Proto/Host/Port/Path/Prefix are replaced by what this node saw unless the
 * connection comes from a `trusted_ips` address (real-ip.ts); X-Forwarded-For is appended to.
 */
import type {IncomingHttpHeaders, IncomingMessage} from 'node:http'

/**
 * Request headers never forwarded upstream, as Kong (nginx's proxy module and Kong's
 * runloop): `Proxy` (httpoxy) and `Proxy-Connection` cleared, the connection's own ones
 * set by this node. `TE` goes as `trailers` when the client listed it; `Proxy-Authorization`,
 * `Proxy-Authenticate` and `Trailer` pass, as in Kong.
 */
const REQUEST_HOP = new Set(['connection', 'keep-alive', 'proxy', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade'])
/**
 * Response headers never sent to the client, as Kong: the connection's own ones;
 * `Trailer` only when the client did not ask for trailers (`TE: trailers`).
 */
const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade'])
export const HOP_BY_HOP_NAMES: ReadonlySet<string> = new Set([...RESPONSE_HOP, 'trailer'])

/**
 * `{...a, ...b}` for the header objects of a response, made without object spread: on Node
 * 20's V8 an object literal that spreads an object and then has more properties (another
 * spread, or a key after it) comes out of the young generation promoted. One such object per
 * response put about 5 % of everything the proxy allocated into the old generation under
 * load: scavenges of 5–15 ms, and a mark-compact every few seconds. Later sources win; a
 * `__proto__` key stays an own property, as spread keeps it.
 */
export function mergeHeaders<V>(...sources: Array<Readonly<Record<string, V>> | null | undefined>): Record<string, V> {
  const out: Record<string, V> = {}
  for (const source of sources) {
    if (!source) continue
    for (const k of Object.keys(source)) {
      if (k === '__proto__') Object.defineProperty(out, k, {value: source[k], enumerable: true, writable: true, configurable: true})
      else out[k] = source[k]
    }
  }
  return out
}

/** Whether a `TE` request header lists `trailers` (Kong then sends `TE: trailers` upstream and keeps `Trailer`). */
export function wantsTrailers(te: string | string[] | undefined): boolean {
  if (te === undefined) return false
  if (te === 'trailers') return true
  for (const part of (Array.isArray(te) ? te.join(',') : te).split(',')) if (part.trim().toLowerCase() === 'trailers') return true
  return false
}

export interface ForwardInfo {
  remoteAddress: string
  scheme: 'http' | 'https'
  /** Host header without port. */
  host: string
  localPort: number
  /** Request path without the query string, as received. */
  path: string
  /** Path prefix stripped by the route, if any. */
  prefix: string | null
  /** Host header for the upstream request. */
  upstreamHost: string
  /** X-Kong-Request-Id to send; null when `headers_upstream` leaves it out. */
  requestId: string | null
  /** The connection is from a `trusted_ips` address: its X-Forwarded-Proto/Host/Port/Path/Prefix go as sent. */
  trusted?: boolean
  /** The connection's own address (Kong's `realip_remote_addr`), appended to a client's X-Forwarded-For; `remoteAddress` when absent. */
  socketAddress?: string
  /** This node's `Via` entry, appended to the client's Via (Kong 3.9 sends it upstream). */
  via: string
}

// RFC 9110 field names (tokens) and values (no CR, LF or NUL)
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Sets header `name` (lower case) in a `[name, value, …]` list as a plugin asked: the first
 * entry of that name takes the value in place, later ones go, a new one is appended; null
 * removes it. Names and values come from plugin configuration, so they are checked here
 * (the list's other entries come from Node's parser or kctl itself).
 */
export function setListHeader(list: Array<string | string[]>, name: string, value: string | string[] | null): void {
  if (!FIELD_NAME.test(name)) throw new Error(`invalid upstream request header name ${JSON.stringify(name)}`)
  if (value !== null) {
    for (const v of typeof value === 'string' ? [value] : value) {
      if (!FIELD_VALUE.test(v)) throw new Error(`invalid value for upstream request header ${JSON.stringify(name)}: it contains CR, LF or another control character`)
    }
  }
  let w = 0
  let placed = value === null
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] !== name) {
      list[w++] = list[i]
      list[w++] = list[i + 1]
    } else if (!placed) {
      list[w++] = name
      list[w++] = value!
      placed = true
    }
  }
  list.length = w
  if (!placed) list.push(name, value!)
}

/** Upstream response headers minus hop-by-hop ones; `Server` passes through. */
export function clientResponseHeaders(headers: Record<string, string | string[] | undefined>, keepTrailer = false): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const extraHop = connectionTokens(headers, true)
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || RESPONSE_HOP.has(k) || extraHop?.has(k) || (k === 'trailer' && !keepTrailer)) continue
    out[k] = v
  }
  return out
}

/**
 * Headers named in `Connection: a, b` are hop-by-hop too (Kong: unless the value is just
 * `keep-alive`, `close` or `upgrade`; in a response, those three names are never removed).
 */
function connectionTokens(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, response = false): Set<string> | null {
  const c = headers.connection
  if (!c) return null
  const s = (Array.isArray(c) ? c.join(',') : c).toLowerCase()
  if (s === 'keep-alive' || s === 'close' || s === 'upgrade') return null
  const out = new Set(s.split(',').map((x) => x.trim()).filter(Boolean))
  if (response) for (const keep of ['close', 'upgrade', 'keep-alive']) out.delete(keep)
  return out
}

/** `host` without a trailing `:digits` (as `/:\d+$/`), without a regex. */
export function stripPort(host: string): string {
  const i = host.lastIndexOf(':')
  if (i < 0 || i === host.length - 1) return host
  for (let j = i + 1; j < host.length; j++) {
    const c = host.charCodeAt(j)
    if (c < 48 || c > 57) return host
  }
  return host.slice(0, i)
}


// Bits for the headers this node sets upstream, in the order they are appended when the
// client did not send them.
const U_XFF = 1, U_PROTO = 2, U_HOST = 4, U_PORT = 8, U_PATH = 16, U_PREFIX = 32, U_REAL = 64, U_ID = 128, U_VIA = 256

/**
 * The upstream request headers as a flat `[name, value, …]` list: the client's minus
 * hop-by-hop ones, Host and Expect, X-Forwarded-* / X-Real-IP / X-Kong-Request-Id set to what this
 * node saw (replacing the client's in place, else appended in that order), this node's
 * entry appended to Via, `TE: trailers` when the client asked for trailers, Host last.
 */
export function upstreamRequestHeaderList(req: IncomingMessage, f: ForwardInfo): Array<string | string[]> {
  const h = req.headers
  const out: Array<string | string[]> = []
  const extraHop = h.connection === undefined ? null : connectionTokens(h)
  const xff = h['x-forwarded-for']
  // Kong: the client's X-Forwarded-For plus the connection's address, else the client's (real) address
  const xffValue = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${f.socketAddress ?? f.remoteAddress}` : f.remoteAddress
  let seen = 0
  for (const k in h) {
    const v = h[k]
    if (v === undefined || REQUEST_HOP.has(k) || extraHop?.has(k)) continue
    switch (k) {
      case 'via': seen |= U_VIA; out.push(k, `${Array.isArray(v) ? v.join(', ') : v}, ${f.via}`); continue
      // the body goes upstream at once (and the client had its 100 Continue from us): nginx clears it too
      case 'host': case 'expect': continue
      case 'x-forwarded-for': seen |= U_XFF; out.push(k, xffValue); continue
      case 'x-forwarded-proto': seen |= U_PROTO; out.push(k, f.trusted ? v : f.scheme); continue
      case 'x-forwarded-host': seen |= U_HOST; out.push(k, f.trusted ? v : f.host); continue
      case 'x-forwarded-port': seen |= U_PORT; out.push(k, f.trusted ? v : String(f.localPort)); continue
      case 'x-forwarded-path': seen |= U_PATH; out.push(k, f.trusted ? v : f.path); continue
      case 'x-forwarded-prefix':
        seen |= U_PREFIX
        if (f.trusted) out.push(k, v)
        else if (f.prefix) out.push(k, f.prefix)
        continue
      case 'x-real-ip': seen |= U_REAL; out.push(k, f.remoteAddress); continue
      case 'x-kong-request-id':
        // not ours to set (`headers_upstream = off`): the client's passes through
        seen |= U_ID
        out.push(k, f.requestId ?? v)
        continue
    }
    out.push(k, v)
  }
  if (!(seen & U_XFF)) out.push('x-forwarded-for', xffValue)
  if (!(seen & U_PROTO)) out.push('x-forwarded-proto', f.scheme)
  if (!(seen & U_HOST)) out.push('x-forwarded-host', f.host)
  if (!(seen & U_PORT)) out.push('x-forwarded-port', String(f.localPort))
  if (!(seen & U_PATH)) out.push('x-forwarded-path', f.path)
  if (!(seen & U_PREFIX) && f.prefix) out.push('x-forwarded-prefix', f.prefix)
  if (!(seen & U_REAL)) out.push('x-real-ip', f.remoteAddress)
  if (!(seen & U_ID) && f.requestId !== null) out.push('x-kong-request-id', f.requestId)
  if (!(seen & U_VIA)) out.push('via', f.via)
  if (h.te !== undefined && wantsTrailers(h.te)) out.push('te', 'trailers')
  out.push('host', f.upstreamHost)
  return out
}

/**
 * The client response headers when no plugin touches them, as a flat array for
 * `writeHead`, from the upstream's headers as received (`[name, value, …]`, names in the
 * upstream's case, which is kept): hop-by-hop ones dropped; `via` (when not null) appended
 * to the upstream's Via (its lines joined into one); the gateway's `own` headers
 * (`[lower-case name, value, …]`) replacing the upstream's of that name in place, the
 * others appended in order.
 */
export function clientResponseHeaderList(raw: string[], via: string | null, own: string[], keepTrailer = false): string[] {
  const out: string[] = []
  let extraHop: Set<string> | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const tokens = connectionTokens({connection: raw[i + 1]}, true)
      if (tokens) for (const t of tokens) (extraHop ??= new Set()).add(t)
    }
  }
  let viaDone = via === null
  let placed = 0 // bit i: own header i is out
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const k = name.toLowerCase()
    if (RESPONSE_HOP.has(k) || extraHop?.has(k) || (k === 'trailer' && !keepTrailer)) continue
    if (k === 'via' && via !== null) {
      if (!viaDone) {
        const theirs = joined(raw, 'via')
        out.push(name, theirs ? `${theirs}, ${via}` : via)
        viaDone = true
      }
      continue
    }
    const j = ownIndex(own, k)
    if (j >= 0) {
      if (!(placed & (1 << j))) out.push(name, own[2 * j + 1])
      placed |= 1 << j
      continue
    }
    out.push(name, raw[i + 1])
  }
  if (!viaDone) out.push('via', via!)
  for (let j = 0; j < own.length / 2; j++) if (!(placed & (1 << j))) out.push(own[2 * j], own[2 * j + 1])
  return out
}

function ownIndex(own: string[], lower: string): number {
  for (let j = 0; j < own.length; j += 2) if (own[j] === lower) return j / 2
  return -1
}

/** Every value of header `lower` in a raw list, joined with ", " (as repeated headers combine). */
function joined(raw: string[], lower: string): string {
  let v = ''
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === lower.length && raw[i].toLowerCase() === lower) v = v ? `${v}, ${raw[i + 1]}` : raw[i + 1]
  }
  return v
}
