/**
 * Access to @peculiar/x509 and node's WebCrypto. The library needs the reflect-metadata
 * polyfill, which patches the global `Reflect`; both are loaded on first use, never at
 * import, so importing `src/pki` does no work. We pass node's WebCrypto to every call
 * instead of registering it in the library's global provider.
 */
import {createPrivateKey, KeyObject, webcrypto} from 'node:crypto'
import {PkiError} from './errors.js'

export type X509Lib = typeof import('@peculiar/x509')

let lib: Promise<X509Lib> | undefined

export function loadX509(): Promise<X509Lib> {
  lib ??= (async () => {
    await import('reflect-metadata')
    return import('@peculiar/x509')
  })()
  return lib
}

/** Node's WebCrypto, typed as the DOM `Crypto` the library expects (they are the same API). */
export const nodeCrypto = webcrypto as unknown as Crypto

/** The curves we sign with, and the hash that matches each (ECDSA with the curve's size). */
const CURVES = {
  'P-256': {hash: 'SHA-256', openssl: 'prime256v1'},
  'P-384': {hash: 'SHA-384', openssl: 'secp384r1'},
  'P-521': {hash: 'SHA-512', openssl: 'secp521r1'},
} as const

export type Curve = keyof typeof CURVES

export function ecdsa(curve: Curve): EcKeyGenParams & EcdsaParams {
  return {name: 'ECDSA', namedCurve: curve, hash: CURVES[curve].hash}
}

export async function generateEcKeyPair(curve: Curve): Promise<CryptoKeyPair> {
  return nodeCrypto.subtle.generateKey(ecdsa(curve), true, ['sign', 'verify'])
}

/** PKCS#8 PEM (`BEGIN PRIVATE KEY`), what `kong hybrid gen_cert` writes too. */
export function privateKeyPem(key: CryptoKey): string {
  return KeyObject.from(key as unknown as webcrypto.CryptoKey).export({type: 'pkcs8', format: 'pem'}) as string
}

/**
 * Imports an EC private key PEM as a signing CryptoKey.
 * @throws PkiError CA_UNUSABLE when it is not an EC key on a curve we support.
 */
export async function importSigningKey(pem: string): Promise<{key: CryptoKey; curve: Curve}> {
  let obj: KeyObject
  try {
    obj = createPrivateKey(pem)
  } catch (err) {
    throw new PkiError('CA_UNUSABLE', 'The CA key is not a readable PEM private key.', undefined, {cause: err})
  }
  const named = obj.asymmetricKeyDetails?.namedCurve
  const curve = (Object.keys(CURVES) as Curve[]).find((c) => CURVES[c].openssl === named)
  if (obj.asymmetricKeyType !== 'ec' || !curve) {
    throw new PkiError('CA_UNUSABLE', `The CA key is ${obj.asymmetricKeyType}${named ? ` (${named})` : ''}; an EC P-256, P-384 or P-521 key is needed.`)
  }
  const der = obj.export({type: 'pkcs8', format: 'der'})
  const key = await nodeCrypto.subtle.importKey('pkcs8', new Uint8Array(der), ecdsa(curve), false, ['sign'])
  return {key, curve}
}
