/**
 * kctl's Admin API as a Kong node serves it: a real HTTP proxy in front of a real node
 * that hides what Kong does not have. `GET /` loses the `kctl` key, `POST /kctl/sync`
 * is a 404, the credential tables' names (`/keyauth_credentials`) are 404s and the
 * top-level `/targets` is a 405 (Kong disables it). Everything else is forwarded as is.
 * `requests` records `METHOD /path` of every request.
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface KongLike {
  url: string
  requests: string[]
  close(): Promise<void>
}

export async function startKongLike(target: string): Promise<KongLike> {
  const requests: string[] = []
  const server = createServer(async (req, res) => {
    const line = `${req.method} ${req.url}`
    requests.push(line)
    const path = req.url!.split('?')[0]
    const reply = (status: number, message: string) => res.writeHead(status, {'content-type': 'application/json; charset=utf-8'}).end(JSON.stringify({message}))
    if (path.startsWith('/kctl/') || /^\/(keyauth|basicauth)_credentials/.test(path)) return reply(404, 'Not found')
    if (path === '/targets' || path.startsWith('/targets/')) return reply(405, 'Method not allowed')
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = chunks.length ? Buffer.concat(chunks) : undefined
    const up = await fetch(target + req.url, {method: req.method, headers: {'content-type': req.headers['content-type'] ?? 'application/json'}, body})
    let out = Buffer.from(await up.arrayBuffer())
    if (path === '/' && req.method === 'GET') {
      const root = JSON.parse(out.toString('utf8'))
      delete root.kctl
      out = Buffer.from(JSON.stringify(root))
    }
    const headers: Record<string, string> = {}
    if (up.headers.get('content-type')) headers['content-type'] = up.headers.get('content-type')!
    res.writeHead(up.status, headers).end(out)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
