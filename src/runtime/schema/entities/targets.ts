import {createdAtMs, defineEntity, idField, tagsField, updatedAtMs} from '../field.js'
import * as t from '../typedefs.js'

export const DEFAULT_TARGET_PORT = 8000
/** The Admin API's message for a target that is no host or address with an optional port (Kong's targets DAO). */
export const INVALID_TARGET = 'Invalid target; not a valid hostname or ip address'

/** `host[:port]`, as Kong's `normalize_ip`: a valid host name or address, a port up to 65535. */
export function validTarget(v: string): boolean {
  const [h, p] = t.splitHostPort(v)
  return t.validHost(h) && (p === undefined || (/^\d+$/.test(p) && Number(p) <= 65535))
}

export const targets = defineEntity({
  name: 'targets',
  singular: 'target',
  unique_together: [['upstream', 'target']],
  fields: [
    idField(),
    // Kong's targets keep milliseconds (`auto_timestamp_ms`)
    createdAtMs(),
    updatedAtMs(),
    ['upstream', {type: 'foreign', reference: 'upstreams', required: true, on_delete: 'cascade', description: 'The upstream this target belongs to.'}],
    [
      'target',
      {
        type: 'string',
        required: true,
        description: 'host:port of the backend; the port defaults to 8000.',
        // Kong's schema message names the target; its Admin API (the targets DAO) answers
        // INVALID_TARGET before the schema runs
        custom: (v: string) => (validTarget(v) ? null : `Invalid target ('${v}'); not a valid hostname or ip address`),
      },
    ],
    ['weight', {type: 'integer', default: 100, between: [0, 65535], description: 'Share of traffic relative to other targets.'}],
    tagsField(),
  ],
  normalize: (e) => {
    if (typeof e.target === 'string') {
      const [h, p] = t.splitHostPort(e.target)
      if (p === undefined) e.target = `${h}:${DEFAULT_TARGET_PORT}`
    }
  },
})
