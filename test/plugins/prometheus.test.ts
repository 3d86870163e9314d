/** prometheus: Kong's metric names through a real proxy, and /metrics on the status API. */
import assert from 'node:assert/strict'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {describe, test} from 'node:test'
import {luaNumber, renderMetrics} from '../../src/runtime/plugins/prometheus/exporter.js'
import {recordedMetrics} from '../../src/runtime/plugins/prometheus/handler.js'
import {createStatusApi} from '../../src/runtime/listeners/status-api.js'
import {route, service, target, upstream} from '../router/fixtures.js'
import {get, startProxy, startUpstream} from '../proxy/helpers.js'
import {consumer, keyCred, plugin} from './fixtures.js'

describe('plugins: prometheus', () => {
  test('requests, latencies, bandwidth and target health with Kong names; served at /metrics', async (t) => {
    const up = await startUpstream(t, 'a')
    const u = upstream({name: 'backend'})
    const tg = target({upstream: {id: u.id}, target: `127.0.0.1:${up.port}`})
    const s: any = {...service({host: 'backend', port: up.port}), name: 'svc'}
    const r = {...route({paths: ['/'], service: {id: s.id}}), name: 'rt'}
    const all = {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true}
    const {proxy, port} = await startProxy(t, {services: [s], routes: [r], upstreams: [u], targets: [tg], plugins: [plugin('prometheus', all)]} as any)
    for (let i = 0; i < 2; i++) assert.equal((await get(port, '/')).status, 200)
    const text = renderMetrics(recordedMetrics(proxy.pluginStates), proxy.current(), (u, tg) => proxy.health.health(u, tg))
    assert.match(text, /^kong_http_requests_total\{service="svc",route="rt",code="200",source="service",workspace="default",consumer=""\} 2$/m)
    assert.match(text, /^# TYPE kong_request_latency_ms histogram$/m)
    assert.match(text, /^kong_request_latency_ms_count\{service="svc",route="rt",workspace="default"\} 2$/m)
    assert.match(text, /^kong_upstream_latency_ms_bucket\{service="svc",route="rt",workspace="default",le="\+Inf"\} 2$/m)
    // Kong 3.9's bounds, printed as plain numbers: its own set for kong_latency_ms, another for the rest
    assert.match(text, /^kong_kong_latency_ms_bucket\{service="svc",route="rt",workspace="default",le="6000"\} 2$/m)
    assert.match(text, /^kong_request_latency_ms_bucket\{service="svc",route="rt",workspace="default",le="25"\} \d+$/m)
    assert.match(text, /^kong_request_latency_ms_bucket\{service="svc",route="rt",workspace="default",le="60000"\} 2$/m)
    assert.match(text, /^kong_kong_latency_ms_sum\{service="svc",route="rt",workspace="default"\} \d+$/m)
    // Bytes as Kong counts them (bytes_sent, request_length): headers included, so two
    // small responses and requests are well over a couple of hundred bytes.
    const egress = Number(/^kong_bandwidth_bytes\{service="svc",route="rt",direction="egress",workspace="default",consumer=""\} (\d+)$/m.exec(text)?.[1])
    const ingress = Number(/^kong_bandwidth_bytes\{service="svc",route="rt",direction="ingress",workspace="default",consumer=""\} (\d+)$/m.exec(text)?.[1])
    assert.ok(egress > 200, `egress ${egress}`)
    assert.ok(ingress > 60, `ingress ${ingress}`)
    assert.match(text, new RegExp(`^kong_upstream_target_health\\{upstream="backend",target="127.0.0.1:${up.port}",address="127.0.0.1:${up.port}",state="healthchecks_off",subsystem="http"\\} 1$`, 'm'))

    const server = createServer(createStatusApi({status: async () => ({}), ready: async () => null, metrics: () => renderMetrics(recordedMetrics(proxy.pluginStates), proxy.current(), (u, tg) => proxy.health.health(u, tg), {controlPlaneConnected: true, clusterCertExpiry: 1700000000})}))
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
    t.after(() => new Promise((res) => server.close(res)))
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/)
    const body = await res.text()
    assert.match(body, /^kong_control_plane_connected 1$/m)
    assert.match(body, /^kong_data_plane_cluster_cert_expiry_timestamp 1700000000$/m)
  })

  test('families are opt-in, as Kong 3.x', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const r = route({paths: ['/'], service: {id: s.id}})
    const {proxy, port} = await startProxy(t, {services: [s], routes: [r], plugins: [plugin('prometheus')]} as any)
    await get(port, '/')
    assert.doesNotMatch(renderMetrics(recordedMetrics(proxy.pluginStates), proxy.current(), (u, tg) => proxy.health.health(u, tg)), /kong_http_requests_total|kong_request_latency_ms/)
  })

  test("a control plane's data plane gauges, as Kong's exporter: the config hash as Lua prints its number", () => {
    // the expected numbers are C's printf("%.14g") of the hash read as one hexadecimal number
    assert.equal(luaNumber(Number(BigInt('0xd41d8cd98f00b204e9800998ecf8427e'))), '2.8194976848941e+38')
    assert.equal(luaNumber(Number(BigInt('0x7f8e2b3c4d5e6f708192a3b4c5d6e7f8'))), '1.6955013853984e+38')
    assert.equal(luaNumber(0), '0')
    assert.equal(luaNumber(43981), '43981')
    assert.equal(luaNumber(0.00001234), '1.234e-05')
    const dp = {id: '6f1c1bd1-7a1c-4d6b-9a55-6d5b8d0c6a11', hostname: 'dp-1', ip: '127.0.0.1', last_seen: 1700000000, version: '3.9.1'}
    const text = renderMetrics(undefined, {plugins: [], upstreams: []}, () => undefined, {
      dataPlanes: [
        {...dp, config_hash: 'd41d8cd98f00b204e9800998ecf8427e', sync_status: 'normal'},
        {...dp, id: '0b6f0c4e-2b4e-4f4a-8f39-0c7b7f3c2a22', config_hash: '00000000000000000000000000000000', sync_status: 'plugin_set_incompatible'},
      ],
    })
    assert.match(text, /^kong_data_plane_last_seen\{node_id="6f1c1bd1-7a1c-4d6b-9a55-6d5b8d0c6a11",hostname="dp-1",ip="127.0.0.1"\} 1700000000$/m)
    assert.match(text, /^kong_data_plane_config_hash\{node_id="6f1c1bd1-7a1c-4d6b-9a55-6d5b8d0c6a11",hostname="dp-1",ip="127.0.0.1"\} 2.8194976848941e\+38$/m)
    assert.match(text, /^kong_data_plane_config_hash\{node_id="0b6f0c4e-2b4e-4f4a-8f39-0c7b7f3c2a22",hostname="dp-1",ip="127.0.0.1"\} 0$/m)
    assert.match(text, /^kong_data_plane_version_compatible\{node_id="6f1c1bd1-7a1c-4d6b-9a55-6d5b8d0c6a11",hostname="dp-1",ip="127.0.0.1",kong_version="3.9.1"\} 1$/m)
    assert.match(text, /^kong_data_plane_version_compatible\{node_id="0b6f0c4e-2b4e-4f4a-8f39-0c7b7f3c2a22",hostname="dp-1",ip="127.0.0.1",kong_version="3.9.1"\} 0$/m)
    assert.match(text, /^# TYPE kong_data_plane_last_seen gauge$/m)
  })

  test("per_consumer: the consumer's username, empty for one without (Kong's label)", async (t) => {
    const up = await startUpstream(t, 'a')
    const s: any = {...service({url: `http://127.0.0.1:${up.port}`}), name: 'svc'}
    const r = {...route({paths: ['/'], service: {id: s.id}}), name: 'rt'}
    const alice = consumer('alice')
    const anonymous = {...consumer('x'), username: null, custom_id: 'only-custom-id'}
    const plugins = [plugin('key-auth'), plugin('prometheus', {per_consumer: true, status_code_metrics: true})]
    const {proxy, port} = await startProxy(t, {services: [s], routes: [r], plugins, consumers: [alice, anonymous], keyauth_credentials: [keyCred(alice, 'a-key'), keyCred(anonymous, 'c-key')]} as any)
    assert.equal((await get(port, '/', {headers: {apikey: 'a-key'}})).status, 200)
    assert.equal((await get(port, '/', {headers: {apikey: 'c-key'}})).status, 200)
    const text = renderMetrics(recordedMetrics(proxy.pluginStates), proxy.current(), () => undefined)
    assert.match(text, /^kong_http_requests_total\{service="svc",route="rt",code="200",source="service",workspace="default",consumer="alice"\} 1$/m)
    assert.match(text, /^kong_http_requests_total\{service="svc",route="rt",code="200",source="service",workspace="default",consumer=""\} 1$/m)
  })
})
