/**
 * basic-auth's credential entity. The password is stored hashed as Kong stores it
 * (SHA-1 of password + consumer id), so it is never returned in clear. A value that
 * already is such a hash (a PATCH that leaves the password alone carries the stored
 * one) is kept as is.
 */
import {createHash} from 'node:crypto'
import {createdAt, idField, tagsField, type EntitySchema} from '../../schema/field.js'

const SHA1_HEX = /^[0-9a-f]{40}$/

export const hashPassword = (password: string, consumerId: string): string =>
  createHash('sha1').update(password + consumerId).digest('hex')

export const basicauthCredentials: EntitySchema = {
  name: 'basicauth_credentials',
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
  derive: (e) => {
    // The consumer may still be named by username here; the id is what Kong salts with.
    if (!SHA1_HEX.test(e.password) && e.consumer?.id) e.password = hashPassword(e.password, e.consumer.id)
  },
}
