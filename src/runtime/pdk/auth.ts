/**
 * What every credential plugin shares (Kong's `kong.client.authenticate` and the
 * `anonymous` fallback): an index from the credential's key to it and its consumer,
 * built once per configuration, and the step that sets the consumer on a request.
 */
import type {PluginContext} from './context.js'
import type {Consumer, Credential} from './types.js'

/** The consumer an auth plugin falls back to: by id or username (`anonymous`). */
export function findConsumer(consumers: readonly Consumer[] | undefined, idOrName: string): Consumer | null {
  return (consumers ?? []).find((c) => c.id === idOrName || c.username === idOrName) ?? null
}

/** Headers auth plugins send upstream about who the consumer is (Kong's set_consumer). */
export function consumerHeaders(consumer: Consumer, credential: Credential | null): Record<string, string | null> {
  return {
    'x-consumer-id': consumer.id,
    'x-consumer-custom-id': consumer.custom_id ?? null,
    'x-consumer-username': consumer.username ?? null,
    'x-credential-identifier': credential ? (typeof credential.username === 'string' ? credential.username : credential.id) : null,
    'x-anonymous-consumer': credential ? null : 'true',
  }
}

export interface CredentialIndex {
  byKey: Map<string, {credential: Credential; consumer: Consumer}>
  consumers: readonly Consumer[]
}

/** Indexes `credentials` by `field`; credentials of unknown consumers are left out. */
export function indexCredentials(consumers: readonly Consumer[] | undefined, credentials: readonly Credential[] | undefined, field: string): CredentialIndex {
  const byId = new Map((consumers ?? []).map((c) => [c.id, c]))
  const byKey = new Map<string, {credential: Credential; consumer: Consumer}>()
  for (const c of credentials ?? []) {
    const consumer = c.consumer ? byId.get(c.consumer.id) : undefined
    if (consumer) byKey.set(String(c[field]), {credential: c, consumer})
  }
  return {byKey, consumers: consumers ?? []}
}

/** Sets the consumer (and its headers upstream) on the request. */
export function acceptCredential(k: PluginContext<unknown>, consumer: Consumer, credential: Credential | null): void {
  const headers = consumerHeaders(consumer, credential)
  for (const h in headers) k.setUpstreamHeader(h, headers[h])
  k.authenticate(consumer, credential)
}

/**
 * No valid credential: the `anonymous` consumer when configured (true), else false and
 * the caller answers 401. A configured anonymous consumer that does not exist is a
 * configuration error, answered as Kong does (500).
 */
export function acceptAnonymous(k: PluginContext<unknown>, anonymous: string | null | undefined, index: CredentialIndex): boolean {
  if (!anonymous) return false
  const anon = findConsumer(index.consumers, anonymous)
  if (!anon) throw new Error(`anonymous consumer ${anonymous} is configured but doesn't exist`)
  acceptCredential(k, anon, null)
  return true
}
