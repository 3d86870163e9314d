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
  body: Record<string, any> | null
  /** Why the node did not answer or is not ready. */
  error: string | null
}

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
  const get = async (url: string): Promise<{status: number; body: any}> => {
    const res = await request(url, {dispatcher: agent})
    const text = await res.body.text()
    let body: any = null
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
        return {ok: true, ready, body: s.body, error: ready ? null : (r.body?.message ?? `not ready (${r.status})`)}
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
        if (res.status !== 200) throw new Error(`/clustering/data-planes answered ${res.status}${res.body?.message ? `: ${res.body.message}` : ''}`)
        rows.push(...(res.body.data as ListedDataPlane[]))
        next = res.body.next
      }
      return rows
    },
    close: () => agent.close(),
  }
}
