/**
 * Kong's spec/03-plugins/26-prometheus/07-optional_fields_spec.lua (3.9), ported: the
 * same describe/it titles and assertions, against a real node process (`database =
 * postgres`, `status_listen`), a new node and database for each case as in Kong's
 * `before_each`. Kong's "normal metrics" include `kong_memory_lua_shared_dict_bytes`, an
 * nginx shared dict figure a Node.js node does not have (as `/status` memory): that one
 * line is not asserted, the connection gauges are.
 */
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import type {KongClient, KongResponse} from '../admin-api/kong-client.js'
import {resStatus} from './kong-proxy.js'
import {startStatusNode, type StatusNode} from './status-node.js'

const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
const created = async (res: Promise<KongResponse>) => JSON.parse(resStatus(201, await res))

const getMetrics = async (client: KongClient) => resStatus(200, await client.get('/metrics'))

function assertNormalMetrics(body: string): void {
  // normal fields (Kong's kong_memory_lua_shared_dict_bytes: no shared dicts here, see above)
  const states = ['accepted', 'active', 'handled', 'reading', 'total', 'waiting', 'writing']
  for (const v of states) assert.match(body, new RegExp(`kong_nginx_connections_total\\{node_id="${UUID_PATTERN}",subsystem="http",state="${v}"\\} \\d+`))
}

const highCostMetrics = ['kong_http_requests_total', 'kong_kong_latency_ms', 'kong_upstream_latency_ms', 'kong_request_latency_ms', 'kong_bandwidth_bytes']

describe('Plugin: prometheus, on-demond export metrics #postgres', () => {
  let node: StatusNode
  let prometheusId: string

  // restart the kong every time or the test would be flaky
  beforeEach(async () => {
    node = await startStatusNode(async (admin, up) => {
      const upstream = await created(admin.post('/upstreams', {body: {name: 'mock_upstream', algorithm: 'least-connections'}}))
      await created(admin.post(`/upstreams/${upstream.id}/targets`, {body: {target: `127.0.0.1:${up.port}`, weight: 100}}))
      const service = await created(admin.post('/services', {body: {host: 'mock_upstream'}}))
      await created(admin.post('/routes', {body: {hosts: ['mock'], protocols: ['http'], service: {id: service.id}, paths: ['/']}}))
      prometheusId = (await created(admin.post('/plugins', {body: {name: 'prometheus', config: {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true}}}))).id
    })
    await until('the proxy serves Host: mock', async () => (await node.proxy.get('/', {headers: {Host: 'mock'}})).status === 200)
  })
  afterEach(() => node?.close())

  for (const method of ['disabling', 'removing']) {
    it(`less metrics when ${method} prometheus`, async () => {
      // export normal metrics
      let body = await getMetrics(node.status)
      assertNormalMetrics(body)
      for (const v of highCostMetrics) assert.ok(body.includes(v), v)

      // disable or remove
      if (method === 'disabling') resStatus(200, await node.admin.patch(`/plugins/${prometheusId}`, {body: {enabled: false}, headers: {'Content-Type': 'application/json'}}))
      else resStatus(204, await node.admin.delete(`/plugins/${prometheusId}`))

      await until('the high-cost metrics are gone', async () => {
        body = await getMetrics(node.status)
        assertNormalMetrics(body)
        return highCostMetrics.every((v) => !body.includes(v))
      }, {timeoutMs: 5_000})
    })
  }
})
