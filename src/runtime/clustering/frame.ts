/**
 * A frame from the control plane as the data plane takes it: gunzip, parse, then
 *   reconfigure: Kong's config_table to entity arrays, every entity checked against its schema;
 *   kctl_delta:  each changed entity to the entity shape, checked against its schema.
 * Pure, so it runs on the frame decoder's thread (frame-decoder.ts) as well as here.
 */
import {getSchema} from '../schema/registry.js'
import {validateEntity} from '../schema/validate.js'
import {importConfig, importRow, type EntityArrays} from './export.js'
import {checkDelta, checkReconfigure, decodeMessage, type DeltaMessage, type Reconfigure} from './protocol.js'

export interface FullFrame {
  kind: 'full'
  msg: Omit<Reconfigure, 'config_table'>
  entities: EntityArrays
}

/** A change in the entity shape, validated; `entity` null: deleted. */
export interface Change {
  kind: string
  id: string
  entity: Record<string, unknown> | null
}

export interface DeltaFrame {
  kind: 'delta'
  msg: Omit<DeltaMessage, 'deltas'>
  changes: Change[]
}

export type DecodedFrame = FullFrame | DeltaFrame

/** Which step refused a frame: an unreadable frame, or a configuration that does not validate. */
export class FrameError extends Error {
  constructor(readonly stage: 'decode' | 'validate', message: string, readonly hash?: string) {
    super(message)
    this.name = 'FrameError'
  }
}

export function decodeFrame(frame: Buffer): DecodedFrame {
  let parsed: Reconfigure
  try {
    const msg = decodeMessage(frame) as {type?: unknown} | null
    if (msg?.type === 'kctl_delta') return decodeDelta(checkDelta(msg))
    parsed = checkReconfigure(msg)
  } catch (err) {
    if (err instanceof FrameError) throw err
    throw new FrameError('decode', (err as Error).message)
  }
  const {config_table: table, ...msg} = parsed
  try {
    const entities = importConfig(table)
    validateAll(entities)
    return {kind: 'full', msg, entities}
  } catch (err) {
    throw new FrameError('validate', (err as Error).message, msg.config_hash)
  }
}

function decodeDelta(full: DeltaMessage): DeltaFrame {
  const {deltas, ...msg} = full
  try {
    const changes = deltas.map((d, i): Change => {
      if (!d || typeof d.kind !== 'string' || !getSchema(d.kind) || typeof d.id !== 'string') throw new Error(`deltas[${i}]: expected a kind and an id`)
      return toChange(d, `deltas[${i}]`, true)
    })
    return {kind: 'delta', msg, changes}
  } catch (err) {
    throw new FrameError('validate', (err as Error).message, msg.config_hash)
  }
}

/**
 * A recorded change (`{kind, id, entity}`, the export's shape; the kind a known schema's) in
 * the entity shape a configuration holds. `checked`: the entity is validated against its
 * schema too, as a change from a peer must be (a control plane's own reads need not be);
 * `at` names it in errors.
 */
export function toChange(d: {kind: string; id: string; entity: Record<string, unknown> | null}, at: string, checked: boolean): Change {
  if (d.entity === null) return {kind: d.kind, id: d.id, entity: null}
  const schema = getSchema(d.kind)!
  const e = importRow(schema, d.entity, at)
  if (!checked) return {kind: d.kind, id: d.id, entity: e}
  if (e.id !== d.id) throw new Error(`${at}: the entity's id is not ${d.id}`)
  try {
    validateEntity(schema, e)
  } catch (err) {
    throw new Error(`${schema.singular} ${d.id}: ${(err as Error).message}`)
  }
  return {kind: d.kind, id: d.id, entity: e}
}

/** Every entity must pass its schema before anything is swapped in. */
function validateAll(entities: Record<string, ReadonlyArray<Record<string, unknown>>>): void {
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
