#!/usr/bin/env node
/**
 * One proxy under test, as its own process (so it can be pinned to a core and profiled):
 *
 *   node bench/proxy-targets.js <kind> <port> <originPort>
 *
 * kinds: kctl-1 (1 route), kctl-1-w2 (1 route, node_worker_processes = 2), kctl-1000 (1,000 routes, the request matches the last),
 * kctl-plugins (1 route, key-auth + rate-limiting local), fastify (@fastify/http-proxy),
 * fast-gateway, http-proxy, node-http (answers `ok` itself: the ceiling for Node).
 *
 * Every proxy forwards `/bench/…` to the origin over keep-alive connections. kctl runs
 * its real proxy (createProxy + buildSnapshot from the runtime, the code a traditional or
 * DP node serves with) with a snapshot built from entities, as a node builds it from its
 * database or from the CP's config; Kong's default log level (notice).
 */
import {randomUUID} from 'node:crypto'
import http from 'node:http'
import {pathToFileURL} from 'node:url'

const [kind, portArg, originArg] = process.argv.slice(2)
const port = Number(portArg)
const origin = `http://127.0.0.1:${Number(originArg)}`
export const BENCH_KEY = 'bench-key'

function listen(server) {
  server.keepAliveTimeout = 60_000
  server.listen(port, '127.0.0.1')
}

async function kctl(routeCount, withPlugins, workers = 1) {
  // KCTL_DIST: another build's dist/ (e.g. an older commit), to measure before/after in one run
  const dist = process.env.KCTL_DIST ? pathToFileURL(process.env.KCTL_DIST.replace(/\/?$/, '/')).href : new URL('../dist/', import.meta.url).href
  const {createProxy} = await import(`${dist}src/runtime/proxy/server.js`)
  const {buildSnapshot} = await import(`${dist}src/runtime/proxy/snapshot.js`)
  const {createLogger} = await import(`${dist}src/runtime/kit/log.js`)
  const {findPlugin} = await import(`${dist}src/runtime/plugins/registry.js`)
  const now = Math.floor(Date.now() / 1000)
  const service = {id: randomUUID(), name: 'origin', protocol: 'http', host: '127.0.0.1', port: Number(originArg), path: null,
    retries: 5, connect_timeout: 60000, read_timeout: 60000, write_timeout: 60000, enabled: true}
  const routes = []
  for (let i = 0; i < routeCount; i++) {
    const last = i === routeCount - 1
    routes.push({id: randomUUID(), name: `r${i}`, paths: [last ? '/bench' : `/r${i}`], protocols: ['http', 'https'], strip_path: true,
      preserve_host: false, regex_priority: 0, path_handling: 'v0', https_redirect_status_code: 426, request_buffering: true,
      response_buffering: true, created_at: now + i, service: {id: service.id}})
  }
  const plugins = []
  const consumers = []
  const keyauth_credentials = []
  if (withPlugins) {
    const plugin = (name, config) => {
      const r = findPlugin(name).validateConfig(config)
      if (r.errors) throw new Error(`${name}: ${JSON.stringify(r.errors)}`)
      return {id: randomUUID(), name, config: r.value, enabled: true, protocols: ['grpc', 'grpcs', 'http', 'https'], created_at: now}
    }
    plugins.push(plugin('key-auth', {}), plugin('rate-limiting', {minute: 1e12, policy: 'local'}))
    const c = {id: randomUUID(), username: 'bench', custom_id: null}
    consumers.push(c)
    keyauth_credentials.push({id: randomUUID(), consumer: {id: c.id}, key: BENCH_KEY})
  }
  const entities = {services: [service], routes, upstreams: [], targets: [], certificates: [], snis: [], plugins, consumers, keyauth_credentials}
  if (workers > 1) return kctlWorkers(dist, entities, workers)
  const snapshot = buildSnapshot(entities)
  const proxy = createProxy({log: createLogger({level: 'notice'}), initial: snapshot})
  await proxy.listen([{host: '127.0.0.1', port, ssl: false, http2: false}])
  process.once('SIGTERM', () => void proxy.close().then(() => process.exit(0)))
}

/** The same proxy in `workers` processes, fed by the runtime's own worker pool. */
async function kctlWorkers(dist, entities, workers) {
  const {createWorkerPool} = await import(`${dist}src/runtime/workers/pool.js`)
  const {loadConf} = await import(`${dist}src/runtime/conf/load.js`)
  const {createLogger} = await import(`${dist}src/runtime/kit/log.js`)
  const conf = loadConf({env: {}, overrides: {proxy_listen: `127.0.0.1:${port}`, node_worker_processes: String(workers), log_level: 'notice'}})
  const pool = createWorkerPool({conf, log: createLogger({level: 'notice'}), count: workers})
  await pool.apply(entities)
  await pool.listen()
  process.removeAllListeners('SIGTERM')
  process.once('SIGTERM', () => void pool.close().then(() => process.exit(0)))
}

async function fastify() {
  const {default: Fastify} = await import('fastify')
  const {default: proxy} = await import('@fastify/http-proxy')
  const app = Fastify({logger: false})
  await app.register(proxy, {upstream: origin, prefix: '/bench', rewritePrefix: ''})
  await app.listen({port, host: '127.0.0.1'})
}

async function fastGateway() {
  const {default: gateway} = await import('fast-gateway')
  const server = gateway({routes: [{prefix: '/bench', target: origin}]})
  await server.start(port, '127.0.0.1')
}

async function httpProxy() {
  const {default: httpProxy} = await import('http-proxy')
  const agent = new http.Agent({keepAlive: true, maxSockets: 256})
  const proxy = httpProxy.createProxyServer({target: origin, agent})
  proxy.on('error', (err, req, res) => {
    res.writeHead?.(502)
    res.end?.()
  })
  listen(http.createServer((req, res) => proxy.web(req, res)))
}

function nodeHttp() {
  listen(http.createServer((req, res) => {
    res.writeHead(200, {'content-type': 'text/plain', 'content-length': 2})
    res.end('ok')
  }))
}

const KINDS = {
  'kctl-1': () => kctl(1, false),
  'kctl-1-baseline': () => kctl(1, false),
  'kctl-plugins-baseline': () => kctl(1, true),
  'kctl-1-w2': () => kctl(1, false, 2),
  'kctl-1000': () => kctl(1000, false),
  'kctl-plugins': () => kctl(1, true),
  fastify,
  'fast-gateway': fastGateway,
  'http-proxy': httpProxy,
  'node-http': nodeHttp,
}

if (!KINDS[kind] || !port) {
  console.error(`usage: proxy-targets.js <${Object.keys(KINDS).join('|')}> <port> <originPort>`)
  process.exit(2)
}
process.on('SIGTERM', () => process.exit(0))
await KINDS[kind]()
