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
  // A method, so a definition may name the type its field holds (`(v: string) => …`).
  custom?(value: unknown): string | null
  one_of?: readonly unknown[]
  between?: readonly [number, number]
  gt?: number
  len_min?: number
  len_max?: number
  match?: string
  starts_with?: string
  uuid?: boolean
  timestamp?: boolean
  /** Digits after the point a number keeps (Kong's `precision`: 3 for millisecond timestamps). */
  precision?: number
}

export interface ScalarField extends BaseField {
  type: Scalar
}
/** A scalar field of one known type (what reusable definitions return, so entity types stay precise). */
export type ScalarOf<T extends Scalar> = BaseField & {type: T}
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
/** Free-form JSON object (plugin config until the plugin's own schema takes over). */
export interface JsonField extends BaseField {
  type: 'json'
}

export type Field = ScalarField | ArrayField | MapField | RecordField | ForeignField | JsonField

/** Ordered like Kong's schemas: a list of single-key objects. */
export type FieldList = ReadonlyArray<readonly [string, Field]>

/**
 * An entity as the schema hooks see it: field names to values that are checked by the
 * time a hook runs (but `defaults`, which runs before), still to be narrowed by type.
 */
export type EntityFields = Record<string, unknown>

/** What an entity check finds: `{field: message}`, `{record: {field: message}}`, `{'@entity': message}`. */
export type EntityCheckErrors = {[field: string]: string | EntityCheckErrors}

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
  /**
   * Under its parent's URL, an entity is also addressed by this field, unique together
   * with the parent (Kong's acl endpoint `/consumers/{c}/acls/{group}`); a PUT by a value
   * not there creates the entity with it.
   */
  nested_key?: string
  /** Sets of fields unique together (besides single-field `unique`). */
  unique_together?: ReadonlyArray<readonly string[]>
  fields: FieldList
  /**
   * Kong's `transient` fields: taken and checked on input when the validation asks for
   * them (`ValidateOptions.transient`, the Admin API's), stored in no column of this table
   * (certificates' `snis`: the names of other entities). Declarative config and
   * clustering never carry them.
   */
  transient?: FieldList
  /**
   * Accepted on input, expanded into real fields of `entity` (`url` on services); an
   * error message when `value` is invalid or clashes with the fields given in `input`.
   */
  shorthands?: Record<string, (value: unknown, entity: Record<string, unknown>, input: Readonly<Record<string, unknown>>) => string | null>
  /**
   * Defaults that depend on other fields, filled before the fixed ones (Kong's subschema
   * defaults: a grpc route's `strip_path` is false).
   */
  defaults?: (entity: EntityFields) => void
  /**
   * Kong's `subschema_key` check, before the fields: an error here (no subschema for the
   * value) is the only one reported, as Kong validates nothing further.
   */
  subschema_check?: (entity: Record<string, unknown>) => Record<string, string> | null
  /** Whole-entity checks after field validation: `{fieldOr@entity: message}`. */
  entity_checks?: ReadonlyArray<(entity: EntityFields) => EntityCheckErrors | null>
  /** Normalises values after defaults (targets: `host` → `host:8000`). */
  normalize?: (entity: EntityFields) => void
  /** Computes derived fields (ca_certificates.cert_digest). */
  derive?: (entity: EntityFields) => void
  /**
   * Kong's on-write transformation, run by the writers (DAO, sync) once foreign keys are
   * resolved to ids. `old` is the stored row (only its scalar fields are reliable), null
   * on create: comparing with it tells a value the client sent from one kept as stored.
   */
  onWrite?: (entity: EntityFields, old: EntityFields | null) => void
  /** Declarative nesting: children nested under this entity, keyed by their foreign field. */
  nested?: ReadonlyArray<{key: string; entity: string; via: string}>
}

