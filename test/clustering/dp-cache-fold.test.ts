/**
 * A data plane folds its delta log into a whole cache. A real DP against a stand-in control
 * plane that speaks the v1 protocol (mutual TLS): a whole configuration, then more than
 * 1,000 deltas of route changes, one at a time, each computed as a control plane computes
 * them. The DP logs every delta set after its cache; once 1,000 are logged it writes the
 * configuration it has whole and empties the log. A DP started again on that prefix, with
 * no control plane, serves the cache plus the deltas logged since.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createServer as createHttpServer, type Server} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {gunzipSync} from 'node:zlib'
import {WebSocketServer, type WebSocket} from 'ws'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {cachePath, deltaLogPath, readCache, readDeltaLog} from '../../src/runtime/clustering/cache.js'
import {configHash, EMPTY_CONFIG_HASH} from '../../src/runtime/clustering/config-hash.js'
import {exportConfig, exportRow} from '../../src/runtime/clustering/export.js'
import type {Change} from '../../src/runtime/clustering/frame.js'
import {decodeBasicInfo, decodeGetDelta, encodeDelta, encodeReconfigure, type BasicInfo} from '../../src/runtime/clustering/protocol.js'
import {SyncedConfig, type OwnState} from '../../src/runtime/clustering/synced-config.js'
import {getSchema, toEntitySet} from '../../src/runtime/schema/registry.js'
import {dataPlaneValues, killAll, spawnNode, type NodeProcess} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'
import {route, service} from '../router/fixtures.js'

/** Delta sets a DP logs before it folds the log (COMPACT_AFTER in roles/data-plane-node.ts). */
const FOLD_AT = 1000
/** Deltas sent after the fold: the log must hold just these. */
const AFTER_FOLD = 5
/** The version of the whole configuration; delta n leads to FIRST + n. */
const FIRST = 1

const dir = mkdtempSync(join(tmpdir(), 'kctl-dp-cache-fold-'))
const certFile = join(dir, 'cluster.crt')
const keyFile = join(dir, 'cluster.key')
let pem: {cert: string; key: string}
let upstream: Server
let upstreamPort: number

before(async () => {
  pem = await generateClusterCertificate()
  writeFileSync(certFile, pem.cert)
  writeFileSync(keyFile, pem.key, {mode: 0o600})
  upstream = createHttpServer((req, res) => res.end(`upstream ${req.url}`))
  upstreamPort = await findFreePort()
  await new Promise<void>((r) => upstream.listen(upstreamPort, '127.0.0.1', r))
})

after(() => {
  killAll()
  upstream?.close()
  rmSync(dir, {recursive: true, force: true})
})

/**
 * A control plane reduced to what this test needs: it takes a DP's basic_info, answers its
 * pings (ws does), tells when a ping carries a given hash (the DP pings after every frame it
 * applied), and fails a wait when the DP asks for changes again (a delta it refused).
 */
