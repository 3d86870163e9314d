import {randomBytes} from 'node:crypto'

/**
 * A certificate serial: 128 random bits as hex, the first byte in 0x01–0x7f, so the DER
 * integer is positive and needs no leading zero byte (OpenSSL refuses such padding:
 * "asn1 encoding routines::illegal padding").
 */
export function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] & 0x7f) | 0x01
  return bytes.toString('hex')
}