/**
 * An entity schema with its literal types kept (field names, field types, `required`,
 * `default`), so that `EntityOf<typeof schema>` derives the entity's TypeScript type.
 * Checks a schema against `EntitySchema` and returns it unchanged.
 */
export function defineEntity<const S extends EntitySchema>(schema: S): S {
  return schema
}

/** The TypeScript type of a value a field holds once validated (foreign keys resolved to `{id}`). */
export type FieldValue<F> = F extends {type: 'string'}
  ? F extends {one_of: ReadonlyArray<infer O extends string>}
    ? O
    : string
  : F extends {type: 'integer' | 'number'}
    ? number
    : F extends {type: 'boolean'}
      ? boolean
      : F extends {type: 'array' | 'set'; elements: infer E}
        ? Array<FieldValue<E>>
        : F extends {type: 'map'; values: infer V}
          ? Record<string, FieldValue<V>>
          : F extends {type: 'record'; fields: infer L extends FieldList}
            ? RecordOf<L>
            : F extends {type: 'foreign'}
              ? {id: string}
              : F extends {type: 'json'}
                ? Record<string, unknown>
                : unknown

/** Whether a validated entity always holds the field: required, filled by the gateway, or defaulted. */
type AlwaysSet<F> = F extends {required: true} | {auto: true} ? true : F extends {default: infer D} ? (undefined extends D ? false : true) : false

type Present<L extends FieldList> = {[P in L[number] as AlwaysSet<P[1]> extends true ? P[0] : never]: FieldValue<P[1]>}
type Optional<L extends FieldList> = {[P in L[number] as AlwaysSet<P[1]> extends true ? never : P[0]]?: FieldValue<P[1]> | null}
type Flat<T> = {[K in keyof T]: T[K]}

/** The object a `record` field (or a whole field list) holds: unset optional fields are null or absent. */
export type RecordOf<L extends FieldList> = Flat<Present<L> & Optional<L>>

/** The TypeScript type of a validated entity of `S` (`EntityOf<typeof routes>`). */
export type EntityOf<S extends {fields: FieldList}> = RecordOf<S['fields']>

/** Fields every entity has. */
export const idField = () => ['id', {type: 'string', uuid: true, auto: true, description: 'Unique identifier (UUID).'}] as const satisfies readonly [string, Field]
export const createdAt = () => ['created_at', {type: 'integer', timestamp: true, auto: true, description: 'Unix epoch seconds when the entity was created.'}] as const satisfies readonly [string, Field]
export const updatedAt = () => ['updated_at', {type: 'integer', timestamp: true, auto: true, description: 'Unix epoch seconds when the entity was last updated.'}] as const satisfies readonly [string, Field]
/** Kong's `auto_timestamp_ms` (targets): Unix epoch seconds with milliseconds, `1700000000.123`. */
export const createdAtMs = () => ['created_at', {type: 'number', timestamp: true, auto: true, precision: 3, description: 'Unix epoch seconds, with milliseconds, when the entity was created.'}] as const satisfies readonly [string, Field]
export const updatedAtMs = () => ['updated_at', {type: 'number', timestamp: true, auto: true, precision: 3, description: 'Unix epoch seconds, with milliseconds, when the entity was last updated.'}] as const satisfies readonly [string, Field]
export const tagsField = () =>
  ['tags', {type: 'set', elements: {type: 'string', custom: tagError}, description: 'Strings for grouping and filtering.'}] as const satisfies readonly [string, Field]

// Kong's typedefs.tag: printable ASCII but `,` and `/` (the filter separators), or UTF-8.
const TAG_RE = /^[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+$/
function tagError(tag: string): string | null {
  return TAG_RE.test(tag) ? null : `invalid tag '${tag}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`
}

/** Kong's tag filter (`?tags=a,b` every tag, `?tags=a/b` any): tags' characters between one kind of separator. */
export const TAG_FILTER = {all: /^[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+(?:,[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+)*$/, any: /^[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+(?:\/[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+)*$/}
