/**
 * DB-less `/config` (Kong's `kong/api/routes/config.lua`):
 *
 *   GET  /config[?format=json]   → 200 {config: "<the configuration as YAML or JSON>"}
 *   POST /config                 body: the file (JSON or YAML), or a `config` field
 *                                (JSON, form-urlencoded or multipart, as `curl -F config=@kong.yml`)
 *        ?check_hash=1           → 304 when the hash equals the loaded one
 *        ?flatten_errors=1       → the 400 also carries `flattened_errors`
 *   → 201 with the entities by kind and id; 400 code 14 when invalid, and nothing changes.
 */
import type {IncomingMessage} from 'node:http'
import type {DbLessConfig} from '../declarative/dbless-config.js'
import {stringify} from 'yaml'
import {exportConfig} from '../clustering/export.js'
import {ConfigInvalid} from '../declarative/errors.js'
import {kongDeclarativeError} from '../declarative/kong-errors.js'
import {parseText, type ParsedFile} from '../declarative/source.js'
import {BodyError, checkEntityLimit, MAX_CONFIG_BODY, readRawBody} from './body.js'
import {countEntities} from '../declarative/limits.js'
import {json, message, METHOD_NOT_ALLOWED, type Reply} from './reply.js'

const FILE_NAME = 'config.yml'

// Kong's truthy() for flatten_errors; check_hash only accepts "1" (older code, kept as is).
const truthy = (v: string | null) => v !== null && ['true', '1', 'on', 'yes'].includes(v.toLowerCase())

/** `maxEntities`: `kctl_max_config_entities`; a bigger file gets a 413 before it is validated. */
export async function handleConfig(req: IncomingMessage, url: URL, config: DbLessConfig, maxEntities?: number): Promise<Reply> {
  if (req.method === 'GET') {
    const format = url.searchParams.get('format') === 'json' ? 'json' : 'yaml'
    // Kong's export (`declarative.export_from_db`): flat, every field (nulls too), foreign
    // keys as ids, `_transform: false`
    const file = exportConfig(config.current()?.entities ?? {}, {nulls: true})
    return json(200, {config: format === 'json' ? `${JSON.stringify(file, null, 2)}\n` : stringify(file, {lineWidth: 0})})
  }
  if (req.method !== 'POST') return METHOD_NOT_ALLOWED
  const text = await configText(req)
  if (text === null || text.trim() === '') return message(400, 'expected a declarative configuration')
  let file: ParsedFile
  try {
    // Never the node's environment: `${{ env }}` is a CLI feature, not an API one.
    file = parseText(FILE_NAME, text, {})
  } catch (err) {
    return invalid(err, [], truthy(url.searchParams.get('flatten_errors')))
  }
  checkEntityLimit(countEntities(file.data), maxEntities)
  try {
    if (url.searchParams.get('check_hash') === '1' && config.current() && config.hashOf(file) === config.hash()) return {status: 304}
    const loaded = config.apply(file)
    return json(201, byId(loaded.entities))
  } catch (err) {
    return invalid(err, [file], truthy(url.searchParams.get('flatten_errors')))
  }
}

function invalid(err: unknown, files: ParsedFile[], flatten: boolean): Reply {
  if (!(err instanceof ConfigInvalid)) throw err
  return json(400, kongDeclarativeError(err.problems, files, flatten))
}

/** Kong answers the loaded entities keyed by kind, then id. */
function byId(entities: Record<string, ReadonlyArray<{id: string}>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const [kind, rows] of Object.entries(entities)) if (rows.length) out[kind] = Object.fromEntries(rows.map((r) => [r.id, r]))
  return out
}

/** The configuration text wherever the request put it; null when absent. */
async function configText(req: IncomingMessage): Promise<string | null> {
  const raw = (await readRawBody(req, MAX_CONFIG_BODY)).toString('utf8')
  const type = (req.headers['content-type'] ?? '').toLowerCase()
  if (type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams(raw).get('config')
  if (type.startsWith('multipart/form-data')) return multipartField(raw, type, 'config')
  if (type.startsWith('application/json')) {
    let body: unknown
    try {
      body = JSON.parse(raw)
    } catch {
      throw new BodyError(400, 'Cannot parse JSON body')
    }
    const obj = body as Record<string, unknown> | null
    // `{"config": "<text>"}` wraps a file; anything else is the file itself.
    if (obj && typeof obj === 'object' && typeof obj.config === 'string' && obj._format_version === undefined) return obj.config
  }
  return raw
}

function multipartField(raw: string, type: string, name: string): string | null {
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1]
  if (!boundary) throw new BodyError(400, 'multipart body without a boundary')
  for (const part of raw.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n')
    if (split < 0) continue
    const head = part.slice(0, split)
    if (!new RegExp(`name="${name}"`, 'i').test(head)) continue
    return part.slice(split + 4).replace(/\r\n$/, '')
  }
  return null
}
