/**
 * Kong's spec/02-integration/04-admin_api/15-off_spec.lua (3.9), ported in part: its first
 * block ("Admin API #off": the refused writes, `/config` POST and GET, `/upstreams`),
 * with Kong's describe/it titles and assertions, against a real `database = off` node.
 * Where Kong's configurations name plugins kctl does not bundle (file-log, http-log,
 * tcp-log), a bundled plugin with a valid configuration stands in; the case is about the
 * entities around them. Of the "[flattened errors]" block, the cases on one entity's
 * flattening; its large "sanity"/"flattens …"/"drains …" cases and the other blocks
 * (concurrency, unique foreign, cache key, worker consistency) are not ported yet
 * (docs/kong-specs.md).
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {load as yamlLoad} from 'js-yaml'
import {after, before, describe, test as it} from 'node:test'
import {ssl} from '../fixtures/ssl.js'
import {CONTENT_TYPES, type ContentType, type KongClient} from './kong-client.js'
import {startOffNode, type OffNode} from './off-node.js'
import {until} from '../../helpers/until.js'

const KONG_SKIPS_MULTIPART = "Kong's spec skips this case for multipart/form-data (its client does not encode the body)"
const label = (ct: ContentType) => (ct === 'application/x-www-form-urlencoded' ? 'application/www-form-urlencoded' : ct)
const UNSUPPORTED = (message: string) => ({code: 12, name: 'operation unsupported', message})
const JSON_CT = {'Content-Type': 'application/json'}
/** Kong's `helpers.unindent`. */
const unindent = (s: string) => {
  const lines = s.replace(/^\n/, '').split('\n')
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length))
  return lines.map((l) => l.slice(indent)).join('\n')
}

