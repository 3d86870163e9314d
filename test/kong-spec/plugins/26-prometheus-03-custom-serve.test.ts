/**
 * Kong's spec/03-plugins/26-prometheus/03-custom-serve_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node process (`database = postgres`).
 * Kong serves `/metrics` on a port of the user's own nginx server block
 * (`nginx_http_include` of `spec/fixtures/prometheus/metrics.conf`, port 9542); kctl has no
 * nginx templates, and its listener for exactly that is the status listener
 * (`status_listen`, `/metrics` and 404 `{"message":"Not found"}` for unknown paths), so the
 * "different port" here is the status listener's.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import type {KongResponse} from '../admin-api/kong-client.js'
import {resStatus} from './kong-proxy.js'
import {startStatusNode, type StatusNode} from './status-node.js'

const created = async (res: Promise<KongResponse>) => JSON.parse(resStatus(201, await res))

describe('Plugin: prometheus (custom server)', () => {
  describe('with custom nginx server block', () => {
    let node: StatusNode
    before(async () => {
      node = await startStatusNode(async (admin, up) => {
        const service = await created(admin.post('/services', {body: {name: 'mock-service', host: '127.0.0.1', port: up.port, protocol: 'http'}}))
        await created(admin.post('/routes', {body: {protocols: ['http'], name: 'http-route', paths: ['/'], service: {id: service.id}}}))
        await created(admin.post('/plugins', {body: {name: 'prometheus', config: {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true}}}))
      })
    })
    after(() => node?.close())

    it('metrics can be read from a different port', async () => {
      resStatus(200, await node.proxy.get('/status/200', {headers: {host: '127.0.0.1'}}))
      const body = await until('the 200 is counted', async () => {
        const b = resStatus(200, await node.status.get('/metrics'))
        return b.includes('http_requests_total{service="mock-service",route="http-route"') ? b : undefined
      })
      assert.ok(body.includes('http_requests_total{service="mock-service",route="http-route",code="200",source="service",workspace="default",consumer=""} 1'), body)
    })

    it('custom port returns 404 for anything other than /metrics', async () => {
      const body = resStatus(404, await node.status.get('/does-not-exists'))
      assert.ok(body.includes('{"message":"Not found"}'), body)
    })
  })
})
