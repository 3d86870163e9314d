/** Small HTTP helpers for end-to-end tests: a local upstream, form posts, waiting for a URL to answer. */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import {until} from './until.js'

export function startUpstream(): Promise<{server: Server; port: number}> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({path: req.url, host: req.headers.host}))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({server, port: (server.address() as {port: number}).port})))
}

/** POSTs a form and asserts 201. */
export async function create(url: string, body: Record<string, string>): Promise<unknown> {
  const res = await fetch(url, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(body).toString()})
  const text = await res.text()
  assert.equal(res.status, 201, text)
  return JSON.parse(text)
}

/** Resolves once GET url answers 200; returns the body. */
export const served = (url: string): Promise<string> =>
  until(`${url} to answer 200`, async () => {
    const res = await fetch(url)
    const text = await res.text()
    return res.status === 200 && text
  }) as Promise<string>

/** GET `url` once: its status and body, or undefined when nothing answered within 3 s. */
export async function tryGet(url: string): Promise<{status: number; body: string} | undefined> {
  try {
    const res = await fetch(url, {signal: AbortSignal.timeout(3000)})
    return {status: res.status, body: await res.text()}
  } catch {
    return undefined
  }
}
