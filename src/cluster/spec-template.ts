/** Renders a new kctl.yaml from `templates/<mode>.yaml`. */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse} from 'yaml'
import {templatesDir} from '../kit/paths.js'
import {layoutNodes, nodesYaml, type BasePorts} from './layout.js'
import {renderTemplate} from './node-conf.js'
import {validateSpec, type ClusterSpec, type Mode, type MtlsMode} from './spec.js'

export interface SpecInput {
  mode: Mode
  name: string
  /** postgres:// URL of an existing server; absent: embedded. */
  databaseUrl?: string
  /** hybrid: number of data planes. */
  dataPlanes?: number
  /** distributed: number of nodes. */
  nodes?: number
  /** hybrid: certificate mode (default shared). */
  mtls?: MtlsMode
  /** hybrid, shared mode: existing certificate and key instead of generated ones. */
  cert?: {cert: string; key: string}
  /** The first node's proxy, admin and status ports instead of Kong's defaults. */
  ports?: BasePorts
}

/** The spec text (comments kept) and its validated form. @throws UserError SPEC_INVALID for bad input */
export async function renderSpec(input: SpecInput): Promise<{text: string; spec: ClusterSpec}> {
  const template = await readFile(join(templatesDir(), `${input.mode}.yaml`), 'utf8')
  const certificates: Record<string, unknown> = {mtls: input.mtls ?? 'shared', days: 1095, ...input.cert}
  const text = renderTemplate(template, {
    name: input.name,
    // JSON strings are valid YAML flow scalars, so any URL or path is quoted safely.
    database: input.databaseUrl ? `{url: ${JSON.stringify(input.databaseUrl)}}` : '{embedded: true}',
    certificates: `{${Object.entries(certificates).map(([k, v]) => `${k}: ${typeof v === 'string' && /[^\w-]/.test(v) ? JSON.stringify(v) : v}`).join(', ')}}`,
    nodes: nodesYaml(layoutNodes(input)),
  })
  return {text, spec: validateSpec(parse(text), 'the generated spec')}
}
