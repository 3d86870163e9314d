/**
 * Kong 3.9's cluster RPC and `kong.sync.v2` (`cluster_rpc`, `cluster_incremental_sync`)
 * with real processes, real TLS and a real Postgres:
 *   - a client written here speaking Kong's frames (the hello in plain JSON, then snappy
 *     JSON-RPC) against a kctl control plane: what a Kong 3.9 data plane would get;
 *   - kctl data planes following over /v2/outlet.
 * Assertions ported from Kong's spec/02-integration/18-hybrid_rpc/01-rpc_spec.lua and
 * 19-incrmental_sync/01-sync_spec.lua where they apply.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {describe, test} from 'node:test'
import fc from 'fast-check'
import {compress, uncompress} from 'snappyjs'
import WebSocket, {WebSocketServer} from 'ws'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {clusterBed, freshDatabase, spawnDataPlane, spawnNode, startControlPlane, type ControlPlaneNode, type DataPlaneNode} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-sync-v2-')
const rpcOn = () => ({cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile, cluster_rpc: 'on', cluster_incremental_sync: 'on', cluster_max_payload: 1048576})
const WORKSPACE = '0dc6f45b-8f8d-40d2-a504-473544ee190b'

const getJson = async (url: string) => (await fetch(url)).json()

async function call(cp: ControlPlaneNode, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${cp.admin}${path}`, {method, headers: body ? {'content-type': 'application/json'} : {}, body: body ? JSON.stringify(body) : undefined})
  const text = await res.text()
  assert.ok(res.status < 300, `${method} ${path} answered ${res.status}: ${text}`)
  return text ? JSON.parse(text) : null
}

const cpVersion = async (cp: ControlPlaneNode): Promise<number> => (await getJson(`${cp.status}/status`)).configuration_sync_version

/** The CP has published every change made so far (its version is the database's). */
async function settled(cp: ControlPlaneNode): Promise<number> {
  let last = -1
  return until('the control plane to publish the latest version', async () => {
    const v = await cpVersion(cp)
    const same = v === last
    last = v
    return same ? v : null
  }, {intervalMs: 150, ok: (v) => v !== null}) as Promise<number>
}

// ---- a client speaking Kong's frames -------------------------------------------------

interface Frame {
  jsonrpc?: unknown
  id?: unknown
  method?: string
  params?: unknown[]
  result?: any
  error?: {code: number; message: string}
}

interface KongClient {
  ws: WebSocket
  nodeId: string
  /** Requests the CP made (answered with `true`). */
  requests: Frame[]
  hello(info?: Record<string, unknown>): Promise<any>
  /** Calls `method` and waits for the answer with its id. */
  call(method: string, params: unknown, id?: number): Promise<Frame>
  /** Sends bytes as they are (a binary frame). */
  sendRaw(bytes: Buffer | string, binary?: boolean): void
  /** The next frame that is no request from the CP. */
  next(): Promise<Frame>
  closed: Promise<number>
  close(): void
}

const helloOf = (nodeId: string, extra: Record<string, unknown> = {}) => ({
  rpc_capabilities: ['kong.sync.v2'],
  rpc_frame_encodings: ['x-snappy-framed'],
  kong_version: '3.9.0',
  kong_hostname: `kong-dp-${nodeId.slice(0, 8)}`,
  kong_node_id: nodeId,
  kong_conf: {role: 'data_plane', cluster_dp_labels: ['deployment:test']},
  ...extra,
})

