/**
 * Typed fixture factories: entities go through the real schema validation with
 * defaults, so they look exactly like what the Admin API stores (Kong's defaults
 * included). `id` and `created_at` are auto fields: the factories set them.
 */
import {randomUUID} from 'node:crypto'
import {certificates, snis} from '../../src/runtime/schema/entities/certificates.js'
import {routes} from '../../src/runtime/schema/entities/routes.js'
import {services} from '../../src/runtime/schema/entities/services.js'
import {targets} from '../../src/runtime/schema/entities/targets.js'
import {upstreams} from '../../src/runtime/schema/entities/upstreams.js'
import type {EntityOf, EntitySchema} from '../../src/runtime/schema/field.js'
import {validateEntity} from '../../src/runtime/schema/validate.js'

let clock = 1_700_000_000

function make<S extends EntitySchema>(schema: S, input: Record<string, unknown>): EntityOf<S> {
  const {id, created_at, ...rest} = input
  const e = validateEntity(schema, rest, {defaults: true})
  e.id = (id as string) ?? randomUUID()
  e.created_at = (created_at as number) ?? clock++
  e.updated_at = e.created_at
  return e as EntityOf<S>
}

export interface RouteInput {
  id?: string
  name?: string
  created_at?: number
  protocols?: string[]
  methods?: string[]
  hosts?: string[]
  paths?: string[]
  headers?: Record<string, string[]>
  snis?: string[]
  strip_path?: boolean
  preserve_host?: boolean
  regex_priority?: number
  path_handling?: 'v0' | 'v1'
  https_redirect_status_code?: number
  request_buffering?: boolean
  service?: {id: string} | null
}

export const route = (input: RouteInput) => make(routes, input as Record<string, unknown>)

export interface ServiceInput {
  id?: string
  name?: string
  url?: string
  protocol?: string
  host?: string
  port?: number
  path?: string
  retries?: number
  connect_timeout?: number
  read_timeout?: number
  write_timeout?: number
  enabled?: boolean
}

export const service = (input: ServiceInput) => make(services, input as Record<string, unknown>)

export type UpstreamInput = {
  id?: string
  name: string
  algorithm?: string
  hash_on?: string
  hash_fallback?: string
  hash_on_header?: string
  hash_fallback_header?: string
  hash_on_cookie?: string
  hash_on_cookie_path?: string
  hash_on_query_arg?: string
  hash_on_uri_capture?: string
  slots?: number
  /** Partial: the schema fills Kong's defaults. */
  healthchecks?: Record<string, unknown>
}

export const upstream = (input: UpstreamInput) => make(upstreams, input as Record<string, unknown>)

export const target = (input: {id?: string; upstream: {id: string}; target: string; weight?: number}) => make(targets, input)

export const certificate = (input: {id?: string; cert: string; key: string}) => make(certificates, input)

export const sni = (input: {name: string; certificate: {id: string}}) => make(snis, input)
