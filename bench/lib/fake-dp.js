/**
 * Lightweight data planes that speak the real hybrid protocol v1, many in one process,
 * for measuring a control plane at scale.
 *
 *   connect wss /v1/outlet?node_id&node_hostname&node_version (mTLS, SNI kong_clustering)
 *   ─► binary basic_info (the bundled plugins) ─► ping(current hash)
 *   ─► each binary reconfigure frame: gunzip + JSON.parse, check type and hash
 *   ─► set the hash ─► ping(new hash);  and a ping every `pingIntervalMs` (jittered start)
 *
 * They serve no traffic: they apply nothing, so what they measure is the CP and the wire.
 * `decode: 'every'` decodes every frame each DP receives (1,000 DPs → 1,000 decodes);
 * `decode: 'once'` decodes each distinct frame once and checks the others are the same
 * bytes (memcmp), for configs so large that 1,000 decodes in one process would measure
 * this process instead of the control plane.
 *
 * Run as a script (`node bench/lib/fake-dp.js` with an IPC channel, see `forkFleet`), the
 * fleet lives in a process of its own and reports over IPC:
 *   {type: 'ready', ids}            every DP connected and sent basic_info
 *   {type: 'all', hash, at, bytes}  every DP decoded `hash`; `at` = epoch ms (high resolution),
 *                                   `bytes` = the frame's (compressed) size
 */
import {fork} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {gunzipSync} from 'node:zlib'
import WebSocket from 'ws'
import {bundledPlugins} from '../../dist/src/runtime/plugins/registry.js'
import {GATEWAY_VERSION} from '../../dist/src/runtime/kit/version.js'

const EMPTY_HASH = '0'.repeat(32)
export const nowEpoch = () => performance.timeOrigin + performance.now()

/**
 * Starts `count` DPs against `controlPlane` ("127.0.0.1:port"), `concurrency` handshakes
 * at a time. `onHash(hash, at, n)` is called when the n-th DP has decoded `hash`.
 * Resolves once all are connected; rejects if one cannot connect.
 */
export async function startFleet({count, controlPlane, cert, key, pingIntervalMs = 30_000, concurrency = 25, decode = 'every', incremental = false, onHash = () => {}}) {
  // incremental: the DPs ask for changes (kctl_sync, starting with nothing) and take kctl_delta frames
  const basicInfo = Buffer.from(JSON.stringify({type: 'basic_info', plugins: bundledPlugins().map((p) => ({name: p.name, version: p.version})), labels: {bench: 'fake'}, ...(incremental ? {kctl_sync: {version: -1, hash: EMPTY_HASH}} : {})}))
  const dps = []
  const decodedBy = new Map() // hash → number of DPs that decoded it
  let lastFrame = null // {bytes, msg} for decode 'once'
  let closing = false

  const decodeFrame = (bytes) => {
    if (decode === 'once' && lastFrame && lastFrame.bytes.length === bytes.length && lastFrame.bytes.equals(bytes)) return lastFrame.msg
    const msg = JSON.parse(gunzipSync(bytes).toString('utf8'))
    const delta = incremental && msg?.type === 'kctl_delta' && Array.isArray(msg.deltas)
    if (!delta && (msg?.type !== 'reconfigure' || typeof msg.config_table !== 'object')) throw new Error('not a reconfigure frame')
    if (!/^[0-9a-f]{32}$/.test(msg.config_hash)) throw new Error('no config hash')
    if (decode === 'once') lastFrame = {bytes: Buffer.from(bytes), msg}
    return msg
  }

  function connect(i) {
    const dp = {id: randomUUID(), hash: EMPTY_HASH, ws: null, timer: null, frames: 0, pings: 0, pongs: 0, openedAt: 0, lastPong: 0}
    dps.push(dp)
    const q = new URLSearchParams({node_id: dp.id, node_hostname: `fake-dp-${i}`, node_version: GATEWAY_VERSION})
    const ws = new WebSocket(`wss://${controlPlane}/v1/outlet?${q}`, {cert, key, rejectUnauthorized: false, servername: 'kong_clustering', perMessageDeflate: false, maxPayload: 16 * 1024 * 1024, handshakeTimeout: 30_000})
    dp.ws = ws
    const ping = () => {
      if (ws.readyState === WebSocket.OPEN) return void (dp.pings++, ws.ping(Buffer.from(dp.hash)))
      if (!closing) console.error(`fake DP ${i} (${dp.id}): ping skipped, socket state ${ws.readyState}`)
    }
    ws.on('pong', () => (dp.pongs++, (dp.lastPong = Date.now())))
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return
      let msg
      try {
        msg = decodeFrame(data)
      } catch (err) {
        console.error(`fake DP ${i}: unreadable frame: ${err.message}`)
        return
      }
      // The first frame counts even when it carries the hash a DP starts with (empty config).
      // The ping that reports the hash goes once this process has read what else arrived:
      // DPs sharing one process should not wait for each other's pings (real ones do not).
      if (++dp.frames > 1 && msg.config_hash === dp.hash) return void setImmediate(ping)
      dp.hash = msg.config_hash
      const n = (decodedBy.get(dp.hash) ?? 0) + 1
      decodedBy.set(dp.hash, n)
      onHash(dp.hash, nowEpoch(), n, data.length)
      setImmediate(ping)
    })
    ws.on('close', (code, reason) => {
      clearTimeout(dp.timer)
      clearInterval(dp.timer)
      if (!closing) console.error(`fake DP ${i} (${dp.id}) disconnected (code ${code} ${reason}, state ${ws.readyState}) after ${dp.frames} frames, ${dp.pings} pings, ${dp.pongs} pongs, ${Date.now() - dp.openedAt} ms open, last pong ${Date.now() - dp.lastPong} ms ago`)
    })
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        dp.openedAt = Date.now()
        ws.send(basicInfo, {binary: true})
        ping()
        // Real DPs start at different times: spread the periodic pings over one interval.
        dp.timer = setTimeout(() => (dp.timer = setInterval(ping, pingIntervalMs)), Math.random() * pingIntervalMs)
        resolve()
      })
      ws.on('error', (err) => {
        if (dp.openedAt) console.error(`fake DP ${i} (${dp.id}): ${err.message}`)
        reject(new Error(`fake DP ${i} could not connect to ${controlPlane}: ${err.message}`))
      })
    })
  }

  let next = 0
  const worker = async () => {
    while (next < count) await connect(next++)
  }
  await Promise.all(Array.from({length: Math.min(concurrency, count)}, worker))
  return {
    dps,
    ids: () => dps.map((d) => d.id),
    /** How many DPs currently hold `hash`. */
    holding: (hash) => dps.reduce((n, d) => n + (d.hash === hash ? 1 : 0), 0),
    close() {
      closing = true
      for (const d of dps) d.ws.terminate()
    },
  }
}

