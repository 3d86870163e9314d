/**
 * What a logging plugin writes about a request: Kong's `kong.log.serialize()` (the basic
 * log serializer of kong/pdk/log.lua), built in the log phase from the plugin context,
 * with the values plugins set through `k.setSerializeValue` applied last.
 */
import type {PluginContext} from './context.js'

/** Kong's serialized request, as its logging plugins write it (one JSON object). */
export interface SerializedRequest {
  request: {
    id: string
    uri: string
    url: string
    querystring: Record<string, string | true | Array<string | true>>
    method: string
    headers: Record<string, string | string[]>
    size: number
    tls?: {version: string; cipher: string; client_verify: string}
  }
  upstream_uri: string
  upstream_status: string
  response: {status: number; headers: Record<string, string | string[]>; size: number}
  latencies: {kong: number; proxy: number; request: number}
  tries?: Array<{balancer_start: number; ip: string; port: number; balancer_latency: number; state?: 'failed'}>
  authenticated_entity?: {id: string; consumer_id?: string}
  route?: unknown
  service?: unknown
  consumer?: unknown
  client_ip: string
  started_at: number
  source: 'service' | 'exit' | 'error'
  workspace_name: string
  [custom: string]: unknown
}

const REDACTED = ['authorization', 'proxy-authorization']

/** Kong's `kong.log.serialize()` for the request `k` is logging. */
export function serialize(k: PluginContext): SerializedRequest {
  const uri = k.rawRequestTarget
  // nginx's `$host`: the Host header without its port, else the server's name (Kong's is `kong`)
  const host = (k.header('host') ?? '').replace(/:\d*$/, '').toLowerCase() || 'kong'
  const credential = k.credential
  const root: SerializedRequest = {
    request: {
      id: k.requestId,
      uri,
      url: `${k.scheme}://${host}:${k.port}${uri}`,
      querystring: queryTable(k.rawQuery),
      method: k.method,
      headers: requestHeaders(k),
      size: k.bytesIn,
      ...(k.tls ? {tls: {...k.tls, client_verify: 'NONE'}} : {}),
    },
    upstream_uri: k.upstreamUri,
    upstream_status: k.tries.flatMap((t) => (t.status === undefined ? [] : [String(t.status)])).join(', '),
    response: {status: k.status, headers: k.sentHeaders, size: k.bytesOut},
    latencies: {
      kong: k.latencies.proxy ?? k.latencies.total ?? 0,
      proxy: k.latencies.upstream ?? -1,
      request: k.latencies.total ?? 0,
    },
    tries: k.tries.length === 0 ? undefined : k.tries.map((t) => ({
      balancer_start: Math.round(performance.timeOrigin + (t.startedAt ?? 0)),
      ip: t.peer?.host ?? '',
      port: t.peer?.port ?? 0,
      // the peer is picked synchronously, in the same turn as the try begins
      balancer_latency: 0,
      ...(t.error !== undefined ? {state: 'failed' as const} : {}),
    })),
    authenticated_entity: credential ? {id: credential.id, consumer_id: credential.consumer?.id ?? k.consumer?.id} : undefined,
    route: k.route ?? undefined,
    service: k.service ?? undefined,
    consumer: k.consumer ?? undefined,
    client_ip: k.ip,
    started_at: k.startTime,
    source: source(k),
    workspace_name: 'default',
  }
  return k.serializeValues ? applyValues(root, k.serializeValues) : root
}

/**
 * Kong's `kong.response.get_source()`: `service` when the upstream answered, `error` when
 * Kong's error page did (an upstream tried and failed, an unexpected failure, a request
 * refused before routing), else `exit` (a plugin's or the gateway's own answer).
 */
function source(k: PluginContext): SerializedRequest['source'] {
  if (k.proxied) return 'service'
  if (k.tries.length > 0 || k.status === 500 || k.route === null) return 'error'
  return 'exit'
}

/** The request headers as Kong's `kong.request.get_headers()`, credentials redacted. */
function requestHeaders(k: PluginContext): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, values = []] of Object.entries(k.headersDistinct)) out[name] = values.length === 1 ? values[0] : values
  for (const name of REDACTED) if (out[name] !== undefined) out[name] = 'REDACTED'
  return out
}

/** Kong's `kong.request.get_query()`: an argument without `=` is `true`, a repeated one a list. */
export function queryTable(raw: string): Record<string, string | true | Array<string | true>> {
  const out: Record<string, string | true | Array<string | true>> = {}
  for (const part of raw.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = decode(eq < 0 ? part : part.slice(0, eq))
    if (name === '') continue
    const value: string | true = eq < 0 ? true : decode(part.slice(eq + 1))
    const had = out[name]
    out[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value]
  }
  return out
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

/**
 * Applies `setSerializeValue`'s values in order (Kong's `edit_result`, mode `set`): a dotted
 * key walks into objects, making the missing ones. Route, service and consumer are copied
 * first: they are the configuration's own objects.
 * @throws Error when a part of a dotted key is not an object, as Kong's.
 */
function applyValues(root: SerializedRequest, values: ReadonlyArray<{key: string; value: unknown}>): SerializedRequest {
  for (const name of ['route', 'service', 'consumer'] as const) if (root[name] !== undefined) root[name] = structuredClone(root[name])
  for (const {key, value} of values) {
    const parts = key.split('.')
    let node: Record<string, unknown> = root
    for (const part of parts.slice(0, -1)) {
      const next = node[part]
      if (next === undefined || next === null) node = node[part] = {}
      else if (typeof next === 'object' && !Array.isArray(next)) node = next as Record<string, unknown>
      else throw new Error(`The key '${key}' could not be used as a serialize value. Subkey '${part}' is not a table. It's ${String(next)}`)
    }
    const last = parts[parts.length - 1]
    if (value === undefined) delete node[last]
    else node[last] = value
  }
  return root
}
