/**
 * Kong's spec/03-plugins/13-cors/01-access_spec.lua (3.9), ported: the same describe/it
 * titles and assertions, against a real node (Admin API over Postgres, its proxy, Kong's
 * mock upstream), strategy `postgres`. Kong's test plugin `error-generator-last` is not
 * bundled: that case is skipped. Kong's mock upstream answers an unknown path with 404;
 * ours echoes every path, so the 404 case asks `/status/404`.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {deadPort} from '../../proxy/helpers.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const CORS_DEFAULT_METHODS = 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT'

type Accept = boolean | string
const regexTestcases: {origins: string[]; tests: Record<string, Accept>}[] = [
  {
    // single entry, host only: ignore value, always return configured data
    origins: ['foo.test'],
    tests: {
      'http://evil.test': 'foo.test',
      'http://foo.test': 'foo.test',
      'http://foo.test.evil.test': 'foo.test',
      'http://something.foo.test': 'foo.test',
      'http://evilfoo.test': 'foo.test',
      'http://foo.test:80': 'foo.test',
      'http://foo.test:8000': 'foo.test',
      'https://foo.test:8000': 'foo.test',
      'http://foo.test:90': 'foo.test',
      'http://foobtest': 'foo.test',
      'https://bar.test:1234': 'foo.test',
    },
  },
  {
    // single entry, full domain (not regex): ignore value, always return configured data
    origins: ['https://bar.test:1234'],
    tests: {
      'http://evil.test': 'https://bar.test:1234',
      'http://foo.test': 'https://bar.test:1234',
      'http://foo.test.evil.test': 'https://bar.test:1234',
      'http://something.foo.test': 'https://bar.test:1234',
      'http://evilfoo.test': 'https://bar.test:1234',
      'http://foo.test:80': 'https://bar.test:1234',
      'http://foo.test:8000': 'https://bar.test:1234',
      'https://foo.test:8000': 'https://bar.test:1234',
      'http://foo.test:90': 'https://bar.test:1234',
      'http://foobtest': 'https://bar.test:1234',
      'https://bar.test:1234': 'https://bar.test:1234',
    },
  },
  {
    // single entry, simple regex without ":": anchored match on host only
    origins: ['foo\\.test'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': true,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': false,
      'http://evilfoo.test': false,
      'http://foo.test:80': 'http://foo.test',
      'http://foo.test:8000': true,
      'https://foo.test:8000': true,
      'http://foo.test:90': true,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // single entry, subdomain regex without ":": anchored match on host only
    origins: ['(.*[./])?foo\\.test'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': true,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': true,
      'http://evilfoo.test': false,
      'http://foo.test:80': 'http://foo.test',
      'http://foo.test:8000': true,
      'https://foo.test:8000': true,
      'http://foo.test:90': true,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // single entry, any-scheme subdomain regex with port: anchored match with scheme and port
    origins: ['(.*[./])?foo\\.test:8000'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': false,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': false,
      'http://evilfoo.test': false,
      'http://foo.test:80': false,
      'http://foo.test:8000': true,
      'https://foo.test:8000': true,
      'http://foo.test:90': false,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // single entry, https subdomain regex with port: anchored match with scheme and port
    origins: ['https://(.*[.])?foo\\.test:8000'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': false,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': false,
      'http://foo.test:80': false,
      'http://foo.test:8000': false,
      'https://foo.test:8000': true,
      'http://foo.test:90': false,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // single entry, explicitly anchored https subdomain regex with port: anchored match with scheme and port
    origins: ['^http://(.*[.])?foo\\.test(:(80|90))?$'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': true,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': true,
      'http://foo.test:80': 'http://foo.test',
      'http://foo.test:8000': false,
      'https://foo.test:8000': false,
      'http://foo.test:90': true,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // multiple entries, host only (not regex): match on full normalized domain (i.e. all fail)
    origins: ['foo.test', 'bar.test'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': false,
      'http://foo.test.evil.test': false,
      'http://foo.test:80': false,
      'http://foo.test:8000': false,
      'http://foo.test:90': false,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // multiple entries, full domain (not regex): match on full normalized domain
    origins: ['http://foo.test', 'https://bar.test:1234'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': true,
      'http://foo.test.evil.test': false,
      'http://foo.test:80': 'http://foo.test',
      'http://foo.test:8000': false,
      'http://foo.test:90': false,
      'http://foobtest': false,
      'https://bar.test:1234': true,
    },
  },
  {
    // multiple entries, simple regex without ":": anchored match on host only
    origins: ['bar.test', 'foo\\.test'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': true,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': false,
      'http://foo.test:80': 'http://foo.test',
      'http://foo.test:8000': true,
      'http://foo.test:90': true,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // multiple entries, subdomain regex without ":": anchored match on host only
    origins: ['bar.test', '(.*\\.)?foo\\.test'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': true,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': true,
      'http://foo.test:80': 'http://foo.test',
      'http://foo.test:8000': true,
      'http://foo.test:90': true,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // multiple entries, any-scheme subdomain regex with ":": anchored match with scheme and port
    origins: ['bar.test', '(.*[./])?foo\\.test:8000'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': false,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': false,
      'http://foo.test:80': false,
      'http://foo.test:8000': true,
      'https://foo.test:8000': true,
      'http://foo.test:90': false,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
  {
    // multiple entries, https subdomain regex with ":": anchored match with scheme and port
    origins: ['bar.test', 'https://(.*\\.)?foo\\.test:8000'],
    tests: {
      'http://evil.test': false,
      'http://foo.test': false,
      'http://foo.test.evil.test': false,
      'http://something.foo.test': false,
      'http://foo.test:80': false,
      'http://foo.test:8000': false,
      'https://foo.test:8000': true,
      'http://foo.test:90': false,
      'http://foobtest': false,
      'https://bar.test:1234': false,
    },
  },
]

/** inspect.lua's rendering of the origins list, as in Kong's titles. */
const inspect = (list: string[]) => `{ ${list.map((o) => JSON.stringify(o)).join(', ')} }`