/** Opens /v2/outlet as a Kong 3.9 DP does (mTLS, SNI kong_clustering, kong.meta.v1); rejects when the CP refuses. */
function kongClient(cluster: number, opts: {protocols?: string[]; cert?: string | Buffer; key?: string | Buffer} = {}): Promise<KongClient> {
  const ws = new WebSocket(`wss://127.0.0.1:${cluster}/v2/outlet`, opts.protocols ?? ['kong.meta.v1'], {
    cert: opts.cert ?? readFileSync(bed.certFile),
    key: opts.key ?? readFileSync(bed.keyFile),
    rejectUnauthorized: false,
    // Kong's SNI in cluster_mtls = shared (ws passes it on to tls.connect)
    servername: 'kong_clustering',
    perMessageDeflate: false,
  } as WebSocket.ClientOptions)
  const nodeId = randomUUID()
  const requests: Frame[] = []
  const inbox: Frame[] = []
  const waiters: Array<(f: Frame) => void> = []
  let helloDone = false
  let helloWaiter: ((v: any) => void) | undefined
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)))
  ws.on('message', (data: Buffer) => {
    if (!helloDone) {
      helloDone = true
      helloWaiter?.(JSON.parse(data.toString('utf8')))
      return
    }
    const f = JSON.parse(uncompress(data).toString('utf8')) as Frame
    if (f.method) {
      requests.push(f)
      ws.send(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', id: f.id, result: true}))))
      return
    }
    const w = waiters.shift()
    if (w) w(f)
    else inbox.push(f)
  })
  const next = () => new Promise<Frame>((resolve) => (inbox.length ? resolve(inbox.shift()!) : waiters.push(resolve)))
  let ids = 100
  const client: KongClient = {
    ws,
    nodeId,
    requests,
    closed,
    hello(info = helloOf(nodeId)) {
      ws.send(Buffer.from(JSON.stringify({jsonrpc: '2.0', method: 'kong.meta.v1.hello', params: [info], id: 1})), {binary: true})
      return new Promise((r) => (helloWaiter = r))
    },
    async call(method, params, id = ids++) {
      ws.send(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', method, params, id}))))
      const f = await next()
      assert.equal(f.id, id, `the answer to ${method} carries its id`)
      return f
    },
    sendRaw: (bytes, binary = true) => ws.send(bytes, {binary}),
    next,
    close: () => ws.terminate(),
  }
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
}


async function connected(cp: ControlPlaneNode): Promise<KongClient> {
  const c = await kongClient(cp.cluster)
  await c.hello()
  return c
}

const getDelta = (c: KongClient, version: number) => c.call('kong.sync.v2.get_delta', [{default: {version}}])

/** The entities a full sync or the Admin API has, as `type id` lines, sorted. */
const keysOf = (deltas: Array<{type: string; pk: {id: string}}>) => deltas.map((d) => `${d.type} ${d.pk.id}`).sort()

describe('kong.sync.v2 on a control plane, as a Kong 3.9 data plane sees it', () => {
  test('hello, full sync, deltas, thresholds, errors and refusals', async (t) => {
    const database = await freshDatabase(bed.pg, 'syncv2_raw')
    const cp = await startControlPlane(bed.dir, bed.pg, database, rpcOn())
    t.after(() => cp.node.stop())
    const svc = await call(cp, 'POST', '/services', {name: 'service-001', url: `${bed.upstreamUrl}/request`})
    const route = await call(cp, 'POST', '/services/service-001/routes', {paths: ['/001']})
    const consumer = await call(cp, 'POST', '/consumers', {username: 'foo'})
    const cred = await call(cp, 'POST', '/consumers/foo/key-auth', {key: 'my-key'})
    const plugin = await call(cp, 'POST', '/plugins', {name: 'key-auth', config: {key_names: ['apikey']}, route: {id: route.id}})
    const latest = await settled(cp)
    assert.ok(latest >= 5, `version ${latest}`)

    await t.test('the hello reply (kong.meta.v1, snappy, the CP capabilities)', async () => {
      const c = await kongClient(cp.cluster)
      t.after(() => c.close())
      assert.equal(c.ws.protocol, 'kong.meta.v1')
      const reply = await c.hello()
      assert.deepEqual(reply, {jsonrpc: '2.0', result: {rpc_capabilities: ['kong.sync.v2'], rpc_frame_encoding: 'x-snappy-framed'}, id: 1})
    })

    await t.test('version 0: a full sync (wipe) of every entity at the latest version, as DAO rows', async () => {
      const c = await connected(cp)
      t.after(() => c.close())
      const f = await getDelta(c, 0)
      assert.equal(f.jsonrpc, '2.0')
      const {deltas, wipe} = f.result.default
      assert.equal(wipe, true)
      assert.deepEqual(deltas[0], {type: 'workspaces', entity: {id: WORKSPACE, name: 'default', comment: null, meta: {}, config: {}}, version: latest, ws_id: WORKSPACE, pk: {id: WORKSPACE}})
      const expected = ['workspaces ' + WORKSPACE, `services ${svc.id}`, `routes ${route.id}`, `consumers ${consumer.id}`, `keyauth_credentials ${cred.id}`, `plugins ${plugin.id}`].sort()
      assert.deepEqual(keysOf(deltas), expected)
      for (const d of deltas) {
        assert.equal(d.version, latest)
        assert.equal(d.ws_id, WORKSPACE)
      }
      // parents before children (Kong's export order)
      const at = (type: string) => deltas.findIndex((d: any) => d.type === type)
      assert.ok(at('services') < at('routes') && at('routes') < at('plugins') && at('consumers') < at('keyauth_credentials'))
      // the DAO row: every field (null when unset), foreign keys as {id}, ws_id
      const r = deltas.find((d: any) => d.type === 'routes').entity
      const {ws_id, ...row} = r
      assert.equal(ws_id, WORKSPACE)
      assert.deepEqual(row, await getJson(`${cp.admin}/routes/${route.id}`))
      assert.deepEqual(r.service, {id: svc.id})
      assert.equal(r.hosts, null)
      const s = deltas.find((d: any) => d.type === 'services').entity
      assert.deepEqual({...s, ws_id: undefined}, {...(await getJson(`${cp.admin}/services/${svc.id}`)), ws_id: undefined})
      const k = deltas.find((d: any) => d.type === 'keyauth_credentials').entity
      assert.deepEqual(k.consumer, {id: consumer.id})
      assert.equal(k.key, 'my-key')
    })

    await t.test('the current version: no deltas; the CP records the DP as Kong does', async () => {
      const c = await connected(cp)
      t.after(() => c.close())
      const f = await getDelta(c, latest)
      assert.deepEqual(f.result, {default: {deltas: [], wipe: false}})
      const row = await until('the CP to list the data plane', async () => (await getJson(`${cp.admin}/clustering/data-planes`)).data.find((r: any) => r.id === c.nodeId && r.sync_status === 'normal'))
      assert.equal(row.config_hash, String(latest).padStart(32, '0'))
      assert.deepEqual(row.rpc_capabilities, ['kong.sync.v2'])
      assert.equal(row.ip, '127.0.0.1')
      assert.equal(row.version, '3.9.0')
      assert.equal(row.hostname, `kong-dp-${c.nodeId.slice(0, 8)}`)
      assert.deepEqual(row.labels, {deployment: 'test'})
      assert.ok(Math.abs(row.ttl - 14 * 86400) <= 3, `ttl ${row.ttl}`)
      assert.match(row.version, /^(\d+)\.(\d+)/)
      assert.ok(typeof row.cert_details.expiry_timestamp === 'number')
    })

    await t.test('after N changes: exactly N deltas, versions N+1.., deletions as null entities with a pk', async () => {
      const c = await connected(cp)
      t.after(() => c.close())
      const from = await settled(cp)
      const a = await call(cp, 'POST', '/services/service-001/routes', {name: 'route-a', paths: ['/a']})
      await call(cp, 'PATCH', `/routes/${a.id}`, {paths: ['/a2']})
      await call(cp, 'DELETE', `/routes/${a.id}`)
      const f = await getDelta(c, from)
      const {deltas, wipe} = f.result.default
      assert.equal(wipe, false)
      assert.deepEqual(deltas.map((d: any) => d.version), [from + 1, from + 2, from + 3])
      assert.deepEqual(deltas.map((d: any) => d.type), ['routes', 'routes', 'routes'])
      assert.deepEqual(deltas[0].entity.paths, ['/a'])
      assert.deepEqual(deltas[1].entity.paths, ['/a2'])
      assert.deepEqual(deltas[1].pk, {id: a.id})
      assert.deepEqual(deltas[2], {type: 'routes', entity: null, version: from + 3, ws_id: WORKSPACE, pk: {id: a.id}})
      // the CP tells the connected DP about each new version
      const notified = await until('a notify_new_version for the latest version', () => c.requests.find((r) => r.method === 'kong.sync.v2.notify_new_version' && (r.params as any)[0].default.new_version === from + 3))
      assert.equal(notified.jsonrpc, '2.0')
    })

    await t.test('a cascade: deleting a consumer deletes its credentials in the same version', async () => {
      const c = await connected(cp)
      t.after(() => c.close())
      const from = await settled(cp)
      await call(cp, 'DELETE', '/consumers/foo')
      const {deltas} = (await getDelta(c, from)).result.default
      assert.deepEqual(keysOf(deltas), [`consumers ${consumer.id}`, `keyauth_credentials ${cred.id}`].sort())
      for (const d of deltas) {
        assert.equal(d.entity, null)
        assert.equal(d.version, from + 1, 'cascade deletion should be the same version')
      }
    })

    await t.test('unknown methods and bad params get JSON-RPC errors; the connection stays', async () => {
      const c = await connected(cp)
      t.after(() => c.close())
      assert.deepEqual(await c.call('kong.nothing.v1.foo', [], 7), {jsonrpc: '2.0', id: 7, error: {code: -32601, message: 'Method not found'}})
      const noNs = await c.call('kong.sync.v2.get_delta', [{}])
      assert.equal(noNs.error!.code, -32602)
      assert.match(noNs.error!.message, /default namespace does not exist inside params/)
      for (const params of [[{default: {version: 'x'}}], [{default: {version: -1}}], [{default: {version: 1.5}}], [], [null], ['x']]) {
        const f = await c.call('kong.sync.v2.get_delta', params)
        assert.equal(f.error?.code, -32602, JSON.stringify(params))
      }
      const notArray = await c.call('kong.sync.v2.get_delta', {default: {version: 0}})
      assert.equal(notArray.error?.code, -32602)
      // still served
      assert.equal((await getDelta(c, 0)).result.default.wipe, true)
    })

    await t.test('garbage frames: parse errors and invalid requests, or the connection closed; the CP keeps serving', async () => {
      const c = await connected(cp)
      t.after(() => c.close())
      c.sendRaw(Buffer.from('definitely not snappy \xff\xff\xff\xff\xff'))
      let f = await c.next()
      assert.equal(f.error?.code, -32700)
      assert.equal(f.id, null)
      c.sendRaw(compress(Buffer.from('{"jsonrpc": "2.0", "method": ')))
      f = await c.next()
      assert.equal(f.error?.code, -32700)
      // a snappy header announcing 64 MiB (past 16 times cluster_max_payload): refused before anything is allocated
      c.sendRaw(Buffer.from([0x80, 0x80, 0x80, 0x20, 0x00, 0x61]))
      f = await c.next()
      assert.equal(f.error?.code, -32700)
      assert.match(f.error!.message, /too big/)
      // a literal whose 4-byte length wraps to a negative step (a decoder that trusts it loops for ever)
      c.sendRaw(Buffer.from([0x10, 0xfc, 0xfa, 0xff, 0xff, 0xff]))
      f = await c.next()
      assert.equal(f.error?.code, -32700)
      // a data plane's message past 1 MiB uncompressed, however well formed: refused before it is uncompressed
      c.sendRaw(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', method: 'kong.sync.v2.get_delta', params: [{default: {version: 0}, pad: ' '.repeat(2 * 1024 * 1024)}], id: 6}))))
      f = await c.next()
      assert.equal(f.error?.code, -32700)
      assert.match(f.error!.message, /too big: \d+ bytes uncompressed, more than 1048576/)
      c.sendRaw(compress(Buffer.from(JSON.stringify({jsonrpc: '1.0', method: 'kong.sync.v2.get_delta', params: [], id: 3}))))
      f = await c.next()
      assert.deepEqual(f.error?.code, -32600)
      assert.equal(f.id, 3)
      c.sendRaw(compress(Buffer.from('[1,2]')))
      assert.equal((await c.next()).error?.code, -32600)
      c.sendRaw(compress(Buffer.from('"hello"')))
      assert.equal((await c.next()).error?.code, -32600)
      c.sendRaw(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', method: 42, id: 4}))))
      assert.equal((await c.next()).error?.code, -32600)
      c.sendRaw(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', method: 'kong.sync.v2.get_delta', params: 'x', id: 5}))))
      assert.equal((await c.next()).error?.code, -32602)
      // an answer nobody asked for is dropped
      c.sendRaw(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', result: true, id: 999999}))))
      assert.equal((await getDelta(c, 0)).result.default.wipe, true)
      // calls in flight are bounded: of 20 sent at once, those past 8 are answered with an error
      for (let i = 0; i < 20; i++) c.sendRaw(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', method: 'kong.sync.v2.get_delta', params: [{default: {version: 0}}], id: 500 + i}))))
      const answers = []
      for (let i = 0; i < 20; i++) answers.push(await c.next())
      assert.deepEqual(answers.map((a) => a.id).sort(), Array.from({length: 20}, (_, i) => 500 + i))
      const refused = answers.filter((a) => a.error)
      assert.ok(answers.length - refused.length >= 8, `at least 8 answered (${answers.length - refused.length})`)
      assert.ok(refused.length >= 1, 'some refused')
      for (const a of refused) assert.match(a.error!.message, /too many calls in flight \(8\); wait for their answers/)
      // a text frame ends that connection only
      c.sendRaw('text', false)
      assert.equal(await c.closed, 1003)
      // a frame over cluster_max_payload ends that connection only
      const big = await connected(cp)
      big.sendRaw(Buffer.alloc(Number(cp.values.cluster_max_payload) + 1, 1))
      assert.equal(await big.closed, 1009)
      // the CP is up and serves others
      const other = await connected(cp)
      t.after(() => other.close())
      assert.equal((await getDelta(other, 0)).result.default.wipe, true)
      assert.equal((await fetch(`${cp.status}/status/ready`)).status, 200)
    })

    await t.test('bad hellos and refused connections', async () => {
      // no kong.meta.v1 offered: closed without an answer
      await assert.rejects(kongClient(cp.cluster, {protocols: ['kong.meta.v2']}))
      await assert.rejects(kongClient(cp.cluster, {protocols: []}))
      // another certificate than the cluster's (cluster_mtls = shared)
      const other = await generateClusterCertificate()
      await assert.rejects(kongClient(cp.cluster, {cert: other.cert, key: other.key}))
      // a hello without snappy, with another meta call, or not JSON: the connection is closed
      const hellos: Array<(c: KongClient) => void> = [
        (c) => void c.hello(helloOf(c.nodeId, {rpc_frame_encodings: ['x-gzip']})),
        (c) => c.sendRaw(Buffer.from(JSON.stringify({jsonrpc: '2.0', method: 'kong.meta.v1.goodbye', params: [helloOf(c.nodeId)], id: 1}))),
        (c) => c.sendRaw(Buffer.from('{"jsonrpc"')),
        (c) => void c.hello(helloOf(c.nodeId, {kong_node_id: 'not-a-uuid'})),
        (c) => void c.hello(helloOf(c.nodeId, {kong_conf: 'x'})),
      ]
      for (const send of hellos) {
        const c = await kongClient(cp.cluster)
        send(c)
        assert.equal(await c.closed, 1002)
      }
      assert.match(cp.node.output(), /unknown encodings: \["x-gzip"\]/)
      assert.match(cp.node.output(), /unknown RPC protocol: kong\.meta\.v2/)
    })

    await t.test('more than 512 versions behind: a full sync', async () => {
      const c = await connected(cp)
      t.after(() => c.close())
      const from = await settled(cp)
      for (let i = 0; i < 513; i += 9) await Promise.all([...Array(Math.min(9, 513 - i)).keys()].map((j) => call(cp, 'POST', '/consumers', {username: `bulk-${i + j}`})))
      const now = await settled(cp)
      assert.ok(now - from >= 513)
      const full = (await getDelta(c, from)).result.default
      assert.equal(full.wipe, true)
      assert.equal(full.deltas.filter((d: any) => d.type === 'consumers').length, 513)
      assert.ok(full.deltas.every((d: any) => d.version === now))
      // exactly 512 behind: still deltas
      const near = (await getDelta(c, now - 512)).result.default
      assert.equal(near.wipe, false)
      assert.equal(near.deltas.length, 512)
      // ahead of the CP (a database that was reset): a full sync
      assert.equal((await getDelta(c, now + 10)).result.default.wipe, true)
    })
  })

  test('changes no longer kept: a full sync', async (t) => {
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'syncv2_pruned'), {...rpcOn(), kctl_cluster_sync_history: 10})
    t.after(() => cp.node.stop())
    await call(cp, 'POST', '/services', {name: 's', url: bed.upstreamUrl})
    const from = await settled(cp)
    for (let i = 0; i < 30; i++) await call(cp, 'POST', '/services/s/routes', {paths: [`/p${i}`]})
    await settled(cp)
    const c = await connected(cp)
    t.after(() => c.close())
    const f = (await getDelta(c, from)).result.default
    assert.equal(f.wipe, true)
    assert.equal(f.deltas.filter((d: any) => d.type === 'routes').length, 30)
  })

  test('a control plane with cluster_rpc = off refuses /v2/outlet; incremental sync alone is turned off', async (t) => {
    const database = await freshDatabase(bed.pg, 'syncv2_off')
    const cp = await startControlPlane(bed.dir, bed.pg, database, {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile})
    t.after(() => cp.node.stop())
    await assert.rejects(kongClient(cp.cluster), /refused: HTTP 404/)
    const alone = await startControlPlane(bed.dir, bed.pg, database, {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile, cluster_incremental_sync: 'on'})
    t.after(() => alone.node.stop())
    await assert.rejects(kongClient(alone.cluster), /refused: HTTP 404/)
    assert.match(alone.node.output(), /Cluster incremental sync has been forcibly disabled, please enable cluster RPC\./)
    // RPC without incremental sync: no kong.sync.v2
    const rpcOnly = await startControlPlane(bed.dir, bed.pg, database, {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile, cluster_rpc: 'on'})
    t.after(() => rpcOnly.node.stop())
    const c = await kongClient(rpcOnly.cluster)
    t.after(() => c.close())
    assert.deepEqual((await c.hello()).result.rpc_capabilities, [])
    assert.equal((await getDelta(c, 0)).error?.code, -32601)
  })
})

// ---- kctl data planes over /v2/outlet ---------------------------------------------------

interface DpStatus {
  configuration_hash: string
  sync: {version: number; deltas_applied: number; full_syncs: number; resyncs_requested: number}
  control_plane: {connected: boolean}
}
const dpStatus = (dp: DataPlaneNode): Promise<DpStatus> => getJson(`${dp.status}/status`)
const cpHash = async (cp: ControlPlaneNode): Promise<string> => (await getJson(`${cp.status}/status`)).configuration_hash

/** Every DP serves the CP's configuration: the same hash (computed on each side from the whole entity set) and version. */
async function caughtUp(cp: ControlPlaneNode, dps: DataPlaneNode[]): Promise<{hash: string; version: number}> {
  const version = await settled(cp)
  const hash = await cpHash(cp)
  for (const dp of dps) {
    await until(`DP ${dp.status} at version ${version}, configuration ${hash}`, async () => {
      const s = await dpStatus(dp)
      return s.configuration_hash === hash && s.sync.version === version
    }, {timeoutMs: 60_000})
  }
  return {hash, version}
}

const statusOf = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, {headers})
  await res.arrayBuffer()
  return res.status
}
const serves = (dp: DataPlaneNode, path: string, status: number, headers: Record<string, string> = {}) =>
  until(`DP to answer ${status} on ${path}`, () => statusOf(`${dp.proxy}${path}`, headers), {ok: (s) => s === status, timeoutMs: 30_000})

describe('kctl data planes over /v2/outlet', () => {
  test('follow creates, updates, deletes and cascades by deltas; report %032d of their version', async (t) => {
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'syncv2_dp'), rpcOn())
    t.after(() => cp.node.stop())
    await call(cp, 'POST', '/services', {name: 'service-001', url: `${bed.upstreamUrl}/request`})
    await call(cp, 'POST', '/services/service-001/routes', {paths: ['/001']})
    const dp = await spawnDataPlane(bed.dir, cp.cluster, rpcOn())
    t.after(() => dp.node.stop())
    await serves(dp, '/001', 200)
    await dp.node.waitOutput(/connected to control plane .* \(cluster RPC, kong\.sync\.v2\)/)

    // create route on CP
    await call(cp, 'POST', '/services', {name: 'service-002', url: `${bed.upstreamUrl}/request`})
    const r2 = await call(cp, 'POST', '/services/service-002/routes', {paths: ['/002-foo']})
    await serves(dp, '/002-foo', 200)
    // update route on CP
    await call(cp, 'PUT', `/services/service-002/routes/${r2.id}`, {paths: ['/002-bar']})
    await serves(dp, '/002-bar', 200)
    await serves(dp, '/002-foo', 404)
    // delete route on CP
    await call(cp, 'DELETE', `/services/service-002/routes/${r2.id}`)
    await serves(dp, '/002-bar', 404)
    // cascade delete on CP: a consumer and its key-auth credential
    await call(cp, 'POST', '/services', {name: 'service-006', url: `${bed.upstreamUrl}/request`})
    const r6 = await call(cp, 'POST', '/services/service-006/routes', {paths: ['/006-foo']})
    await call(cp, 'POST', '/consumers', {username: 'foo'})
    await call(cp, 'POST', '/consumers/foo/key-auth', {key: 'my-key'})
    await call(cp, 'POST', '/plugins', {name: 'key-auth', config: {key_names: ['apikey']}, route: {id: r6.id}})
    await serves(dp, '/006-foo', 200, {apikey: 'my-key'})
    await call(cp, 'DELETE', '/consumers/foo')
    await serves(dp, '/006-foo', 401, {apikey: 'my-key'})
    // cascade: a service's plugins go with it; an upstream's targets with it
    await call(cp, 'POST', '/plugins', {name: 'response-transformer', service: {name: 'service-001'}, config: {add: {headers: ['x-v:1']}}})
    await until('the plugin on /001', async () => (await fetch(`${dp.proxy}/001`)).headers.get('x-v') === '1')
    const routes001 = (await getJson(`${cp.admin}/services/service-001/routes`)).data
    for (const r of routes001) await call(cp, 'DELETE', `/routes/${r.id}`)
    await call(cp, 'DELETE', '/services/service-001')
    await call(cp, 'POST', '/upstreams', {name: 'u.test'})
    await call(cp, 'POST', '/upstreams/u.test/targets', {target: '127.0.0.1:1'})
    await call(cp, 'DELETE', '/upstreams/u.test')
    await serves(dp, '/001', 404)

    const {version} = await caughtUp(cp, [dp])
    const s = await dpStatus(dp)
    assert.equal(s.sync.full_syncs, 1, 'one full sync (the first), then only deltas')
    assert.ok(s.sync.deltas_applied >= 8, `${s.sync.deltas_applied} deltas applied`)
    assert.equal(s.sync.resyncs_requested, 0)
    const nodeId = readFileSync(join(dp.node.prefix, 'kong.id'), 'utf8').trim()
    const row = await until('the CP to list the DP at the latest version', async () => {
      const r = (await getJson(`${cp.admin}/clustering/data-planes`)).data.find((x: any) => x.id === nodeId)
      return r?.config_hash === String(version).padStart(32, '0') ? r : null
    })
    assert.equal(row.sync_status, 'normal')
    assert.deepEqual(row.rpc_capabilities, ['kong.sync.v2'])
    assert.equal(row.ip, '127.0.0.1')
  })

  test('a data plane offline while changes happened catches up by deltas from its cache', async (t) => {
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'syncv2_offline'), rpcOn())
    t.after(() => cp.node.stop())
    await call(cp, 'POST', '/services', {name: 'svc', url: bed.upstreamUrl})
    await call(cp, 'POST', '/services/svc/routes', {name: 'keep', paths: ['/keep']})
    const dp = await spawnDataPlane(bed.dir, cp.cluster, rpcOn())
    await caughtUp(cp, [dp])
    await dp.node.stop()
    const ids: string[] = []
    for (let i = 0; i < 30; i++) ids.push((await call(cp, 'POST', '/services/svc/routes', {name: `o${i}`, paths: [`/o${i}`]})).id)
    for (let i = 0; i < 10; i++) await call(cp, 'PATCH', `/routes/${ids[i]}`, {paths: [`/o${i}-new`]})
    for (let i = 10; i < 20; i++) await call(cp, 'DELETE', `/routes/${ids[i]}`)
    await call(cp, 'DELETE', '/routes/keep')

    const again = spawnNode(bed.dir, dp.values, {prefix: dp.node.prefix, status: dp.status})
    const back = {...dp, node: again}
    t.after(() => again.stop())
    await again.waitOutput(/serving configuration [0-9a-f]{32} \(version \d+\) from /)
    await caughtUp(cp, [back])
    const s = await dpStatus(back)
    assert.equal(s.sync.full_syncs, 0, 'no full sync after the restart')
    assert.ok(s.sync.deltas_applied >= 1)
    assert.equal(await statusOf(`${back.proxy}/o5-new`), 200)
    assert.equal(await statusOf(`${back.proxy}/o5`), 404)
    assert.equal(await statusOf(`${back.proxy}/o15`), 404)
    assert.equal(await statusOf(`${back.proxy}/o25`), 200)
    assert.equal(await statusOf(`${back.proxy}/keep`), 404)
  })

  test('random changes: a data plane following by deltas ends equal to a fresh full sync', async (t) => {
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'syncv2_random'), rpcOn())
    t.after(() => cp.node.stop())
    await call(cp, 'POST', '/services', {name: 'base', url: bed.upstreamUrl})
    const follower = await spawnDataPlane(bed.dir, cp.cluster, rpcOn())
    t.after(() => follower.node.stop())
    await caughtUp(cp, [follower])

    const list = async (path: string): Promise<any[]> => (await getJson(`${cp.admin}${path}?size=1000`)).data
    const KINDS = ['service+', 'service~', 'service-', 'route+', 'route+', 'route~', 'route-', 'plugin+', 'plugin~', 'plugin-', 'consumer+', 'consumer-', 'key+', 'upstream+', 'upstream-', 'target+']
    const opArb = fc.record({kind: fc.constantFrom(...KINDS), r: fc.array(fc.nat({max: 1_000_000}), {minLength: 2, maxLength: 2})})
    let n = 0
    const apply = async (op: {kind: string; r: number[]}) => {
      n++
      const pick = <T>(rows: T[], i = 0): T | undefined => (rows.length ? rows[op.r[i] % rows.length] : undefined)
      const send = (method: string, path: string, body?: unknown) => fetch(`${cp.admin}${path}`, {method, headers: {'content-type': 'application/json'}, body: body ? JSON.stringify(body) : undefined}).then((r) => r.arrayBuffer())
      switch (op.kind) {
        case 'service+': return send('POST', '/services', {name: `s${n}`, url: `${bed.upstreamUrl}/s${n}`})
        case 'service~': { const s = pick(await list('/services')); return s && send('PATCH', `/services/${s.id}`, {retries: op.r[1] % 10}) }
        case 'service-': {
          const s = pick(await list('/services'))
          if (!s) return
          for (const r of await list(`/services/${s.id}/routes`)) await send('DELETE', `/routes/${r.id}`)
          return send('DELETE', `/services/${s.id}`)
        }
        case 'route+': { const s = pick(await list('/services')); return s && send('POST', `/services/${s.id}/routes`, {paths: [`/r${n}`]}) }
        case 'route~': { const r = pick(await list('/routes')); return r && send('PATCH', `/routes/${r.id}`, {paths: [`/r${n}`], strip_path: !r.strip_path}) }
        case 'route-': { const r = pick(await list('/routes')); return r && send('DELETE', `/routes/${r.id}`) }
        case 'plugin+': {
          const r = pick(await list('/routes'), 1)
          return send('POST', '/plugins', {name: 'response-transformer', ...(r ? {route: {id: r.id}} : {}), config: {add: {headers: [`x-v:${n}`]}}})
        }
        case 'plugin~': { const p = pick(await list('/plugins')); return p && send('PATCH', `/plugins/${p.id}`, {enabled: !p.enabled}) }
        case 'plugin-': { const p = pick(await list('/plugins')); return p && send('DELETE', `/plugins/${p.id}`) }
        case 'consumer+': return send('POST', '/consumers', {username: `c${n}`})
        case 'consumer-': { const c = pick(await list('/consumers')); return c && send('DELETE', `/consumers/${c.id}`) }
        case 'key+': { const c = pick(await list('/consumers')); return c && send('POST', `/consumers/${c.id}/key-auth`, {key: `k${n}`}) }
        case 'upstream+': return send('POST', '/upstreams', {name: `u${n}.test`})
        case 'upstream-': { const u = pick(await list('/upstreams')); return u && send('DELETE', `/upstreams/${u.id}`) }
        case 'target+': { const u = pick(await list('/upstreams')); return u && send('POST', `/upstreams/${u.id}/targets`, {target: `127.0.0.1:${1000 + n}`}) }
      }
    }
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, {minLength: 5, maxLength: 15}), async (ops) => {
        for (const op of ops) await apply(op)
        const {hash, version} = await caughtUp(cp, [follower])
        const fresh = await spawnDataPlane(bed.dir, cp.cluster, rpcOn())
        try {
          await caughtUp(cp, [fresh])
          const f = await dpStatus(fresh)
          assert.equal(f.sync.full_syncs, 1)
          const s = await dpStatus(follower)
          assert.equal(s.configuration_hash, f.configuration_hash, 'the follower has what a full sync gives')
          assert.equal(s.configuration_hash, hash)
          assert.equal(s.sync.version, version)
          const paths = ['/nowhere', ...(await list('/routes')).slice(0, 5).map((r) => r.paths[0] as string)]
          for (const p of paths) {
            const [a, b] = [await fetch(`${follower.proxy}${p}`), await fetch(`${fresh.proxy}${p}`)]
            assert.equal(a.status, b.status, p)
            assert.equal(a.headers.get('x-v'), b.headers.get('x-v'), p)
            await Promise.all([a.arrayBuffer(), b.arrayBuffer()])
          }
        } finally {
          await fresh.node.stop()
          rmSync(fresh.node.prefix, {recursive: true, force: true})
        }
      }),
      {numRuns: 4, seed: 3903, endOnFailure: true},
    )
    const s = await dpStatus(follower)
    assert.equal(s.sync.full_syncs, 1, 'one full sync (the first), then only deltas')
    assert.equal(s.sync.resyncs_requested, 0)
  })
})

