/**
 * Kong's spec/03-plugins/26-prometheus/05-metrics_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node process (`database = postgres`)
 * whose status listener is TLS (`status_listen = 127.0.0.1:<port> ssl`, its self-signed
 * certificate), reached directly and through the proxy's TLS listener (a service whose url
 * is `https://127.0.0.1:<status port>/metrics`), with Kong's TLS mock upstream. Kong's DNS
 * mock for `mock.example.com`/`status.example.com` is not needed: the names are only Host
 * headers here.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import type {KongResponse} from '../admin-api/kong-client.js'
import {resStatus} from './kong-proxy.js'
import {startStatusNode, type StatusNode} from './status-node.js'

const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
const created = async (res: Promise<KongResponse>) => JSON.parse(resStatus(201, await res))

describe('Plugin: prometheus (metrics) [#postgres]', () => {
  let node: StatusNode

  before(async () => {
    node = await startStatusNode(async (admin, _up, {statusPort, sslUpstream}) => {
      const mockSslService = await created(admin.post('/services', {body: {name: 'mock-ssl-service', host: '127.0.0.1', port: sslUpstream.port, protocol: 'https'}}))
      await created(admin.post('/routes', {body: {name: 'mock-ssl-route', protocols: ['https'], hosts: ['mock.example.com'], paths: ['/'], service: {id: mockSslService.id}}}))
      const statusApiSslService = await created(admin.post('/services', {body: {name: 'status-api-ssl-service', url: `https://127.0.0.1:${statusPort}/metrics`}}))
      await created(admin.post('/routes', {body: {name: 'status-api-ssl-route', protocols: ['https'], hosts: ['status.example.com'], paths: ['/metrics'], service: {id: statusApiSslService.id}}}))
      const route1 = await created(admin.post('/routes', {body: {name: 'serverless', protocols: ['https'], hosts: ['status.example.com'], paths: ['/serverless']}}))
      await created(admin.post('/plugins', {body: {name: 'request-termination', route: {id: route1.id}, config: {status_code: 200, message: 'request terminated by request-termination plugin', echo: true}}}))
      await created(admin.post('/plugins', {body: {name: 'prometheus', config: {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true}}}))
    }, {ssl: true})
    // the proxy serves the routes once the writes are built in
    await until('the proxy serves mock-ssl-route', async () => (await node.proxySsl.get('/status/200', {headers: {Host: 'mock.example.com'}})).status === 200)
  })
  after(() => node?.close())

  const adminMetrics = async () => resStatus(200, await node.admin.get('/metrics'))

  it('expose Nginx connection metrics by admin API #a1.1', async () => {
    const body = await adminMetrics()
    assert.ok(body.includes('kong_nginx_metric_errors_total 0'))
    assert.match(body, new RegExp(`kong_nginx_connections_total\\{node_id="${UUID_PATTERN}",subsystem="http",state="\\w+"\\} \\d+`))
  })

  it('increments the count of proxied requests #p1.1', async () => {
    resStatus(400, await node.proxySsl.get('/status/400', {headers: {Host: 'mock.example.com'}}))
    await until('the 400 is counted', async () => {
      const body = await adminMetrics()
      assert.ok(body.includes('kong_nginx_metric_errors_total 0'))
      return body.includes('http_requests_total{service="mock-ssl-service",route="mock-ssl-route",code="400",source="service",workspace="default",consumer=""} 1')
    })
  })

  it('expose Nginx connection metrics by status API #s1.1', async () => {
    const body = resStatus(200, await node.proxySsl.get('/metrics', {headers: {Host: 'status.example.com'}}))
    assert.ok(body.includes('kong_nginx_metric_errors_total 0'))
    assert.match(body, new RegExp(`kong_nginx_connections_total\\{node_id="${UUID_PATTERN}",subsystem="http",state="\\w+"\\} \\d+`))
  })

  it('expose metrics in no service route', async () => {
    resStatus(200, await node.proxySsl.get('/serverless', {headers: {Host: 'status.example.com'}}))
    resStatus(200, await node.proxySsl.get('/metrics', {headers: {Host: 'status.example.com'}}))
    await until('the serverless 200 is counted', async () => {
      const body = await adminMetrics()
      assert.ok(body.includes('kong_nginx_metric_errors_total 0'))
      return body.includes('kong_http_requests_total{service="",route="serverless",code="200",source="kong",workspace="default",consumer=""} 1')
    })
  })
})
