/**
 * Hybrid mode with real processes, real TLS and a real Postgres: one control plane, data
 * planes, the v1 protocol end to end, failures and rejections.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {randomUUID} from 'node:crypto'
import WebSocket from 'ws'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {until} from '../helpers/until.js'
import {clusterBed, type NodeProcess, spawnNode} from '../helpers/nodes.js'

const bed = clusterBed('kctl-hybrid-')
const {dir, certFile, keyFile} = bed

const getJson = async (url: string) => {
  const r = await fetch(url)
  return {status: r.status, body: await r.json(), headers: r.headers}
}
const postJson = (url: string, body: unknown) =>
  fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)}).then(async (r) => ({status: r.status, body: await r.json()}))

interface Cp {
  node: NodeProcess
  admin: string
  status: string
  cluster: number
  values: Record<string, string | number>
}

async function startCp(database: string, extra: Record<string, string | number> = {}, prefix?: string, ports?: {admin: number; status: number; cluster: number}): Promise<Cp> {
  const p = ports ?? {admin: await findFreePort(), status: await findFreePort(), cluster: await findFreePort()}
  const values = {
    role: 'control_plane',
    pg_host: bed.pg.host,
    pg_port: bed.pg.port,
    pg_user: bed.pg.user,
    pg_password: bed.pg.password,
    pg_database: database,
    admin_listen: `127.0.0.1:${p.admin}`,
    status_listen: `127.0.0.1:${p.status}`,
    cluster_listen: `127.0.0.1:${p.cluster}`,
    cluster_cert: certFile,
    cluster_cert_key: keyFile,
    cluster_ping_interval: 1,
    ...extra,
  }
  const status = `http://127.0.0.1:${p.status}`
  const node = spawnNode(dir, values, {status, prefix})
  await node.waitReady()
  return {node, admin: `http://127.0.0.1:${p.admin}`, status, cluster: p.cluster, values}
}

interface Dp {
  node: NodeProcess
  proxy: string
  status: string
  values: Record<string, string | number>
}

async function spawnDp(cluster: number, extra: Record<string, string | number> = {}, prefix?: string): Promise<Dp> {
  const [proxyPort, statusPort] = [await findFreePort(), await findFreePort()]
  const values = {
    role: 'data_plane',
    database: 'off',
    cluster_control_plane: `127.0.0.1:${cluster}`,
    proxy_listen: `127.0.0.1:${proxyPort}`,
    status_listen: `127.0.0.1:${statusPort}`,
    cluster_cert: certFile,
    cluster_cert_key: keyFile,
    cluster_ping_interval: 1,
    ...extra,
  }
  const status = `http://${values.status_listen}`
  return {node: spawnNode(dir, values, {status, prefix}), proxy: `http://${values.proxy_listen}`, status, values}
}

async function freshDatabase(name: string): Promise<string> {
  return (await bed.pg.migratedDatabase(name)).database
}

// Reconnecting after an outage may wait for a backoff of up to 10 s (plus jitter).
const served = (dp: Dp, path: string) => until(`${dp.proxy}${path} proxied`, async () => (await fetch(dp.proxy + path)).status, {ok: (v) => v === 200})

describe('hybrid mode', () => {
  test('a write on the CP is served by every DP; the CP lists every DP with its hash', async () => {
    const cp = await startCp(await freshDatabase('hybrid_propagation'))
    const dps = [await spawnDp(cp.cluster, {cluster_dp_labels: 'region:eu,tier:gold'}), await spawnDp(cp.cluster)]
    await Promise.all(dps.map((d) => d.node.waitReady()))
    assert.equal((await postJson(`${cp.admin}/services`, {name: 's', url: bed.upstreamUrl})).status, 201)
    assert.equal((await postJson(`${cp.admin}/services/s/routes`, {paths: ['/s']})).status, 201)
    for (const dp of dps) await served(dp, '/s/x')
    assert.equal(await (await fetch(`${dps[0].proxy}/s/x`)).text(), 'upstream /x')

    const cpHash = (await getJson(`${cp.status}/status`)).body.configuration_hash
    assert.match(cpHash, /^[0-9a-f]{32}$/)
    assert.notEqual(cpHash, '00000000000000000000000000000000')
    const rows = await until('both DPs report the CP hash', async () => {
      const r = await getJson(`${cp.admin}/clustering/data-planes`)
      return r.body.data.length === 2 && r.body.data.every((d: any) => d.config_hash === cpHash) && r.body.data
    })
    for (const row of rows) {
      assert.equal(row.sync_status, 'normal')
      assert.equal(row.ip, '127.0.0.1')
      assert.equal(row.version, '3.9.0')
      assert.ok(row.ttl > 1209000)
      assert.equal(typeof row.cert_details.expiry_timestamp, 'number')
    }
    assert.ok(rows.some((r: any) => r.labels.region === 'eu' && r.labels.tier === 'gold'))
    for (const dp of dps) assert.equal((await getJson(`${dp.status}/status`)).body.configuration_hash, cpHash)
    const legacy = await getJson(`${cp.admin}/clustering/status`)
    assert.equal(legacy.headers.get('deprecation'), 'true')
    assert.equal(Object.keys(legacy.body).length, 2)
    await Promise.all([cp.node.stop(), ...dps.map((d) => d.node.stop())])
  })

  test('CP killed under load: no failed request; a DP restarted meanwhile serves from its cache; DPs reconnect', async () => {
    const db = await freshDatabase('hybrid_failover')
    let cp = await startCp(db)
    const dp1 = await spawnDp(cp.cluster)
    const dp2 = await spawnDp(cp.cluster)
    await postJson(`${cp.admin}/services`, {name: 's', url: bed.upstreamUrl})
    await postJson(`${cp.admin}/services/s/routes`, {paths: ['/s']})
    await served(dp1, '/s')
    await served(dp2, '/s')

    let failures = 0
    let total = 0
    let stop = false
    const loop = (async () => {
      while (!stop) {
        total++
        const ok = await fetch(`${dp1.proxy}/s`).then((r) => r.status === 200, () => false)
        if (!ok) failures++
      }
    })()
    await until('requests under way before the kill', () => total, {ok: (n) => n > 20})
    const logged = dp1.node.output().length
    cp.node.proc.kill('SIGKILL')
    // Load goes on until the DP has seen the CP go and failed to reconnect, and then some more.
    await until('dp1 to fail to reach the killed CP', () => dp1.node.output().slice(logged), {ok: (o) => /could not connect to control plane/.test(o)})
    const noticed = total
    await until('requests after the DP lost the CP', () => total, {ok: (n) => n > noticed + 20})
    stop = true
    await loop
    assert.equal(failures, 0, `${failures} of ${total} requests failed while the CP died`)

    await dp2.node.stop()
    const dp2b = await spawnDp(cp.cluster, {proxy_listen: dp2.values.proxy_listen, status_listen: dp2.values.status_listen}, dp2.node.prefix)
    await dp2b.node.waitReady()
    assert.equal((await fetch(`${dp2b.proxy}/s`)).status, 200, 'served from the cache while the CP is down')
    assert.match(dp2b.node.output(), /from .*config\.cache\.json\.gz/)

    cp = await startCp(db, {}, cp.node.prefix, {admin: Number(new URL(cp.admin).port), status: Number(new URL(cp.status).port), cluster: cp.cluster})
    await postJson(`${cp.admin}/services/s/routes`, {paths: ['/after']})
    await served(dp1, '/after')
    await served(dp2b, '/after')
    await Promise.all([cp.node.stop(), dp1.node.stop(), dp2b.node.stop()])
  })

  test('rejections: another certificate, no certificate, an incompatible version', async () => {
    const cp = await startCp(await freshDatabase('hybrid_reject'))
    const other = await generateClusterCertificate()
    writeFileSync(join(dir, 'other.crt'), other.cert)
    writeFileSync(join(dir, 'other.key'), other.key)
    // A DP holding another certificate sees a CP without its certificate and says nothing to it.
    const intruder = await spawnDp(cp.cluster, {cluster_cert: join(dir, 'other.crt'), cluster_cert_key: join(dir, 'other.key')})
    await intruder.node.waitOutput(/refusing control plane 127\.0\.0\.1:\d+: the control plane's certificate \(SHA-256 [0-9A-F:]+\) is not the cluster certificate/)
    assert.equal((await fetch(`${intruder.status}/status/ready`)).status, 503)
    // A client that speaks anyway, with that certificate, is refused by the CP.
    const foreign = new WebSocket(`wss://127.0.0.1:${cp.cluster}/v1/outlet?node_id=${randomUUID()}&node_version=3.9.0`, {
      cert: other.cert,
      key: other.key,
      rejectUnauthorized: false,
    })
    assert.notEqual(await new Promise<string>((r) => foreign.on('open', () => r('open')).on('error', () => r('error')).on('close', () => r('closed'))), 'open')
    await cp.node.waitOutput(/rejected: the certificate presented \(SHA-256 [0-9A-F:]+\) is not the cluster certificate/)

    const anonymous = new WebSocket(`wss://127.0.0.1:${cp.cluster}/v1/outlet?node_id=${randomUUID()}&node_version=3.9.0`, {rejectUnauthorized: false})
    const outcome = await new Promise<string>((r) => {
      anonymous.on('open', () => r('open'))
      anonymous.on('error', () => r('error'))
      anonymous.on('close', () => r('closed'))
    })
    assert.notEqual(outcome, 'open')
    await cp.node.waitOutput(/rejected: no client certificate was presented/)

    const {readFileSync} = await import('node:fs')
    const id = randomUUID()
    const future = new WebSocket(`wss://127.0.0.1:${cp.cluster}/v1/outlet?node_id=${id}&node_hostname=future&node_version=4.0.0`, {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      rejectUnauthorized: false,
    })
    const code = await new Promise<number>((r) => future.on('close', (c) => r(c)))
    assert.equal(code, 1008)
    const row = await until('row of the refused DP', async () => (await getJson(`${cp.admin}/clustering/data-planes`)).body.data.find((d: any) => d.id === id))
    assert.equal(row.sync_status, 'kong_version_incompatible')
    assert.equal(row.version, '4.0.0')
    await Promise.all([cp.node.stop(), intruder.node.stop()])
  })

  test('a data plane that stops pinging is dropped after 1.5 ping intervals', async () => {
    const cp = await startCp(await freshDatabase('hybrid_silent'))
    const {readFileSync} = await import('node:fs')
    // A client that says hello and then never pings: the CP must let it go.
    const silent = new WebSocket(`wss://127.0.0.1:${cp.cluster}/v1/outlet?node_id=${randomUUID()}&node_hostname=silent&node_version=3.9.0`, {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      rejectUnauthorized: false,
    })
    silent.on('open', () => silent.send(Buffer.from(JSON.stringify({type: 'basic_info', plugins: [], labels: {}}))))
    const closed = new Promise<void>((r) => silent.on('close', () => r()))
    await cp.node.waitOutput(/data plane silent for more than 1\.5s; closing/)
    await closed
    await cp.node.stop()
  })

  test('a configuration over cluster_max_payload is refused with a clear error on the CP', async () => {
    const db = await freshDatabase('hybrid_payload')
    const cp = await startCp(db, {cluster_max_payload: 600})
    const dp = await spawnDp(cp.cluster)
    await dp.node.waitReady()
    for (let i = 0; i < 12; i++) await postJson(`${cp.admin}/services`, {name: `svc-${i}-${randomUUID()}`, url: `${bed.upstreamUrl}/${randomUUID()}`})
    await cp.node.waitOutput(/unable to push configuration to data planes: configuration [0-9a-f]{32} is \d+ bytes compressed, more than cluster_max_payload \(600 bytes\)/)
    const status = (await getJson(`${cp.status}/status`)).body
    assert.match(status.last_push_error, /more than cluster_max_payload/)
    assert.equal((await getJson(`${dp.status}/status`)).body.configuration_hash.length, 32)
    await Promise.all([cp.node.stop(), dp.node.stop()])
  })

  test('a corrupted cache is ignored with a log line; the DP waits for the CP', async () => {
    const prefix = mkdtempSync(join(dir, 'corrupt-'))
    writeFileSync(join(prefix, 'config.cache.json.gz'), 'not gzip at all')
    const dp = await spawnDp(await findFreePort(), {}, prefix)
    await dp.node.waitOutput(/ignoring the config cache .*config\.cache\.json\.gz/)
    await dp.node.waitOutput(/could not connect to control plane/)
    assert.equal((await fetch(`${dp.status}/status/ready`)).status, 503)
    assert.deepEqual((await getJson(`${dp.status}/status/ready`)).body, {message: 'no configuration available (empty configuration present)'})
    await dp.node.stop()
  })
})
