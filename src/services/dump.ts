/** `kctl dump`: the gateway as a declarative file; applying it back is a no-op. */
import {writeFile} from 'node:fs/promises'
import {fetchState} from '../declarative/admin-client.js'
import {resolveGateway, type AdminTarget} from './admin-target.js'
import {asUserErrors} from '../declarative/user-errors.js'
import {dumpState, dumpText} from '../runtime/declarative/dump.js'

export interface DumpOptions extends AdminTarget {
  /** Write here instead of returning the text (`-` = stdout). */
  output?: string
  format: 'yaml' | 'json'
  /** Only entities with these tags. */
  selectTags?: string[]
}

export interface DumpResult {
  /** The file written, or null when the text goes to stdout. */
  file: string | null
  format: 'yaml' | 'json'
  /** The file's text, in `format`. */
  text: string
  /** The declarative configuration itself (what `text` serializes). */
  config: Record<string, unknown>
  entities: Record<string, number>
}

export async function dump(o: DumpOptions): Promise<DumpResult> {
  return asUserErrors(async () => {
    const state = await fetchState(await resolveGateway(o), o.selectTags ?? [])
    const config = dumpState(state, o.selectTags ?? [])
    const text = dumpText(state, o.format, o.selectTags ?? [])
    const toFile = o.output && o.output !== '-' ? o.output : null
    if (toFile) await writeFile(toFile, text)
    const entities = Object.fromEntries(Object.entries(state).filter(([, l]) => l.length).map(([k, l]) => [k, l.length]))
    return {file: toFile, format: o.format, text, config, entities}
  })
}
