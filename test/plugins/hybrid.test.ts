/**
 * Every bundled plugin configured on a real control plane and checked on a real data
 * plane's proxy (one Postgres, one CP, one DP for the whole file), the plugin-set
 * compatibility rule with raw protocol clients, the CP's refusal of the rate-limiting
 * `cluster` policy, and basic-auth passwords hashed on the declarative paths
 * (`POST /kctl/sync` on the CP, `POST /config` on a DB-less node).
 *
 * The per-plugin table is keyed by the registry's names: a bundled plugin without an
 * entry fails its test, so a new plugin cannot ship without a hybrid check.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {migrate} from '../../src/runtime/db/migrations.js'
import {EMPTY_CONFIG_HASH} from '../../src/runtime/clustering/config-hash.js'
import type {PluginInfo} from '../../src/runtime/clustering/protocol.js'
import {hashPassword} from '../../src/runtime/plugins/basic-auth/credentials.js'
import {bundledPlugins} from '../../src/runtime/plugins/registry.js'
import {luaNumber} from '../../src/runtime/plugins/prometheus/exporter.js'
import {GATEWAY_VERSION} from '../../src/runtime/kit/version.js'
import {until} from '../helpers/until.js'
import {killAll, type NodeProcess, rawDataPlane, spawnNode} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-plugins-hybrid-'))
const certFile = join(dir, 'cluster.crt')
const keyFile = join(dir, 'cluster.key')
let pg: TestPostgres
let upstream: Server
let upstreamUrl: string
/** Upstream hits per first path segment, to tell "answered by the gateway" from "proxied". */
const hits = new Map<string, number>()
let cp: {node: NodeProcess; admin: string; status: string; cluster: number}
let dp: {node: NodeProcess; proxy: string; status: string}

// ---------------------------------------------------------------- HTTP helpers

interface Res {
  status: number
  headers: Headers
  text: string
  json(): any
}

async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const r = await fetch(url, init)
  const text = await r.text()
  return {status: r.status, headers: r.headers, text, json: () => JSON.parse(text)}
}

const send = (method: string, url: string, body: unknown) =>
  call(url, {method, headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})

/** POSTs JSON to the CP's Admin API and asserts 201. */
async function create(path: string, body: unknown): Promise<any> {
  const r = await send('POST', cp.admin + path, body)
  assert.equal(r.status, 201, `POST ${path}: ${r.text}`)
  return r.json()
}

