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
import {isUuid} from '../schema/validate.js'
import type {EntityRecord} from '../schema/registry.js'

/**
 * The names a request body's `snis` gives (Kong's `parse_name_list`): sorted, `[]` for
 * null, undefined when absent. The field stays in the body, where the certificate's
 * validation checks each name (the schema's transient `snis`); a single form value
 * becomes a list. @throws GatewayError on a repeated name
 */
export function takeSnis(body: Record<string, unknown>): string[] | undefined {
  if (!('snis' in body)) return undefined
  const raw = body.snis
  if (raw === null || raw === undefined || raw === '') return []
  const list = Array.isArray(raw) ? raw : [raw]
  body.snis = list
  const names: string[] = []
  const seen = new Set<string>()
  for (const v of list) {
    if (typeof v !== 'string') continue
    if (seen.has(v)) throw schemaViolation({snis: `${v} is duplicated`})
    seen.add(v)
    names.push(v)
  }
  return names.sort()
}

/** The names of each certificate's snis, sorted. */
export async function snisOf(pool: pg.Pool | pg.PoolClient, certIds: string[]): Promise<Map<string, string[]>> {
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
 * Writes a certificate and its names in one transaction (`write` does the certificate's
 * own write with the options it is given): `names` undefined keeps the names it has. The
 * names are checked first, so a refused list writes nothing.
 */
export async function writeWithSnis(
  certs: Dao,
  snis: Dao,
  names: string[] | undefined,
  certId: string | undefined,
  write: (o: WriteOptions) => Promise<EntityRecord>,
  o: WriteOptions,
): Promise<EntityRecord & {snis: string[]}> {
  if (names) await checkListIsNew(snis, names, certId)
  const sniOptions: WriteOptions = {coerce: o.coerce}
  const also = async (c: pg.PoolClient, cert: EntityRecord) => {
    const have = (await snisOf(c, [cert.id])).get(cert.id) ?? []
    for (const name of names!.filter((x) => !have.includes(x))) await snis.insertIn(c, {name, certificate: {id: cert.id}}, sniOptions)
    for (const name of have.filter((x) => !names!.includes(x))) await snis.deleteIn(c, name)
  }
  const cert = await write(names ? {...o, also} : o)
  return (await withSnis(certs.pool, [cert]))[0]
}
