/**
 * What every credential plugin shares (Kong's `kong.client.authenticate` and the
 * `anonymous` fallback): an index from the credential's key to it and its consumer,
 * built once per configuration, and the step that sets the consumer on a request.
 */
import type {PluginContext} from './context.js'
import {consumerHeaders, findConsumer} from './fields.js'

export interface CredentialIndex {
  byKey: Map<string, {credential: any; consumer: any}>
  consumers: readonly any[]
}

/** Indexes `credentials` by `field`; credentials of unknown consumers are left out. */
export function indexCredentials(consumers: readonly any[] | undefined, credentials: readonly any[] | undefined, field: string): CredentialIndex {
  const byId = new Map((consumers ?? []).map((c) => [c.id, c]))
  const byKey = new Map<string, {credential: any; consumer: any}>()
  for (const c of credentials ?? []) {
    const consumer = byId.get(c.consumer?.id)
    if (consumer) byKey.set(c[field], {credential: c, consumer})
  }
  return {byKey, consumers: consumers ?? []}
}

/** Sets the consumer (and its headers upstream) on the request. */
export function acceptCredential(k: PluginContext, consumer: any, credential: any | null): void {
  for (const [h, v] of Object.entries(consumerHeaders(consumer, credential))) k.setUpstreamHeader(h, v)
  k.authenticate(consumer, credential)
}

/**
 * No valid credential: the `anonymous` consumer when configured (true), else false and
 * the caller answers 401. A configured anonymous consumer that does not exist is a
 * configuration error, answered as Kong does (500).
 */
export function acceptAnonymous(k: PluginContext, anonymous: string | null | undefined, index: CredentialIndex): boolean {
  if (!anonymous) return false
  const anon = findConsumer(index.consumers, anonymous)
  if (!anon) throw new Error(`anonymous consumer ${anonymous} is configured but doesn't exist`)
  acceptCredential(k, anon, null)
  return true
}
