/**
 * decK-style text for events: `creating service svc1`, `updating route r1` with a
 * field-level diff, `deleting plugin rate-limiting (global)`. Values that came from the
 * environment are masked. Colour is the caller's choice (TTY only).
 */
import {foreignId, getSchema} from '../runtime/schema/registry.js'
import {changedFields} from '../runtime/declarative/compare.js'
import type {Event, State} from '../runtime/declarative/state.js'

export interface Paint {
  green(s: string): string
  red(s: string): string
  yellow(s: string): string
}
export const noPaint: Paint = {green: (s) => s, red: (s) => s, yellow: (s) => s}

const VERB = {create: 'creating', update: 'updating', delete: 'deleting'} as const

/** A human name: endpoint key, plugin scope, target on upstream, else the id. */
export function entityLabel(kind: string, e: Record<string, unknown>, states: readonly State[]): string {
  const nameOf = (k: string, id: string | undefined) => {
    const s = getSchema(k)
    const found = id ? states.map((st) => st[k]?.find((x) => x.id === id)).find(Boolean) : undefined
    return String((found && s?.endpoint_key && found[s.endpoint_key]) || id)
  }
  if (kind === 'plugins') {
    const scopes = (['service', 'route', 'consumer'] as const).filter((f) => foreignId(e[f])).map((f) => `${f} ${nameOf(`${f}s`, foreignId(e[f]))}`)
    const name = e.instance_name ? `${e.name} (${e.instance_name})` : String(e.name)
    return scopes.length ? `${name} for ${scopes.join(' and ')}` : `${name} (global)`
  }
  if (kind === 'targets') return `${e.target} on upstream ${nameOf('upstreams', foreignId(e.upstream))}`
  const key = getSchema(kind)?.endpoint_key
  return String((key && e[key]) || e.id)
}

/** decK's mask for a value that came from a `DECK_` environment variable. */
export const MASK = '[masked]'

/**
 * Every secret in `text` replaced by `[masked]`, longest first so that a secret holding
 * a shorter one is masked whole. Plain substrings, not words: a value substituted in the
 * middle of a word is still hidden.
 */
export function mask(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s) out = out.split(s).join(MASK)
  return out
}

/** `mask` through a JSON value: strings masked, a number equal to a secret replaced whole. */
export function maskValue(v: unknown, secrets: readonly string[]): unknown {
  if (!secrets.length || v === null || v === undefined) return v
  if (typeof v === 'string') return mask(v, secrets)
  if (typeof v === 'number' || typeof v === 'boolean') return secrets.includes(String(v)) ? MASK : v
  if (Array.isArray(v)) return v.map((x) => maskValue(x, secrets))
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskValue(x, secrets)]))
  return v
}

export function renderEvents(events: readonly Event[], states: readonly State[], secrets: readonly string[], paint: Paint = noPaint): string[] {
  const lines: string[] = []
  for (const ev of events) {
    const singular = getSchema(ev.kind)?.singular ?? ev.kind
    const head = mask(`${VERB[ev.op]} ${singular} ${entityLabel(ev.kind, ev.entity, states)}`, secrets)
    lines.push(ev.op === 'create' ? paint.green(head) : ev.op === 'delete' ? paint.red(head) : paint.yellow(head))
    if (ev.op !== 'update' || !ev.old) continue
    for (const c of changedFields(getSchema(ev.kind)!, ev.old, ev.entity, ev.transform !== false)) {
      if (c.old !== null) lines.push(paint.red(mask(`  - ${c.field}: ${JSON.stringify(c.old)}`, secrets)))
      if (c.new !== null) lines.push(paint.green(mask(`  + ${c.field}: ${JSON.stringify(c.new)}`, secrets)))
    }
  }
  return lines
}

/** Colours for stdout: only on a TTY, never with NO_COLOR. */
export function stdoutPaint(): Paint {
  if (!process.stdout.isTTY || process.env.NO_COLOR || process.env.TERM === 'dumb') return noPaint
  const c = (code: number) => (s: string) => `\u001B[${code}m${s}\u001B[0m`
  return {green: c(32), red: c(31), yellow: c(33)}
}

/** `This deletes 40 of 52 entities (77%) on the gateway.` (`deleted` once applied). */
export function massDeleteLine(m: {deleted: number; total: number; percent: number}, applied: boolean, selectTags: readonly string[] = []): string {
  const tags = selectTags.length ? ` tagged ${selectTags.join(', ')}` : ''
  return `This ${applied ? 'deleted' : 'deletes'} ${m.deleted} of ${m.total} entities${tags} (${m.percent}%) on the gateway.`
}

/** The whole report: event lines, then `Summary:` and the counts, then `notice` (a mass delete) when given. */
export function syncReport(events: readonly Event[], states: readonly State[], secrets: readonly string[], summary: {created: number; updated: number; deleted: number}, notice?: string): string[] {
  const paint = stdoutPaint()
  return [...renderEvents(events, states, secrets, paint), 'Summary:', `  Created: ${summary.created}  Updated: ${summary.updated}  Deleted: ${summary.deleted}`, ...(notice ? [paint.red(notice)] : [])]
}
