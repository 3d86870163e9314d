/**
 * The Admin API of a traditional or control-plane node. `buildAdminApi(deps)` returns a
 * request handler that tests call in-process; `listenAdmin()` only binds it.
 */
import {hostname} from 'node:os'
import type {IncomingMessage} from 'node:http'
import type pg from 'pg'
import {Dao} from '../db/dao.js'
import {schemaViolation} from '../db/errors.js'
import type {Logger} from '../kit/log.js'
import {bundledPlugins, findPlugin} from '../plugins/registry.js'
import {describePlugin} from './plugin-schema.js'
import {ENTITIES, getSchema} from '../schema/registry.js'
import {SchemaViolation, validateEntity, type ValidateOptions} from '../schema/validate.js'
import {GATEWAY_VERSION} from '../kit/version.js'
import {MAX_CONFIG_BODY, readBody} from './body.js'
import {clusteringEndpoint} from './clustering.js'
import {healthEndpoint} from './health.js'
import {handleResource} from './resources.js'
import {pgTags, tagsEndpoint} from './tags.js'
import {enabledPlugins, metricsEndpoint, json, message, METHOD_NOT_ALLOWED, NOT_FOUND, toHandler, type Reply, type RequestHandler} from './reply.js'
import {describeSchema} from './schemas.js'
import {endpointList} from './methods.js'
import {statusEndpoint, type StatusSource} from './status.js'
import {supervisionStatus} from '../supervisor/serving.js'
import {handleSync} from './sync.js'
import type {WriteOptions} from '../db/dao.js'
import type {HealthView} from '../workers/proxy-host.js'
import type {HeaderPolicy} from '../proxy/kong-headers.js'

export interface AdminDeps extends StatusSource {
  pool: pg.Pool
  nodeId: string
  /** Public configuration (secrets masked) for `GET /`. */
  configuration: Record<string, unknown>
  log: Logger
  /** Rebuild what serves traffic; awaited before a write is answered. */
  onChange(): Promise<void>
  /** Set on control planes: serves `/clustering/*` from the shared database. */
  controlPlane?: boolean
  /** The proxy's target health (`/upstreams/{u}/health`…); absent on control planes. */
  health?: HealthView
  /** `kctl_max_config_entities`: events one `POST /kctl/sync` may carry. */
  maxConfigEntities?: number
  /** kong.conf `admin_gui_url`'s origins: the ones the Admin API allows (CORS); none: the request's. */
  adminOrigins?: string[]
  /** kong.conf `headers` (Server, X-Kong-Admin-Latency on every reply); Kong's defaults if absent. */
  headers?: HeaderPolicy
  /** The proxy worker processes' pids, for `GET /` (default: this process). */
  workerPids?: () => Promise<number[]>
  /** Prometheus text for `GET /metrics`; absent on nodes that proxy nothing. */
  metrics?: () => Promise<string>
}

export type {RequestHandler} from './reply.js'

export function buildAdminApi(deps: AdminDeps): RequestHandler {
  const daos = new Map(ENTITIES.map((s) => [s.name, new Dao(deps.pool, s)]))
  const checkPlugin = (form: boolean) => pluginConfigCheck(form, deps.controlPlane === true)
  const writeOptions = (form: boolean): WriteOptions => ({coerce: form, checkJson: checkPlugin(form), transient: true})
  const resourceDeps = {dao: (n: string) => daos.get(n)!, writeOptions, onChange: deps.onChange}
  const healthDeps = {
    nodeId: deps.nodeId,
    health: deps.health,
    read: (segments: string[], query: URLSearchParams, path: string) =>
      handleResource({method: 'GET', segments, query, path, body: async () => ({body: {}, form: false})}, resourceDeps),
  }

  async function route(req: IncomingMessage, url: URL, method: string): Promise<Reply> {
    const tags = await tagsEndpoint(method, url.pathname, url.searchParams, pgTags(deps.pool))
    if (tags) return tags
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    const body = () => readBody(req)
    if (segments.length === 0) return method === 'GET' ? json(200, {...rootInfo(deps, true), pids: await nodePids(deps.workerPids)}) : METHOD_NOT_ALLOWED
    const status = await statusEndpoint(method, segments, deps)
    if (segments[0] === 'endpoints' && segments.length === 1) return method === 'GET' ? json(200, {data: endpointList({controlPlane: deps.controlPlane === true})}) : METHOD_NOT_ALLOWED
    if (status) return status
    if (segments[0] === 'metrics' && segments.length === 1) return metricsEndpoint(method, deps.metrics)
    if (segments[0] === 'clustering') return clusteringEndpoint(method, segments.slice(1), url.searchParams, url.pathname, deps.controlPlane ? deps.pool : null)
    if (segments[0] === 'schemas') return schemasEndpoint(method, segments.slice(1), body, checkPlugin)
    if (segments[0] === 'kctl' && segments[1] === 'sync' && segments.length === 2) return handleSync(method, () => readBody(req, MAX_CONFIG_BODY), {...deps, checkJson: checkPlugin(false), maxEvents: deps.maxConfigEntities})
    if (segments[0] === 'plugins' && segments[1] === 'enabled' && segments.length === 2) {
      return enabledPlugins(method)
    }
    const health = await healthEndpoint(method, segments, url.searchParams, url.pathname, healthDeps)
    if (health) return health
    const reply = await handleResource({method, segments, query: url.searchParams, path: url.pathname, body}, resourceDeps)
    return reply ?? NOT_FOUND
  }

  return toHandler(route, deps.log, {origins: deps.adminOrigins, headers: deps.headers})
}