const proxy = (path: string, init: RequestInit = {}) => call(dp.proxy + path, init)
const basic = (user: string, pass: string) => ({authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`})
const upstreamHits = (segment: string) => hits.get(segment) ?? 0

/** Kong 3.x's body for an answer made by the gateway: the message and the request id. */
function gatewayError(r: Res, status: number, message: string): void {
  assert.equal(r.status, status, r.text)
  assert.deepEqual(Object.keys(r.json()).sort(), ['message', 'request_id'])
  assert.equal(r.json().message, message)
  assert.match(r.json().request_id, /^[0-9a-f]{32}$/)
}

/** Bounded poll: the DP serves the configuration the CP has now (admin writes publish before answering). */
async function synced(): Promise<string> {
  const want = (await call(`${cp.status}/status`)).json().configuration_hash
  assert.match(want, /^[0-9a-f]{32}$/)
  await until(`the DP serves configuration ${want}`, async () => (await call(`${dp.status}/status`)).json().configuration_hash, {ok: (v) => v === want})
  return want
}

// ---------------------------------------------------------------- the per-plugin table

/** What a case gets: its own service and route, at `/<plugin name>`. */
interface Scope {
  name: string
  path: string
  service: string
  route: string
}

interface PluginCase {
  /** Creates the plugin instance (and the consumers and credentials it needs) on the CP. */
  configure(s: Scope): Promise<void>
  /** Checks the plugin's effect through the DP's proxy (and status listener). */
  check(s: Scope): Promise<void>
}

const CASES: Record<string, PluginCase> = {
  'correlation-id': {
    async configure(s) {
      await create(`/routes/${s.route}/plugins`, {name: 'correlation-id', config: {header_name: 'X-Trace', echo_downstream: true}})
    },
    async check(s) {
      const r = await proxy(s.path)
      assert.equal(r.status, 200, r.text)
      const id = r.headers.get('x-trace')
      assert.match(String(id), /^[0-9a-f-]{36}#\d+$/)
      assert.equal(r.json().headers['x-trace'], id, 'the upstream got the same id')
      const kept = await proxy(s.path, {headers: {'x-trace': 'client-id'}})
      assert.equal(kept.json().headers['x-trace'], 'client-id')
      assert.equal(kept.headers.get('x-trace'), 'client-id')
    },
  },
  'key-auth': {
    async configure(s) {
      await create('/consumers', {username: 'ka-user'})
      await create('/consumers/ka-user/key-auth', {key: 'ka-secret'})
      await create(`/routes/${s.route}/plugins`, {name: 'key-auth', config: {key_names: ['apikey']}})
    },
    async check(s) {
      const none = await proxy(s.path)
      gatewayError(none, 401, 'No API key found in request')
      const wrong = await proxy(s.path, {headers: {apikey: 'nope'}})
      gatewayError(wrong, 401, 'Unauthorized')
      const ok = await proxy(s.path, {headers: {apikey: 'ka-secret'}})
      assert.equal(ok.status, 200, ok.text)
      assert.equal(ok.json().headers['x-consumer-username'], 'ka-user')
      assert.equal((await proxy(`${s.path}?apikey=ka-secret`)).status, 200)
    },
  },
  'basic-auth': {
    async configure(s) {
      const c = await create('/consumers', {username: 'ba-user'})
      const cred = await create('/consumers/ba-user/basic-auth', {username: 'ba-user', password: 'ba-pw'})
      assert.equal(cred.password, hashPassword('ba-pw', c.id), 'stored hashed')
      await create(`/routes/${s.route}/plugins`, {name: 'basic-auth', config: {hide_credentials: true}})
    },
    async check(s) {
      const none = await proxy(s.path)
      gatewayError(none, 401, 'Unauthorized')
      assert.equal(none.headers.get('www-authenticate'), 'Basic realm="service"')
      const wrong = await proxy(s.path, {headers: basic('ba-user', 'wrong')})
      gatewayError(wrong, 401, 'Unauthorized')
      const ok = await proxy(s.path, {headers: basic('ba-user', 'ba-pw')})
      assert.equal(ok.status, 200, ok.text)
      assert.equal(ok.json().headers['x-consumer-username'], 'ba-user')
      assert.equal(ok.json().headers.authorization, undefined, 'hide_credentials')
    },
  },
  acl: {
    async configure(s) {
      for (const group of ['gold', 'silver']) {
        await create('/consumers', {username: `acl-${group}`})
        await create(`/consumers/acl-${group}/key-auth`, {key: `${group}-key`})
        await create(`/consumers/acl-${group}/acls`, {group})
      }
      await create(`/routes/${s.route}/plugins`, {name: 'key-auth'})
      await create(`/routes/${s.route}/plugins`, {name: 'acl', config: {allow: ['gold']}})
    },
    async check(s) {
      const silver = await proxy(s.path, {headers: {apikey: 'silver-key'}})
      gatewayError(silver, 403, 'You cannot consume this service')
      const gold = await proxy(s.path, {headers: {apikey: 'gold-key'}})
      assert.equal(gold.status, 200, gold.text)
      assert.equal(gold.json().headers['x-consumer-groups'], 'gold')
    },
  },
  'rate-limiting': {
    async configure(s) {
      // An hour window: crossing its boundary during the three requests is very unlikely.
      await create(`/routes/${s.route}/plugins`, {name: 'rate-limiting', config: {hour: 2, limit_by: 'ip', policy: 'local'}})
    },
    async check(s) {
      for (const remaining of ['1', '0']) {
        const r = await proxy(s.path)
        assert.equal(r.status, 200, r.text)
        assert.equal(r.headers.get('x-ratelimit-limit-hour'), '2')
        assert.equal(r.headers.get('x-ratelimit-remaining-hour'), remaining)
        assert.equal(r.headers.get('ratelimit-limit'), '2')
        assert.equal(r.headers.get('ratelimit-remaining'), remaining)
        assert.match(String(r.headers.get('ratelimit-reset')), /^\d+$/)
      }
      const before = upstreamHits(s.name)
      const limited = await proxy(s.path)
      gatewayError(limited, 429, 'API rate limit exceeded')
      assert.equal(limited.headers.get('x-ratelimit-remaining-hour'), '0')
      assert.match(String(limited.headers.get('retry-after')), /^\d+$/)
      assert.equal(upstreamHits(s.name), before, 'not proxied')
    },
  },
  'request-termination': {
    async configure(s) {
      await create(`/routes/${s.route}/plugins`, {name: 'request-termination', config: {status_code: 418, message: 'gone fishing'}})
    },
    async check(s) {
      const r = await proxy(s.path)
      // Kong's `kong.response.exit(status, {message = …})`: the message, no request_id
      assert.equal(r.status, 418, r.text)
      assert.deepEqual(r.json(), {message: 'gone fishing'})
      assert.equal(upstreamHits(s.name), 0)
    },
  },
  cors: {
    async configure(s) {
      await create(`/routes/${s.route}/plugins`, {name: 'cors', config: {origins: ['http://a.test'], max_age: 60, credentials: true}})
    },
    async check(s) {
      const pre = await proxy(s.path, {method: 'OPTIONS', headers: {origin: 'http://a.test', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-a'}})
      assert.equal(pre.status, 200)
      assert.equal(pre.headers.get('access-control-allow-origin'), 'http://a.test')
      assert.equal(pre.headers.get('access-control-allow-methods'), 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT')
      assert.equal(pre.headers.get('access-control-allow-headers'), 'x-a')
      assert.equal(pre.headers.get('access-control-allow-credentials'), 'true')
      assert.equal(pre.headers.get('access-control-max-age'), '60')
      assert.equal(upstreamHits(s.name), 0, 'the preflight is answered by the gateway')
      const simple = await proxy(s.path, {headers: {origin: 'http://a.test'}})
      assert.equal(simple.status, 200)
      assert.equal(simple.headers.get('access-control-allow-origin'), 'http://a.test')
    },
  },
  'ip-restriction': {
    async configure(s) {
      await create(`/routes/${s.route}/plugins`, {name: 'ip-restriction', config: {deny: ['127.0.0.1']}})
    },
    async check(s) {
      const r = await proxy(s.path)
      gatewayError(r, 403, 'IP address not allowed: 127.0.0.1')
      assert.equal(upstreamHits(s.name), 0)
    },
  },
  'request-transformer': {
    async configure(s) {
      await create(`/routes/${s.route}/plugins`, {name: 'request-transformer', config: {add: {headers: ['x-added:yes']}, remove: {headers: ['x-drop']}, rename: {headers: ['x-old:x-new']}}})
    },
    async check(s) {
      const seen = (await proxy(s.path, {headers: {'x-drop': '1', 'x-old': 'o'}})).json().headers
      assert.equal(seen['x-added'], 'yes')
      assert.equal(seen['x-drop'], undefined)
      assert.equal(seen['x-old'], undefined)
      assert.equal(seen['x-new'], 'o')
    },
  },
  'response-transformer': {
    async configure(s) {
      await create(`/routes/${s.route}/plugins`, {name: 'response-transformer', config: {add: {headers: ['x-resp:1']}, remove: {headers: ['x-upstream-only']}}})
    },
    async check(s) {
      const r = await proxy(s.path)
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('x-resp'), '1')
      assert.equal(r.headers.get('x-upstream-only'), null)
      // The upstream does send it: other routes still see it.
      assert.equal((await proxy('/correlation-id')).headers.get('x-upstream-only'), '1')
    },
  },
  prometheus: {
    async configure(s) {
      await create(`/services/${s.service}/plugins`, {name: 'prometheus', config: {status_code_metrics: true}})
    },
    async check(s) {
      for (let i = 0; i < 2; i++) assert.equal((await proxy(s.path)).status, 200)
      const line = new RegExp(`^kong_http_requests_total\\{service="${s.service}",route="${s.route}",code="200",source="service",workspace="default",consumer=""\\} 2$`, 'm')
      // The log phase runs after the response: poll until both requests are counted.
      const body = await until('the DP counts both requests', async () => {
        const m = await call(`${dp.status}/metrics`)
        return m.status === 200 && line.test(m.text) && m.text
      })
      assert.match(body, /^kong_control_plane_connected 1$/m)
      assert.match(body, /^kong_data_plane_cluster_cert_expiry_timestamp \d+$/m)
      // the CP's exporter: its data planes (Kong's kong_data_plane_* gauges), on its status listener and Admin API
      const dpId = readFileSync(join(dp.node.prefix, 'kong.id'), 'utf8').trim()
      const dpHash = (await call(`${dp.status}/status`)).json().configuration_hash
      const labels = `node_id="${dpId}",hostname="[^"]+",ip="127\\.0\\.0\\.1"`
      const hashLine = new RegExp(`^kong_data_plane_config_hash\\{${labels}\\} ${luaNumber(Number(BigInt(`0x${dpHash}`))).replace('+', '\\+')}$`, 'm')
      const cpBody = await until("the CP's /metrics has the DP's hash", async () => {
        const m = await call(`${cp.status}/metrics`)
        return m.status === 200 && hashLine.test(m.text) && m.text
      })
      assert.match(cpBody, new RegExp(`^kong_data_plane_last_seen\\{${labels}\\} \\d{10}$`, 'm'))
      assert.match(cpBody, new RegExp(`^kong_data_plane_version_compatible\\{${labels},kong_version="${GATEWAY_VERSION.replaceAll('.', '\\.')}"\\} 1$`, 'm'))
      assert.match(cpBody, /^kong_datastore_reachable 1$/m)
      assert.doesNotMatch(cpBody, /kong_upstream_target_health|kong_http_requests_total/)
      assert.equal((await call(`${cp.admin}/metrics`)).status, 200)
    },
  },
  'file-log': {
    async configure(s) {
      await create(`/routes/${s.route}/plugins`, {name: 'file-log', config: {path: join(dir, 'file-log.log')}})
    },
    async check(s) {
      const r = await proxy(`${s.path}/logged?x=1`, {headers: {'x-file-log': 'dp'}})
      assert.equal(r.status, 200, r.text)
      // The log phase runs after the response: wait for the line the DP wrote.
      const line = await until("the DP's file-log line", () => {
        try {
          return readFileSync(join(dir, 'file-log.log'), 'utf8').split('\n').find((l) => l.includes('"x-file-log":"dp"'))
        } catch {
          return undefined
        }
      })
      const entry = JSON.parse(line)
      assert.equal(entry.request.uri, `${s.path}/logged?x=1`)
      assert.equal(entry.response.status, 200)
      assert.equal(entry.route.name, s.route)
      assert.equal(entry.service.name, s.service)
    },
  },
}