async function standInControlPlane(port: number) {
  const server = createHttpsServer({cert: pem.cert, key: pem.key, requestCert: true, rejectUnauthorized: false})
  const wss = new WebSocketServer({server})
  const peers = new Set<WebSocket>()
  let dp: {ws: WebSocket; info: BasicInfo} | undefined
  let lastHash = ''
  let problem = ''
  const waiters = new Set<() => void>()
  const wake = () => waiters.forEach((w) => w())
  wss.on('connection', (ws) => {
    peers.add(ws)
    ws.on('message', (data: Buffer) => {
      if (!dp) {
        dp = {ws, info: decodeBasicInfo(data)}
      } else {
        const ask = decodeGetDelta(data)
        problem = ask ? `the data plane asked for the changes since version ${ask.version}` : `an unexpected message: ${data.toString('utf8').slice(0, 200)}`
      }
      wake()
    })
    ws.on('ping', (data: Buffer) => {
      lastHash = data.toString('utf8')
      wake()
    })
    ws.on('close', () => {
      peers.delete(ws)
      if (dp?.ws === ws) problem ||= 'the data plane disconnected'
      wake()
    })
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  /** Resolves once `ready()` gives a value; rejects on a problem or after `timeoutMs`. */
  const wait = <T>(what: string, ready: () => T | undefined, timeoutMs: number, context: () => string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = ready()
        if (v === undefined && !problem) return
        waiters.delete(check)
        clearTimeout(timer)
        if (v !== undefined) resolve(v)
        else reject(new Error(`waiting for ${what}: ${problem}\n${context()}`))
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  let closed: Promise<void> | undefined
  return {
    /** The DP, once it sent its basic_info. */
    dataPlane: (context: () => string) => wait('the data plane\'s basic_info', () => dp, 30_000, context),
    /** Resolves at the DP's ping carrying `hash`: it applied the frame that leads there. */
    applied: (hash: string, context: () => string) => wait(`a ping with configuration ${hash}`, () => (lastHash === hash ? true : undefined), 15_000, context),
    send: (bytes: Buffer) => dp!.ws.send(bytes, {binary: true}),
    close: () =>
      (closed ??= new Promise<void>((r) => {
        for (const ws of peers) ws.terminate()
        wss.close()
        server.close(() => r())
        server.closeAllConnections()
      })),
  }
}

interface DpStatus {
  configuration_hash: string
  sync: {version: number; deltas_applied: number; full_syncs: number; resyncs_requested: number}
  control_plane: {connected: boolean}
}

type Row = Record<string, unknown> & {id: string; paths?: string[]; updated_at?: number}

describe('data plane config cache', () => {
  test('after 1,000 delta sets the log is folded into a whole cache; a restart serves the cache plus the log', async (t) => {
    const [cpPort, proxyPort, statusPort] = [await findFreePort(), await findFreePort(), await findFreePort()]
    const cp = await standInControlPlane(cpPort)
    t.after(() => cp.close())
    const statusUrl = `http://127.0.0.1:${statusPort}`
    const values = dataPlaneValues({cluster: cpPort, proxy: proxyPort, status: statusPort}, {cluster_cert: certFile, cluster_cert_key: keyFile})
    const spawned: NodeProcess[] = []
    t.after(() => Promise.all(spawned.map((n) => n.stop('SIGKILL'))))
    const dp = spawnNode(dir, values, {status: statusUrl})
    spawned.push(dp)
    const prefix = dp.prefix
    const context = () => `node output (tail):\n${dp.output().slice(-4000)}`
    const status = async (): Promise<DpStatus> => (await fetch(`${statusUrl}/status`)).json()

    // the DP announces the version it has (none yet): the stand-in may then send deltas
    const {info} = await cp.dataPlane(context)
    assert.deepEqual(info.kctl_sync, {version: -1, hash: EMPTY_CONFIG_HASH})

    // the control plane's side: its own configuration, every hash computed as a CP does
    const s = service({name: 's', url: `http://127.0.0.1:${upstreamPort}`})
    const routes = new Map<string, Row>()
    const keep = route({name: 'keep', paths: ['/keep/'], service: {id: s.id}}) as Row
    routes.set('keep', keep)
    const own = new SyncedConfig()
    let state: OwnState = own.loadOwn(toEntitySet({services: [s], routes: [keep]}), FIRST)
    const table = exportConfig(state.entities)
    const whole = encodeReconfigure({timestamp: Date.now() / 1000, config_table: table, config_hash: state.hash, hashes: state.hashes, kctl_version: FIRST})
    cp.send(whole)
    await cp.applied(state.hash, context)

    /** What the proxy should answer per path: true 200 from the upstream, false 404. */
    const expected = new Map<string, boolean>([['/keep/', true]])
    const create = (name: string): Change => {
      const r = route({name, paths: [`/${name}/`], service: {id: s.id}}) as Row
      routes.set(name, r)
      expected.set(`/${name}/`, true)
      return {kind: 'routes', id: r.id, entity: r}
    }
    const repath = (name: string, paths: string[]): Change => {
      const old = routes.get(name)!
      for (const p of old.paths!) expected.set(p, false)
      for (const p of paths) expected.set(p, true)
      const r = {...old, paths, updated_at: old.updated_at! + 1}
      routes.set(name, r)
      return {kind: 'routes', id: r.id, entity: r}
    }
    const remove = (name: string): Change => {
      const old = routes.get(name)!
      for (const p of old.paths!) expected.set(p, false)
      routes.delete(name)
      return {kind: 'routes', id: old.id, entity: null}
    }
    /**
     * Delta n, by n mod 6: 1, 4 create route c<n> on /c<n>/; 2, 5 move c<n-1> to /m<n-1>/;
     * 3 gives `keep` a new second path /k<n>/; 0 deletes c<n-2> and creates d<n> (two
     * changes, one delta set). Every delta changes what is served.
     */
    const changesOf = (n: number): Change[] => {
      if (n % 3 === 1) return [create(`c${n}`)]
      if (n % 3 === 2) return [repath(`c${n - 1}`, [`/m${n - 1}/`])]
      if (n % 6 === 3) return [repath('keep', ['/keep/', `/k${n}/`])]
      return [remove(`c${n - 2}`), create(`d${n}`)]
    }

    const frames: Buffer[] = []
    const hashes: string[] = [state.hash]
    /** The log, once it holds `count` records: they must be the frames the DP applied last, as sent. */
    const logHolds = async (count: number, from: number) => {
      const logged = await until(`the delta log to hold ${count} records`, () => readDeltaLog(prefix), {ok: (l) => l.length === count, timeoutMs: 15_000, context})
      assert.ok(logged.every((b, i) => b.equals(frames[from + i])), `the log holds deltas ${from + 1}..${from + count} as sent`)
    }
    const cacheHash = () => {
      const bytes = readCache(prefix)
      return bytes && (JSON.parse(gunzipSync(bytes).toString('utf8')) as {config_hash: string}).config_hash
    }
    const checkpoints = new Set([1, 2, ...Array.from({length: 9}, (_, i) => (i + 1) * 100), FOLD_AT - 1])

    const started = performance.now()
    for (let n = 1; n <= FOLD_AT + AFTER_FOLD; n++) {
      const changes = changesOf(n)
      state = own.applyOwn(changes, FIRST + n)
      const deltas = changes.map((c) => ({kind: c.kind, id: c.id, entity: c.entity && exportRow(getSchema(c.kind)!, c.entity)}))
      const bytes = encodeDelta({from: FIRST + n - 1, version: FIRST + n, deltas, config_hash: state.hash, hashes: state.hashes, kctl_digest: state.digest})
      frames.push(bytes)
      hashes.push(state.hash)
      cp.send(bytes)
      await cp.applied(state.hash, context)

      if (checkpoints.has(n)) {
        // before the fold: every delta set so far is logged, and the cache is the whole configuration sent
        await logHolds(n, 0)
        assert.ok(readCache(prefix)!.equals(whole), `delta ${n}: the cache is still the whole configuration sent`)
      }
      if (n === FOLD_AT) {
        // the 1,000th delta set logged: the log is folded into a whole cache of this version
        await until('the delta log to be folded into the cache', () => cacheHash() === state.hash && readDeltaLog(prefix).length === 0, {timeoutMs: 15_000, context})
        const folded = JSON.parse(gunzipSync(readCache(prefix)!).toString('utf8'))
        assert.equal(folded.type, 'reconfigure')
        assert.equal(folded.kctl_version, FIRST + FOLD_AT)
        assert.equal(folded.config_hash, state.hash)
        assert.deepEqual(folded.hashes, state.hashes)
        assert.equal(configHash(folded.config_table).config, state.hash, 'the folded table hashes to the control plane\'s hash')
        assert.deepEqual(folded.config_table, JSON.parse(JSON.stringify(exportConfig(state.entities))), 'the folded table is the control plane\'s configuration')
        assert.equal(statSync(cachePath(prefix)).mode & 0o777, 0o600)
        assert.deepEqual(readdirSync(prefix).filter((f) => f.endsWith('.tmp')), [], 'no temp file left')
      }
    }
    const ms = performance.now() - started
    t.diagnostic(`${FOLD_AT + AFTER_FOLD} deltas sent and applied one at a time in ${(ms / 1000).toFixed(1)} s (${(ms / (FOLD_AT + AFTER_FOLD)).toFixed(2)} ms each)`)
    const last = state.hash
    const lastVersion = FIRST + FOLD_AT + AFTER_FOLD

    // after the fold the log holds just the deltas since; the cache stays the folded one
    await logHolds(AFTER_FOLD, FOLD_AT)
    assert.equal(cacheHash(), hashes[FOLD_AT])
    assert.equal(statSync(deltaLogPath(prefix)).mode & 0o777, 0o600)
    const s1 = await status()
    assert.equal(s1.configuration_hash, last)
    assert.deepEqual(s1.sync, {version: lastVersion, deltas_applied: FOLD_AT + AFTER_FOLD, full_syncs: 1, resyncs_requested: 0})

    /** What the proxy answers for every path the changes named, against what the CP has. */
    const checkServed = async (what: string) => {
      const paths = [...expected.keys()]
      const wrong: string[] = []
      for (const p of paths) {
        const res = await fetch(`http://127.0.0.1:${proxyPort}${p}probe`)
        const body = await res.text()
        const ok = expected.get(p) ? res.status === 200 && body === 'upstream /probe' : res.status === 404
        if (!ok) wrong.push(`${p}: ${res.status} ${body.slice(0, 80)} (expected ${expected.get(p) ? 200 : 404})`)
      }
      assert.deepEqual(wrong, [], `${what}: ${wrong.length} of ${paths.length} paths answer wrong`)
    }
    // served before the restart, and the deltas after the fold changed what is served
    await checkServed('the running data plane')
    for (const [p, live] of [['/c1000/', false], ['/m1000/', false], ['/d1002/', true], ['/c1003/', false], ['/m1003/', true], ['/k999/', false], ['/k1005/', true]] as const) {
      assert.equal(expected.get(p), live, `the model has ${p} ${live ? 'served' : 'gone'}`)
    }

    // the DP and its control plane stop; the DP starts again on the same prefix, alone
    assert.equal(await dp.stop(), 0)
    await cp.close()
    const again = spawnNode(dir, values, {prefix, status: statusUrl})
    spawned.push(again)
    await again.waitReady()
    await again.waitOutput(/serving configuration /, 5000)
    const line = again.output().split('\n').find((l) => l.includes('serving configuration '))
    assert.ok(line?.includes(`serving configuration ${last} (version ${lastVersion}) from ${cachePath(prefix)} and ${AFTER_FOLD} logged change sets until the control plane answers`), line)
    const s2 = await status()
    assert.equal(s2.configuration_hash, last)
    assert.deepEqual(s2.sync, {version: lastVersion, deltas_applied: 0, full_syncs: 0, resyncs_requested: 0})
    assert.equal(s2.control_plane.connected, false)
    await checkServed('the data plane started again from its cache')
    assert.equal(await again.stop(), 0)
  })
})
