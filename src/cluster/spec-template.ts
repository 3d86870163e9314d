/** Renders a new kctl.yaml from `templates/<mode>.yaml`. */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse} from 'yaml'
import {templatesDir} from '../kit/paths.js'
import {renderTemplate} from './node-conf.js'
import {validateSpec, type ClusterSpec, type Mode} from './spec.js'

export interface SpecInput {
  mode: Mode
  name: string
  /** postgres:// URL of an existing server; absent: embedded. */
  databaseUrl?: string
}

/** The spec text (comments kept) and its validated form. @throws UserError SPEC_INVALID for bad input */
export async function renderSpec(input: SpecInput): Promise<{text: string; spec: ClusterSpec}> {
  const template = await readFile(join(templatesDir(), `${input.mode}.yaml`), 'utf8')
  const text = renderTemplate(template, {
    name: input.name,
    // JSON strings are valid YAML flow scalars, so any URL is quoted safely.
    database: input.databaseUrl ? `{url: ${JSON.stringify(input.databaseUrl)}}` : '{embedded: true}',
  })
  return {text, spec: validateSpec(parse(text), 'the generated spec')}
}
