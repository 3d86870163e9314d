/**
 * The Admin API of a DB-less traditional node: `GET /`, `/status`, `/config`, schemas,
 * and the entity endpoints read-only from memory. Like `buildAdminApi`, it returns a
 * handler; the node only binds it.
 */
import type {DbLessConfig} from '../declarative/dbless-config.js'
import type {Logger} from '../kit/log.js'
import {readBody} from './body.js'
import {clusteringEndpoint} from './clustering.js'
import {handleConfig} from './config.js'
import {healthEndpoint} from './health.js'
import {handleMemoryResource} from './memory-resources.js'
import {emptyEntitySet} from '../schema/registry.js'
import {enabledPlugins, json, message, metricsEndpoint, METHOD_NOT_ALLOWED, NOT_FOUND, toHandler, type Reply} from './reply.js'
import {nodePids, rootInfo, schemasEndpoint, type RequestHandler} from './server.js'
import {endpointList} from './methods.js'
import {memoryTags, tagsEndpoint} from './tags.js'
import {statusEndpoint, type StatusSource} from './status.js'
import type {HealthView} from '../workers/proxy-host.js'
import type {HeaderPolicy} from '../proxy/kong-headers.js'

export interface DbLessAdminDeps extends StatusSource {
  nodeId: string
  configuration: Record<string, unknown>
  log: Logger
  config: DbLessConfig
  /** The proxy's target health. */
  health: HealthView
  /** `kctl_max_config_entities`: entities one `POST /config` may carry. */
  maxConfigEntities?: number
  /** kong.conf `admin_gui_url`'s origins: the ones the Admin API allows (CORS); none: the request's. */
  adminOrigins?: string[]
  /** kong.conf `headers` (Server, X-Kong-Admin-Latency on every reply); Kong's defaults if absent. */
  headers?: HeaderPolicy
  /** The proxy worker processes' pids, for `GET /` (default: this process). */
  workerPids?: () => Promise<number[]>
  /** Prometheus text for `GET /metrics`. */
  metrics?: () => Promise<string>
}

export function buildDbLessAdminApi(deps: DbLessAdminDeps): RequestHandler {
  async function route(req: Parameters<RequestHandler>[0], url: URL, method: string): Promise<Reply> {
    const tags = await tagsEndpoint(method, url.pathname, url.searchParams, memoryTags(() => deps.config.current()?.entities ?? emptyEntitySet()))
    if (tags) return tags
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (segments.length === 0) return method === 'GET' ? json(200, {...rootInfo(deps, false), pids: await nodePids(deps.workerPids)}) : METHOD_NOT_ALLOWED
    const status = await statusEndpoint(method, segments, deps)
    if (segments[0] === 'endpoints' && segments.length === 1) return method === 'GET' ? json(200, {data: endpointList()}) : METHOD_NOT_ALLOWED
    if (status) return status
    if (segments[0] === 'metrics' && segments.length === 1) return metricsEndpoint(method, deps.metrics)
    if (segments[0] === 'config' && segments.length === 1) return handleConfig(req, url, deps.config, deps.maxConfigEntities)
    if (segments[0] === 'clustering') return clusteringEndpoint(method, segments.slice(1), url.searchParams, url.pathname, null)
    if (segments[0] === 'schemas') return schemasEndpoint(method, segments.slice(1), () => readBody(req))
    if (segments[0] === 'kctl' && segments[1] === 'sync') return message(400, 'this endpoint is only available when Kong is configured to use a database; use POST /config')
    if (segments[0] === 'plugins' && segments[1] === 'enabled' && segments.length === 2) {
      return enabledPlugins(method)
    }
    const entities = deps.config.current()?.entities ?? emptyEntitySet()
    const read = async (segs: string[], query: URLSearchParams, path: string) => handleMemoryResource({method: 'GET', segments: segs, query, path}, entities)
    const health = await healthEndpoint(method, segments, url.searchParams, url.pathname, {nodeId: deps.nodeId, health: deps.health, read})
    if (health) return health
    return handleMemoryResource({method, segments, query: url.searchParams, path: url.pathname}, entities) ?? NOT_FOUND
  }

  return toHandler(route, deps.log, {origins: deps.adminOrigins, headers: deps.headers})
}

