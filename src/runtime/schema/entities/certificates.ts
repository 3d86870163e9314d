import {createdAt, defineEntity, idField, tagsField, updatedAt} from '../field.js'
import * as t from '../typedefs.js'

export const certificates = defineEntity({
  name: 'certificates',
  singular: 'certificate',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    ['cert', {...t.pem('PEM-encoded public certificate chain.', 'certificate'), required: true}],
    ['key', {...t.pem('PEM-encoded private key.', 'key'), required: true, encrypted: true}],
    ['cert_alt', {...t.pem('Alternate PEM certificate (another key type).', 'certificate')}],
    ['key_alt', {...t.pem('Alternate PEM private key.', 'key'), encrypted: true}],
    tagsField(),
  ],
  entity_checks: [
    (e) => ((e.cert_alt == null) !== (e.key_alt == null) ? {'@entity': "all or none of these fields must be set: 'cert_alt', 'key_alt'"} : null),
  ],
  nested: [{key: 'snis', entity: 'snis', via: 'certificate'}],
})

export const snis = defineEntity({
  name: 'snis',
  singular: 'sni',
  endpoint_key: 'name',
  fields: [
    idField(),
    ['name', {...t.wildcardHost('The server name, with at most one `*` at either end.'), required: true, unique: true}],
    createdAt(),
    updatedAt(),
    tagsField(),
    ['certificate', {type: 'foreign', reference: 'certificates', required: true, on_delete: 'cascade', description: 'The certificate served for this name.'}],
  ],
})
