/**
 * Kong's spec/02-integration/05-proxy/14-server_tokens_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream), strategy `postgres`. Each `start { headers = … }` of Kong's
 * is a proxy with that `headers` setting serving the same configuration, and for the Admin
 * API block an Admin API with that setting over the same database (proxy-node.ts).
 * Kong's test plugin `error-generator` is not bundled: its cases are skipped.
 */
import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test as it} from 'node:test'
import {loadConf} from '../../../src/runtime/conf/load.js'
import {GATEWAY_VERSION} from '../../../src/runtime/kit/version.js'
import {headerPolicy} from '../../../src/runtime/proxy/kong-headers.js'
import {deadPort} from '../../proxy/helpers.js'
import type {KongClient, KongResponse} from '../admin-api/kong-client.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {adminWith, proxyWith, type ExtraAdmin, type ExtraProxy} from './proxy-node.js'

const strategy = 'postgres'
const DEFAULT_SERVER_HEADER = `kong/${GATEWAY_VERSION}` // meta._SERVER_TOKENS
const DEFAULT_VIA_VALUE = `1.1 ${DEFAULT_SERVER_HEADER}`
const NO_ERROR_GENERATOR = "Kong's test plugin error-generator is not bundled"
const UPSTREAM_LATENCY = 'X-Kong-Upstream-Latency'
const PROXY_LATENCY = 'X-Kong-Proxy-Latency'
const RESPONSE_LATENCY = 'X-Kong-Response-Latency'

const h = (res: KongResponse, name: string): string | undefined => res.headers.get(name) ?? undefined

