/** Field shapes several plugin schemas share (Kong's typedefs used by plugins). */
import type {Field} from '../schema/field.js'

export {host, sni} from '../schema/typedefs.js'

const HEADER_NAME = /^[a-zA-Z0-9_-]+$/

/** Kong's `typedefs.header_name`. */
export const headerName = () =>
  ({
    type: 'string',
    custom: (v: string) => (HEADER_NAME.test(v) ? null : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`),
  }) as const satisfies Field
