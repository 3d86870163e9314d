/** key-auth's credential entity: a key bound to a consumer (`/consumers/{c}/key-auth`). */
import {randomBytes} from 'node:crypto'
import {createdAt, defineEntity, idField, tagsField, type PluginStorage} from '../../pdk/index.js'

export const keyauthCredentials = defineEntity({
  name: 'keyauth_credentials',
  singular: 'keyauth_credential',
  endpoint_key: 'key',
  admin_api_name: 'key-auths',
  admin_api_nested_name: 'key-auth',
  fields: [
    idField(),
    createdAt(),
    ['consumer', {type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade', description: 'The consumer this key authenticates.'}],
    ['key', {type: 'string', unique: true, auto: true, encrypted: true, description: 'The key; generated when not given.'}],
    ['ttl', {type: 'integer', description: 'Seconds the key authenticates for, from its creation (from the write, when an update sets it); the Admin API shows the seconds left, and an expired key no longer authenticates and is gone from the Admin API, as in Kong.'}],
    tagsField(),
  ],
  // Kong generates a random key when none is given.
  derive: (e) => {
    e.key ??= randomBytes(16).toString('hex')
  },
})

export const storage = {entities: [keyauthCredentials]} as const satisfies PluginStorage