// ---------------------------------------------------------------- raw protocol clients

/** A data plane speaking the v1 protocol by hand, advertising `plugins`, pinging like a DP. */
const rawDp = (plugins: PluginInfo[]) => rawDataPlane(cp.cluster, {cert: readFileSync(certFile), key: readFileSync(keyFile)}, plugins)

// ---------------------------------------------------------------- setup

before(async () => {
  pg = await startTestPostgres('kong_plugins_hybrid')
  await migrate({host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database})
  const c = await generateClusterCertificate()
  writeFileSync(certFile, c.cert)
  writeFileSync(keyFile, c.key, {mode: 0o600})
  upstream = createServer((req, res) => {
    const segment = (req.url ?? '/').split(/[/?]/)[1] ?? ''
    hits.set(segment, (hits.get(segment) ?? 0) + 1)
    res.setHeader('content-type', 'application/json')
    res.setHeader('x-upstream-only', '1')
    res.end(JSON.stringify({path: req.url, headers: req.headers}))
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`

  const [admin, status, cluster, proxyPort, dpStatus] = [await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort()]
  const cluster_ = {cluster_cert: certFile, cluster_cert_key: keyFile, cluster_ping_interval: 1}
  const cpNode = spawnNode(
    dir,
    {role: 'control_plane', pg_host: pg.host, pg_port: pg.port, pg_user: pg.user, pg_password: pg.password, pg_database: pg.database, admin_listen: `127.0.0.1:${admin}`, status_listen: `127.0.0.1:${status}`, cluster_listen: `127.0.0.1:${cluster}`, ...cluster_},
    {status: `http://127.0.0.1:${status}`},
  )
  await cpNode.waitReady()
  cp = {node: cpNode, admin: `http://127.0.0.1:${admin}`, status: `http://127.0.0.1:${status}`, cluster}
  const dpNode = spawnNode(
    dir,
    {role: 'data_plane', database: 'off', cluster_control_plane: `127.0.0.1:${cluster}`, proxy_listen: `127.0.0.1:${proxyPort}`, status_listen: `127.0.0.1:${dpStatus}`, ...cluster_},
    {status: `http://127.0.0.1:${dpStatus}`},
  )
  await dpNode.waitReady()
  dp = {node: dpNode, proxy: `http://127.0.0.1:${proxyPort}`, status: `http://127.0.0.1:${dpStatus}`}
})

after(async () => {
  killAll()
  upstream?.close()
  await pg?.stop()
  rmSync(dir, {recursive: true, force: true})
})

// ---------------------------------------------------------------- tests

describe('plugins in hybrid mode: configured on the CP, enforced on the DP', () => {
  test('the table has a case for every bundled plugin and nothing else', () => {
    assert.deepEqual(Object.keys(CASES).sort(), bundledPlugins().map((p) => p.name).sort())
  })

  for (const plugin of bundledPlugins()) {
    test(plugin.name, async () => {
      const c = CASES[plugin.name]
      assert.ok(c, `no hybrid case for the bundled plugin '${plugin.name}': add one to CASES`)
      const s: Scope = {name: plugin.name, path: `/${plugin.name}`, service: `svc-${plugin.name}`, route: `rt-${plugin.name}`}
      await create('/services', {name: s.service, url: upstreamUrl})
      await create(`/services/${s.service}/routes`, {name: s.route, paths: [s.path], strip_path: false})
      await c.configure(s)
      await synced()
      await c.check(s)
    })
  }
})

describe('plugins in hybrid mode: compatibility and refusals', () => {
  test('a DP lacking a configured plugin is plugin_set_incompatible and gets no config; a full DP gets it', async () => {
    const all = bundledPlugins().map((p) => ({name: p.name, version: p.version}))
    const full = rawDp(all)
    const lacking = rawDp(all.filter((p) => p.name !== 'key-auth'))
    try {
      const rows = await until('both raw DPs listed with their status', async () => {
        const data: any[] = (await call(`${cp.admin}/clustering/data-planes`)).json().data
        const f = data.find((d) => d.id === full.id)
        const l = data.find((d) => d.id === lacking.id)
        return f?.sync_status === 'normal' && l?.sync_status === 'plugin_set_incompatible' && {f, l}
      })
      assert.equal(rows.l.version, GATEWAY_VERSION)
      await cp.node.waitOutput(new RegExp(`not pushing configuration [0-9a-f]{32} to data plane ${lacking.id} .*plugin 'key-auth' is configured but missing on the data plane`))
      const first = await until('the full DP receives the configuration', async () => full.frames[0])
      assert.equal(first.config_hash, (await call(`${cp.status}/status`)).json().configuration_hash)
      assert.ok((first.config_table.plugins as unknown[]).length > 0)

      // A change is pushed to every eligible DP at once: once the full DP has the second
      // frame, the lacking one would have had both by now.
      await create('/services', {name: `after-${randomUUID()}`, url: upstreamUrl})
      await until('the full DP receives the change', async () => full.frames.length, {ok: (v) => v >= 2})
      await synced()
      assert.equal(lacking.frames.length, 0, 'no reconfigure frame for a DP lacking a configured plugin')
      const row = (await call(`${cp.admin}/clustering/data-planes`)).json().data.find((d: any) => d.id === lacking.id)
      assert.equal(row.sync_status, 'plugin_set_incompatible')
      assert.equal(row.config_hash, EMPTY_CONFIG_HASH)
    } finally {
      full.close()
      lacking.close()
    }
  })

  test("the CP refuses rate-limiting's cluster policy, pointing to redis", async () => {
    const check = (r: Res) => {
      assert.equal(r.status, 400, r.text)
      const body = r.json()
      assert.equal(body.code, 2)
      assert.match(body.message, /strategy 'cluster' is not supported with Hybrid deployments.*'redis' strategy/)
      assert.match(JSON.stringify(body.fields), /'redis' strategy/)
    }
    check(await send('POST', `${cp.admin}/plugins`, {name: 'rate-limiting', config: {minute: 5, policy: 'cluster'}}))
    check(await send('POST', `${cp.admin}/routes/rt-rate-limiting/plugins`, {name: 'rate-limiting', config: {second: 1, policy: 'cluster'}}))
    const existing = (await call(`${cp.admin}/routes/rt-rate-limiting/plugins`)).json().data.find((p: any) => p.name === 'rate-limiting')
    check(await send('PATCH', `${cp.admin}/plugins/${existing.id}`, {config: {policy: 'cluster'}}))
    assert.equal((await call(`${cp.admin}/plugins/${existing.id}`)).json().config.policy, 'local', 'nothing changed')
    // kctl apply's transactional endpoint applies the same refusal.
    const sync = await send('POST', `${cp.admin}/kctl/sync`, {events: [{op: 'create', kind: 'plugins', entity: {id: randomUUID(), name: 'rate-limiting', config: {minute: 5, policy: 'cluster'}}}]})
    assert.equal(sync.status, 400, sync.text)
    assert.equal(sync.json().code, 14)
    assert.match(JSON.stringify(sync.json().flattened_errors), /strategy 'cluster' is not supported with Hybrid deployments/)
  })
})

describe('basic-auth passwords on the declarative paths', () => {
  test('a credential applied through POST /kctl/sync is stored hashed and authenticates on the DP', async () => {
    const consumer = randomUUID()
    const credential = randomUUID()
    const r = await send('POST', `${cp.admin}/kctl/sync`, {
      events: [
        {op: 'create', kind: 'consumers', entity: {id: consumer, username: 'sync-user'}},
        {op: 'create', kind: 'basicauth_credentials', entity: {id: credential, consumer: {id: consumer}, username: 'sync-user', password: 'sync-pw'}},
      ],
    })
    assert.equal(r.status, 200, r.text)
    const stored = (await call(`${cp.admin}/consumers/sync-user/basic-auth/${credential}`)).json()
    assert.equal(stored.password, hashPassword('sync-pw', consumer))
    await synced()
    assert.equal((await proxy('/basic-auth', {headers: basic('sync-user', 'sync-pw')})).status, 200)

    // An update carrying the stored value keeps it; a new clear password is hashed.
    const same = await send('POST', `${cp.admin}/kctl/sync`, {events: [{op: 'update', kind: 'basicauth_credentials', entity: {...stored, tags: ['kept']}}]})
    assert.equal(same.status, 200, same.text)
    assert.equal((await call(`${cp.admin}/basic-auths/${credential}`)).json().password, stored.password)
    const changed = await send('POST', `${cp.admin}/kctl/sync`, {events: [{op: 'update', kind: 'basicauth_credentials', entity: {...stored, password: 'new-pw'}}]})
    assert.equal(changed.status, 200, changed.text)
    assert.equal((await call(`${cp.admin}/basic-auths/${credential}`)).json().password, hashPassword('new-pw', consumer))
    await synced()
    assert.equal((await proxy('/basic-auth', {headers: basic('sync-user', 'new-pw')})).status, 200)
    assert.equal((await proxy('/basic-auth', {headers: basic('sync-user', 'sync-pw')})).status, 401)
  })

  test('a credential loaded by a DB-less node through POST /config is stored and served hashed', async () => {
    const [admin, proxyPort, status] = [await findFreePort(), await findFreePort(), await findFreePort()]
    const node = spawnNode(dir, {role: 'traditional', database: 'off', admin_listen: `127.0.0.1:${admin}`, proxy_listen: `127.0.0.1:${proxyPort}`, status_listen: `127.0.0.1:${status}`})
    const adminUrl = `http://127.0.0.1:${admin}`
    await until('the DB-less Admin API answers', async () => (await fetch(adminUrl)).status, {ok: (v) => v === 200})
    const consumer = randomUUID()
    const file = {
      _format_version: '3.0',
      services: [{name: 'dbless', url: upstreamUrl, routes: [{name: 'dbless', paths: ['/dbless'], plugins: [{name: 'basic-auth'}]}]}],
      consumers: [{id: consumer, username: 'dl-user', basicauth_credentials: [{username: 'dl-user', password: 'dl-pw'}]}],
    }
    const loaded = await send('POST', `${adminUrl}/config`, file)
    assert.equal(loaded.status, 201, loaded.text)
    const creds = Object.values(loaded.json().basicauth_credentials) as any[]
    assert.equal(creds.length, 1)
    assert.equal(creds[0].password, hashPassword('dl-pw', consumer), 'answered hashed')
    const dumped = (await call(`${adminUrl}/config?format=json`)).json().config
    assert.doesNotMatch(dumped, /dl-pw/)
    assert.match(dumped, new RegExp(hashPassword('dl-pw', consumer)))
    const proxyUrl = `http://127.0.0.1:${proxyPort}/dbless`
    assert.equal((await call(proxyUrl, {headers: basic('dl-user', 'dl-pw')})).status, 200)
    assert.equal((await call(proxyUrl, {headers: basic('dl-user', 'wrong')})).status, 401)

    // Posting back what GET /config answered keeps the hash (no double hashing); posting
    // the clear file again gives the same hash.
    assert.equal((await send('POST', `${adminUrl}/config`, JSON.parse(dumped))).status, 201)
    assert.equal((await call(proxyUrl, {headers: basic('dl-user', 'dl-pw')})).status, 200)
    assert.equal((await send('POST', `${adminUrl}/config`, file)).status, 201)
    assert.equal((await call(proxyUrl, {headers: basic('dl-user', 'dl-pw')})).status, 200)
    await node.stop()
  })
})
