/**
 * What the router sees of a request and what it answers. Entities are plain objects as
 * the Admin API returns them (`route.service` is `{id}`); the router resolves services.
 */
import type {Entity} from '../schema/registry.js'

export interface RouterRequest {
  /** Upper-case HTTP method. */
  method: string
  /** Normalized path without the query string (see `normalizePath`). */
  path: string
  /** The Host header as sent (may carry a port); matched case-insensitively. */
  host: string
  /** Request headers with lower-case names, as node's `req.headers`/`headersDistinct`. */
  headers: Record<string, string | string[] | undefined>
  /** `https` when the request came over TLS; SNI rules apply only then. */
  scheme: 'http' | 'https'
  /** TLS server name sent by the client, if any. */
  sni?: string
  /** Local port the client connected to (Kong's `net.dst.port`, used by `host:port` rules). */
  port: number
}

export interface RouteMatch {
  route: Entity<'routes'>
  /** The route's service, or null when the route has none (the proxy answers 503). */
  service: Entity<'services'> | null
  /** The part of the path that was stripped (strip_path), else null. */
  prefix: string | null
  /** Regex path captures: the whole match, positional and named, as Kong's `uri_captures`. */
  captures: {whole?: string; positional: string[]; named: Record<string, string>} | null
  /** Path to send upstream (no query string): service path joined per path_handling. */
  upstreamPath: string
}

export interface Router {
  /** Best route for a request, or null (404). Never throws on request data. */
  match(req: RouterRequest): RouteMatch | null
  /** Number of compiled matchers (a route has one per distinct path kind/length). */
  readonly size: number
  /** Whether any route has header rules; when not, `match` never reads `headers`. */
  readonly usesHeaders: boolean
}
