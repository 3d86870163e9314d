/** Field shapes several plugin schemas share (Kong's typedefs used by plugins). */
import type {Field} from '../schema/field.js'

const HEADER_NAME = /^[a-zA-Z0-9_-]+$/

/** Kong's `typedefs.header_name`. */
export const headerName = (extra: Partial<Field> = {}): Field =>
  ({
    type: 'string',
    custom: (v: string) => (HEADER_NAME.test(v) ? null : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`),
    ...extra,
  }) as Field

/** The consumer an auth plugin falls back to: by id or username (`anonymous`). */
export function findConsumer(consumers: readonly any[] | undefined, idOrName: string): any | null {
  return (consumers ?? []).find((c) => c.id === idOrName || c.username === idOrName) ?? null
}

/** Headers auth plugins send upstream about who the consumer is (Kong's set_consumer). */
export function consumerHeaders(consumer: any, credential: any | null): Record<string, string | null> {
  return {
    'x-consumer-id': consumer.id,
    'x-consumer-custom-id': consumer.custom_id ?? null,
    'x-consumer-username': consumer.username ?? null,
    'x-credential-identifier': credential ? (credential.username ?? credential.id) : null,
    'x-anonymous-consumer': credential ? null : 'true',
  }
}
