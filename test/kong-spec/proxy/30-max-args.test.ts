/**
 * Kong's spec/02-integration/05-proxy/30-max-args_spec.lua (3.9), ported: the same
 * describe/it titles, against a real node (Admin API over Postgres, its proxy, Kong's mock
 * upstream) with `headers = off` and `headers_upstream = off` as in Kong. kctl has no
 * `lua_max_req_headers`/`lua_max_uri_args`/`lua_max_post_args`/`lua_max_resp_headers`
 * (nothing is truncated for a plugin) nor Kong's test plugin `max-args`: those cases are
 * skipped. The proxying cases run whole: every header, argument and form field reaches the
 * upstream, past Kong's limit too (Kong proxies them untruncated and only logs it; kctl
 * logs nothing, so the log-file assertions have no counterpart).
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {headerPolicy} from '../../../src/runtime/proxy/kong-headers.js'
import {startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {proxyWith, type ExtraProxy} from './proxy-node.js'

const strategy = 'postgres'
const NO_MAX_ARGS = "Kong's test plugin max-args and the lua_max_* settings are not kctl's: nothing is truncated for plugins"

function getParameters(n: number, host: string) {
  const query: Record<string, string> = {}
  for (let i = 1; i <= n; i++) query[`a${i}`] = `v${i}`
  const body = new URLSearchParams(query).toString()
  const headers: Record<string, string> = {...query}
  for (const k of ['a1', 'a2', 'a3', 'a4']) delete headers[k]
  headers['content-length'] = String(body.length)
  headers['content-type'] = 'application/x-www-form-urlencoded'
  headers['user-agent'] = 'kong'
  headers.host = host
  return {query, headers, body}
}

function validateProxy(params: ReturnType<typeof getParameters>, body: any): void {
  assert.deepEqual(body.uri_args, params.query)
  const requestHeaders = body.headers
  for (const k of ['connection', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-path', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-proto', 'x-real-ip', 'via']) delete requestHeaders[k]
  assert.deepEqual(requestHeaders, params.headers)
  assert.deepEqual(body.uri_args, params.query)
  assert.deepEqual(body.post_data.params, params.query)
}

describe(`max args [#${strategy}]`, () => {
  let node: PluginSpecNode
  let p: ExtraProxy
  let host: string
  before(async () => {
    node = await startPluginSpecNode()
    host = `127.0.0.1:${node.upstream.port}` // helpers.mock_upstream_host .. ":" .. helpers.mock_upstream_port
    const service = await node.bp.services.insert({url: `http://${host}`})
    await node.bp.routes.insert({service: {id: service.id}, paths: ['/proxy']})
    p = await proxyWith(node, {headers: headerPolicy(['off'], ['off'])})
  })
  after(async () => {
    await p?.close()
    await node?.close()
  })

  for (const n of [50, 100, 200]) {
    describe(`max args [#${strategy}] (${n} parameters)`, () => {
      it(`no truncation when using ${n} parameters`, {skip: NO_MAX_ARGS}, () => {})
      it(`truncation when using ${n + 1} parameters`, {skip: NO_MAX_ARGS}, () => {})

      for (const count of [n, n + 1]) {
        it(`no truncation when using ${count} parameters when proxying`, async () => {
          const params = getParameters(count, host)
          const query = new URLSearchParams(params.query).toString()
          const res = await p.proxy.post(`/proxy?${query}`, {headers: params.headers, raw: params.body})
          assert.equal(res.status, 200, res.text)
          validateProxy(params, res.json)
        })
      }
    })
  }
})
