import {createdAtMs, defineEntity, idField, tagsField, updatedAtMs} from '../field.js'
import * as t from '../typedefs.js'

export const DEFAULT_TARGET_PORT = 8000

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
        custom: (v: string) => {
          const [h, p] = t.splitHostPort(v)
          if (!t.validHost(h)) return 'Invalid target; not a valid hostname or ip address'
          if (p !== undefined && !(/^\d+$/.test(p) && Number(p) <= 65535)) return 'Invalid target; not a valid port'
          return null
        },
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
