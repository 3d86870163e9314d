/** Renders a node's kong.conf from `templates/kong.conf`. */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {templatesDir} from '../kit/paths.js'
import type {Host} from './hosts/host.js'
import {localHost} from './hosts/local.js'
import type {PgConnection} from './postgres.js'
import type {NodeState} from './state.js'

/** Replaces `{{key}}` placeholders; a missing key is a bug in the caller. */
export function renderTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`template value missing: ${k}`)
    return values[k]
  })
}

export interface NodeConfInput {
  cluster: string
  node: NodeState
  connection: PgConnection
  /** Hybrid keys (cluster_cert, cluster_listen or cluster_control_plane, …). */
  clustering?: Record<string, string>
  logLevel?: string
  /** Extra keys from the spec's `conf` (already checked); they win over the values above. */
  extra?: Record<string, string>
  /** Where the node runs (default this machine): the files are written there. */
  host?: Host
}

/** Writes `<prefix>/kong.conf` (mode 0600: it holds the database password) and creates `<prefix>/logs`. */
export async function writeNodeConf(input: NodeConfInput): Promise<string> {
  const {node} = input
  const host = input.host ?? localHost
  const {log_level: logLevel, ...extra} = input.extra ?? {}
  await host.mkdir(join(node.prefix, 'logs'), {mode: 0o700})
  const text = renderTemplate(await readFile(join(templatesDir(), 'kong.conf'), 'utf8'), {
    node: node.name,
    cluster: input.cluster,
    role: node.role,
    prefix: confValue(node.prefix),
    proxy_listen: node.listen.proxy ?? 'off',
    admin_listen: node.listen.admin ?? 'off',
    status_listen: node.listen.status ?? 'off',
    log_level: confValue(logLevel ?? input.logLevel ?? 'notice'),
    storage: confLines(storage(input)),
    clustering: confLines(input.clustering ?? {}),
    extra: confLines(extra),
  })
  await host.writeFile(node.confPath, text, {mode: 0o600})
  return node.confPath
}

/** Data planes have no database (Kong: only in-memory storage for role = data_plane). */
function storage({node, connection: c}: NodeConfInput): Record<string, string> {
  if (node.role === 'data_plane') return {database: 'off'}
  return {database: 'postgres', pg_host: c.host, pg_port: String(c.port), pg_user: c.user, pg_password: c.password ?? '', pg_database: c.database, pg_ssl: c.ssl ? 'on' : 'off'}
}

/**
 * A value as kong.conf text. `#` starts a comment in kong.conf unless written `\#` (the
 * runtime's parseConfText, as Kong), so a password or a path with `#` must be escaped.
 */
export const confValue = (v: string): string => v.replace(/#/g, '\\#')

export const confLines = (values: Record<string, string>): string => Object.entries(values).map(([k, v]) => `${k} = ${confValue(v)}`).join('\n')
