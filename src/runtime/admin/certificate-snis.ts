/**
 * Kong's `snis` pseudo-field of certificates (`kong/db/dao/certificates.lua`,
 * `kong/api/routes/certificates.lua`): not a column, the names of the `snis` entities
 * that point at the certificate, sorted.
 *
 *   GET    /certificates, /certificates/{c}   each certificate with `snis: [names]`
 *   POST   /certificates {…, snis}            creates the certificate, then its snis
 *   PATCH  /certificates/{c} {snis}           replaces its names (null: none); absent: kept
 *   PUT    /certificates/{c} {snis}           replaces them; absent: none
 *   /certificates/{sni name}…                 the certificate of that SNI; a PUT to an
 *                                             unknown name creates it with that name
 *
 * A name listed twice, or already held by another certificate, is a schema violation
 * before anything is written.
 */
import {randomUUID} from 'node:crypto'
import type pg from 'pg'
import {schemaViolation} from '../db/errors.js'
import type {Dao, WriteOptions} from '../db/dao.js'
import {snis as sniSchema} from '../schema/entities/certificates.js'
import {isUuid} from '../schema/validate.js'
import type {EntityRecord} from '../schema/registry.js'
import type {Field} from '../schema/field.js'

const nameField: Field = sniSchema.fields.find(([n]) => n === 'name')![1]

/**
 * The `snis` of a request body, taken out of it: a sorted list, `[]` for null,
 * undefined when absent. @throws GatewayError on a bad or repeated name
 */
export function takeSnis(body: Record<string, unknown>): string[] | undefined {
  if (!('snis' in body)) return undefined
  const raw = body.snis
  delete body.snis
  if (raw === null || raw === undefined || raw === '') return []
  const list = Array.isArray(raw) ? raw : [raw]
  const names: string[] = []
  const seen = new Set<string>()
  for (const v of list) {
    if (typeof v !== 'string') throw schemaViolation({snis: 'expected an array of strings'})
    const err = nameField.custom?.(v)
    if (err) throw schemaViolation({snis: err})
    if (seen.has(v)) throw schemaViolation({snis: `${v} is duplicated`})
    seen.add(v)
    names.push(v)
  }
  return names.sort()
}

/** The names of each certificate's snis, sorted. */
export async function snisOf(pool: pg.Pool, certIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map(certIds.map((id) => [id, [] as string[]]))
  if (!certIds.length) return out
  const res = await pool.query('SELECT name, certificate_id FROM snis WHERE certificate_id = ANY($1::uuid[]) ORDER BY name', [certIds])
  for (const row of res.rows) out.get(row.certificate_id)?.push(row.name)
  for (const list of out.values()) list.sort()
  return out
}

export async function withSnis<T extends EntityRecord>(pool: pg.Pool, certs: T[]): Promise<Array<T & {snis: string[]}>> {
  const names = await snisOf(pool, certs.map((c) => c.id))
  return certs.map((c) => ({...c, snis: names.get(c.id) ?? []}))
}

/** `/certificates/{key}`: a uuid as is, an SNI name as its certificate's id; null when no SNI has that name. */
export async function certificateKey(snis: Dao, key: string): Promise<{id: string; name?: string} | null> {
  if (isUuid(key)) return {id: key}
  const sni = await snis.findBy('name', key)
  if (sni) return {id: (sni.certificate as {id: string}).id, name: key}
  return null
}

/** A PUT to `/certificates/{name}` of an unknown name: a new certificate holding that name. */
export const newCertificateKey = (name: string) => ({id: randomUUID(), name})

/** Kong's `check_list_is_new`: none of `names` belongs to another certificate than `certId`. */
async function checkListIsNew(snis: Dao, names: string[], certId?: string): Promise<void> {
  for (const name of names) {
    const row = await snis.findBy('name', name)
    const owner = row && (row.certificate as {id: string}).id
    if (owner && owner !== certId) throw schemaViolation({snis: `${name} already associated with existing certificate '${owner}'`})
  }
}

/**
 * Writes a certificate and then its names (`write` does the certificate's own write):
 * `names` undefined keeps the names it has. The names are checked first, so a refused
 * list writes nothing.
 */
export async function writeWithSnis(
  certs: Dao,
  snis: Dao,
  names: string[] | undefined,
  certId: string | undefined,
  write: () => Promise<EntityRecord>,
  o: WriteOptions,
): Promise<EntityRecord & {snis: string[]}> {
  if (names) await checkListIsNew(snis, names, certId)
  const cert = await write()
  if (names) {
    const have = (await snisOf(certs.pool, [cert.id])).get(cert.id) ?? []
    for (const name of names.filter((x) => !have.includes(x))) await snis.insert({name, certificate: {id: cert.id}}, o)
    for (const name of have.filter((x) => !names.includes(x))) await snis.delete(name)
  }
  return (await withSnis(certs.pool, [cert]))[0]
}
