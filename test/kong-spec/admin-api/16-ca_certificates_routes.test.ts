/**
 * Kong's spec/02-integration/04-admin_api/16-ca_certificates_routes_spec.lua (3.9), ported:
 * the same describe/it titles and assertions, against a real Admin API over Postgres, with
 * Kong's certificate fixtures. Kong's `db:truncate("ca_certificates")` and
 * `bp.ca_certificates:insert()` (whose certificate is `ssl_fixtures.cert_ca`) go through
 * the Admin API.
 */
import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, test as it} from 'node:test'
import {ssl} from '../fixtures/ssl.js'
import {startSpecNode, type SpecNode} from './kong-client.js'

const CA_CERT = `-----BEGIN CERTIFICATE-----
MIIEvjCCAqagAwIBAgIJALabx/Nup200MA0GCSqGSIb3DQEBCwUAMBMxETAPBgNV
BAMMCFlvbG80Mi4xMCAXDTE5MDkxNTE2Mjc1M1oYDzIxMTkwODIyMTYyNzUzWjAT
MREwDwYDVQQDDAhZb2xvNDIuMTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoC
ggIBANIW67Ay0AtTeBY2mORaGet/VPL5jnBRz0zkZ4Jt7fEq3lbxYaJBnFI8wtz3
bHLtLsxkvOFujEMY7HVd+iTqbJ7hLBtK0AdgXDjf+HMmoWM7x0PkZO+3XSqyRBbI
YNoEaQvYBNIXrKKJbXIU6higQaXYszeN8r3+RIbcTIlZxy28msivEGfGTrNujQFc
r/eyf+TLHbRqh0yg4Dy/U/T6fqamGhFrjupRmOMugwF/BHMH2JHhBYkkzuZLgV2u
7Yh1S5FRlh11am5vWuRSbarnx72hkJ99rUb6szOWnJKKew8RSn3CyhXbS5cb0QRc
ugRc33p/fMucJ4mtCJ2Om1QQe83G1iV2IBn6XJuCvYlyWH8XU0gkRxWD7ZQsl0bB
8AFTkVsdzb94OM8Y6tWI5ybS8rwl8b3r3fjyToIWrwK4WDJQuIUx4nUHObDyw+KK
+MmqwpAXQWbNeuAc27FjuJm90yr/163aGuInNY5Wiz6CM8WhFNAi/nkEY2vcxKKx
irSdSTkbnrmLFAYrThaq0BWTbW2mwkOatzv4R2kZzBUOiSjRLPnbyiPhI8dHLeGs
wMxiTXwyPi8iQvaIGyN4DPaSEiZ1GbexyYFdP7sJJD8tG8iccbtJYquq3cDaPTf+
qv5M6R/JuMqtUDheLSpBNK+8vIe5e3MtGFyrKqFXdynJtfHVAgMBAAGjEzARMA8G
A1UdEwQIMAYBAf8CAQAwDQYJKoZIhvcNAQELBQADggIBAK0BmL5B1fPSMbFy8Hbc
/ESEunt4HGaRWmZZSa/aOtTjhKyDXLLJZz3C4McugfOf9BvvmAOZU4uYjfHTnNH2
Z3neBkdTpQuJDvrBPNoCtJns01X/nuqFaTK/Tt9ZjAcVeQmp51RwhyiD7nqOJ/7E
Hp2rC6gH2ABXeexws4BDoZPoJktS8fzGWdFBCHzf4mCJcb4XkI+7GTYpglR818L3
dMNJwXeuUsmxxKScBVH6rgbgcEC/6YwepLMTHB9VcH3X5VCfkDIyPYLWmvE0gKV7
6OU91E2Rs8PzbJ3EuyQpJLxFUQp8ohv5zaNBlnMb76UJOPR6hXfst5V+e7l5Dgwv
Dh4CeO46exmkEsB+6R3pQR8uOFtubH2snA0S3JA1ji6baP5Y9Wh9bJ5McQUgbAPE
sCRBFoDLXOj3EgzibohC5WrxN3KIMxlQnxPl3VdQvp4gF899mn0Z9V5dAsGPbxRd
quE+DwfXkm0Sa6Ylwqrzu2OvSVgbMliF3UnWbNsDD5KcHGIaFxVC1qkwK4cT3pyS
58i/HAB2+P+O+MltQUDiuw0OSUFDC0IIjkDfxLVffbF+27ef9C5NG81QlwTz7TuN
zeigcsBKooMJTszxCl6dtxSyWTj7hJWXhy9pXsm1C1QulG6uT4RwCa3m0QZoO7G+
6Wu6lP/kodPuoNubstIuPdi2
-----END CERTIFICATE-----
`
const JSON_CT = {'Content-Type': 'application/json'}

