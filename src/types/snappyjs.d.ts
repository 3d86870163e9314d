/**
 * snappyjs ships no types. Raw snappy block format (what `resty.snappy` compress and
 * uncompress produce), no framing.
 */
declare module 'snappyjs' {
  export function compress(uncompressed: Buffer): Buffer
  export function compress(uncompressed: Uint8Array): Uint8Array
  /** @throws when the stream is invalid, or says it is longer than `maxLength` bytes */
  export function uncompress(compressed: Buffer, maxLength?: number): Buffer
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array
}