describe('Admin API #off', () => {
  let node: OffNode
  before(async () => {
    node = await startOffNode()
  })
  after(() => node?.stop())
  const client = (): KongClient => node.client
  const postConfig = (config: string, query = '') => client().post(`/config${query}`, {body: {config: unindent(config)}, headers: JSON_CT})

  describe('/routes', () => {
    describe('POST', () => {
      const refuses = (body: Record<string, unknown>) => (ct: ContentType) => async () => {
        const res = await client().post('/routes', {body, headers: {'Content-Type': ct}})
        assert.equal(res.status, 405)
        assert.deepEqual(res.json, UNSUPPORTED("cannot create 'routes' entities when not using a database"))
      }
      for (const ct of CONTENT_TYPES) {
        it(`doesn't allow to creates a route with ${label(ct)}`, ct === 'multipart/form-data' ? {skip: KONG_SKIPS_MULTIPART} : {}, refuses({protocols: ['http'], hosts: ['my.route.test'], service: {id: randomUUID()}})(ct))
      }
      for (const ct of CONTENT_TYPES) {
        const body = {protocols: ['http'], methods: ['GET', 'POST', 'PATCH'], hosts: ['foo.api.test', 'bar.api.test'], paths: ['/foo', '/bar'], service: {id: randomUUID()}}
        it(`doesn't allow to creates a complex route with ${label(ct)}`, ct === 'multipart/form-data' ? {skip: KONG_SKIPS_MULTIPART} : {}, refuses(body)(ct))
      }
    })

    describe('GET', () => {
      describe('errors', () => {
        it('handles invalid offsets', async () => {
          let res = await client().get('/routes', {query: {offset: 'x'}})
          assert.equal(res.status, 400)
          assert.deepEqual(res.json, {code: 7, name: 'invalid offset', message: "'x' is not a valid offset: bad base64 encoding"})
          res = await client().get('/routes', {query: {offset: '|potato|'}})
          assert.equal(res.status, 400)
          delete res.json.message
          assert.deepEqual(res.json, {code: 7, name: 'invalid offset'})
        })
      })
    })

    it('returns HTTP 405 on invalid method', async () => {
      for (const method of ['DELETE', 'PUT', 'PATCH', 'POST']) {
        const res = await client().send(method, '/routes', {body: {paths: ['/'], service: {id: randomUUID()}}, headers: JSON_CT})
        assert.equal(res.status, 405, `${method}: ${res.text}`)
        if (method === 'POST') assert.deepEqual(res.json, UNSUPPORTED("cannot create 'routes' entities when not using a database"))
        else assert.deepEqual(res.json, {message: 'Method not allowed'})
      }
    })
  })

  describe('/routes/{route}', () => {
    it('returns HTTP 405 on invalid method', async () => {
      for (const method of ['PUT', 'POST']) {
        const res = await client().send(method, `/routes/${randomUUID()}`, {body: {paths: ['/'], service: {id: randomUUID()}}, headers: JSON_CT})
        assert.equal(res.status, 405, `${method}: ${res.text}`)
        if (method !== 'POST') assert.deepEqual(res.json, UNSUPPORTED("cannot create or update 'routes' entities when not using a database"))
        else assert.deepEqual(res.json, {message: 'Method not allowed'})
      }
    })
  })

  describe('/config', () => {
    describe('POST', () => {
      it('accepts configuration as JSON body', async () => {
        const res = await client().post('/config', {body: {_format_version: '1.1', consumers: [{username: 'bobby_in_json_body'}]}, headers: JSON_CT})
        assert.equal(res.status, 201, res.text)
      })

      it('accepts configuration as YAML body', async () => {
        const res = await client().post('/config', {raw: unindent('\n  _format_version: "1.1"\n  consumers:\n    - username: "bobby_in_yaml_body"\n'), headers: {'Content-Type': 'application/yaml'}})
        assert.equal(res.status, 201, res.text)
      })

      it('accepts configuration as a JSON string under `config` JSON key', async () => {
        const res = await postConfig('{"_format_version" : "1.1", "consumers" : [{"username" : "bobby_in_json_under_config"}]}')
        assert.equal(res.status, 201, res.text)
      })

      it('accepts configuration as a YAML string under `config` JSON key', async () => {
        const res = await postConfig('\n  _format_version: "1.1"\n  consumers:\n    - username: "bobby_in_yaml_under_config"\n')
        assert.equal(res.status, 201, res.text)
      })

      it('fails with 413 and preserves previous cache if config does not fit in cache', {
        skip: "Kong's limit is its LMDB map size (lmdb_map_size), which kctl does not have; kctl refuses a configuration above kctl_max_config_entities instead (test/dbless)",
      }, () => {})

      it('accepts configuration containing null as a YAML string', async () => {
        const res = await postConfig('\n  _format_version: "1.1"\n  routes:\n  - paths:\n    - "/"\n    service: null\n')
        assert.equal(res.status, 201, res.text)
      })

      it('hides workspace related fields from /config response', async () => {
        // file-log (not bundled) is request-termination here
        const res = await postConfig(`
          _format_version: "1.1"
          services:
          - name: my-service
            id: 0855b320-0dd2-547d-891d-601e9b38647f
            url: https://example.com
            plugins:
            - name: request-termination
              id: 0611a5a9-de73-5a2d-a4e6-6a38ad4c3cb2
            - name: key-auth
              id: 661199ff-aa1c-5498-982c-d57a4bd6e48b
            routes:
            - name: my-route
              id: 481a9539-f49c-51b6-b2e2-fe99ee68866c
              paths:
              - /
          consumers:
          - username: my-user
            id: 4b1b701d-de2b-5588-9aa2-3b97061d9f52
            keyauth_credentials:
            - key: my-key
              id: 487ab43c-b2c9-51ec-8da5-367586ea2b61
        `)
        assert.equal(res.status, 201, res.text)
        const entities = res.json
        assert.equal(entities.workspaces, undefined)
        assert.equal(entities.consumers['4b1b701d-de2b-5588-9aa2-3b97061d9f52'].ws_id, undefined)
        assert.equal(entities.keyauth_credentials['487ab43c-b2c9-51ec-8da5-367586ea2b61'].ws_id, undefined)
        assert.equal(entities.plugins['0611a5a9-de73-5a2d-a4e6-6a38ad4c3cb2'].ws_id, undefined)
        assert.equal(entities.plugins['661199ff-aa1c-5498-982c-d57a4bd6e48b'].ws_id, undefined)
        const services = entities.services['0855b320-0dd2-547d-891d-601e9b38647f']
        const routes = entities.routes['481a9539-f49c-51b6-b2e2-fe99ee68866c']
        assert.ok(services)
        assert.ok(routes)
        assert.equal(services.ws_id, undefined)
        assert.equal(routes.ws_id, undefined)
        assert.equal(routes.service.id, services.id)
      })

      it('certificates should be auto-related with attach snis from /config response', async () => {
        const res = await client().post('/config', {
          body: {_format_version: '1.1', certificates: [{cert: ssl.cert, id: 'd83994d2-c24c-4315-b431-ee76b6611dcb', key: ssl.key, snis: [{name: 'foo.example', id: '1c6e83b7-c9ad-40ac-94e8-52f5ee7bde44'}]}]},
          headers: JSON_CT,
        })
        assert.equal(res.status, 201, res.text)
        const certificates = res.json.certificates['d83994d2-c24c-4315-b431-ee76b6611dcb']
        const snis = res.json.snis['1c6e83b7-c9ad-40ac-94e8-52f5ee7bde44']
        assert.ok(certificates)
        assert.ok(snis)
        assert.equal(snis.certificate.id, certificates.id)
      })

      it('certificates should be auto-related with separate snis from /config response', async () => {
        const res = await client().post('/config', {
          body: {
            _format_version: '1.1',
            certificates: [{cert: ssl.cert, id: 'd83994d2-c24c-4315-b431-ee76b6611dcb', key: ssl.key}],
            snis: [{name: 'foo.example', id: '1c6e83b7-c9ad-40ac-94e8-52f5ee7bde44', certificate: {id: 'd83994d2-c24c-4315-b431-ee76b6611dcb'}}],
          },
          headers: JSON_CT,
        })
        assert.equal(res.status, 201, res.text)
        const certificates = res.json.certificates['d83994d2-c24c-4315-b431-ee76b6611dcb']
        const snis = res.json.snis['1c6e83b7-c9ad-40ac-94e8-52f5ee7bde44']
        assert.ok(certificates)
        assert.ok(snis)
        assert.equal(snis.certificate.id, certificates.id)
      })

      it('can reload upstreams (regression test)', async () => {
        const config = '\n  _format_version: "1.1"\n  services:\n  - host: foo\n    routes:\n    - paths:\n      - "/"\n  upstreams:\n  - name: "foo"\n    targets:\n    - target: 10.20.30.40\n'
        assert.equal((await postConfig(config)).status, 201)
        assert.equal((await postConfig(config)).status, 201)
      })

      it('returns 304 if checking hash and configuration is identical', async () => {
        const config = '\n  _format_version: "1.1"\n  consumers:\n  - username: bobby_tables\n'
        let res = await postConfig(config, '?check_hash=1')
        assert.equal(res.status, 201, res.text)
        res = await postConfig(config, '?check_hash=1')
        assert.equal(res.status, 304)
      })

      it('returns 400 on an invalid config string', async () => {
        const res = await postConfig('bobby tables')
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 14,
          fields: {error: 'failed parsing declarative configuration: expected an object'},
          message: 'declarative config is invalid: {error="failed parsing declarative configuration: expected an object"}',
          name: 'invalid declarative configuration',
        })
      })

      it('returns 400 on a validation error', async () => {
        const res = await postConfig('\n  _format_version: "1.1"\n  services:\n  - port: -12\n')
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 14,
          fields: {services: [{host: 'required field missing', port: 'value should be between 0 and 65535'}]},
          message: 'declarative config is invalid: {services={{host="required field missing",port="value should be between 0 and 65535"}}}',
          name: 'invalid declarative configuration',
        })
      })

      // http-log and tcp-log (not bundled) are cors and correlation-id here
      const twoServices = (first: string, second: string) => `
          _format_version: "1.1"
          services:
          - ${first}
            host: example.com
            protocol: https
            routes:
            - name: foo
              methods: ["GET"]
              plugins:
                - name: key-auth
                - name: cors
          - ${second}
            host: example.test
            port: 3000
            routes:
            - name: bar
              paths:
              - /
              plugins:
              - name: basic-auth
              - name: correlation-id
      `

      it('returns 400 on an primary key uniqueness error', async () => {
        const res = await postConfig(twoServices('id: 0855b320-0dd2-547d-891d-601e9b38647f\n            name: foo', 'id: 0855b320-0dd2-547d-891d-601e9b38647f\n            name: bar'))
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 14,
          fields: {services: [null, "uniqueness violation: 'services' entity with primary key set to '0855b320-0dd2-547d-891d-601e9b38647f' already declared"]},
          message: `declarative config is invalid: {services={[2]="uniqueness violation: 'services' entity with primary key set to '0855b320-0dd2-547d-891d-601e9b38647f' already declared"}}`,
          name: 'invalid declarative configuration',
        })
      })

      it('returns 400 on an endpoint key uniqueness error', async () => {
        const res = await postConfig(twoServices('name: foo', 'name: foo'))
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 14,
          fields: {services: [null, "uniqueness violation: 'services' entity with name set to 'foo' already declared"]},
          message: `declarative config is invalid: {services={[2]="uniqueness violation: 'services' entity with name set to 'foo' already declared"}}`,
          name: 'invalid declarative configuration',
        })
      })

      it('returns 400 on a regular key uniqueness error', async () => {
        const res = await postConfig('\n  _format_version: "1.1"\n  consumers:\n  - username: foo\n    custom_id: conflict\n  - username: bar\n    custom_id: conflict\n')
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {
          code: 14,
          fields: {consumers: {bar: "uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared"}},
          message: `declarative config is invalid: {consumers={bar="uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared"}}`,
          name: 'invalid declarative configuration',
        })
      })

      it('returns 400 when given no input', async () => {
        const res = await client().post('/config')
        assert.equal(res.status, 400)
        assert.deepEqual(res.json, {message: 'expected a declarative configuration'})
      })

      it('sparse responses are correctly generated', async () => {
        const keyAuth = {name: 'key-auth', enabled: true, protocols: ['http', 'https']}
        const cors = {name: 'cors', config: {credentials: true, exposed_headers: ['*'], headers: ['*'], methods: ['*'], origins: ['*'], preflight_continue: true}, enabled: true, protocols: ['http', 'https']}
        const res = await postConfig(JSON.stringify({_format_version: '1.1', plugins: [...Array.from({length: 10}, () => keyAuth), cors]}))
        assert.equal(res.status, 400)
      })
    })

    describe('GET', () => {
      it('returns back the configuration', {todo: 'a DB-less node stamps the entities it loads (created_at of the file is not kept, as kctl apply ignores timestamps); the rest of the export is Kong’s'}, async () => {
        let res = await client().post('/config', {body: {_format_version: '1.1', consumers: [{username: 'bobo', id: 'd885e256-1abe-5e24-80b6-8f68fe59ea8e', created_at: 1566863706}]}, headers: JSON_CT})
        assert.equal(res.status, 201, res.text)
        res = await client().get('/config')
        assert.equal(res.status, 200)
        const config = yamlLoad(res.json.config) as any
        assert.deepEqual(config, {
          _format_version: '3.0',
          _transform: false,
          consumers: [{id: 'd885e256-1abe-5e24-80b6-8f68fe59ea8e', created_at: 1566863706, updated_at: config.consumers[0].updated_at, username: 'bobo', custom_id: null, tags: null}],
        })
      })
    })

    it('can load large declarative config (regression test)', {skip: "Kong's spec/fixtures/burst.yml is not carried here; kctl's own large-configuration tests are in test/dbless"}, () => {})

    it('updates stream subsystem config', {skip: 'kctl proxies HTTP(S) and gRPC only: it has no stream subsystem (stream_listen) to serve a tcp route'}, () => {})
  })

  describe('/upstreams', () => {
    it('can set target health without port', async () => {
      const config = `
        _format_version: "1.1"
        services:
        - host: foo
          routes:
          - paths:
            - "/"
        upstreams:
        - name: "foo"
          targets:
            - target: 10.20.30.40
          healthchecks:
            passive:
              healthy:
                successes: 1
              unhealthy:
                http_failures: 1
      `
      assert.equal((await postConfig(config)).status, 201)
      const res = await client().get('/upstreams/foo/targets')
      assert.equal(res.status, 200)
      assert.ok(Array.isArray(res.json.data))
      assert.equal(res.json.data.length, 1)
      const id = res.json.data[0].id
      assert.equal(typeof id, 'string')
      await until('the target can be marked unhealthy', async () => (await client().put(`/upstreams/foo/targets/${id}/10.20.30.40/unhealthy`)).status === 204, {timeoutMs: 10_000})
    })

    it('targets created missing ports listed with ports', async () => {
      const config = '\n  _format_version: "1.1"\n  services:\n  - host: foo\n    routes:\n    - paths:\n      - "/"\n  upstreams:\n  - name: "foo"\n    targets:\n    - target: 10.20.30.40\n    - target: 50.60.70.80:90\n'
      assert.equal((await postConfig(config)).status, 201)
      const res = await client().get('/upstreams/foo/targets/all')
      assert.equal(res.status, 200)
      const data = res.json.data.sort((a: any, b: any) => (a.target < b.target ? -1 : 1))
      assert.equal(data[0].target, '10.20.30.40:8000')
      assert.equal(data[1].target, '50.60.70.80:90')
    })
  })
})

