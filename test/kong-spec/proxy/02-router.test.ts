/**
 * Kong's spec/02-integration/05-proxy/02-router_spec.lua (3.9), ported: the same describe/it
 * titles and assertions, against a real node (Admin API over Postgres, its proxy on a
 * loopback port with a TLS listener beside it, Kong's mock upstream answering as Kong's:
 * 404 for a path it does not serve), strategy `postgres`, `allow_debug_header = on`.
 *
 * Kong runs the file for three router flavors, each with buffering off and on. kctl has one
 * router, Kong's `traditional_compatible`: the cases run once with that flavor's
 * expectations. Kong's `it_trad_only` cases (pending in `traditional_compatible`) run too,
 * with the `traditional` expectations Kong wrote for them, since kctl's router meets them;
 * so do the `path_handling = v1` slash cases, which Kong runs only for `traditional` (kctl
 * joins paths per v1 as Kong's traditional router does). The buffering-on pass needs
 * Kong's test plugin `enable-buffering` (not bundled), gRPC needs grpcbin, tls_passthrough a
 * stream listener and the `expressions` blocks the expressions flavor: those are skipped,
 * saying why.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {request as httpsRequest} from 'node:https'
import {connect} from 'node:net'
import {after, afterEach, before, describe, test as it} from 'node:test'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {findFreePort} from '../../../src/kit/ports.js'
import {KONG_HEADERS} from '../../../src/runtime/proxy/kong-headers.js'
import {freshDatabase, pgValues, spawnNode} from '../../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../../helpers/postgres.js'
import {until} from '../../helpers/until.js'
import {KongClient, type KongResponse} from '../admin-api/kong-client.js'
import {pathHandlingTests} from '../fixtures/router-path-handling.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {proxyWith, type ExtraProxy} from './proxy-node.js'

const strategy = 'postgres'
const flavor = 'traditional_compatible'
const NO_GRPC = 'kctl proxies no gRPC yet (Kong runs these against grpcbin)'
const NO_STREAM = 'kctl has no stream (TCP/TLS) listeners: tls_passthrough routes are not proxied'
const NO_EXPRESSIONS = 'kctl has no `expressions` router flavor (routes have no `expression` nor `priority`)'
const DEBUG = {'kong-debug': '1'}

/** A route as Kong's `insert_routes` takes it: `service: null` for none, else fields of a service to create. */
type RouteSpec = Record<string, unknown> & {service?: Record<string, unknown> | null}

let seq = 0

/** The Postgres server of the worker-respawn cases (a node process of their own), started once. */
let respawnPg: Promise<TestPostgres> | undefined
const respawnPostgres = () => (respawnPg ??= startTestPostgres())
after(async () => (await respawnPg)?.stop())

