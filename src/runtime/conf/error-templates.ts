/**
 * kong.conf `error_template_html`, `error_template_json`, `error_template_xml`,
 * `error_template_plain`: files whose text replaces Kong's template for that format of the
 * gateway's own errors (`%s` the message, then the request id, as Lua's `string.format`).
 * Kong reads them on first use and falls back to its own template, with an error in the
 * log, when one cannot be read; a node refuses to start instead, saying which file.
 */
import {readFileSync} from 'node:fs'
import {templateDirectiveError, type ErrorFormat, type ErrorTemplates} from '../proxy/error-format.js'
import type {NodeConf} from './defaults.js'

const FORMATS: readonly ErrorFormat[] = ['html', 'json', 'xml', 'plain']

/** The start-up errors: a file that cannot be read, a template with directives Lua's string.format would not fill. */
export function errorTemplateErrors(conf: NodeConf): string[] {
  const errors: string[] = []
  for (const format of FORMATS) {
    const path = conf[`error_template_${format}`]
    if (!path) continue
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      errors.push(`error_template_${format}: cannot read '${path}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a readable file, or leave the setting out for Kong's template`)
      continue
    }
    const bad = templateDirectiveError(text)
    if (bad) errors.push(`error_template_${format}: in '${path}', ${bad}; use %s for the message, then %s for the request id, and %% for a percent sign`)
  }
  return errors
}

/** The templates' text, by format (read when the proxy starts; loadConf checked them). */
export function readErrorTemplates(conf: NodeConf): ErrorTemplates {
  const out: ErrorTemplates = {}
  for (const format of FORMATS) {
    const path = conf[`error_template_${format}`]
    if (path) out[format] = readFileSync(path, 'utf8')
  }
  return out
}
