/**
 * Postgres DDL derived from the entity schemas: one table per entity, one column per
 * top-level field (foreign keys as `<field>_id uuid REFERENCES`), constraint names that
 * map back to fields when Postgres reports a violation.
 */
import type {EntitySchema, Field} from '../schema/field.js'
import {foreignKeys} from '../schema/registry.js'

export const column = (name: string, f: Field): string => (f.type === 'foreign' ? `${name}_id` : name)
/** A quoted identifier: field names such as `group` are SQL keywords. */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`
export const quotedColumn = (name: string, f: Field): string => ident(column(name, f))

function sqlType(f: Field): string {
  switch (f.type) {
    case 'string':
      return f.uuid ? 'uuid' : 'text'
    case 'integer':
      return 'bigint'
    case 'number':
      return 'double precision'
    case 'boolean':
      return 'boolean'
    case 'foreign':
      return 'uuid'
    default:
      return 'jsonb'
  }
}

export const uniqueIndexName = (schema: EntitySchema, fields: readonly string[]) => `${schema.name}_${fields.join('_')}_uniq`

export function createTableSql(schema: EntitySchema): string[] {
  const cols: string[] = []
  for (const [name, f] of schema.fields) {
    if (name === 'id') {
      cols.push('id uuid PRIMARY KEY')
      continue
    }
    let def = `${quotedColumn(name, f)} ${sqlType(f)}`
    if (f.type === 'foreign') {
      def += ` REFERENCES ${f.reference}(id)${f.on_delete === 'cascade' ? ' ON DELETE CASCADE' : ''}`
    }
    if (f.unique) def += ' UNIQUE'
    cols.push(def)
  }
  const stmts = [`CREATE TABLE IF NOT EXISTS ${schema.name} (\n  ${cols.join(',\n  ')}\n)`]
  for (const group of schema.unique_together ?? []) {
    const colNames = group.map((n) => quotedColumn(n, schema.fields.find(([k]) => k === n)![1]))
    stmts.push(`CREATE UNIQUE INDEX IF NOT EXISTS ${uniqueIndexName(schema, group)} ON ${schema.name} (${colNames.join(', ')}) NULLS NOT DISTINCT`)
  }
  for (const [name, f] of foreignKeys(schema)) {
    stmts.push(`CREATE INDEX IF NOT EXISTS ${schema.name}_${name}_idx ON ${schema.name} (${quotedColumn(name, f)})`)
  }
  if (schema.fields.some(([n]) => n === 'tags')) {
    stmts.push(`CREATE INDEX IF NOT EXISTS ${schema.name}_tags_idx ON ${schema.name} USING gin (tags)`)
  }
  return stmts
}

/** Postgres constraint name → the fields it covers, for every schema. */
export function constraintFields(schemas: readonly EntitySchema[]): Map<string, {schema: EntitySchema; fields: string[]}> {
  const map = new Map<string, {schema: EntitySchema; fields: string[]}>()
  for (const s of schemas) {
    for (const [name, f] of s.fields) {
      if (f.unique) map.set(`${s.name}_${column(name, f)}_key`, {schema: s, fields: [name]})
      if (f.type === 'foreign') map.set(`${s.name}_${column(name, f)}_fkey`, {schema: s, fields: [name]})
    }
    map.set(`${s.name}_pkey`, {schema: s, fields: ['id']})
    for (const g of s.unique_together ?? []) map.set(uniqueIndexName(s, g), {schema: s, fields: [...g]})
  }
  return map
}