describe(`headers [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    // Server/Via
    await bp.routes.insert({hosts: ['headers-inspect.test']})
    const route = await bp.routes.insert({hosts: ['short-circuit.test']})
    await bp.plugins.insert({route: {id: route.id}, name: 'request-termination', config: {status_code: 200, message: 'Terminated'}})
    await bp.plugins.insert({route: {id: route.id}, name: 'response-transformer', config: {add: {headers: [`Via:${DEFAULT_SERVER_HEADER}`, 'Server:Demo']}}})
    // X-Kong-Proxy-Latency/X-Kong-Upstream-Latency
    const service = await bp.services.insert({protocol: 'http', host: '127.0.0.1', port: await deadPort()}) // Kong: port 1, a wrong port
    await bp.routes.insert({service: {id: service.id}, hosts: ['502.test']})
    const termination = await bp.routes.insert({service: {id: service.id}, hosts: ['request-termination.test']})
    await bp.plugins.insert({name: 'request-termination', route: {id: termination.id}})
  })
  after(() => node?.close())

  /** Kong's `start { headers = … }`: a proxy with that setting (Kong's defaults when undefined). */
  const start = (headers?: string) => {
    const state = {} as {p: ExtraProxy; client: KongClient}
    before(async () => {
      const tokens = headers === undefined ? ['server_tokens', 'latency_tokens', 'X-Kong-Request-Id'] : headers.split(',').map((t) => t.trim())
      state.p = await proxyWith(node, {headers: headerPolicy(tokens, ['X-Kong-Request-Id'])})
      state.client = state.p.proxy
    })
    after(() => state.p?.close())
    return (host: string, path = '/get') => state.client.get(path, {headers: {host}})
  }

  describe('Server/Via', () => {
    describe('(with default configuration values)', () => {
      const get = start()

      it("should return Kong 'Via' header but not change the 'Server' header when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), DEFAULT_VIA_VALUE)
      })

      it("should return Kong 'Server' header but not the Kong 'Via' header when no API matched (no proxy)", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), undefined)
      })

      it("should not return Kong 'Server' header when short-circuited with a matching Kong 'Via' #new", async () => {
        const res = await get('short-circuit.test')
        resStatus(200, res)
        assert.equal(h(res, 'Via'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'Server'), 'Demo')
      })
    })

    describe('(with headers = Via)', () => {
      const get = start('Via')

      it("should return Kong 'Via' header but not touch 'Server' header when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.equal(h(res, 'via'), DEFAULT_VIA_VALUE)
        assert.notEqual(h(res, 'server'), DEFAULT_VIA_VALUE)
      })

      it("should not return Kong 'Via' header or Kong 'Via' header when no API matched (no proxy)", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'via'), undefined)
        assert.equal(h(res, 'server'), undefined)
      })
    })

    describe('(with headers = Server)', () => {
      const get = start('Server')

      it("should not return Kong 'Via' header but not change the 'Server' header when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), undefined)
      })

      it("should return Kong 'Server' header but not the Kong 'Via' header when no API matched (no proxy)", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), undefined)
      })
    })

    describe('(with headers = server_tokens)', () => {
      const get = start('server_tokens')

      it("should return Kong 'Via' header but not change the 'Server' header when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), DEFAULT_VIA_VALUE)
      })

      it("should return Kong 'Server' header but not the Kong 'Via' header when no API matched (no proxy)", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), undefined)
      })
    })

    describe('(with no server_tokens in headers)', () => {
      const get = start('off')

      it("should not return Kong 'Via' header but it should forward the 'Server' header when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.ok(res.headers.has('server'))
        assert.ok(!res.headers.has('via'))
        assert.notEqual(h(res, 'server'), DEFAULT_SERVER_HEADER)
      })

      it("should not return Kong 'Server' or 'Via' headers when no API matched (no proxy)", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'server'), undefined)
        assert.equal(h(res, 'via'), undefined)
      })
    })
  })

  describe('X-Kong-Proxy-Latency/X-Kong-Upstream-Latency', () => {
    describe('(with default configuration values)', () => {
      const get = start()

      it('should be returned when request was proxied', async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, UPSTREAM_LATENCY), undefined)
        assert.notEqual(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should not be returned when no API matched (no proxy)', async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.notEqual(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should not be returned when request is short-circuited', async () => {
        const res = await get('request-termination.test')
        resStatus(503, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.notEqual(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should be returned when response status code is included in error_page directive (error_page not executing)', async () => {
        for (const code of [400, 404, 408, 411, 412, 413, 414, 417, 494, 500, 502, 503, 504]) {
          const res = await get('headers-inspect.test', `/status/${code}`)
          resStatus(code, res)
          assert.notEqual(h(res, UPSTREAM_LATENCY), undefined, `${code}`)
          assert.notEqual(h(res, PROXY_LATENCY), undefined, `${code}`)
          assert.equal(h(res, RESPONSE_LATENCY), undefined, `${code}`)
        }
      })

      it('should be returned with 502 errors (error_page executing)', async () => {
        const res = await get('502.test')
        resStatus(502, res)
        assert.notEqual(h(res, UPSTREAM_LATENCY), undefined)
        assert.notEqual(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should not be returned when plugin errors on rewrite phase', {skip: NO_ERROR_GENERATOR}, () => {})
      it('should not be returned when plugin errors on access phase', {skip: NO_ERROR_GENERATOR}, () => {})
      it('should be returned even when plugin errors on header filter phase', {todo: "pending in Kong's own file (and on Kong's error-generator test plugin)"}, () => {})
    })

    describe('(with headers = latency_tokens)', () => {
      const get = start('latency_tokens')

      it('should be returned when request was proxied', async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, UPSTREAM_LATENCY), undefined)
        assert.notEqual(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should not be returned when no API matched (no proxy)', async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.notEqual(h(res, RESPONSE_LATENCY), undefined)
      })
    })

    describe('(with headers = X-Kong-Upstream-Latency)', () => {
      const get = start('X-Kong-Upstream-Latency')

      it("should return 'X-Kong-Upstream-Latency' header but not 'X-Kong-Proxy-Latency' when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should not return any latency header when no API matched (no proxy)', async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })
    })

    describe('(with headers = X-Kong-Proxy-Latency)', () => {
      const get = start('X-Kong-Proxy-Latency')

      it("should return 'X-Kong-Proxy-Latency' header but not 'X-Kong-Upstream-Latency' when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.notEqual(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should not return any latency header when no API matched (no proxy)', async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })
    })

    describe('(with headers = X-Kong-Response-Latency)', () => {
      const get = start('X-Kong-Response-Latency')

      it("should not return 'X-Kong-Proxy-Latency', 'X-Kong-Upstream-Latency' or 'X-Kong-Response-Latency' headers when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it("should return 'X-Kong-Response-Latency' when no API matched (no proxy)", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.notEqual(h(res, RESPONSE_LATENCY), undefined)
      })
    })

    describe('(with no latency_tokens in headers)', () => {
      const get = start('off')

      it('should not be returned when request was proxied', async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it('should not be returned when no API matched (no proxy)', async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, UPSTREAM_LATENCY), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })
    })

    describe("(with headers='server_tokens, X-Kong-Proxy-Latency')", () => {
      const get = start('server_tokens, X-Kong-Proxy-Latency')

      it("should return Kong 'Via' and 'X-Kong-Proxy-Latency' header but not change the 'Server' header when request was proxied", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), DEFAULT_VIA_VALUE)
        assert.notEqual(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it("should return Kong 'Server' header but not the Kong 'Via' or 'X-Kong-Proxy-Latency' header when no API matched (no proxy)", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it('can be specified via configuration file', async () => {
        // Kong restarts with spec/fixtures/headers.conf and reads `configuration.headers` from
        // GET /; here the same conf file goes through the node's conf loader
        const dir = await mkdtemp(join(tmpdir(), 'kctl-headers-conf-'))
        try {
          await writeFile(join(dir, 'kong.conf'), 'headers = server_tokens, X-Kong-Proxy-Latency\n')
          const conf = loadConf({file: join(dir, 'kong.conf'), env: {}})
          assert.equal(conf.headers[0], 'server_tokens')
          assert.equal(conf.headers[1], 'X-Kong-Proxy-Latency')
        } finally {
          await rm(dir, {recursive: true, force: true})
        }
      })
    })

    describe("(with headers='server_tokens, off, X-Kong-Proxy-Latency')", () => {
      const get = start('server_tokens, off, X-Kong-Proxy-Latency')

      it("should return Kong 'Via' and 'X-Kong-Proxy-Latency' header as 'off' will not take effect", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), DEFAULT_VIA_VALUE)
        assert.notEqual(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it("should return Kong 'Server' header as 'off' will not take effect", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })
    })
  })

  describe('case insensitiveness', () => {
    describe('are case insensitive', () => {
      const get = start('serVer_TokEns, x-kOng-pRoXy-lAtency')

      it("should return Kong 'Via' and 'X-Kong-Proxy-Latency' header", async () => {
        const res = await get('headers-inspect.test')
        resStatus(200, res)
        assert.notEqual(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), DEFAULT_VIA_VALUE)
        assert.notEqual(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })

      it("should return Kong 'Server' header", async () => {
        const res = await get('404.test')
        resStatus(404, res)
        assert.equal(h(res, 'server'), DEFAULT_SERVER_HEADER)
        assert.equal(h(res, 'via'), undefined)
        assert.equal(h(res, PROXY_LATENCY), undefined)
        assert.equal(h(res, RESPONSE_LATENCY), undefined)
      })
    })
  })

  describe('Admin API', () => {
    /** Kong's `start { headers = … }` for the Admin API: one over the node's database with that setting. */
    const startAdmin = (headers: string) => {
      const state = {} as {a: ExtraAdmin}
      before(async () => {
        state.a = await adminWith(node, {headers: headerPolicy(headers.split(',').map((t) => t.trim()), ['X-Kong-Request-Id'])})
      })
      after(() => state.a?.close())
      return () => state.a.admin.get('/')
    }

    describe('Server', () => {
      describe('(with default configuration values)', () => {
        it('should be returned when admin api is requested', async () => {
          const res = await node.admin.get('/')
          resStatus(200, res)
          assert.notEqual(h(res, 'Server'), undefined)
        })
      })
      describe('(with headers = server_tokens)', () => {
        const adminGet = startAdmin('server_tokens')
        it('should be returned when admin api is requested', async () => {
          const res = await adminGet()
          resStatus(200, res)
          assert.notEqual(h(res, 'Server'), undefined)
        })
      })
      describe('(with headers = Server)', () => {
        const adminGet = startAdmin('Server')
        it('should be returned when admin api is requested', async () => {
          const res = await adminGet()
          resStatus(200, res)
          assert.notEqual(h(res, 'Server'), undefined)
        })
      })
      describe('(with headers = off)', () => {
        const adminGet = startAdmin('off')
        it('should not be returned when admin api is requested', async () => {
          const res = await adminGet()
          resStatus(200, res)
          assert.equal(h(res, 'Server'), undefined)
        })
      })
    })

    describe('X-Kong-Admin-Latency', () => {
      describe('(with default configuration values)', () => {
        it('should be returned when admin api is requested', async () => {
          const res = await node.admin.get('/')
          resStatus(200, res)
          assert.notEqual(h(res, 'X-Kong-Admin-Latency'), undefined)
        })
      })
      describe('(with headers = latency_tokens)', () => {
        const adminGet = startAdmin('latency_tokens')
        it('should be returned when admin api is requested', async () => {
          const res = await adminGet()
          resStatus(200, res)
          assert.notEqual(h(res, 'X-Kong-Admin-Latency'), undefined)
        })
      })
      describe('(with headers = X-Kong-Admin-Latency)', () => {
        // Kong's file starts this one with `latency_tokens`; the setting of the title is the one tested here
        const adminGet = startAdmin('X-Kong-Admin-Latency')
        it('should be returned when admin api is requested', async () => {
          const res = await adminGet()
          resStatus(200, res)
          assert.notEqual(h(res, 'X-Kong-Admin-Latency'), undefined)
          assert.equal(h(res, 'Server'), undefined)
        })
      })
      describe('(with headers = off)', () => {
        const adminGet = startAdmin('off')
        it('should not be returned when admin api is requested', async () => {
          const res = await adminGet()
          resStatus(200, res)
          assert.equal(h(res, 'X-Kong-Admin-Latency'), undefined)
        })
      })
    })
  })
})
