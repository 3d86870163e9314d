/** Renders a node's kong.conf from `templates/kong.conf`. */
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {templatesDir} from '../kit/paths.js'
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
  logLevel?: string
}

/** Writes `<prefix>/kong.conf` (mode 0600: it holds the database password) and creates `<prefix>/logs`. */
export async function writeNodeConf(input: NodeConfInput): Promise<string> {
  const {node, connection} = input
  await mkdir(join(node.prefix, 'logs'), {recursive: true, mode: 0o700})
  const text = renderTemplate(await readFile(join(templatesDir(), 'kong.conf'), 'utf8'), {
    node: node.name,
    cluster: input.cluster,
    role: node.role,
    pg_host: connection.host,
    pg_port: String(connection.port),
    pg_user: connection.user,
    pg_password: connection.password ?? '',
    pg_database: connection.database,
    pg_ssl: connection.ssl ? 'on' : 'off',
    prefix: node.prefix,
    proxy_listen: node.listen.proxy ?? 'off',
    admin_listen: node.listen.admin ?? 'off',
    status_listen: node.listen.status ?? 'off',
    log_level: input.logLevel ?? 'notice',
  })
  await writeFile(node.confPath, text, {mode: 0o600})
  return node.confPath
}
