#!/usr/bin/env node
/**
 * What Kong's header set costs a Node proxy: a bare undici proxy (request + pipe, the way
 * kctl forwards) against the same proxy adding the headers kctl must add as Kong does
 * (X-Forwarded-*, X-Real-IP, X-Kong-Request-Id upstream; Via, X-Kong-*-Latency,
 * X-Kong-Request-Id downstream). Interleaved, medians; same pinning as bench/proxy.js.
 *
 *   node bench/proxy-headers.js              # 3 s × 5 rounds
 *   node bench/proxy-headers.js serve <mode> <port> <originPort>   (internal)
 */
import http from 'node:http'
import {availableParallelism} from 'node:os'
import {fileURLToPath} from 'node:url'

const [cmd, mode, port, originPort] = process.argv.slice(2)
const ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f'

async function serve() {
  const {Pool} = await import('undici')
  const pool = new Pool(`http://127.0.0.1:${originPort}`, {keepAliveTimeout: 60_000})
  const kong = mode === 'kong-headers'
  http.createServer(async (req, res) => {
    try {
      const headers = kong
        ? {...req.headers, 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': '127.0.0.1', 'x-forwarded-port': String(port),
          'x-forwarded-path': req.url, 'x-forwarded-prefix': '/bench', 'x-real-ip': '127.0.0.1', 'x-kong-request-id': ID, host: `127.0.0.1:${originPort}`}
        : {...req.headers, host: `127.0.0.1:${originPort}`}
      const up = await pool.request({path: req.url, method: req.method, headers})
      const out = kong ? {...up.headers, via: '1.1 kong/3.9.1', 'x-kong-upstream-latency': '1', 'x-kong-proxy-latency': '0', 'x-kong-request-id': ID} : up.headers
      res.writeHead(up.statusCode, out)
      up.body.pipe(res)
    } catch {
      res.destroy()
    }
  }).listen(Number(port), '127.0.0.1')
}

async function main() {
  const {startOrigin} = await import('./lib/nginx.js')
  const {freePort, startProcess, stopAll, stopOnExit, waitForPort} = await import('./lib/proc.js')
  const {fmt, interleave, machine, markdownTable, median} = await import('./lib/stats.js')
  const {runWrk} = await import('./lib/wrk.js')
  stopOnExit()
  const n = availableParallelism()
  const [proxyCpu, loadCpu] = n > 1 ? ['0', String(n - 1)] : [undefined, undefined]
  const origin = await freePort()
  await startOrigin(origin, loadCpu)
  const targets = []
  for (const name of ['bare', 'kong-headers']) {
    const p = await freePort()
    const proc = startProcess(name, process.execPath, [fileURLToPath(import.meta.url), 'serve', name, String(p), String(origin)], {cpus: proxyCpu})
    await waitForPort(p, 10_000, proc)
    targets.push({name, url: `http://127.0.0.1:${p}/bench/hello`})
  }
  for (const t of targets) await runWrk({url: t.url, seconds: 2, cpus: loadCpu})
  const res = await interleave(targets, Number(process.env.BENCH_ROUNDS ?? 5), (t) => runWrk({url: t.url, seconds: Number(process.env.BENCH_SECONDS ?? 3), cpus: loadCpu}))
  await stopAll()
  const bare = median(res.get('bare').map((r) => r.rps))
  console.log(`Machine: ${machine()}.\n`)
  console.log(markdownTable(['undici proxy', 'req/s (median)', 'p99 ms', 'vs bare'], [...res].map(([name, runs]) => {
    const rps = median(runs.map((r) => r.rps))
    return [name === 'bare' ? 'bare (Host only)' : "with Kong's headers", fmt.int(rps), fmt.ms(median(runs.map((r) => r.p99))), fmt.ratio(rps / bare)]
  })))
}

await (cmd === 'serve' ? serve() : main())
