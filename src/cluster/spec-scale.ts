/**
 * Adding or removing nodes of one role in kctl.yaml's text, comments and layout kept (the
 * YAML document is edited, not re-rendered). New nodes copy the last node of that role
 * (its conf, host) with a new name and listeners shifted by 100 past every port the spec
 * already uses, the port rule of layout.ts; removed nodes are the last ones of that role.
 */
import {isMap, isSeq, parseDocument, type YAMLMap} from 'yaml'
import {UserError} from '../kit/errors.js'
import {parseListen} from './listen.js'
import {LISTEN_KEYS, validateSpec, type ClusterSpec, type Role} from './spec.js'

export interface ScaledSpec {
  text: string
  spec: ClusterSpec
  added: string[]
  removed: string[]
}

/**
 * @param count how many nodes of `role` the spec should have (at least 1)
 * @throws UserError SPEC_INVALID when the spec has no node of that role to copy
 */
export function scaleSpec(text: string, specPath: string, role: Role, count: number, prefix: string): ScaledSpec {
  const doc = parseDocument(text)
  const nodes = doc.getIn(['spec', 'nodes'])
  if (!isSeq(nodes)) throw new UserError('SPEC_INVALID', `${specPath}: spec.nodes is not a list.`)
  const spec = validateSpec(doc.toJS(), specPath)
  const mine = spec.spec.nodes.filter((n) => n.role === role)
  const last = mine.at(-1)
  if (!last) throw new UserError('SPEC_INVALID', `${specPath}: no ${role} node to copy.`, {hint: `Add one ${role} node to spec.nodes by hand, then run the command again.`})
  const added: string[] = []
  const removed: string[] = []
  const used = new Set(spec.spec.nodes.flatMap((n) => LISTEN_KEYS.flatMap((k) => portsOf(n[k]))))
  const names = new Set(spec.spec.nodes.map((n) => n.name))
  const template = nodes.items[spec.spec.nodes.indexOf(last)]
  for (let i = mine.length; i < count; i++) {
    let k = 1
    while (names.has(`${prefix}${k}`)) k++
    const name = `${prefix}${k}`
    names.add(name)
    const copy = (isMap(template) ? template.clone() : doc.createNode({})) as YAMLMap
    copy.set('name', name)
    for (const key of LISTEN_KEYS) {
      const value = last[key]
      if (!value) continue
      copy.set(key, shifted(value, used))
    }
    nodes.add(copy)
    added.push(name)
  }
  for (let i = mine.length; i > count; i--) {
    const victim = mine[i - 1]
    const at = nodes.items.findIndex((item) => isMap(item) && item.get('name') === victim.name)
    nodes.delete(at)
    removed.unshift(victim.name)
  }
  const out = doc.toString()
  return {text: out, spec: validateSpec(parseDocument(out).toJS(), specPath), added, removed}
}

/** `value` with every port moved by the smallest multiple of 100 that frees them all; marks them used. */
function shifted(value: string, used: Set<number>): string {
  const ports = portsOf(value)
  let step = 100
  while (ports.some((p) => used.has(p + step) || p + step > 65535)) step += 100
  for (const p of ports) used.add(p + step)
  // each `:port` of the value, in order (addresses may be IPv6 in brackets)
  return value.replace(/:(\d+)(?=\s|,|$)/g, (_, p: string) => `:${Number(p) + step}`)
}

/** The ports of a listen value (none for `off` or what does not parse: the spec was validated). */
function portsOf(value: string | undefined): number[] {
  const parsed = value ? parseListen(value) : []
  return Array.isArray(parsed) ? parsed.map((l) => l.port) : []
}