/** Plugin config checks; form values are strings, so only they are coerced (as Kong). */
const pluginConfigCheck = (coerce: boolean, controlPlane: boolean): NonNullable<ValidateOptions['checkJson']> => (path, value, entity) => {
  if (path !== 'config' || typeof entity.name !== 'string') return {value}
  const plugin = findPlugin(entity.name)
  if (!plugin) return {value, errors: undefined}
  return plugin.validateConfig(value, {coerce, controlPlane})
}

type PluginCheck = ReturnType<typeof pluginConfigCheck>

export async function schemasEndpoint(
  method: string,
  rest: string[],
  body: () => Promise<{body: Record<string, unknown>; form: boolean}>,
  checkPlugin: (form: boolean) => PluginCheck = (form) => pluginConfigCheck(form, false),
): Promise<Reply> {
  if (rest[0] === 'plugins' && rest.length === 2 && rest[1] !== 'validate') {
    const p = findPlugin(rest[1])
    if (method !== 'GET') return METHOD_NOT_ALLOWED
    return p ? json(200, describePlugin(p)) : message(404, `No plugin named '${rest[1]}'`)
  }
  const schema = getSchema(rest[0])
  if (!schema) return message(404, `No entity named '${rest[0]}'`)
  if (rest.length === 1) return method === 'GET' ? json(200, describeSchema(schema)) : METHOD_NOT_ALLOWED
  if (rest.length === 2 && rest[1] === 'validate') {
    if (method !== 'POST') return METHOD_NOT_ALLOWED
    const {body: input, form} = await body()
    try {
      validateEntity(schema, input, {defaults: true, coerce: form, checkJson: checkPlugin(form), transient: true})
    } catch (err) {
      if (err instanceof SchemaViolation) throw schemaViolation(err.fields)
      throw err
    }
    return message(200, 'schema validation successful')
  }
  return NOT_FOUND
}

/**
 * Kong's `pids` in `GET /`: `master` is the node's supervisor (the process `kctl start`
 * launched, which restarts the serving one) when there is one, else the serving process;
 * `workers` are the processes that proxy (the serving process itself with one worker).
 */
export async function nodePids(workerPids?: () => Promise<number[]>): Promise<{master: number; workers: number[]}> {
  const workers = (await workerPids?.().catch(() => [])) ?? []
  return {master: supervisionStatus() ? process.ppid : process.pid, workers: workers.length ? workers : [process.pid]}
}

/**
 * Kong's `GET /`, plus a `kctl` key Kong does not use: clients that know it (kctl's
 * apply) see a kctl node, and whether it takes `POST /kctl/sync`; others ignore it.
 */
export function rootInfo(deps: Pick<AdminDeps, 'nodeId' | 'configuration'>, sync: boolean): Record<string, unknown> {
  return {
    tagline: 'Welcome to kong',
    version: GATEWAY_VERSION,
    edition: 'community',
    node_id: deps.nodeId,
    hostname: hostname(),
    plugins: {available_on_server: Object.fromEntries(bundledPlugins().map((p) => [p.name, {version: p.version, priority: p.priority}])), enabled_in_cluster: []},
    configuration: deps.configuration,
    kctl: sync ? {sync: '/kctl/sync'} : {},
  }
}