describe('/ca_certificates with DB: #postgres', () => {
  let node: SpecNode
  before(async () => {
    node = await startSpecNode()
  })
  after(() => node?.close())
  const client = () => node.client
  const truncate = async () => {
    for (const e of (await client().get('/ca_certificates', {query: {size: 1000}})).json.data) await client().delete(`/ca_certificates/${e.id}`)
  }
  const insertCa = async () => {
    const res = await client().post('/ca_certificates', {body: {cert: ssl.cert_ca}, headers: JSON_CT})
    assert.equal(res.status, 201, res.text)
    return res.json
  }

  it('GET', async () => {
    let res = await client().get('/ca_certificates')
    assert.equal(res.status, 200)
    assert.equal(res.json.data.length, 0)
    res = await client().post('/ca_certificates', {body: {cert: ssl.cert_ca}, headers: JSON_CT})
    assert.equal(res.status, 201, res.text)
    res = await client().get('/ca_certificates')
    assert.equal(res.status, 200)
    assert.equal(res.json.data.length, 1)
    assert.equal(res.json.data[0].cert, ssl.cert_ca)
  })

  describe('POST', () => {
    it('succeeds', async () => {
      const res = await client().post('/ca_certificates', {body: {cert: CA_CERT}, headers: JSON_CT})
      assert.equal(res.status, 201, res.text)
    })

    it('missing field', async () => {
      const res = await client().post('/ca_certificates', {body: {}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (cert: required field missing)')
    })

    it('non CA cert', async () => {
      const res = await client().post('/ca_certificates', {body: {cert: ssl.cert}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (certificate does not appear to be a CA because it is missing the "CA" basic constraint)')
    })

    it('expired cert', async () => {
      const res = await client().post('/ca_certificates', {body: {cert: ssl.cert_alt}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (certificate expired, "Not After" time is in the past)')
    })

    it('multiple certs', async () => {
      const res = await client().post('/ca_certificates', {body: {cert: `${ssl.cert}\n${ssl.cert}`}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (please submit only one certificate at a time)')
    })
  })

  describe('DELETE', () => {
    let ca: any
    before(async () => {
      await truncate()
      ca = await insertCa()
    })

    it('not allowed to delete if it is referenced by other entities', async () => {
      // add a service that references the ca
      let res = await client().post('/services/', {body: {url: 'https://127.0.0.1:15556', protocol: 'https', ca_certificates: [ca.id]}, headers: JSON_CT})
      assert.equal(res.status, 201, res.text)
      const service = res.json
      res = await client().delete(`/ca_certificates/${ca.id}`)
      assert.equal(res.status, 400)
      assert.equal(res.json.message, `ca certificate ${ca.id} is still referenced by services (id = ${service.id})`)
      res = await client().delete(`/services/${service.id}`)
      assert.equal(res.status, 204)
    })

    it('works', async () => {
      let res = await client().delete(`/ca_certificates/${ca.id}`)
      assert.equal(res.status, 204)
      res = await client().get('/ca_certificates')
      assert.equal(res.status, 200)
      assert.equal(res.json.data.length, 0)
    })
  })

  describe('PATCH', () => {
    let ca: any
    before(async () => {
      await truncate()
      ca = await insertCa()
    })

    it('non CA cert', async () => {
      const res = await client().patch(`/ca_certificates/${ca.id}`, {body: {cert: ssl.cert}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (certificate does not appear to be a CA because it is missing the "CA" basic constraint)')
    })

    it('expired cert', async () => {
      const res = await client().patch(`/ca_certificates/${ca.id}`, {body: {cert: ssl.cert_alt}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (certificate expired, "Not After" time is in the past)')
    })

    it('works', async () => {
      await sleep(1100)
      const res = await client().patch(`/ca_certificates/${ca.id}`, {body: {cert: ssl.cert_ca}, headers: JSON_CT})
      assert.equal(res.status, 200, res.text)
      assert.ok(ca.updated_at < res.json.updated_at)
    })
  })

  describe('PUT', () => {
    let ca: any
    before(async () => {
      await truncate()
      ca = await insertCa()
    })

    it('missing field', async () => {
      const res = await client().put(`/ca_certificates/${ca.id}`, {body: {}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (cert: required field missing)')
    })

    it('non CA cert', async () => {
      const res = await client().put(`/ca_certificates/${ca.id}`, {body: {cert: ssl.cert}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (certificate does not appear to be a CA because it is missing the "CA" basic constraint)')
    })

    it('expired cert', async () => {
      const res = await client().put(`/ca_certificates/${ca.id}`, {body: {cert: ssl.cert_alt}, headers: JSON_CT})
      assert.equal(res.status, 400)
      assert.equal(res.json.message, 'schema violation (certificate expired, "Not After" time is in the past)')
    })

    it('updates existing cert', async () => {
      let res = await client().put(`/ca_certificates/${ca.id}`, {body: {cert: ssl.cert_ca}, headers: JSON_CT})
      assert.equal(res.status, 200, res.text)
      res = await client().get('/ca_certificates')
      assert.equal(res.status, 200)
      assert.equal(res.json.data.length, 1)
      assert.equal(res.json.data[0].cert, ssl.cert_ca)
    })

    it('creates new cert when uuid does not exist', async () => {
      await truncate()
      let res = await client().put('/ca_certificates/123e4567-e89b-12d3-a456-426655440000', {body: {cert: ssl.cert_ca}, headers: JSON_CT})
      assert.equal(res.status, 200, res.text)
      res = await client().get('/ca_certificates/123e4567-e89b-12d3-a456-426655440000')
      assert.equal(res.status, 200)
      assert.equal(res.json.cert, ssl.cert_ca)
    })
  })
})
