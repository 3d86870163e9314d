/**
 * The status sources against a control plane that answers slowly (a real HTTP server that
 * holds each answer for 600 ms) while kctl polls every 100 ms: requests never pile up
 * (at most one in flight per endpoint), the CP's /status is read once per round, and the
 * observations carry what it answered.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {test} from 'node:test'
import type {Observations} from '../../src/services/status/build.js'
import type {LocalCluster, LocalNode} from '../../src/services/status/local.js'
import {createProber} from '../../src/services/status/probe.js'
import {observeAll, observeControlPlane, pollLoop} from '../../src/services/status/poll.js'
import {until} from '../helpers/until.js'

test('a slow control plane: one request in flight per endpoint, no pile-up', async (t) => {
  const inFlight = new Map<string, number>()
  const peak = new Map<string, number>()
  const total = new Map<string, number>()
  const server = createServer((req, res) => {
    const path = req.url!.split('?')[0]
    inFlight.set(path, (inFlight.get(path) ?? 0) + 1)
    peak.set(path, Math.max(peak.get(path) ?? 0, inFlight.get(path)!))
    total.set(path, (total.get(path) ?? 0) + 1)
    setTimeout(() => {
      inFlight.set(path, inFlight.get(path)! - 1)
      const body = path === '/clustering/data-planes' ? {data: [], next: null} : path === '/status/ready' ? {message: 'ready'} : {configuration_hash: 'a'.repeat(32), connected_data_planes: 0}
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(JSON.stringify(body))
    }, 600)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const cp: LocalNode = {name: 'cp-1', role: 'control_plane', pid: process.pid, state: 'running', started_at: null, listen: {}, statusUrl: url, adminUrl: url, logFile: '/dev/null', dpId: null, supervision: null}
  const local = {name: 'c', mode: 'hybrid', specPath: 'kctl.yaml', embedded: null, nodes: [cp], pingInterval: 30} as unknown as LocalCluster
  const prober = createProber({timeoutMs: 5000})
  t.after(() => prober.close())
  const obs: Observations = {nodes: {}, cp: null}

  await observeAll(prober, local, obs)
  assert.deepEqual(Object.fromEntries(total), {'/status': 1, '/status/ready': 1, '/clustering/data-planes': 1}, 'one round reads each endpoint once')
  assert.equal(obs.cp?.hash, 'a'.repeat(32))
  assert.equal(obs.cp?.error, null)
  assert.equal(obs.nodes['cp-1']?.ok, true, "the CP's node row comes from the same probe")

  const abort = new AbortController()
  let rounds = 0
  const loop = pollLoop(100, abort.signal, async () => {
    await observeControlPlane(prober, local, obs)
    rounds++
  })
  // Three rounds of 600 ms answers span many 100 ms ticks: a loop that fired on every tick
  // would have piled requests up by then.
  await until('three rounds of the poll loop', () => rounds, {ok: (n) => n >= 3})
  abort.abort()
  await loop
  for (const path of ['/status', '/status/ready', '/clustering/data-planes']) {
    assert.equal(peak.get(path), 1, `${path}: at most one request in flight`)
    assert.equal(total.get(path), 1 + rounds, `${path}: one request per round (${rounds} rounds after the first), no pile-up`)
  }
})
