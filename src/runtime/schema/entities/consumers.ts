import {createdAt, defineEntity, idField, tagsField, updatedAt} from '../field.js'

export const consumers = defineEntity({
  name: 'consumers',
  singular: 'consumer',
  endpoint_key: 'username',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    ['username', {type: 'string', unique: true, description: 'Unique username of the consumer.'}],
    ['custom_id', {type: 'string', unique: true, description: 'An identifier from another system.'}],
    tagsField(),
  ],
  entity_checks: [
    (e) =>
      e.username == null && e.custom_id == null
        ? {'@entity': "at least one of these fields must be non-empty: 'custom_id', 'username'"}
        : null,
  ],
  nested: [{key: 'plugins', entity: 'plugins', via: 'consumer'}],
})