// ---- a hostile control plane ----------------------------------------------------------

describe('a kctl data plane against a control plane that sends garbage', () => {
  test('answers JSON-RPC errors, refuses bad changes, keeps serving and never exits', async (t) => {
    // real deltas, from a real control plane, for the fake one to send
    const real = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'syncv2_hostile'), rpcOn())
    t.after(() => real.node.stop())
    await call(real, 'POST', '/services', {name: 'svc', url: bed.upstreamUrl})
    await call(real, 'POST', '/services/svc/routes', {paths: ['/fake']})
    const source = await connected(real)
    const full = (await getDelta(source, 0)).result.default
    source.close()
    const route = full.deltas.find((d: any) => d.type === 'routes')

    // the fake control plane: the cluster certificate, kong.meta.v1, a scripted answer per get_delta
    const {createServer} = await import('node:https')
    const server = createServer({cert: readFileSync(bed.certFile), key: readFileSync(bed.keyFile), requestCert: true, rejectUnauthorized: false})
    const wss = new WebSocketServer({server, handleProtocols: () => 'kong.meta.v1'})
    const answers: unknown[] = [
      {default: full},
      // changes with an invalid route: refused, the next get_delta asks for everything
      {default: {wipe: false, deltas: [{...route, version: 2, entity: {...route.entity, paths: 42}}]}},
      // a full sync with an invalid route: refused, the configuration served stays
      {default: {wipe: true, deltas: [{...route, version: 3, entity: {...route.entity, protocols: ['gopher']}}]}},
      {default: 'nothing'},
    ]
    const asked: unknown[] = []
    const answered: Frame[] = []
    let peer: WebSocket | undefined
    wss.on('connection', (ws) => {
      peer = ws
      ws.once('message', () => {
        ws.send(Buffer.from(JSON.stringify({jsonrpc: '2.0', result: {rpc_capabilities: ['kong.sync.v2'], rpc_frame_encoding: 'x-snappy-framed'}, id: 1})))
        ws.on('message', (data: Buffer) => {
          const f = JSON.parse(uncompress(data).toString('utf8')) as Frame
          if (f.method !== 'kong.sync.v2.get_delta') return void answered.push(f)
          asked.push((f.params as any)[0].default.version)
          const result = answers.length > 1 ? answers.shift() : answers[0]
          ws.send(compress(Buffer.from(JSON.stringify({jsonrpc: '2.0', id: f.id, result}))))
        })
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    t.after(() => {
      wss.close()
      server.close()
    })
    const port = (server.address() as import('node:net').AddressInfo).port
    const dp = await spawnDataPlane(bed.dir, port, rpcOn())
    t.after(() => dp.node.stop())
    await serves(dp, '/fake', 200)
    const send = (msg: unknown) => peer!.send(compress(Buffer.from(JSON.stringify(msg))))
    peer!.send(Buffer.from('garbage, not snappy'))
    peer!.send(compress(Buffer.from('{"jsonrpc":')))
    send({jsonrpc: '2.0', method: 'kong.nothing.v1.x', params: [], id: 10})
    send({jsonrpc: '2.0', method: 'kong.sync.v2.notify_new_version', params: [{}], id: 11})
    send({jsonrpc: '2.0', method: 'kong.sync.v2.notify_new_version', params: 'x', id: 12})
    send({jsonrpc: '2.0', id: 424242, result: {unexpected: true}})
    await until('the DP to answer every request', () => answered.filter((f) => typeof f.id === 'number').length >= 3)
    assert.deepEqual(answered.find((f) => f.id === 10)?.error, {code: -32601, message: 'Method not found'})
    assert.equal(answered.find((f) => f.id === 11)?.error?.code, -32602)
    assert.equal(answered.find((f) => f.id === 12)?.error?.code, -32602)
    assert.equal(answered.filter((f) => f.id === null && f.error?.code === -32700).length, 2, 'two parse errors')
    // a new version: the bad changes, then a bad full sync, then a result of the wrong shape
    send({jsonrpc: '2.0', method: 'kong.sync.v2.notify_new_version', params: [{default: {new_version: 99}}], id: 13})
    await until('the DP to ask three times more', () => asked.length >= 4, {timeoutMs: 15_000})
    assert.deepEqual(asked.slice(0, 3), [0, full.deltas[0].version, 0], 'after refused changes it asks for a full sync')
    await dp.node.waitOutput(/rejected changes from the control plane: .*asking for the whole configuration/)
    await dp.node.waitOutput(/rejected a full sync, still serving/)
    await dp.node.waitOutput(/sync get_delta error|default namespace does not exist/)
    assert.equal(await statusOf(`${dp.proxy}/fake`), 200, 'the configuration it had is still served')
    // a frame over cluster_max_payload, then a text frame: the connection ends, the DP reconnects
    const first = peer!
    first.send(Buffer.alloc(Number(dp.values.cluster_max_payload) + 1, 7))
    await until('the DP to reconnect', () => peer !== first)
    const second = peer!
    second.send('text')
    await until('the DP to reconnect again', () => peer !== second)
    assert.equal(dp.node.proc.exitCode, null, 'the data plane is running')
    assert.equal(await statusOf(`${dp.proxy}/fake`), 200)
    assert.equal((await dpStatus(dp)).sync.resyncs_requested >= 1, true)
  })
})
