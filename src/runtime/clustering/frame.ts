/**
 * A reconfigure frame as the data plane takes it: gunzip, parse, Kong's config_table to
 * entity arrays, every entity checked against its schema. Pure, so it runs on the frame
 * decoder's thread (frame-decoder.ts) as well as here.
 */
import {getSchema} from '../schema/registry.js'
import {validateEntity} from '../schema/validate.js'
import {importConfig, type EntityArrays} from './export.js'
import {decodeReconfigure, type Reconfigure} from './protocol.js'

export interface DecodedFrame {
  msg: Omit<Reconfigure, 'config_table'>
  entities: EntityArrays
}

/** Which step refused a frame: an unreadable frame, or a configuration that does not validate. */
export class FrameError extends Error {
  constructor(readonly stage: 'decode' | 'validate', message: string, readonly hash?: string) {
    super(message)
    this.name = 'FrameError'
  }
}

export function decodeFrame(frame: Buffer): DecodedFrame {
  let full: Reconfigure
  try {
    full = decodeReconfigure(frame)
  } catch (err) {
    throw new FrameError('decode', (err as Error).message)
  }
  const {config_table: table, ...msg} = full
  try {
    const entities = importConfig(table)
    validateAll(entities)
    return {msg, entities}
  } catch (err) {
    throw new FrameError('validate', (err as Error).message, msg.config_hash)
  }
}

/** Every entity must pass its schema before anything is swapped in. */
function validateAll(entities: Record<string, Record<string, any>[]>): void {
  for (const [name, rows] of Object.entries(entities)) {
    const schema = getSchema(name)!
    for (const row of rows) {
      try {
        validateEntity(schema, row)
      } catch (err) {
        throw new Error(`${schema.singular} ${row.id}: ${(err as Error).message}`)
      }
    }
  }
}