describe('Admin API #off /config [flattened errors]', () => {
  let node: OffNode
  before(async () => {
    node = await startOffNode()
  })
  after(() => node?.stop())

  /** Kong's `post_config`: a 400 with `flattened_errors`, a list. */
  async function postConfig(config: Record<string, unknown>): Promise<any[]> {
    const res = await node.client.post('/config?flatten_errors=1', {body: {_format_version: '3.0', ...config}, headers: JSON_CT})
    assert.equal(res.status, 400, res.text)
    assert.ok(res.json.flattened_errors, '`flattened_errors` is missing from the response')
    assert.ok(Array.isArray(res.json.flattened_errors), '`flattened_errors` is not a table')
    return res.json.flattened_errors
  }
  const getByTag = (tag: string, haystack: any[]) => haystack.find((item) => item.entity?.tags?.[0] === tag)

  it('preserves IDs from the input', async () => {
    const id = '0175e0e8-3de9-56b4-96f1-b12dcb4b6691'
    const flattened = await postConfig({services: [{id, name: 'nope', host: 'localhost', port: 1234, protocol: 'nope', tags: ['service-01']}]})
    const got = getByTag('service-01', flattened)
    assert.ok(got)
    assert.equal(got.entity_id, id)
    assert.equal(got.entity.id, id)
  })

  it('preserves foreign keys from nested entity collections', async () => {
    const id = 'cb019421-62c2-47a8-b714-d7567b114037'
    const flattened = await postConfig({services: [{id, name: 'test', host: 'localhost', port: 1234, protocol: 'nope', tags: ['service-01'], routes: [{super_duper_invalid: true, tags: ['route-01']}]}]})
    const got = getByTag('route-01', flattened)
    assert.ok(got)
    assert.equal(typeof got.entity, 'object')
    assert.equal(typeof got.entity.service, 'object')
    assert.deepEqual(got.entity.service, {id})
  })

  it('omits top-level entity_* fields if they are invalid', async () => {
    const flattened = await postConfig({services: [{id: 1234, name: false, tags: ['service-01', [1.5]], url: 'http://localhost:1234'}]})
    const got = getByTag('service-01', flattened)
    assert.ok(got)
    assert.equal(got.entity_id, undefined)
    assert.equal(got.entity_name, undefined)
    assert.equal(got.entity_tags, undefined)
    assert.equal(got.entity.id, 1234)
    assert.equal(got.entity.name, false)
    assert.deepEqual(got.entity.tags, ['service-01', [1.5]])
  })

  it('correctly handles duplicate upstream target errors', {todo: 'Kong gives a declarative target without id a uuid derived from its upstream and address, so a repeated one is a primary-key repeat (entity_id set); kctl reports the repeated (upstream, target) pair instead'}, async () => {
    const target = {target: '10.244.0.12:80', weight: 1, tags: ['target-1']}
    // the same <addr>:<port> as the first target
    const dupeTarget = {...target, tags: ['target-2']}
    const k8sTags = ['k8s-name:httproute-testing', 'k8s-namespace:default', 'k8s-kind:HTTPRoute', 'k8s-uid:f9792964-6797-482c-bfdf-08220a4f6839', 'k8s-group:gateway.networking.k8s.io', 'k8s-version:v1']
    const flattened = await postConfig({
      services: [{
        connect_timeout: 60000, host: 'httproute.default.httproute-testing.0', id: '4e3cb785-a8d0-5866-aa05-117f7c64f24d', name: 'httproute.default.httproute-testing.0', port: 8080, protocol: 'http', read_timeout: 60000, retries: 5,
        routes: [{https_redirect_status_code: 426, id: '073fc413-1c03-50b4-8f44-43367c13daba', name: 'httproute.default.httproute-testing.0.0', path_handling: 'v0', paths: ['~/httproute-testing$', '/httproute-testing/'], preserve_host: true, protocols: ['http', 'https'], strip_path: true, tags: []}],
        tags: [], write_timeout: 60000,
      }],
      upstreams: [
        {algorithm: 'round-robin', name: 'httproute.default.httproute-testing.0', id: 'e9792964-6797-482c-bfdf-08220a4f6832', tags: k8sTags, targets: [{target: '10.244.0.11:80', weight: 1}, {target: '10.244.0.12:80', weight: 1}]},
        {algorithm: 'round-robin', name: 'httproute.default.httproute-testing.1', id: 'f9792964-6797-482c-bfdf-08220a4f6839', tags: k8sTags, targets: [target, dupeTarget]},
      ],
    })
    const entry = getByTag(dupeTarget.tags[0], flattened)
    assert.ok(entry, 'no error for duplicate target in the response')
    assert.deepEqual(entry.entity_tags, dupeTarget.tags)
    assert.ok(Array.isArray(entry.errors), 'missing entity errors table')
    assert.equal(entry.errors.length, 1, 'expected 1 entity error')
    const e = entry.errors[0]
    assert.equal(e.type, 'entity')
    assert.equal(e.message, `uniqueness violation: 'targets' entity with primary key set to '${entry.entity_id}' already declared`)
  })

  it('origin error do not loss when enable flatten_errors - (#12167)', async () => {
    const flattened = await postConfig({
      consumers: [
        {id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce3d', username: 'test-consumer-1', tags: ['consumer-1']},
        {id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce32', username: 'test-consumer-1', tags: ['consumer-2']},
      ],
    })
    assert.deepEqual(flattened, [
      {
        entity_type: 'consumer',
        entity_id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce32',
        entity_tags: ['consumer-2'],
        entity: {id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce32', username: 'test-consumer-1', tags: ['consumer-2']},
        errors: [{type: 'entity', message: "uniqueness violation: 'consumers' entity with username set to 'test-consumer-1' already declared"}],
      },
    ])
  })
})