describe(`Router [#${strategy}, flavor = ${flavor}] with buffering [off]`, () => {
  let node: PluginSpecNode

  before(async () => {
    node = await startPluginSpecNode({headers: {...KONG_HEADERS, debug: true}}, {kongMockPaths: true, ssl: true})
  })
  after(() => node?.close())

  const created = async (res: Promise<KongResponse>) => {
    const r = await res
    if (r.status !== 201) throw new Error(`insert failed: ${r.status} ${r.text}`)
    return r.json
  }

  /** Kong's `insert_routes`: a service per route (named, pointing at the mock upstream) unless `service: null`; protocols `http` by default. */
  async function insertRoutes(specs: RouteSpec[]): Promise<any[]> {
    const routes: any[] = []
    for (const spec of specs) {
      const service =
        spec.service === null
          ? null
          : await created(node.admin.post('/services', {body: {name: `service-${++seq}`, host: '127.0.0.1', port: node.upstream.port, protocol: 'http', ...spec.service}}))
      const route = await created(node.admin.post('/routes', {body: {protocols: ['http'], ...spec, service: service ? {id: service.id} : null}}))
      route.service = service
      routes.push(route)
    }
    return routes
  }

  /** Kong's `remove_routes`: the routes, then their services. */
  async function removeRoutes(routes: any[] | undefined): Promise<void> {
    for (const r of routes ?? []) resStatus(204, await node.admin.delete(`/routes/${r.id}`))
    const services = new Set<string>()
    for (const r of routes ?? []) if (r.service) services.add(r.service.id)
    for (const id of services) resStatus(204, await node.admin.delete(`/services/${id}`))
  }

  const send = (method: string, path: string, headers: Record<string, string> = {}) => node.proxy.send(method, path, {headers})

  /** Kong's `proxy_ssl_client(nil, sni)`: a request over TLS to the proxy, naming `sni`. */
  function sendTls(path: string, headers: Record<string, string>, sni?: string): Promise<KongResponse> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({host: '127.0.0.1', port: node.proxySslPort, path, headers, servername: sni, rejectUnauthorized: false, agent: false}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const h = new Headers()
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v)
          let json: any
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({status: res.statusCode ?? 0, text, json, headers: h})
        })
      })
      req.on('error', reject)
      req.end()
    })
  }

  /** The debug headers name this route and its service. */
  const assertMatched = (res: KongResponse, route: any) => {
    assert.equal(res.headers.get('kong-route-id'), route.id)
    assert.equal(res.headers.get('kong-service-id'), route.service.id)
    assert.equal(res.headers.get('kong-service-name'), route.service.name)
  }

  /** One request written byte for byte on its own connection; resolves with all the server sent. */
  async function rawRequest(text: string): Promise<string> {
    const socket = connect(node.proxyPort, '127.0.0.1')
    await once(socket, 'connect')
    socket.setEncoding('latin1')
    let data = ''
    socket.on('data', (d) => (data += d))
    socket.setTimeout(10_000, () => socket.destroy())
    socket.write(text)
    await once(socket, 'close')
    return data
  }

  describe('no routes match', () => {
    it('responds 404 if no route matches', async () => {
      const res = await send('GET', '/', {host: 'inexistent.com'})
      const json = JSON.parse(resStatus(404, res))
      assert.match(res.headers.get('server') ?? '', /^kong\//)
      assert.equal(json.message, 'no Route matched with those values')
    })
  })

  describe('use-cases', () => {
    let routes: any[]
    let firstServiceName: string

    before(async () => {
      routes = await insertRoutes([
        {methods: ['GET'], protocols: ['http'], strip_path: false},
        {methods: ['POST', 'PUT'], paths: ['/post', '/put'], protocols: ['http'], strip_path: false},
        {paths: ['/mock_upstream'], protocols: ['http'], strip_path: true, service: {path: '/status'}},
        {paths: ['/private'], protocols: ['http'], strip_path: false, service: {path: '/basic-auth/'}},
        {paths: [String.raw`~/users/\d+/profile`], protocols: ['http'], strip_path: true, service: {path: '/anything'}},
        {protocols: ['http', 'https'], hosts: ['serviceless-route-http.test'], service: null},
        {paths: ['/disabled-service1'], protocols: ['http'], strip_path: false, service: {path: '/disabled-service-path/', enabled: false}},
        {paths: [String.raw`~/enabled-service/\w+`], protocols: ['http'], strip_path: true, service: {path: '/anything/', enabled: true, name: 'enabled-service'}},
        {paths: ['/enabled-service/disabled'], protocols: ['http'], strip_path: true, service: {path: '/some-path/', enabled: false}},
      ])
      firstServiceName = routes[0].service.name
    })
    after(() => removeRoutes(routes))

    it('responds 503 if no service found', async () => {
      let res = await node.proxy.get('/', {headers: {Host: 'serviceless-route-http.test'}})
      let json = JSON.parse(resStatus(503, res))
      assert.equal(json.message, 'no Service found with those values')

      res = await sendTls('/', {Host: 'serviceless-route-http.test'})
      json = JSON.parse(resStatus(503, res))
      assert.equal(json.message, 'no Service found with those values')
    })

    it('restricts an route to its methods if specified', async () => {
      // < HTTP/1.1 POST /post
      // > 200 OK
      let res = await send('POST', '/post', DEBUG)
      resStatus(200, res)
      assertMatched(res, routes[1])

      // < HTTP/1.1 DELETE /post
      // > 404 NOT FOUND
      res = await send('DELETE', '/post', DEBUG)
      resStatus(404, res)
      assert.equal(res.headers.get('kong-route-id'), null)
      assert.equal(res.headers.get('kong-service-id'), null)
      assert.equal(res.headers.get('kong-service-name'), null)
    })

    it('routes by method-only if no other match is found', async () => {
      const res = await send('GET', '/get', DEBUG)
      resStatus(200, res)
      assertMatched(res, routes[0])
    })

    describe('requests without Host header', () => {
      it('HTTP/1.0 routes normally', async () => {
        const reply = await rawRequest('GET /get HTTP/1.0\r\nKong-Debug: 1\r\n\r\n')
        const line = reply.slice(0, reply.indexOf('\r\n'))
        assert.equal(Number(line.slice(9, 12)), 200)
        // TEST: we matched an API that had no Host header defined
        assert.ok(reply.slice(line.length).toLowerCase().includes(`kong-service-name: ${firstServiceName}`), reply)
      })

      it('HTTP/1.1 is rejected by NGINX', async () => {
        const reply = await rawRequest('GET /get HTTP/1.1\r\nKong-Debug: 1\r\n\r\n')
        // TEST: NGINX rejected this request
        const line = reply.slice(0, reply.indexOf('\r\n'))
        assert.equal(Number(line.slice(9, 12)), 400)
        // TEST: we ensure that Kong catches this error and
        // produces the response from its own error handler
        const remainder = reply.slice(line.length)
        assert.ok(remainder.includes('Bad request'), reply)
        // header names are case-insensitive: Node writes the gateway's in lower case
        assert.match(remainder, /^Server: kong\//im)
      })
    })

    describe('route with a path component in its upstream_url', () => {
      it('with strip_path = true', async () => {
        const res = await send('GET', '/mock_upstream/201', DEBUG)
        resStatus(201, res)
        assertMatched(res, routes[2])
      })
    })

    it('route with a path component in its upstream_url and strip_path = false', async () => {
      const res = await send('GET', '/private/passwd', DEBUG)
      resStatus(401, res)
      assertMatched(res, routes[3])
    })

    it('route with a path component in its upstream_url and [uri] with a regex', async () => {
      let res = await send('GET', '/users/foo/profile', DEBUG)
      resStatus(404, res)

      res = await send('GET', '/users/123/profile', DEBUG)
      resStatus(200, res)
      assertMatched(res, routes[4])
    })

    describe('handles not enabled services', () => {
      it('ignores route where service enabled=false', async () => {
        const res = await send('GET', '/disabled-service1', DEBUG)
        resStatus(404, res)
      })

      it('routes to regex path when longer path service enabled=false', async () => {
        const res = await send('GET', '/enabled-service/disabled', DEBUG)
        resStatus(200, res)
        assert.equal(res.headers.get('kong-route-id'), routes[7].id)
        assert.equal(res.headers.get('kong-service-id'), routes[7].service.id)
        assert.equal(res.headers.get('kong-service-name'), 'enabled-service')
      })
    })
  })

  describe('use cases #grpc', () => {
    for (const title of [
      'responds 503 if no service found',
      "restricts a route to its 'hosts' if specified",
      "restricts a route to its 'hosts' if specified (grpcs)",
      "restricts a route to its wildcard 'hosts' if specified",
      "restricts a route to its wildcard 'hosts' if specified (grpcs)",
      "restricts a route to its 'paths' if specified",
      "restricts a route to its 'paths' if specified (grpcs)",
    ])
      it(title, {skip: NO_GRPC}, () => {})
  })

  describe('URI regexes order of evaluation with created_at', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        {created_at: 1234567890, strip_path: true, paths: ['~/status/(re)'], service: {name: 'regex_1', path: '/status/200'}},
        {created_at: 1234567891, strip_path: true, paths: ['~/status/(r)'], service: {name: 'regex_2', path: '/status/200'}},
        {created_at: 1234567892, strip_path: true, paths: ['/status'], service: {name: 'regex_3', path: '/status/200'}},
      ])
    })
    after(() => removeRoutes(routes))

    // it_trad_only in Kong
    it('depends on created_at field', async () => {
      let res = await send('GET', '/status/r', DEBUG)
      resStatus(200, res)
      assertMatched(res, routes[1])

      res = await send('GET', '/status/re', DEBUG)
      resStatus(200, res)
      assertMatched(res, routes[0])
    })
  })

  describe('URI regexes order of evaluation with regex_priority', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        // TEST 1 (regex_priority)
        {strip_path: true, paths: ['~/status/(?P<foo>re)'], service: {name: 'regex_1', path: '/status/200'}, regex_priority: 0},
        // shadows service which is created before and is shorter
        {strip_path: true, paths: ['~/status/(re)'], service: {name: 'regex_2', path: '/status/200'}, regex_priority: 4},
        // TEST 2 (tie breaker by created_at)
        {created_at: 1234567890, strip_path: true, paths: ['~/status/(ab)'], service: {name: 'regex_3', path: '/status/200'}, regex_priority: 0},
        {created_at: 1234567891, strip_path: true, paths: ['~/status/(ab)c?'], service: {name: 'regex_4', path: '/status/200'}, regex_priority: 0},
      ])
    })
    after(() => removeRoutes(routes))

    it('depends on the regex_priority field', async () => {
      const res = await send('GET', '/status/re', DEBUG)
      resStatus(200, res)
      assert.equal(res.headers.get('kong-service-name'), 'regex_2')
    })

    // it_trad_only in Kong
    it('depends on created_at if regex_priority is tie', async () => {
      const res = await send('GET', '/status/ab', DEBUG)
      resStatus(200, res)
      assert.equal(res.headers.get('kong-service-name'), 'regex_3')
    })
  })

  describe('URI arguments (querystring)', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([{hosts: ['mock_upstream']}])
    })
    after(() => removeRoutes(routes))

    it('preserves URI arguments', async () => {
      const res = await node.proxy.get('/get', {query: {foo: 'bar', hello: 'world'}, headers: {Host: 'mock_upstream'}})
      const json = JSON.parse(resStatus(200, res))
      assert.equal(json.uri_args.foo, 'bar')
      assert.equal(json.uri_args.hello, 'world')
    })

    it('does proxy an empty querystring if URI does not contain arguments', async () => {
      const res = await node.proxy.get('/request?', {headers: {Host: 'mock_upstream'}})
      const json = JSON.parse(resStatus(200, res))
      assert.match(json.vars.request_uri, /\/request\?$/)
    })

    it('does proxy a querystring with an empty value', async () => {
      const res = await node.proxy.get('/get?hello', {headers: {Host: 'mock_upstream'}})
      const json = JSON.parse(resStatus(200, res))
      assert.match(json.url, /\/get\?hello$/)
    })
  })

  describe('URI normalization', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        {strip_path: true, paths: ['/foo/bar']},
        {strip_path: true, paths: ['/hello']},
        {strip_path: false, paths: ['/anything/world']},
      ])
    })
    after(() => removeRoutes(routes))

    const check = async (path: string, route: () => any, forwardedPath?: string, requestUri?: string) => {
      const res = await send('GET', path, DEBUG)
      const body = JSON.parse(resStatus(200, res))
      assertMatched(res, route())
      if (forwardedPath !== undefined) assert.equal(body.headers['x-forwarded-path'], forwardedPath)
      if (requestUri !== undefined) assert.equal(body.vars.request_uri, requestUri)
    }

    it('matches against normalized URI with ".."', () => check('/foo/a/../bar', () => routes[0], '/foo/a/../bar'))
    it('matches against normalized URI with "//"', () => check('/foo//bar', () => routes[0], '/foo//bar'))
    it('matches against normalized URI with "/./"', () => check('/foo/./bar', () => routes[0], '/foo/./bar'))
    it('matches against normalized URI with percent-encoded characters', () => check('/h%65llo', () => routes[1], '/h%65llo'))
    it('proxies normalized URI to upstream with strip_path = true', () => check('/h%65llo/anything/a/../b', () => routes[1], undefined, '/anything/b'))
    it('proxies normalized URI to upstream with strip_path = false', () => check('/anything/./a/../wor%6cd/a/../b', () => routes[2], undefined, '/anything/world/b'))
    it('re-encode special characters in request uri when proxying to the upstream', () => check('/anything/world/cat%20and%20dog', () => routes[2], undefined, '/anything/world/cat%20and%20dog'))
  })

  describe('strip_path', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([{paths: ['/x/y/z', '/z/y/x'], strip_path: true}])
    })
    after(() => removeRoutes(routes))

    describe('= true', () => {
      it('strips subsequent calls to an route with different [paths]', async () => {
        for (const [path, prefix] of [['/x/y/z/get', '/x/y/z/get'], ['/z/y/x/get', '/z/y/x/get'], ['/x/y/z/get', '/x/y/z/get'], ['/x/y/z/get', '/x/y/z/get']]) {
          const json = JSON.parse(resStatus(200, await send('GET', path)))
          assert.ok(json.url.includes('/get'), json.url)
          assert.ok(!json.url.includes(prefix), json.url)
        }
      })
    })
  })

  describe('preserve_host', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        {preserve_host: true, hosts: ['preserved.com', 'preserved.com:123'], service: {path: '/request'}},
        {preserve_host: false, hosts: ['discarded.com'], service: {path: '/request'}},
        {strip_path: false, preserve_host: true, paths: ['/request']},
      ])
    })
    after(() => removeRoutes(routes))

    const upstreamHost = async (host: string, path = '/get') => JSON.parse(resStatus(200, await send('GET', path, {Host: host}))).headers.host as string

    describe('x = false (default)', () => {
      it('uses hostname from upstream_url', async () => {
        assert.ok((await upstreamHost('discarded.com')).includes('127.0.0.1')) // not testing :port
      })
      it('uses port value from upstream_url if not default', async () => {
        assert.ok((await upstreamHost('discarded.com')).includes(`:${node.upstream.port}`)) // not testing hostname
      })
    })

    describe('= true', () => {
      it('forwards request Host', async () => {
        assert.equal(await upstreamHost('preserved.com', '/'), 'preserved.com')
      })
      // it_trad_only in Kong
      it('forwards request Host:Port even if port is default', async () => {
        assert.equal(await upstreamHost('preserved.com:80'), 'preserved.com:80')
      })
      it("forwards request Host:Port if port isn't default", async () => {
        assert.equal(await upstreamHost('preserved.com:123'), 'preserved.com:123')
      })
      it('forwards request Host even if not matched by [hosts]', async () => {
        assert.equal(await upstreamHost('preserved.com'), 'preserved.com')
      })
    })
  })

  describe('edge-cases', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        {strip_path: true, paths: ['/']},
        {strip_path: true, paths: ['/foobar']},
      ])
    })
    after(() => removeRoutes(routes))

    it('root / [uri] for a catch-all rule', async () => {
      let res = await send('GET', '/get', DEBUG)
      resStatus(200, res)
      assertMatched(res, routes[0])

      res = await send('GET', '/foobar/get', DEBUG)
      resStatus(200, res)
      assertMatched(res, routes[1])
    })
  })

  describe('[snis] for HTTPs connections', () => {
    let routes: any[]
    before(async () => {
      // the wildcard SNIs: flavor ~= "traditional"
      routes = await insertRoutes([
        {protocols: ['https'], snis: ['www.example.org'], service: {name: 'service_behind_www.example.org'}},
        {protocols: ['https'], snis: ['example.org'], service: {name: 'service_behind_example.org'}},
        {protocols: ['https'], snis: ['*.foo.test'], service: {name: 'service_behind_wild.foo.test'}},
        {protocols: ['https'], snis: ['bar.*'], service: {name: 'service_behind_bar.wild'}},
      ])
    })
    after(() => removeRoutes(routes))

    it("matches a route based on its 'snis' attribute", async () => {
      for (const sni of ['www.example.org', 'example.org']) {
        let res = await sendTls('/status/200', DEBUG, sni)
        resStatus(200, res)
        assert.equal(res.headers.get('kong-service-name'), `service_behind_${sni}`)

        res = await sendTls('/status/201', DEBUG, sni)
        resStatus(201, res)
        assert.equal(res.headers.get('kong-service-name'), `service_behind_${sni}`)
      }
    })

    it('matches a route based on its leftmost wildcard sni', async () => {
      for (const sni of ['a.foo.test', 'a.b.foo.test']) {
        const res = await sendTls('/status/200', DEBUG, sni)
        resStatus(200, res)
        assert.equal(res.headers.get('kong-service-name'), 'service_behind_wild.foo.test')
      }
    })

    it('matches a route based on its rightmost wildcard sni', async () => {
      for (const sni of ['bar.x', 'bar.y.z']) {
        const res = await sendTls('/status/200', DEBUG, sni)
        resStatus(200, res)
        assert.equal(res.headers.get('kong-service-name'), 'service_behind_bar.wild')
      }
    })
  })

  describe('tls_passthrough', () => {
    it("matches a route based on its 'snis' attribute", {skip: NO_STREAM}, () => {})
    it('matches a route based on its leftmost wildcard sni', {skip: NO_STREAM}, () => {})
    it('matches a route based on its rightmost wildcard sni', {skip: NO_STREAM}, () => {})
  })

  describe('[#headers]', () => {
    let routes: any[] | undefined
    afterEach(async () => {
      await removeRoutes(routes)
      routes = undefined
    })

    const get = (headers: Record<string, string>, path = '/') => send('GET', path, {...headers, 'kong-debug': '1'})

    it('matches by header', async () => {
      routes = await insertRoutes([{headers: {version: ['v1', 'v2']}}, {headers: {version: ['v3']}}])
      let res = await get({Host: 'domain.test', version: 'v1'})
      resStatus(200, res)
      assertMatched(res, routes[0])

      res = await get({Host: 'domain.test', version: 'v3'})
      resStatus(200, res)
      assertMatched(res, routes[1])
    })

    it('matches headers in a case-insensitive way', async () => {
      routes = await insertRoutes([{headers: {Version: ['v1', 'v2']}}, {headers: {version: ['V3']}}])
      let res = await get({Host: 'domain.test', version: 'v1'})
      resStatus(200, res)
      assertMatched(res, routes[0])

      res = await get({Host: 'domain.test', Version: 'v3'})
      resStatus(200, res)
      assertMatched(res, routes[1])
    })

    it('prioritizes Routes with more headers', async () => {
      routes = await insertRoutes([
        {headers: {version: ['v1', 'v2']}},
        {headers: {version: ['v3'], location: ['us-east']}},
        {headers: {version: ['v3']}},
      ])
      let res = await get({Host: 'domain.test', version: 'v3', location: 'us-east'})
      resStatus(200, res)
      assertMatched(res, routes[1])

      res = await get({Host: 'domain.test', version: 'v3'})
      resStatus(200, res)
      assertMatched(res, routes[2])
    })

    it('caching do not ignore headers (regression)', async () => {
      routes = await insertRoutes([
        {service: {name: 'first'}, hosts: ['example.test'], paths: ['/test'], headers: {headertest: ['itsatest']}},
        {service: {name: 'second'}, hosts: ['example.test'], paths: ['/test']},
      ])
      let res = await get({Host: routes[0].hosts[0], headertest: 'itsatest'}, routes[0].paths[0])
      resStatus(200, res)
      assertMatched(res, routes[0])

      res = await get({Host: routes[1].hosts[0]}, routes[1].paths[0])
      resStatus(200, res)
      assertMatched(res, routes[1])

      res = await get({Host: routes[0].hosts[0], headertest: 'itsatest'}, routes[0].paths[0])
      resStatus(200, res)
      assertMatched(res, routes[0])
    })
  })

  describe('[paths] + [#headers]', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        {strip_path: true, headers: {version: ['v1', 'v2']}, paths: ['/root']},
        {strip_path: true, headers: {version: ['v1', 'v2']}, paths: ['/root/fixture']},
        {strip_path: true, headers: {version: ['v1', 'v2'], location: ['us-east']}, paths: ['/root']},
      ])
    })
    after(() => removeRoutes(routes))

    it('prioritizes Routes with more headers', async () => {
      const res = await send('GET', '/root/fixture/get', {version: 'v2', location: 'us-east', 'kong-debug': '1'})
      resStatus(404, res) // the mock upstream has no /fixture/get
      assertMatched(res, routes[2])
    })

    it('prioritizes longer paths if same number of headers', async () => {
      const res = await send('GET', '/root/fixture/get', {version: 'v2', 'kong-debug': '1'})
      resStatus(200, res)
      assertMatched(res, routes[1])
    })
  })

  describe('[snis] for #grpcs connections', () => {
    it("matches a route based on its 'snis' attribute", {skip: NO_GRPC}, () => {})
    it('matches a route based on its leftmost wildcard sni', {skip: NO_GRPC}, () => {})
    it('matches a route based on its rightmost wildcard sni', {skip: NO_GRPC}, () => {})
  })

  describe('[paths] + [methods]', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        {strip_path: true, methods: ['GET'], paths: ['/unrelated/longer/uri/that/should/not/match', '/root/fixture'], hosts: ['ahost.test'], service: {path: '/status/201'}},
        {strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['ahost.test'], service: {path: '/status/202'}},
        {strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['anotherhost.test'], service: {path: '/status/203'}},
        {strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['onemorehost.test'], service: {path: '/status/204'}},

        {strip_path: true, name: 'public-apiv1', paths: ['/rest/devportal/api/v1', '/rest/devportal'], hosts: ['api.local'], service: {path: '/status/205'}},
        {strip_path: true, name: 'aux', paths: ['/rest/devportal/aux'], hosts: ['api.local'], service: {path: '/status/206'}},
        {strip_path: true, name: 'aux-host', paths: ['/rest/devportal/aux'], hosts: ['test-api.local'], service: {path: '/status/207'}},
        {strip_path: true, name: 'aux-host2', paths: ['/rest/devportal/aux'], hosts: ['atest-api.local'], service: {path: '/status/208'}},
        {strip_path: true, name: 'devportal-route-2', paths: ['/rest/devportal'], hosts: ['atest-api.local'], service: {path: '/status/209'}},

        {strip_path: true, name: 'concat_test-public-apiv1', paths: ['/concat_test/devportal/api/v1', '/concat_test/devportal'], hosts: ['api.local']},
        {strip_path: true, name: 'concat_test-aux', paths: ['/concat_test/devportal/aux'], hosts: ['api.local']},
        {strip_path: true, name: 'concat_test-aux-host', paths: ['/concat_test/devportal/aux'], hosts: ['test-api.local']},
        {strip_path: true, name: 'concat_test-aux-host2', paths: ['/concat_test/devportal/aux'], hosts: ['atest-api.local']},
        {strip_path: true, name: 'concat_test-devportal-route-2', paths: ['/concat_test/devportal'], hosts: ['atest-api.local']},
      ])
    })
    after(() => removeRoutes(routes))

    // it_trad_only in Kong
    it('regression test for #5438', async () => {
      for (let i = 0; i < 9; i++) {
        for (const path of routes[i].paths) {
          const res = await send('GET', path, {'kong-debug': '1', host: routes[i].hosts[0]})
          resStatus(201 + i, res)
          assertMatched(res, routes[i])
        }
      }
    })

    // it_trad_only in Kong
    it('regression test for #5438 concatenating paths', async () => {
      for (let i = 9; i < 14; i++) {
        for (const path of routes[i].paths) {
          const res = await send('GET', `${path}/status/418`, {'kong-debug': '1', host: routes[i].hosts[0]})
          resStatus(418, res)
          assertMatched(res, routes[i])
        }
      }
    })

    // it_trad_only in Kong
    it('regression test for #5438 part 2', async () => {
      const res = await send('GET', '/rest/devportal', {'kong-debug': '1', host: 'atest-api.local'})
      resStatus(209, res)
      assertMatched(res, routes[8])
    })

    // it_trad_only in Kong
    it('prioritizes longer URIs', async () => {
      const res = await send('GET', '/root/fixture/get', {'kong-debug': '1', host: 'ahost.test'})
      resStatus(202, res)
      assertMatched(res, routes[1])
    })

    it('prioritizes host over longer URIs', async () => {
      const res = await send('GET', '/root/fixture/get', {'kong-debug': '1', host: 'anotherhost.test'})
      resStatus(203, res)
      assertMatched(res, routes[2])
    })

    it('do not match incomplete URIs', async () => {
      const res = await send('GET', '/', {'kong-debug': '1', host: 'ahost.test'})
      resStatus(404, res)
    })
  })

  describe('[paths] + [hosts]', () => {
    let routes: any[]
    before(async () => {
      routes = await insertRoutes([
        {strip_path: true, hosts: ['route.com'], paths: ['/root/fixture', '/root/fixture/non-matching-but-longer']},
        {strip_path: true, hosts: ['route.com'], paths: ['/root/fixture/get']},
      ])
    })
    after(() => removeRoutes(routes))

    // it_trad_only in Kong
    it('prioritizes longer URIs', async () => {
      const res = await send('GET', '/root/fixture/get', {Host: 'route.com', 'kong-debug': '1'})
      resStatus(200, res)
      assertMatched(res, routes[1])
    })
  })

  describe('slash handling', () => {
    describe('(plain)', () => {
      let routes: any[]
      before(async () => {
        const specs: RouteSpec[] = []
        pathHandlingTests.forEach((line, i) =>
          line.expand().forEach((test, j) =>
            specs.push({
              strip_path: test.strip_path,
              path_handling: test.path_handling,
              paths: test.route_path ? [test.route_path] : null,
              hosts: [`localbin-${i + 1}-${j + 1}.com`],
              service: {name: `plain_${i + 1}-${j + 1}`, path: test.service_path},
            }),
          ),
        )
        routes = await insertRoutes(specs)
      })
      after(() => removeRoutes(routes))

      pathHandlingTests.forEach((line, i) =>
        line.expand().forEach((test, j) => {
          const strip = test.strip_path ? 'on' : 'off'
          const routeUriOrHost = test.route_path ? `uri ${test.route_path}` : `host localbin-${i + 1}-${j + 1}.com`
          it(`(${i + 1}-${j + 1}) ${test.service_path} with ${routeUriOrHost}, strip = ${strip}, ${test.path_handling} when requesting ${test.request_path}`, async () => {
            const res = await node.proxy.get(test.request_path, {headers: {Host: `localbin-${i + 1}-${j + 1}.com`}})
            // Kong's `has.jsonbody()`: any status (the mock upstream answers 404 for most of these paths)
            const data = JSON.parse(res.text)
            assert.equal(data.vars.request_uri, test.expected_path)
          })
        }),
      )
    })

    describe('(regex)', () => {
      const makeARegex = (path: string) => '~/[0]?' + path.slice(1)
      let routes: any[]
      before(async () => {
        const specs: RouteSpec[] = []
        pathHandlingTests.forEach((line, i) => {
          if (!line.route_path) return // skip if hostbased match
          line.expand().forEach((test, j) =>
            specs.push({
              strip_path: test.strip_path,
              paths: [makeARegex(test.route_path!)],
              path_handling: test.path_handling,
              hosts: [`localbin-${i + 1}-${j + 1}.com`],
              service: {name: `make_regex_${i + 1}-${j + 1}`, path: test.service_path},
            }),
          )
        })
        routes = await insertRoutes(specs)
      })
      after(() => removeRoutes(routes))

      pathHandlingTests.forEach((line, i) => {
        if (!line.route_path) return // skip if hostbased match
        line.expand().forEach((test, j) => {
          const strip = test.strip_path ? 'on' : 'off'
          it(`(${i + 1}-${j + 1}) ${test.service_path} with uri ${makeARegex(test.route_path!)}, strip = ${strip}, ${test.path_handling} when requesting ${test.request_path}`, async () => {
            const res = await node.proxy.get(test.request_path, {headers: {Host: `localbin-${i + 1}-${j + 1}.com`}})
            const data = JSON.parse(res.text)
            assert.ok(data.vars)
            assert.equal(data.vars.request_uri, test.expected_path)
          })
        })
      })
    })

    describe('router rebuilds', () => {
      let routes: any[]
      after(() => removeRoutes(routes))

      it("when Routes have 'regex_priority = nil'", async () => {
        // Regression test for issue:
        // https://github.com/Kong/kong/issues/4254
        routes = await insertRoutes([
          {methods: ['GET'], regex_priority: 1},
          {methods: ['POST', 'PUT'], regex_priority: null},
        ])
        const res = await send('GET', '/')
        resStatus(200, res)
      })
    })
  })

  for (const consistency of ['strict', 'eventual']) {
    // kctl has no `worker_consistency`: a proxy started over a database already holding the
    // route (proxy-node.ts) stands for Kong started with either setting
    describe(`Router [#${strategy}, flavor = ${flavor}, consistency = ${consistency}] at startup`, () => {
      let routes: any[]
      let p: ExtraProxy
      before(async () => {
        routes = await insertRoutes([{methods: ['GET'], protocols: ['http'], strip_path: false}])
        p = await proxyWith(node, {headers: {...KONG_HEADERS, debug: true}})
      })
      after(async () => {
        await p?.close()
        await removeRoutes(routes)
      })

      it('uses configuration from datastore or declarative_config', async () => {
        for (let i = 0; i < 1000; i++) {
          const res = await p.proxy.get('/get', {headers: {'kong-debug': '1', connection: 'close'}})
          resStatus(200, res)
          assert.equal(res.headers.get('kong-service-name'), routes[0].service.name)
        }
      })

      it('#db worker respawn correctly rebuilds router', async () => {
        // a node process with proxy workers (Kong's test runs 4 nginx workers; 2 here)
        const pg = await respawnPostgres()
        const dir = mkdtempSync(join(tmpdir(), 'kctl-kong-router-'))
        const [admin, proxy, status] = [await findFreePort(), await findFreePort(), await findFreePort()]
        const worker = spawnNode(dir, {
          ...pgValues(pg, await freshDatabase(pg, `router_respawn_${consistency}`)),
          admin_listen: `127.0.0.1:${admin}`,
          proxy_listen: `127.0.0.1:${proxy}`,
          status_listen: `127.0.0.1:${status}`,
          node_worker_processes: 2,
          allow_debug_header: 'on',
        }, {status: `http://127.0.0.1:${status}`})
        try {
          await worker.waitReady(60_000)
          const adminClient = new KongClient(`http://127.0.0.1:${admin}`)
          resStatus(201, await adminClient.post('/routes', {body: {methods: ['GET'], protocols: ['http'], strip_path: false}}))
          resStatus(201, await adminClient.post('/routes', {body: {paths: ['/foo']}}))

          const workersBefore: number[] = (await adminClient.get('/')).json.pids.workers
          assert.equal(workersBefore.length, 2)
          for (const pid of workersBefore) process.kill(pid, 'SIGTERM')
          // respawned: none of the workers is one of those
          await until('the workers respawned', async () => {
            const now: number[] | undefined = (await adminClient.get('/').catch(() => null))?.json?.pids?.workers
            return now !== undefined && now.length === workersBefore.length && now.every((pid) => !workersBefore.includes(pid))
          })

          const res = await until('the proxy answers', () => new KongClient(`http://127.0.0.1:${proxy}`).get('/foo', {headers: DEBUG}).catch(() => undefined))
          const json = JSON.parse(resStatus(503, res))
          assert.equal(json.message, 'no Service found with those values')
        } finally {
          await worker.stop()
          rmSync(dir, {recursive: true, force: true})
        }
      })

      it('#db rebuilds router correctly after passing route with special escape', async () => {
        // this is a valid regex path in Rust.regex 1.8
        const escape = await created(node.admin.post('/routes', {body: {paths: ['~/delay/(?<delay>[^\\/]+)$']}}))
        const foo = await created(node.admin.post('/routes', {body: {paths: ['/foo']}}))
        try {
          const res = await send('GET', '/foo', DEBUG)
          const json = JSON.parse(resStatus(503, res))
          assert.equal(json.message, 'no Service found with those values')
        } finally {
          for (const r of [escape, foo]) resStatus(204, await node.admin.delete(`/routes/${r.id}`))
        }
      })
    })
  }

  describe('disable allow_debug_header config', () => {
    let routes: any[]
    let p: ExtraProxy
    before(async () => {
      routes = await insertRoutes([{methods: ['GET'], protocols: ['http'], strip_path: false}])
      p = await proxyWith(node, {}) // allow_debug_header = off, Kong's default
    })
    after(async () => {
      await p?.close()
      await removeRoutes(routes)
    })

    it('disable allow_debug_header config', async () => {
      for (let i = 0; i < 1000; i++) {
        const res = await p.proxy.get('/get', {headers: {'kong-debug': '1', connection: 'close'}})
        resStatus(200, res)
        assert.equal(res.headers.get('kong-service-name'), null)
        assert.equal(res.headers.get('kong-route-name'), null)
      }
    })
  })
})

// http expression 'http.queries.*'
describe(`Router [#${strategy}, flavor = expressions]`, () => {
  for (const title of [
    'query has wrong value',
    'query has one value',
    'query value is empty string',
    'query has no value',
    'query has multiple values',
    'query does not match multiple values',
  ])
    it(title, {skip: NO_EXPRESSIONS}, () => {})
})

describe(`Router [#${strategy}, flavor = expressions]`, () => {
  it('can set route.priority to 2^46 - 1', {skip: NO_EXPRESSIONS}, () => {})
})
