/**
 * HTTP reads for `kctl status`: a node's `/status` + `/status/ready`, and a CP's
 * `/clustering/data-planes` (every page). One undici Agent with keep-alive serves every
 * request, so a watch reuses its connections instead of opening one per poll.
 */
import {Agent, request} from 'undici'
import type {ListedDataPlane} from '../../runtime/clustering/data-planes.js'

/** What one node's status listener said. */
export interface NodeProbe {
  ok: boolean
  /** 200 from `/status/ready` (null when `/status` did not answer). */
  ready: boolean | null
  body: StatusBody | null
  /** Why the node did not answer or is not ready. */
  error: string | null
}

/**
 * What a node's `/status` answers, as far as `kctl status` reads it. Nobody validated it
 * (an older or newer node may answer otherwise), so each field is checked where it is read.
 */
export interface StatusBody {
  configuration_hash?: unknown
  configuration_version?: unknown
  /** A control plane's configuration version (the database's). */
  configuration_sync_version?: unknown
  connected_data_planes?: unknown
  database?: {reachable?: unknown}
  control_plane?: {address?: unknown; connected?: unknown}
  restarts?: unknown
  last_crash?: {at?: unknown; cause?: unknown}
  kctl_version?: unknown
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `message` of an error answer (Kong's `{message}`), if it has one. */
const messageOf = (body: unknown): unknown => (isObject(body) ? body.message : undefined)

export interface Prober {
  node(statusUrl: string): Promise<NodeProbe>
  /** @throws Error with a short reason when the Admin API does not answer or answers an error. */
  dataPlanes(adminUrl: string): Promise<ListedDataPlane[]>
  close(): Promise<void>
}

/** A connection error as a short phrase: "connection refused", "timed out after 2 s". */
export function describeError(err: unknown): string {
  const e = err as {code?: string; message?: string; cause?: {code?: string}}
  const code = e.code ?? e.cause?.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timed out'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset'
  return e.message ?? String(err)
}

export function createProber(options: {timeoutMs?: number} = {}): Prober {
  const timeoutMs = options.timeoutMs ?? 2000
  const agent = new Agent({keepAliveTimeout: 30_000, connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs})
  const get = async (url: string): Promise<{status: number; body: unknown}> => {
    const res = await request(url, {dispatcher: agent})
    const text = await res.body.text()
    let body: unknown = null
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      body = {message: text.slice(0, 200)}
    }
    return {status: res.statusCode, body}
  }
  return {
    async node(statusUrl) {
      try {
        const [s, r] = await Promise.all([get(`${statusUrl}/status`), get(`${statusUrl}/status/ready`)])
        if (s.status !== 200) return {ok: false, ready: null, body: null, error: `/status answered ${s.status}`}
        const ready = r.status === 200
        return {ok: true, ready, body: isObject(s.body) ? (s.body as StatusBody) : null, error: ready ? null : String(messageOf(r.body) ?? `not ready (${r.status})`)}
      } catch (err) {
        return {ok: false, ready: null, body: null, error: describeError(err)}
      }
    },
    async dataPlanes(adminUrl) {
      const rows: ListedDataPlane[] = []
      let next: string | null = '/clustering/data-planes?size=1000'
      for (let pages = 0; next && pages < 100; pages++) {
        let res
        try {
          res = await get(new URL(next, adminUrl).toString())
        } catch (err) {
          throw new Error(describeError(err))
        }
        const message = messageOf(res.body)
        if (res.status !== 200) throw new Error(`/clustering/data-planes answered ${res.status}${message ? `: ${message}` : ''}`)
        const page = isObject(res.body) ? res.body : {}
        if (!Array.isArray(page.data)) throw new Error('/clustering/data-planes answered without a list of data planes')
        rows.push(...(page.data as ListedDataPlane[]))
        next = typeof page.next === 'string' ? page.next : null
      }
      return rows
    },
    close: () => agent.close(),
  }
}
