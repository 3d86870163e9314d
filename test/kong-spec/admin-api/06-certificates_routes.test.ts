/**
 * Kong's spec/02-integration/04-admin_api/06-certificates_routes_spec.lua (3.9), ported:
 * the same describe/it titles and assertions, against a real Admin API over Postgres, with
 * Kong's own certificate fixtures (spec/fixtures/ssl.lua). Kong's
 * `db.certificates:select_with_name_list(…)` and `db.snis:select(…)` checks read the
 * entity back through the Admin API. Kong's spec escapes the PEMs itself for
 * form-urlencoded bodies; our client encodes every form value once, so the PEM is sent
 * as is.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, test as it} from 'node:test'
import {ssl} from '../fixtures/ssl.js'
import {itContentTypes, startSpecNode, type SpecNode} from './kong-client.js'

let n = 0
const getName = () => `name${String(++n).padStart(4, '0')}.test`

describe('Admin API: #postgres', () => {
  let node: SpecNode
  before(async () => {
    node = await startSpecNode()
  })
  after(() => node?.close())
  const client = () => node.client
  const JSON_CT = {'Content-Type': 'application/json'}

  const addCertificate = async (): Promise<[any, string[]]> => {
    const names = [getName(), getName()]
    const certificate = {cert: ssl.cert, key: ssl.key, snis: names}
    const validate = await client().post('/schemas/certificates/validate', {body: certificate, headers: JSON_CT})
    assert.equal(validate.status, 200, validate.text)
    assert.equal(validate.json.message, 'schema validation successful')
    const res = await client().post('/certificates', {body: certificate, headers: JSON_CT})
    assert.equal(res.status, 201, res.text)
    return [res.json, names]
  }
  const addCertificateWithAltCert = async (): Promise<[any, string[]]> => {
    const names = [getName(), getName()]
    const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert_ecdsa, key_alt: ssl.key_ecdsa, snis: names}, headers: JSON_CT})
    assert.equal(res.status, 201, res.text)
    return [res.json, names]
  }
  const getCertificates = async () => {
    const res = await client().get('/certificates')
    assert.equal(res.status, 200, res.text)
    for (const cert of res.json.data) delete cert.updated_at
    return res.json
  }
  const inDb = async (path: string) => {
    const res = await client().get(path)
    assert.equal(res.status, 200, res.text)
    return res.json
  }
  const bpCertificate = async (over: Record<string, unknown> = {}) => {
    const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, ...over}, headers: JSON_CT})
    assert.equal(res.status, 201, res.text)
    return res.json
  }
  const bpSni = async (body: Record<string, unknown>) => {
    const res = await client().post('/snis', {body, headers: JSON_CT})
    assert.equal(res.status, 201, res.text)
    return res.json
  }

  describe('/certificates', () => {
    describe('GET', () => {
      it('retrieves all certificates with snis', async () => {
        const mySnis: string[] = []
        for (let i = 1; i <= 150; i++) mySnis.push(`my-sni-${String(i).padStart(3, '0')}.test`)
        const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, snis: mySnis}, headers: JSON_CT})
        assert.equal(res.status, 201, res.text)
        const json = await getCertificates()
        assert.equal(json.data.length, 1)
        assert.equal(typeof json.data[0].cert, 'string')
        assert.equal(typeof json.data[0].key, 'string')
        assert.equal(json.data[0].cert_alt, null)
        assert.equal(json.data[0].key_alt, null)
        assert.deepEqual(json.data[0].snis, mySnis)
      })
    })

    describe('POST', () => {
      it('returns a conflict when duplicated snis are present in the request', async () => {
        const n1 = getName()
        const n2 = getName()
        const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, snis: [n1, n2, n1]}, headers: JSON_CT})
        assert.equal(res.status, 400, res.text)
        assert.equal(res.json.message, `schema violation (snis: ${n1} is duplicated)`)
        // make sure we didnt add the certificate, or any snis
        for (const data of (await getCertificates()).data) {
          for (const sni of data.snis) {
            assert.notEqual(sni, n1)
            assert.notEqual(sni, n2)
          }
        }
      })

      it('returns a conflict when a pre-existing sni is detected', async () => {
        const n1 = getName()
        const n2 = getName()
        let res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, snis: [n1]}, headers: JSON_CT})
        assert.equal(res.status, 201, res.text)
        res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, snis: [n1, n2]}, headers: JSON_CT})
        assert.equal(res.status, 400, res.text)
        assert.match(res.json.message, new RegExp(`snis: ${n1.replace('.', '\\.')} already associated with existing certificate`))
        // make sure we didnt add the certificate, or any snis
        for (const data of (await getCertificates()).data) for (const sni of data.snis) assert.notEqual(sni, n2)
      })

      itContentTypes('creates a certificate and returns it with the snis pseudo-property', (contentType) => async () => {
        const n1 = getName()
        const n2 = getName()
        const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, snis: [n1, n2]}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        assert.equal(typeof res.json.cert, 'string')
        assert.equal(typeof res.json.key, 'string')
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
        assert.deepEqual(res.json.snis, [n1, n2])
      })

      itContentTypes('returns snis as [] when none is set', (contentType) => async () => {
        const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        assert.equal(typeof res.json.cert, 'string')
        assert.equal(typeof res.json.key, 'string')
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
        assert.ok(res.text.includes('"snis":[]'), res.text)
      })
    })
  })

  describe('/certificates/cert_id_or_sni', () => {
    describe('GET', () => {
      it('retrieves a certificate by id', async () => {
        const [certificate, names] = await addCertificate()
        const json1 = await inDb(`/certificates/${certificate.id}`)
        assert.equal(typeof json1.cert, 'string')
        assert.equal(typeof json1.key, 'string')
        assert.equal(json1.cert_alt, null)
        assert.equal(json1.key_alt, null)
        assert.deepEqual(json1.snis, names)
      })

      it('retrieves a certificate by id with alternate certificate', async () => {
        const [certificate, names] = await addCertificateWithAltCert()
        const json1 = await inDb(`/certificates/${certificate.id}`)
        assert.equal(typeof json1.cert, 'string')
        assert.equal(typeof json1.key, 'string')
        assert.equal(typeof json1.cert_alt, 'string')
        assert.equal(typeof json1.key_alt, 'string')
        assert.deepEqual(json1.snis, names)
      })

      it('retrieves a certificate by sni', async () => {
        const [, names] = await addCertificate()
        const json1 = await inDb(`/certificates/${names[0]}`)
        const json2 = await inDb(`/certificates/${names[1]}`)
        assert.equal(typeof json1.cert, 'string')
        assert.equal(typeof json1.key, 'string')
        assert.equal(json1.cert_alt, null)
        assert.equal(json1.key_alt, null)
        assert.deepEqual(json1.snis, names)
        assert.deepEqual(json1, json2)
      })

      it('retrieves a certificate by sni with alternate certificate', async () => {
        const [, names] = await addCertificateWithAltCert()
        const json1 = await inDb(`/certificates/${names[0]}`)
        const json2 = await inDb(`/certificates/${names[1]}`)
        assert.equal(typeof json1.cert, 'string')
        assert.equal(typeof json1.key, 'string')
        assert.equal(typeof json1.cert_alt, 'string')
        assert.equal(typeof json1.key_alt, 'string')
        assert.deepEqual(json1.snis, names)
        assert.deepEqual(json1, json2)
      })

      it('returns 404 for a random non-existing uuid', async () => {
        assert.equal((await client().get(`/certificates/${randomUUID()}`)).status, 404)
      })

      it('returns 404 for a random non-existing sni', async () => {
        assert.equal((await client().get('/certificates/doesntexist.test')).status, 404)
      })
    })

    describe('PUT', () => {
      it('creates if not found', async () => {
        const n1 = getName()
        const id = randomUUID()
        const res = await client().put(`/certificates/${id}`, {body: {cert: ssl.cert, key: ssl.key, snis: [n1]}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert)
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
        assert.deepEqual(res.json.snis, [n1])
        assert.deepEqual(await inDb(`/certificates/${id}`), res.json)
      })

      it('creates a new sni when provided in the url', async () => {
        const n1 = getName()
        const n2 = getName()
        const res = await client().put(`/certificates/${n1}`, {body: {cert: ssl.cert, key: ssl.key, snis: [n2]}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert)
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
        assert.deepEqual(res.json.snis, [n1, n2])
        assert.deepEqual(await inDb(`/certificates/${res.json.id}`), res.json)
      })

      it('creates a new sni when provided in the url (with sni duplicated in url and body)', async () => {
        const n1 = getName()
        const n2 = getName()
        const res = await client().put(`/certificates/${n1}`, {body: {cert: ssl.cert, key: ssl.key, snis: [n1, n2]}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert)
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
        assert.deepEqual(res.json.snis, [n1, n2])
        assert.deepEqual(await inDb(`/certificates/${res.json.id}`), res.json)
      })

      it('upserts if found', async () => {
        const [certificate] = await addCertificate()
        await sleep(1100)
        const res = await client().put(`/certificates/${certificate.id}`, {body: {cert: ssl.cert_alt, key: ssl.key_alt}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert_alt)
        assert.equal(res.json.key, ssl.key_alt)
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
        assert.deepEqual(res.json.snis, [])
        assert.ok(certificate.updated_at < res.json.updated_at)
        assert.deepEqual(await inDb(`/certificates/${certificate.id}`), res.json)
      })

      it('upserts if found with alternate certificate', async () => {
        const [certificate] = await addCertificateWithAltCert()
        const res = await client().put(`/certificates/${certificate.id}`, {body: {cert: ssl.cert_alt, key: ssl.key_alt, cert_alt: ssl.cert_alt_ecdsa, key_alt: ssl.key_alt_ecdsa}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert_alt)
        assert.equal(res.json.key, ssl.key_alt)
        assert.equal(res.json.cert_alt, ssl.cert_alt_ecdsa)
        assert.equal(res.json.key_alt, ssl.key_alt_ecdsa)
        assert.deepEqual(res.json.snis, [])
        assert.deepEqual(await inDb(`/certificates/${certificate.id}`), res.json)
      })

      it('handles invalid input', async () => {
        // Missing params
        const res = await client().put(`/certificates/${randomUUID()}`, {body: {}, headers: JSON_CT})
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 2,
          name: 'schema violation',
          message: '2 schema violations (cert: required field missing; key: required field missing)',
          fields: {cert: 'required field missing', key: 'required field missing'},
        })
      })

      it('handles invalid input with alternate certificate', async () => {
        const res = await client().put(`/certificates/${randomUUID()}`, {body: {cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert_ecdsa}, headers: JSON_CT})
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 2,
          name: 'schema violation',
          message: "schema violation (all or none of these fields must be set: 'cert_alt', 'key_alt')",
          fields: {'@entity': ["all or none of these fields must be set: 'cert_alt', 'key_alt'"]},
        })
      })

      it('handles mismatched keys/certificates', async () => {
        const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key_alt}, headers: JSON_CT})
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {code: 2, name: 'schema violation', message: 'schema violation (certificate does not match key)', fields: {'@entity': ['certificate does not match key']}})
      })

      it('handles mismatched keys/certificates with alternate certificate', async () => {
        const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert_ecdsa, key_alt: ssl.key_alt_ecdsa}, headers: JSON_CT})
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 2,
          name: 'schema violation',
          message: 'schema violation (alternative certificate does not match key)',
          fields: {'@entity': ['alternative certificate does not match key']},
        })
      })

      it('errors on non-distinct certs', async () => {
        const res = await client().post('/certificates', {body: {cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert, key_alt: ssl.key}, headers: JSON_CT})
        assert.equal(res.status, 400)
        const msg = 'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type'
        assert.deepEqual(res.json, {code: 2, name: 'schema violation', message: `schema violation (${msg})`, fields: {'@entity': [msg]}})
      })
    })

    describe('PATCH', () => {
      itContentTypes('updates a certificate by cert id', (contentType) => async () => {
        const [certificate] = await addCertificate()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {cert: ssl.cert_alt, key: ssl.key_alt}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert_alt)
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
      })

      itContentTypes('updates a certificate by cert id with alternate certificate', (contentType) => async () => {
        const [certificate] = await addCertificateWithAltCert()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {cert: ssl.cert_alt, key: ssl.key_alt, cert_alt: ssl.cert_alt_ecdsa, key_alt: ssl.key_alt_ecdsa}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert_alt)
        assert.equal(res.json.cert_alt, ssl.cert_alt_ecdsa)
      })

      itContentTypes('update by id returns full certificate', (contentType) => async () => {
        const [certificate] = await addCertificate()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        delete certificate.updated_at
        delete res.json.updated_at
        assert.deepEqual(res.json, certificate)
      })

      itContentTypes('update by id returns full certificate with alternative certificate', (contentType) => async () => {
        const [certificate] = await addCertificateWithAltCert()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        delete certificate.updated_at
        delete res.json.updated_at
        assert.deepEqual(res.json, certificate)
      })

      itContentTypes('updates a certificate by sni', (contentType) => async () => {
        const [, names] = await addCertificate()
        const res = await client().patch(`/certificates/${names[0]}`, {body: {cert: ssl.cert_alt, key: ssl.key_alt}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert_alt)
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
      })

      itContentTypes('updates a certificate by sni with alternate certificate', (contentType) => async () => {
        const [, names] = await addCertificateWithAltCert()
        const res = await client().patch(`/certificates/${names[0]}`, {body: {cert: ssl.cert_alt, key: ssl.key_alt, cert_alt: ssl.cert_alt_ecdsa, key_alt: ssl.key_alt_ecdsa}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.cert, ssl.cert_alt)
        assert.equal(res.json.key, ssl.key_alt)
        assert.equal(res.json.cert_alt, ssl.cert_alt_ecdsa)
        assert.equal(res.json.key_alt, ssl.key_alt_ecdsa)
      })

      itContentTypes('update by sni returns full certificate', (contentType) => async () => {
        const [certificate, names] = await addCertificate()
        const res = await client().patch(`/certificates/${names[0]}`, {body: {}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        delete certificate.updated_at
        delete res.json.updated_at
        assert.deepEqual(res.json, certificate)
      })

      itContentTypes('update by sni returns full certificate with alternate certificate', (contentType) => async () => {
        const [certificate, names] = await addCertificateWithAltCert()
        const res = await client().patch(`/certificates/${names[0]}`, {body: {}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        delete certificate.updated_at
        delete res.json.updated_at
        assert.deepEqual(res.json, certificate)
      })

      it('returns 404 for a random non-existing id', async () => {
        const n1 = getName()
        const res = await client().patch(`/certificates/${randomUUID()}`, {body: {cert: ssl.cert, key: ssl.key, snis: [n1]}, headers: JSON_CT})
        assert.equal(res.status, 404)
        // make sure we did not add any certificate or sni
        for (const data of (await getCertificates()).data) for (const sni of data.snis) assert.notEqual(sni, n1)
      })

      const updatesSnis = (add: () => Promise<[any, string[]]>) => async () => {
        const [certificate] = await add()
        const n1 = getName()
        const before = await getCertificates()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {snis: [n1]}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.deepEqual(res.json.snis, [n1])
        // make sure we did not add any certificate, and that the snis are correct
        const json = await getCertificates()
        assert.equal(json.data.length, before.data.length)
        json.data.forEach((data: any, i: number) => assert.deepEqual(data.snis, data.id === certificate.id ? [n1] : before.data[i].snis))
      }
      it('updates snis associated with a certificate', updatesSnis(addCertificate))
      it('updates snis associated with a certificate with alternate certificate', updatesSnis(addCertificateWithAltCert))

      it('updates only the certificate if no snis are specified', async () => {
        const [certificate, names] = await addCertificate()
        const before = await getCertificates()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {cert: ssl.cert, key: ssl.key}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        // make sure certificate got updated and sni remains the same
        assert.deepEqual(res.json.snis, names)
        assert.equal(res.json.cert, ssl.cert)
        assert.equal(res.json.key, ssl.key)
        assert.equal(res.json.cert_alt, null)
        assert.equal(res.json.key_alt, null)
        // make sure the certificate got updated in DB
        const json = await inDb(`/certificates/${certificate.id}`)
        assert.equal(json.cert, ssl.cert)
        assert.equal(json.key, ssl.key)
        assert.equal(json.cert_alt, null)
        assert.equal(json.key_alt, null)
        // make sure we did not add any certificate or sni
        assert.deepEqual(await getCertificates(), before)
      })

      it('returns a conflict when duplicated snis are present in the request', async () => {
        const [certificate] = await addCertificate()
        const before = await getCertificates()
        const n1 = getName()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {snis: [n1, n1]}, headers: JSON_CT})
        assert.equal(res.status, 400)
        assert.equal(res.json.message, `schema violation (snis: ${n1} is duplicated)`)
        // make sure we did not change certificates or snis
        assert.deepEqual(await getCertificates(), before)
      })

      it('returns a conflict when a pre-existing sni present in the request is associated with another certificate', async () => {
        const [certificate] = await addCertificate()
        const [certificate2, names2] = await addCertificate()
        const before = await getCertificates()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {snis: names2}, headers: JSON_CT})
        assert.equal(res.status, 400)
        assert.equal(res.json.message, `schema violation (snis: ${names2[0]} already associated with existing certificate '${certificate2.id}')`)
        // make sure we did not add any certificate or sni
        assert.deepEqual(await getCertificates(), before)
      })

      it('deletes all snis from a certificate if snis field is JSON null', async () => {
        const [certificate] = await addCertificate()
        const before = await getCertificates()
        const res = await client().patch(`/certificates/${certificate.id}`, {body: {snis: null}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.snis.length, 0)
        assert.ok(res.text.includes('"snis":[]'), res.text)
        // make sure we did not add any certificate and the sni was deleted
        const json = await getCertificates()
        assert.equal(json.data.length, before.data.length)
        json.data.forEach((data: any, i: number) => assert.deepEqual(data.snis, data.id === certificate.id ? [] : before.data[i].snis))
      })
    })

    describe('DELETE', () => {
      it('deletes a certificate and all related snis', async () => {
        const before = await getCertificates()
        const [, names] = await addCertificate()
        assert.equal((await client().delete(`/certificates/${names[0]}`)).status, 204)
        assert.deepEqual(await getCertificates(), before)
      })

      it('deletes a certificate by id', async () => {
        const before = await getCertificates()
        const [certificate] = await addCertificate()
        assert.equal((await client().delete(`/certificates/${certificate.id}`)).status, 204)
        assert.deepEqual(await getCertificates(), before)
      })
    })
  })

  describe('/certificates/:certificate/snis', () => {
    describe('POST', () => {
      describe('errors', () => {
        it("certificate doesn't exist", async () => {
          const res = await client().post('/certificates/585e4c16-c656-11e6-8db9-5f512d8a12cd/snis', {body: {name: getName()}, headers: JSON_CT})
          assert.equal(res.status, 404)
          assert.equal(res.json.message, 'Not found')
        })
      })

      itContentTypes('creates a sni using a certificate id', (contentType) => async () => {
        const [certificate] = await addCertificate()
        const n1 = getName()
        const res = await client().post(`/certificates/${certificate.id}/snis`, {body: {name: n1}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        assert.equal(res.json.name, n1)
        assert.equal(res.json.certificate.id, certificate.id)
      })

      itContentTypes('creates a sni using a sni to id the certificate', (contentType) => async () => {
        const [certificate, names] = await addCertificate()
        const n1 = getName()
        const res = await client().post(`/certificates/${names[0]}/snis`, {body: {name: n1}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        assert.equal(res.json.name, n1)
        assert.equal(res.json.certificate.id, certificate.id)
      })

      it('returns a conflict when an sni already exists', async () => {
        const [certificate, names] = await addCertificate()
        const res = await client().post(`/certificates/${certificate.id}/snis`, {body: {name: names[0]}, headers: JSON_CT})
        assert.equal(res.status, 409, res.text)
        assert.equal(res.json.name, 'unique constraint violation')
      })
    })

    describe('GET', () => {
      it('retrieves a list of snis', async () => {
        const n1 = getName()
        const certificate = await bpCertificate()
        await bpSni({name: n1, certificate: {id: certificate.id}})
        const json = await inDb(`/certificates/${certificate.id}/snis`)
        assert.equal(json.data.length, 1)
        assert.equal(json.data[0].name, n1)
        assert.equal(json.data[0].certificate.id, certificate.id)
      })
    })
  })

  describe('/snis/:name', () => {
    describe('wildcard snis', () => {
      describe('POST', () => {
        it('creates with prefix wildcard', async () => {
          const [certificate] = await addCertificate()
          const n1 = getName()
          const res = await client().post('/snis', {body: {name: `*.${n1}`, certificate: {id: certificate.id}}, headers: JSON_CT})
          assert.equal(res.status, 201, res.text)
          assert.equal(res.json.name, `*.${n1}`)
          assert.equal(res.json.certificate.id, certificate.id)
        })

        it('creates with suffix wildcard', async () => {
          const [certificate] = await addCertificate()
          const n1 = getName()
          const res = await client().post('/snis', {body: {name: `${n1}.*`, certificate: {id: certificate.id}}, headers: JSON_CT})
          assert.equal(res.status, 201, res.text)
          assert.equal(res.json.name, `${n1}.*`)
          assert.equal(res.json.certificate.id, certificate.id)
        })

        it('rejects invalid SNIs', async () => {
          const [certificate] = await addCertificate()
          const res = await client().post('/snis', {body: {name: '*.wildcard.*', certificate: {id: certificate.id}}, headers: JSON_CT})
          assert.equal(res.status, 400)
          assert.equal(res.json.fields.name, 'only one wildcard must be specified')
        })
      })

      describe('GET', () => {
        it('retrieves a wildcard SNI using the name', async () => {
          const [certificate] = await addCertificate()
          await bpSni({name: '*.wildcard.test', certificate: {id: certificate.id}})
          const json = await inDb('/snis/%2A.wildcard.test')
          assert.equal(json.name, '*.wildcard.test')
        })
      })
    })

    describe('GET', () => {
      it('retrieves a sni using the name', async () => {
        const [certificate, names] = await addCertificate()
        const json = await inDb(`/snis/${names[0]}`)
        assert.equal(json.name, names[0])
        assert.equal(json.certificate.id, certificate.id)
      })
      it('retrieves a sni using the id', async () => {
        const [certificate] = await addCertificate()
        const n1 = getName()
        const sni = await bpSni({name: n1, certificate: {id: certificate.id}})
        const json = await inDb(`/snis/${sni.id}`)
        assert.equal(json.name, n1)
        assert.equal(json.certificate.id, certificate.id)
      })
    })

    describe('PUT', () => {
      it('creates if not found', async () => {
        const [certificate] = await addCertificate()
        const n1 = getName()
        const id = randomUUID()
        const res = await client().put(`/snis/${id}`, {body: {certificate: {id: certificate.id}, name: n1}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.name, n1)
        assert.deepEqual(await inDb(`/snis/${id}`), res.json)
      })

      it('updates if found', async () => {
        const [certificate] = await addCertificate()
        const n1 = getName()
        const sni = await bpSni({name: n1, certificate: {id: certificate.id}})
        const n2 = getName()
        await sleep(1100)
        const res = await client().put(`/snis/${sni.id}`, {body: {name: n2, certificate: {id: certificate.id}}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.name, n2)
        assert.deepEqual(await inDb(`/snis/${sni.id}`), res.json)
        assert.ok(sni.updated_at < res.json.updated_at)
      })

      it('handles invalid input', async () => {
        // Missing params
        const res = await client().put(`/snis/${randomUUID()}`, {body: {}, headers: JSON_CT})
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 2,
          name: 'schema violation',
          message: '2 schema violations (certificate: required field missing; name: required field missing)',
          fields: {certificate: 'required field missing', name: 'required field missing'},
        })
      })
    })

    describe('PATCH', () => {
      const updatesSni = (alt: boolean) => async () => {
        const [certificate, names] = await addCertificate()
        const certificate2 = await bpCertificate({cert: ssl.cert_alt, key: ssl.key_alt, ...(alt ? {cert_alt: ssl.cert_alt_ecdsa, key_alt: ssl.key_alt_ecdsa} : {})})
        const res = await client().patch(`/snis/${names[0]}`, {body: {certificate: {id: certificate2.id}}, headers: JSON_CT})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.certificate.id, certificate2.id)
        assert.deepEqual((await inDb(`/certificates/${certificate.id}`)).snis, [names[1]])
        assert.deepEqual((await inDb(`/certificates/${certificate2.id}`)).snis, [names[0]])
      }
      it('updates a sni', updatesSni(false))
      it('updates a sni with alternate certificate', updatesSni(true))
    })

    describe('DELETE', () => {
      it('deletes a sni', async () => {
        const [certificate] = await addCertificate()
        const n1 = getName()
        await bpSni({name: n1, certificate: {id: certificate.id}})
        assert.equal((await client().delete(`/snis/${n1}`)).status, 204)
      })
    })
  })
})
