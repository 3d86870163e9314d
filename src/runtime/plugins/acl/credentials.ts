/** acl's entity: a consumer's membership of a group (`/consumers/{c}/acls`). */
import {createdAt, defineEntity, idField, tagsField, type PluginStorage} from '../../pdk/index.js'

export const acls = defineEntity({
  name: 'acls',
  singular: 'acl',
  unique_together: [['consumer', 'group']],
  nested_key: 'group',
  fields: [
    idField(),
    createdAt(),
    ['consumer', {type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade', description: 'The consumer in the group.'}],
    ['group', {type: 'string', required: true, description: 'The group name.'}],
    tagsField(),
  ],
})

export const storage = {entities: [acls]} as const satisfies PluginStorage
