/**
 * A real data plane against a stand-in control plane that speaks the v1 protocol, so the
 * DP can be sent what a healthy CP never sends: a configuration that fails validation.
 * The DP must keep serving the configuration it has and say why in its log.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createServer as createHttpServer, type Server} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {WebSocketServer, type WebSocket} from 'ws'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {configHash} from '../../src/runtime/clustering/config-hash.js'
import {exportConfig} from '../../src/runtime/clustering/export.js'
import {encodeReconfigure} from '../../src/runtime/clustering/protocol.js'
import {dataPlaneValues, killAll, spawnNode} from '../helpers/nodes.js'
import {route, service} from '../router/fixtures.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-dp-apply-'))
let upstream: Server
let upstreamPort: number
let cp: ReturnType<typeof createHttpsServer>
let cpPort: number
const dps = new Set<WebSocket>()
const certFile = join(dir, 'cluster.crt')
const keyFile = join(dir, 'cluster.key')

function push(table: Record<string, unknown>): string {
  const hashes = configHash(table)
  const bytes = encodeReconfigure({timestamp: Date.now() / 1000, config_table: table, config_hash: hashes.config, hashes})
  for (const ws of dps) ws.send(bytes, {binary: true})
  return hashes.config
}

before(async () => {
  const c = await generateClusterCertificate()
  writeFileSync(certFile, c.cert)
  writeFileSync(keyFile, c.key, {mode: 0o600})
  upstream = createHttpServer((req, res) => res.end(`upstream ${req.url}`))
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  upstreamPort = (upstream.address() as AddressInfo).port
  cp = createHttpsServer({cert: c.cert, key: c.key, requestCert: true, rejectUnauthorized: false})
  const wss = new WebSocketServer({server: cp})
  wss.on('connection', (ws) => {
    dps.add(ws)
    ws.on('close', () => dps.delete(ws))
  })
  await new Promise<void>((r) => cp.listen(0, '127.0.0.1', r))
  cpPort = (cp.address() as AddressInfo).port
})

after(() => {
  killAll()
  for (const ws of dps) ws.terminate()
  cp?.close()
  upstream?.close()
  rmSync(dir, {recursive: true, force: true})
})

describe('data plane apply', () => {
  test('a configuration that fails validation is rejected; the old one keeps serving; the cache is 0600', async () => {
    const [proxyPort, statusPort] = [await findFreePort(), await findFreePort()]
    const dp = spawnNode(
      dir,
      dataPlaneValues({cluster: cpPort, proxy: proxyPort, status: statusPort}, {cluster_cert: certFile, cluster_cert_key: keyFile}),
      {status: `http://127.0.0.1:${statusPort}`},
    )
    await dp.waitOutput(/connected to control plane/)
    const s = service({url: `http://127.0.0.1:${upstreamPort}`})
    const good = exportConfig({services: [s], routes: [route({paths: ['/good'], service: {id: s.id}})]})
    const goodHash = push(good)
    await dp.waitReady()
    assert.equal(await (await fetch(`http://127.0.0.1:${proxyPort}/good/x`)).text(), 'upstream /x')
    assert.equal(statSync(join(dp.prefix, 'config.cache.json.gz')).mode & 0o777, 0o600)

    const bad = structuredClone(good) as {routes: Array<Record<string, unknown>>}
    bad.routes[0].paths = ['/good', 'no-leading-slash']
    push(bad)
    await dp.waitOutput(/rejected configuration [0-9a-f]{32} from the control plane, still serving [0-9a-f]{32}/)
    assert.equal((await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json()).configuration_hash, goodHash)
    assert.equal((await fetch(`http://127.0.0.1:${proxyPort}/good/y`)).status, 200)
    assert.equal((await dp.stop()), 0)
  })
})