describe(`Plugin: cors (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const route = (host: string, service?: any) => bp.routes.insert({hosts: [host], ...(service ? {service} : {})})
    const r: any[] = []
    for (let i = 1; i <= 14; i++) r[i] = await route(i === 8 ? 'cors-empty-origins.test' : `cors${i}.test`)
    const mockUpstream = await bp.services.insert()
    const routeUpstream = await route('cors-upstream.test', mockUpstream)
    // Kong's 127.0.0.2:26865 answers nothing; a port nobody listens on fails the same way (502)
    const mockService = await bp.services.insert({host: '127.0.0.1', port: await deadPort()})
    const routeTimeout = await route('cors-timeout.test', mockService)
    const cors = (rt: any, config?: Record<string, unknown>) => bp.plugins.insert({name: 'cors', route: {id: rt.id}, ...(config ? {config} : {})})
    const example = {origins: ['example.test'], methods: ['GET'], headers: ['origin', 'type', 'accepts'], exposed_headers: ['x-auth-token']}
    await cors(r[1])
    await cors(r[2], {...example, max_age: 23, credentials: true})
    await cors(r[3], {...example, max_age: 23, preflight_continue: true})
    await cors(r[4])
    await bp.plugins.insert({name: 'key-auth', route: {id: r[4].id}})
    await cors(r[5], {origins: ['*'], credentials: true})
    await cors(r[6], {...example, origins: ['example.test', 'example.org'], max_age: 23, preflight_continue: true})
    await cors(r[7], {origins: ['*'], credentials: false})
    await cors(r[8], {origins: []})
    await cors(r[9], {origins: [String.raw`.*\.?example(?:-foo)?.test`]})
    await cors(r[10], {origins: ['http://my-site.test', 'http://my-other-site.test']})
    await cors(r[11], {origins: ['http://my-site.test', 'https://my-other-site.test:9000']})
    await cors(r[12], {
      credentials: true,
      preflight_continue: false,
      max_age: 1728000,
      headers: ['DNT', 'X-CustomHeader', 'Keep-Alive', 'User-Agent', 'X-Requested-With', 'If-Modified-Since', 'Cache-Control', 'Content-Type', 'Authorization'],
      methods: null,
      origins: ['a.xxx.test', 'allowed-domain.test'],
    })
    await cors(r[13], {preflight_continue: false, private_network: true, origins: ['allowed-domain.test']})
    await cors(r[14], {preflight_continue: false, origins: ['foo.bar', '*']})
    await cors(routeTimeout, {...example, max_age: 10, preflight_continue: true})
    await cors(routeUpstream, {...example, max_age: 10, preflight_continue: true})
    for (const [i, testcase] of regexTestcases.entries()) await cors(await route(`cors-regex-${i + 1}.test`), {origins: testcase.origins})
  })
  after(() => node?.close())
  const send = (method: string, headers: Record<string, string>, path = '/') => node.proxy.send(method, path, {headers})
  const h = (res: {headers: Headers}, name: string) => res.headers.get(name) ?? undefined

  describe('HTTP method: OPTIONS', () => {
    for (const [i, testcase] of regexTestcases.entries()) {
      const host = `cors-regex-${i + 1}.test`
      for (const origin of Object.keys(testcase.tests).sort()) {
        const accept = testcase.tests[origin]
        it(`given ${origin}, ${inspect(testcase.origins)} will ${accept ? 'accept' : 'reject'}`, async () => {
          const res = await send('OPTIONS', {Host: host, Origin: origin, 'Access-Control-Request-Method': 'GET'})
          resStatus(200, res)
          if (accept) {
            assert.equal(h(res, 'Access-Control-Allow-Methods'), CORS_DEFAULT_METHODS)
            assert.equal(h(res, 'Access-Control-Allow-Origin'), accept === true ? origin : accept)
            assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
            assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
            assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
            assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
          } else {
            assert.equal(h(res, 'Access-Control-Allow-Origin'), undefined)
          }
        })
      }
    }

    it('gives appropriate defaults', async () => {
      const res = await send('OPTIONS', {Host: 'cors1.test', Origin: 'origin1.test', 'Access-Control-Request-Method': 'GET'})
      resStatus(200, res)
      assert.equal(h(res, 'Content-Length'), '0')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), CORS_DEFAULT_METHODS)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
      assert.equal(h(res, 'Vary'), undefined)
    })

    it('gives * wildcard when config.origins is empty', async () => {
      const res = await send('OPTIONS', {Host: 'cors-empty-origins.test', Origin: 'empty-origin.test', 'Access-Control-Request-Method': 'GET'})
      resStatus(200, res)
      assert.equal(h(res, 'Content-Length'), '0')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), CORS_DEFAULT_METHODS)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
      assert.equal(h(res, 'Vary'), undefined)
    })

    it('gives appropriate defaults when origin is explicitly set to * and config.credentials=true', async () => {
      const res = await send('OPTIONS', {Host: 'cors5.test', Origin: 'origin5.test', 'Access-Control-Request-Method': 'GET'})
      resStatus(200, res)
      assert.equal(h(res, 'Content-Length'), '0')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), CORS_DEFAULT_METHODS)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'origin5.test')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), 'true')
      assert.equal(h(res, 'Vary'), 'Origin')
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
    })

    it('gives * wildcard when origin has multiple entries and have * included', async () => {
      const res = await send('OPTIONS', {Host: 'cors14.test', Origin: 'http://www.example.net', 'Access-Control-Request-Method': 'GET'})
      resStatus(200, res)
      assert.equal(h(res, 'Content-Length'), '0')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), CORS_DEFAULT_METHODS)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
    })

    it('accepts config options', async () => {
      const res = await send('OPTIONS', {Host: 'cors2.test', Origin: 'origin5.test', 'Access-Control-Request-Method': 'GET'})
      resStatus(200, res)
      assert.equal(h(res, 'Content-Length'), '0')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), 'GET')
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'example.test')
      assert.equal(h(res, 'Access-Control-Max-Age'), '23')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), 'true')
      assert.equal(h(res, 'Access-Control-Allow-Headers'), 'origin,type,accepts')
      assert.equal(h(res, 'Vary'), 'Origin')
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
    })

    it('preflight_continue enabled', async () => {
      const res = await send('OPTIONS', {Host: 'cors3.test'}, '/status/201')
      const json = JSON.parse(resStatus(201, res))
      assert.equal(json.code, 201)
    })

    it('replies with request-headers if present in request', async () => {
      const res = await send('OPTIONS', {Host: 'cors5.test', Origin: 'origin5.test', 'Access-Control-Request-Headers': 'origin,accepts', 'Access-Control-Request-Method': 'GET'})
      resStatus(200, res)
      assert.equal(h(res, 'Content-Length'), '0')
      assert.equal(h(res, 'Access-Control-Allow-Headers'), 'origin,accepts')
    })

    it('properly validates flat strings', async () => {
      // Legitimate origins
      let res = await send('OPTIONS', {Host: 'cors10.test', Origin: 'http://my-site.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'http://my-site.test')
      // Illegitimate origins
      res = await send('OPTIONS', {Host: 'cors10.test', Origin: 'http://bad-guys.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), undefined)
      // Tricky illegitimate origins
      res = await send('OPTIONS', {Host: 'cors10.test', Origin: 'http://my-site.test.bad-guys.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), undefined)
    })

    it('support private-network', async () => {
      const res = await send('OPTIONS', {Host: 'cors13.test', Origin: 'allowed-domain.test', 'Access-Control-Request-Private-Network': 'true', 'Access-Control-Request-Method': 'PUT'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Private-Network'), 'true')
    })
  })

  describe('HTTP method: others', () => {
    it('gives appropriate defaults', async () => {
      const res = await send('GET', {Host: 'cors1.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
      assert.equal(h(res, 'Vary'), undefined)
    })

    it('proxies a non-preflight OPTIONS request', async () => {
      const res = await send('OPTIONS', {Host: 'cors1.test'}, '/anything')
      const json = JSON.parse(resStatus(200, res))
      assert.equal(json.vars.request_method, 'OPTIONS')
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
      assert.equal(h(res, 'Vary'), undefined)
    })

    it('accepts config options', async () => {
      const res = await send('GET', {Host: 'cors2.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'example.test')
      assert.equal(h(res, 'Access-Control-Expose-Headers'), 'x-auth-token')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), 'true')
      assert.equal(h(res, 'Vary'), 'Origin')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
    })

    it('works even when upstream timeouts', async () => {
      const res = await send('GET', {Host: 'cors-timeout.test'})
      resStatus(502, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'example.test')
      assert.equal(h(res, 'Access-Control-Expose-Headers'), 'x-auth-token')
      assert.equal(h(res, 'Vary'), 'Origin')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Methods'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
    })

    it('works even when a runtime error occurs', {skip: "Kong's test plugin error-generator-last is not bundled"}, () => {})

    it('works with 404 responses', async () => {
      const res = await send('GET', {Host: 'cors1.test'}, '/status/404')
      resStatus(404, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
      assert.equal(h(res, 'Vary'), undefined)
    })

    it('works with 40x responses returned by another plugin', async () => {
      const res = await send('GET', {Host: 'cors4.test'})
      resStatus(401, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Methods'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Expose-Headers'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Access-Control-Max-Age'), undefined)
      assert.equal(h(res, 'Vary'), undefined)
    })

    it('sets CORS orgin based on origin host', async () => {
      let res = await send('GET', {Host: 'cors6.test', Origin: 'example.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'example.test')
      assert.equal(h(res, 'Vary'), 'Origin')
      const domains: Record<string, boolean> = {
        'example.test': true,
        'www.example.test': true,
        'example-foo.test': true,
        'www.example-foo.test': true,
        'www.example-fo0.test': false,
      }
      for (const domain of Object.keys(domains)) {
        res = await send('GET', {Host: 'cors9.test', Origin: domain})
        resStatus(200, res)
        assert.equal(h(res, 'Access-Control-Allow-Origin'), domains[domain] ? domain : undefined)
        assert.equal(h(res, 'Vary'), 'Origin')
      }
    })

    it("sets Vary and don't override existing Vary header", async () => {
      const res = await send('GET', {Host: 'cors-upstream.test', Origin: 'example.test'}, '/response-headers?vary=Accept-Encoding')
      resStatus(200, res)
      // Kong's client reads the two Vary headers as a list; node's joins them with ", "
      assert.equal(h(res, 'Vary'), 'Accept-Encoding, Origin')
    })

    it('does not automatically parse the host', async () => {
      let res = await send('GET', {Host: 'cors6.test', Origin: 'http://example.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), undefined)
      // With a different transport too
      res = await send('GET', {Host: 'cors6.test', Origin: 'https://example.test'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), undefined)
    })

    it('validates scheme and port', async () => {
      const cases: [string, string | undefined][] = [
        ['http://my-site.test', 'http://my-site.test'],
        ['http://my-site.test:80', 'http://my-site.test'],
        ['http://my-site.test:8000', undefined],
        ['https://my-site.test', undefined],
        ['https://my-other-site.test:9000', 'https://my-other-site.test:9000'],
        ['https://my-other-site.test:9001', undefined],
      ]
      for (const [origin, acao] of cases) {
        const res = await send('GET', {Host: 'cors11.test', Origin: origin})
        resStatus(200, res)
        assert.equal(h(res, 'Access-Control-Allow-Origin'), acao, origin)
      }
    })

    it('does not sets CORS origin if origin host is not in origin_domains list', async () => {
      const res = await send('GET', {Host: 'cors6.test', Origin: 'http://www.example.net'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), undefined)
    })

    it('responds with the requested Origin when config.credentials=true', async () => {
      const res = await send('GET', {Host: 'cors5.test', Origin: 'http://www.example.net'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'http://www.example.net')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), 'true')
      assert.equal(h(res, 'Vary'), 'Origin')
    })

    it('responds with the requested Origin (including port) when config.credentials=true', async () => {
      const res = await send('GET', {Host: 'cors5.test', Origin: 'http://www.example.net:3000'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'http://www.example.net:3000')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), 'true')
      assert.equal(h(res, 'Vary'), 'Origin')
    })

    it('responds with * when origin is explicitly set to * and config.credentials=false', async () => {
      const res = await send('GET', {Host: 'cors7.test', Origin: 'http://www.example.net'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), undefined)
      assert.equal(h(res, 'Vary'), undefined)
    })

    it('responds with * when origin has multiple entries and have * included', async () => {
      const res = await send('GET', {Host: 'cors14.test', Origin: 'http://www.example.net'})
      resStatus(200, res)
      assert.equal(h(res, 'Access-Control-Allow-Origin'), '*')
    })

    it('removes upstream ACAO header when no match is found', async () => {
      const q = new URLSearchParams({'Response-Header': 'is-added', 'Access-Control-Allow-Origin': '*'}).toString()
      let res = await send('GET', {Host: 'cors12.test', Origin: 'allowed-domain.test'}, `/response-headers?${q}`)
      let json = JSON.parse(resStatus(200, res))
      assert.equal(h(res, 'Response-Header'), 'is-added')
      assert.equal(h(res, 'Access-Control-Allow-Origin'), 'allowed-domain.test')
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), 'true')
      assert.equal(h(res, 'Vary'), 'Origin')
      assert.equal(json.headers.origin, 'allowed-domain.test')

      res = await send('GET', {Host: 'cors12.test', Origin: 'disallowed-domain.test'}, `/response-headers?${q}`)
      json = JSON.parse(resStatus(200, res))
      assert.equal(h(res, 'Response-Header'), 'is-added')
      assert.equal(h(res, 'Access-Control-Allow-Origin'), undefined)
      assert.equal(h(res, 'Access-Control-Allow-Credentials'), 'true')
      assert.equal(json.headers.origin, 'disallowed-domain.test')
    })
  })
})
