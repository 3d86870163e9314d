/**
 * The declarative commands talk only to a Kong Admin API: against servers that are not
 * one (a web page, a JSON API without Kong's `GET /`), apply/diff/dump/reset stop
 * before reading or writing anything, exit 1 and say what they found. A server that
 * answers `GET /` as Kong does but then answers otherwise is caught too, and an apply
 * whose answer has no counts never reports `undefined` changes.
 */
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {scratchCli} from '../helpers/kctl.js'

let file: string
const cli = scratchCli('kctl-gateway-check-', async (dir) => {
  file = join(dir, 'kong.yaml')
  await writeFile(file, '_format_version: "3.0"\nservices:\n- name: svc1\n  url: http://example.com\n')
})
const servers: Server[] = []

/** A server on a free loopback port; `seen` records every request line. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{url: string; seen: string[]}> {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    handler(req, res)
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen}
}

const kongRoot = {tagline: 'Welcome to kong', version: '3.9.0', configuration: {database: 'postgres'}, plugins: {available_on_server: {}, enabled_in_cluster: []}}

const kctl = (...args: string[]) => cli.kctl(args)

const commands = () => [
  ['apply', file, '--yes'],
  ['diff', file],
  ['dump'],
  ['reset', '--yes'],
]

after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r))
})

describe('the target must be a Kong Admin API', () => {
  it('a web page: every declarative command fails naming the URL, status, content type and first bytes, and only asked GET /', async () => {
    const web = await serve((_req, res) => {
      res.writeHead(200, {'content-type': 'text/html'})
      res.end('<!doctype html><html><body>Welcome to nginx!</body></html>')
    })
    for (const args of commands()) {
      const r = await kctl(...args, '--admin-url', web.url)
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`)
      assert.equal(r.stdout, '', args[0])
      assert.match(r.stderr, new RegExp(`The server at ${web.url} does not answer as a Kong Admin API: GET / gave 200 text/html "<!doctype html><html><body>Welcome to nginx!`), args[0])
      assert.match(r.stderr, /--admin-url \(or KCTL_ADMIN_URL\).*Admin API port.*kctl status/s, args[0])
      assert.doesNotMatch(r.stderr, /undefined/, args[0])
    }
    assert.deepEqual([...new Set(web.seen)], ['GET /'])
  })

  it('JSON without Kong\'s fields: named in the message; --json gives an error object, never applied: true', async () => {
    const api = await serve((_req, res) => {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(JSON.stringify({status: 'ok', name: 'some other API'}))
    })
    for (const args of commands()) {
      const r = await kctl(...args, '--admin-url', api.url, '--json')
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`)
      const out = JSON.parse(r.stdout)
      assert.equal(out.applied, undefined, args[0])
      assert.equal(out.error.code, 'NOT_A_GATEWAY', args[0])
      assert.match(out.error.message, /GET \/ gave 200 application\/json "\{\\"status\\":\\"ok\\".*without Kong's "version", "tagline", "configuration", "plugins.available_on_server"/)
      assert.match(out.error.hint, /KCTL_ADMIN_URL/)
    }
    assert.deepEqual([...new Set(api.seen)], ['GET /'])
  })

  it('a 404 on GET / (a proxy port) is not a gateway either', async () => {
    const proxy = await serve((_req, res) => {
      res.writeHead(404, {'content-type': 'application/json'})
      res.end('{"message":"no Route matched with those values"}')
    })
    const r = await kctl('diff', file, '--admin-url', proxy.url)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /GET \/ gave 404 application\/json "\{\\"message\\":\\"no Route matched with those values\\"\}"/)
  })

  it('Kong\'s GET / then a page that is not a page of entities: an error, not an empty gateway', async () => {
    const odd = await serve((req, res) => {
      res.writeHead(200, {'content-type': req.url === '/' ? 'application/json' : 'text/html'})
      res.end(req.url === '/' ? JSON.stringify(kongRoot) : '<html>login</html>')
    })
    const r = await kctl('dump', '--admin-url', odd.url, '--json')
    assert.equal(r.code, 1, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.error.code, 'GATEWAY_ANSWER_INVALID')
    assert.match(out.error.message, new RegExp(`The Admin API at ${odd.url} answered GET /certificates\\?size=1000 with 200 text/html "<html>login</html>", expected JSON`))
    const json = await serve((req, res) => {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(JSON.stringify(req.url === '/' ? kongRoot : {items: []}))
    })
    const d = await kctl('diff', file, '--admin-url', json.url)
    assert.equal(d.code, 1)
    assert.match(d.stderr, /answered GET \/certificates\?size=1000 with \{"items":\[\]\}, expected a page of entities/)
  })

  it('a sync answer without counts: the outcome is unknown (exit 3), never "Created: undefined"', async () => {
    const fake = await serve((req, res) => {
      res.writeHead(200, {'content-type': 'application/json'})
      if (req.url === '/') res.end(JSON.stringify({...kongRoot, kctl: {sync: '/kctl/sync'}}))
      else if (req.method === 'GET') res.end('{"data":[],"next":null}')
      else req.resume().on('end', () => res.end('{"ok":true}'))
    })
    const r = await kctl('apply', file, '--admin-url', fake.url, '--json')
    assert.equal(r.code, 3, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.error.code, 'APPLY_OUTCOME_UNKNOWN')
    assert.match(out.error.message, /answered POST \/kctl\/sync with \{"ok":true\}, expected \{"created": N, "updated": N, "deleted": N\}\. Whether the gateway applied the change is unknown\./)
    assert.match(out.error.hint, /kctl diff/)
    assert.ok(fake.seen.includes('POST /kctl/sync'))
  })
})
