/**
 * The vocabulary of entity schemas. One schema per entity (see entities/) drives
 * validation, defaults, Postgres DDL and queries, the Admin API and /schemas output.
 * Field names and constraint names follow Kong's `db/schema` so that /schemas looks familiar.
 */

export type Scalar = 'string' | 'integer' | 'number' | 'boolean'

export interface BaseField {
  /** One line for humans: shown by /schemas and in generated docs. */
  description?: string
  required?: boolean
  default?: unknown
  /** Filled by the gateway (ids, timestamps); never required from the user. */
  auto?: boolean
  unique?: boolean
  /** Unique with case folded (consumers.username). */
  unique_across_ws?: boolean
  immutable?: boolean
  /** Secret values are never logged. */
  encrypted?: boolean
  /** Extra check after type and constraints: returns an error message or null. */
  custom?: (value: any) => string | null
  one_of?: readonly unknown[]
  between?: readonly [number, number]
  gt?: number
  len_min?: number
  len_max?: number
  match?: string
  starts_with?: string
  uuid?: boolean
  timestamp?: boolean
}

export interface ScalarField extends BaseField {
  type: Scalar
}
export interface ArrayField extends BaseField {
  type: 'array' | 'set'
  elements: Field
}
export interface MapField extends BaseField {
  type: 'map'
  keys: Field
  values: Field
}
export interface RecordField extends BaseField {
  type: 'record'
  fields: FieldList
}
export interface ForeignField extends BaseField {
  type: 'foreign'
  reference: string
  /** What deleting the referenced row does: cascade, or refuse (Kong's default). */
  on_delete?: 'cascade' | 'restrict'
}
/** Free-form JSON (plugin config until the plugin's own schema takes over). */
export interface JsonField extends BaseField {
  type: 'json'
}

export type Field = ScalarField | ArrayField | MapField | RecordField | ForeignField | JsonField

/** Ordered like Kong's schemas: a list of single-key objects. */
export type FieldList = ReadonlyArray<readonly [string, Field]>

export interface EntityCheckContext {
  /** Whether a field was set to a non-null value. */
  isSet(name: string): boolean
}

export interface EntitySchema {
  /** Table name, Admin API collection and declarative key: `services`. */
  name: string
  /** Singular used in messages: `service`. */
  singular: string
  /** Secondary key usable in URLs instead of the id (`name`, `username`). */
  endpoint_key?: string
  /** Kong's URL name of the collection when it is not `name` (`/key-auths`). */
  admin_api_name?: string
  /** Kong's URL name under a parent (`/consumers/{c}/key-auth`). */
  admin_api_nested_name?: string
  /** Sets of fields unique together (besides single-field `unique`). */
  unique_together?: ReadonlyArray<readonly string[]>
  fields: FieldList
  /**
   * Accepted on input, expanded into real fields of `entity` (`url` on services); an
   * error message when `value` is invalid or clashes with the fields given in `input`.
   */
  shorthands?: Record<string, (value: unknown, entity: Record<string, unknown>, input: Readonly<Record<string, unknown>>) => string | null>
  /**
   * Defaults that depend on other fields, filled before the fixed ones (Kong's subschema
   * defaults: a grpc route's `strip_path` is false).
   */
  defaults?: (entity: Record<string, any>) => void
  /** Whole-entity checks after field validation: `{fieldOr@entity: message}`. */
  entity_checks?: ReadonlyArray<(entity: Record<string, any>) => Record<string, string> | null>
  /** Normalises values after defaults (targets: `host` → `host:8000`). */
  normalize?: (entity: Record<string, any>) => void
  /** Computes derived fields (ca_certificates.cert_digest). */
  derive?: (entity: Record<string, any>) => void
  /**
   * Kong's on-write transformation, run by the writers (DAO, sync) once foreign keys are
   * resolved to ids. `old` is the stored row (only its scalar fields are reliable), null
   * on create: comparing with it tells a value the client sent from one kept as stored.
   */
  onWrite?: (entity: Record<string, any>, old: Record<string, any> | null) => void
  /** Declarative nesting: children nested under this entity, keyed by their foreign field. */
  nested?: ReadonlyArray<{key: string; entity: string; via: string}>
}

/** Fields every entity has. */
export const idField = (): readonly [string, Field] => ['id', {type: 'string', uuid: true, auto: true, description: 'Unique identifier (UUID).'}]
export const createdAt = (): readonly [string, Field] => ['created_at', {type: 'integer', timestamp: true, auto: true, description: 'Unix epoch seconds when the entity was created.'}]
export const updatedAt = (): readonly [string, Field] => ['updated_at', {type: 'integer', timestamp: true, auto: true, description: 'Unix epoch seconds when the entity was last updated.'}]
export const tagsField = (): readonly [string, Field] => [
  'tags',
  {type: 'set', elements: {type: 'string', custom: tagError}, description: 'Strings for grouping and filtering.'},
]

// Kong's typedefs.tag: printable ASCII but `,` and `/` (the filter separators), or UTF-8.
const TAG_RE = /^[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+$/
function tagError(tag: string): string | null {
  return TAG_RE.test(tag) ? null : `invalid tag '${tag}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`
}

/** Kong's tag filter (`?tags=a,b` every tag, `?tags=a/b` any): tags' characters between one kind of separator. */
export const TAG_FILTER = {all: /^[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+(?:,[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+)*$/, any: /^[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+(?:\/[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+)*$/}