/**
 * Starts a fleet in a child process (stopped by pid by proc.js's `stopAll`). Resolves
 * {pid, ids, waitAll(hash, ms) → epoch ms when every DP decoded hash, stop()}.
 */
export async function forkFleet(opts, {register} = {}) {
  const child = fork(new URL(import.meta.url).pathname, [], {stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: {...process.env, FAKE_DP_OPTS: JSON.stringify(opts)}})
  register?.(child)
  const done = new Map() // hash → at
  const sizes = new Map() // hash → frame bytes
  const waiting = new Map()
  const exited = new Promise((r) => child.once('exit', r))
  const ids = await new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.type === 'ready') resolve(m.ids)
      if (m.type === 'error') reject(new Error(m.message))
      if (m.type === 'all') {
        done.set(m.hash, m.at)
        sizes.set(m.hash, m.bytes)
        waiting.get(m.hash)?.(m.at)
      }
    })
    child.once('exit', (code) => reject(new Error(`fake DP fleet exited (${code}) before it was ready`)))
  })
  return {
    pid: child.pid,
    ids,
    frameBytes: (hash) => sizes.get(hash),
    waitAll(hash, ms = 60_000) {
      if (done.has(hash)) return Promise.resolve(done.get(hash))
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not every fake DP decoded ${hash} within ${ms} ms`)), ms)
        waiting.set(hash, (at) => (clearTimeout(t), resolve(at)))
      })
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

async function fleetMain() {
  const opts = JSON.parse(process.env.FAKE_DP_OPTS)
  const onHash = (hash, at, n, bytes) => n === opts.count && process.send({type: 'all', hash, at, bytes})
  try {
    const fleet = await startFleet({...opts, onHash})
    process.send({type: 'ready', ids: fleet.ids()})
    const stop = () => (fleet.close(), setTimeout(() => process.exit(0), 50))
    process.once('SIGTERM', stop)
    process.once('disconnect', stop)
  } catch (err) {
    process.send({type: 'error', message: err.message})
    process.exit(1)
  }
}

if (process.env.FAKE_DP_OPTS && import.meta.url === `file://${process.argv[1]}`) await fleetMain()
