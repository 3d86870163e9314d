#!/usr/bin/env node
/**
 * Router build time and match time per request at 10, 1,000 and 10,000 routes, timed one
 * match at a time with process.hrtime.bigint() (the timer's own cost, measured on an
 * empty call, is subtracted). Routes mix plain prefixes, hosts, methods and a few regex
 * paths, as a real config does; requests hit the last route, a middle one, and a miss.
 *
 *   node bench/router.js          # BENCH_MATCHES=200000 per size by default
 */
import {randomUUID} from 'node:crypto'
import {buildRouter} from '../dist/src/runtime/router/router.js'
import {normalizePath} from '../dist/src/runtime/router/normalize.js'
import {fmt, machine, markdownTable, median, percentile} from './lib/stats.js'

const SIZES = [10, 1_000, 10_000]
const MATCHES = Number(process.env.BENCH_MATCHES ?? 200_000)

function config(n) {
  const service = {id: randomUUID(), host: 'origin', port: 80, protocol: 'http', path: '/'}
  const routes = []
  for (let i = 0; i < n; i++) {
    const r = {id: randomUUID(), created_at: i, service: {id: service.id}, protocols: ['http', 'https'], strip_path: true}
    if (i % 10 === 0) r.hosts = [`api${i % 50}.example.com`]
    if (i % 7 === 0) r.methods = ['GET', 'POST']
    r.paths = i % 100 === 99 ? [`~/v${i}/items/(?<id>\\d+)$`] : [`/svc${i}/v${i % 3}`]
    routes.push(r)
  }
  return {routes, services: [service]}
}

function requests(n) {
  const last = n - 1
  const mid = (n >> 1) - ((n >> 1) % 10) // a route with a host
  const req = (host, path, method = 'GET') => ({method, host, path: normalizePath(path), headers: {}, scheme: 'http', port: 8000})
  return [
    ['last route', req('gw.example.com', last % 100 === 99 ? `/v${last}/items/42` : `/svc${last}/v${last % 3}/x`, last % 7 ? 'PUT' : 'GET')],
    ['middle route, host', req(`api${mid % 50}.example.com`, `/svc${mid}/v${mid % 3}/y`)],
    ['no match (404)', req('gw.example.com', '/nothing/here')],
  ]
}

function timeMatches(router, req) {
  for (let i = 0; i < 20_000; i++) router.match(req) // warm up the JIT
  const empty = []
  for (let i = 0; i < 10_000; i++) {
    const t0 = process.hrtime.bigint()
    empty.push(Number(process.hrtime.bigint() - t0))
  }
  const overhead = median(empty)
  const ns = new Float64Array(MATCHES)
  for (let i = 0; i < MATCHES; i++) {
    const t0 = process.hrtime.bigint()
    router.match(req)
    ns[i] = Number(process.hrtime.bigint() - t0) - overhead
  }
  ns.sort()
  return {p50: percentile(ns, 50) / 1000, p99: percentile(ns, 99) / 1000, max: ns[ns.length - 1] / 1000}
}

const rows = []
for (const n of SIZES) {
  const cfg = config(n)
  const builds = []
  let router
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint()
    router = buildRouter(cfg)
    builds.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  for (const [what, req] of requests(n)) {
    const m = router.match(req)
    if ((what === 'no match (404)') !== (m === null)) throw new Error(`${n} routes, ${what}: unexpected ${m ? m.route.id : 'no match'}`)
    const t = timeMatches(router, req)
    rows.push([n.toLocaleString('en-US'), what, fmt.us(t.p50), fmt.us(t.p99), fmt.us(t.max), fmt.ms(median(builds))])
  }
}
console.log(`Machine: ${machine()}. ${MATCHES.toLocaleString('en-US')} timed matches per row; build time is the median of 5 builds.\n`)
console.log(markdownTable(['routes', 'request', 'match p50 µs', 'match p99 µs', 'max µs', 'build ms'], rows))
