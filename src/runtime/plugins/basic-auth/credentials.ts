/**
 * basic-auth's credential entity. The password is stored hashed as Kong stores it
 * (SHA-1 of password + consumer id), so it is never returned in clear. Hashing is an
 * on-write transformation, run once the consumer is resolved to its id (a credential
 * created at the top level names its consumer by username). Whether a value is a hash is
 * never guessed from its shape: only a value equal to the stored one (a PATCH that leaves
 * the password alone, a PUT of what GET returned) is kept; anything else is hashed.
 */
import {createHash} from 'node:crypto'
import {createdAt, defineEntity, idField, tagsField, type PluginStorage} from '../../pdk/index.js'

export const hashPassword = (password: string, consumerId: string): string =>
  createHash('sha1').update(password + consumerId).digest('hex')

export const basicauthCredentials = defineEntity({
  name: 'basicauth_credentials',
  admin_api_name: 'basic-auths',
  admin_api_nested_name: 'basic-auth',
  singular: 'basicauth_credential',
  endpoint_key: 'username',
  fields: [
    idField(),
    createdAt(),
    ['consumer', {type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade', description: 'The consumer these credentials authenticate.'}],
    ['username', {type: 'string', required: true, unique: true, description: 'The username to authenticate with.'}],
    ['password', {type: 'string', required: true, encrypted: true, description: 'The password; stored hashed.'}],
    tagsField(),
  ],
  onWrite: (e, old) => {
    if (old && e.password === old.password) return
    const consumer = e.consumer as {id?: string} | null | undefined
    if (!consumer?.id) throw new Error('basicauth_credentials: consumer must be resolved before hashing')
    e.password = hashPassword(String(e.password), consumer.id)
  },
})

export const storage = {entities: [basicauthCredentials]} as const satisfies PluginStorage
