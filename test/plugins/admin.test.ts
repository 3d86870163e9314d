import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFileSync, readdirSync} from 'node:fs'
import {describe, test} from 'node:test'
import {join} from 'node:path'
import {parse} from 'yaml'
import {conformanceDir, fixturesDir, skipWithoutConformance} from '../helpers/conformance.js'
import {adminBed} from '../helpers/gateway.js'

const bed = adminBed()

describe('plugins: Admin API', () => {
  test('enabled list and plugin schemas', async () => {
    const enabled = await bed.api.call('GET', '/plugins/enabled')
    const bundled = ['key-auth', 'basic-auth', 'acl', 'rate-limiting', 'request-termination', 'correlation-id', 'cors', 'ip-restriction', 'request-transformer', 'response-transformer', 'prometheus', 'file-log']
    assert.deepEqual([...enabled.body.enabled_plugins].sort(), [...bundled].sort())
    const s = await bed.api.call('GET', '/schemas/plugins/rate-limiting')
    assert.equal(s.status, 200)
    const config = s.body.fields.find((f: any) => f.config).config
    assert.equal(config.fields.find((f: any) => f.limit_by).limit_by.default, 'consumer')
  })

  test("rate-limiting defaults equal Kong's", async () => {
    const r = await bed.api.call('POST', '/plugins', {name: 'rate-limiting', config: {minute: 123}})
    assert.equal(r.status, 201)
    assert.deepEqual(r.body.config, {
      second: null, minute: 123, hour: null, day: null, month: null, year: null,
      limit_by: 'consumer', header_name: null, path: null, policy: 'local', fault_tolerant: true,
      redis: {host: null, port: 6379, timeout: 2000, username: null, password: null, database: 0, ssl: false, ssl_verify: false, server_name: null},
      hide_client_headers: false, error_code: 429, error_message: 'API rate limit exceeded', sync_rate: -1,
    })
    assert.deepEqual(r.body.protocols, ['grpc', 'grpcs', 'http', 'https'])
    await bed.api.call('DELETE', `/plugins/${r.body.id}`)
  })

  test('invalid configs answer 400 with config.x errors', async () => {
    const bad = await bed.api.call('POST', '/plugins', {name: 'rate-limiting', config: {minute: 'many'}})
    assert.equal(bad.status, 400)
    assert.equal(bad.body.name, 'schema violation')
    assert.equal(bad.body.fields.config.minute, 'expected a number')
    assert.match(bad.body.message, /config\.minute: expected a number/)
    const none = await bed.api.call('POST', '/plugins', {name: 'rate-limiting', config: {}})
    assert.match(none.body.message, /at least one of these fields must be non-empty: 'config.second'/)
    const unknown = await bed.api.call('POST', '/plugins', {name: 'key-auth', config: {nope: 1}})
    assert.equal(unknown.body.fields.config.nope, 'unknown field')
    const header = await bed.api.call('POST', '/plugins', {name: 'key-auth', config: {key_names: ['bad name']}})
    assert.match(header.body.message, /config\.key_names\.1: bad header name 'bad name'/)
    const acl = await bed.api.call('POST', '/plugins', {name: 'acl', config: {allow: ['a'], deny: ['b']}})
    assert.match(acl.body.message, /only one of these fields must be non-empty/)
    const notEnabled = await bed.api.call('POST', '/plugins', {name: 'nope'})
    assert.match(notEnabled.body.message, /plugin 'nope' not enabled/)
    const c = await bed.api.call('POST', '/consumers', {username: 'scoped'})
    const onConsumer = await bed.api.call('POST', `/consumers/${c.body.id}/plugins`, {name: 'key-auth'})
    assert.equal(onConsumer.status, 400)
    assert.equal(onConsumer.body.fields.consumer, 'value must be null')
  })

  test('key-auth defaults; nested plugins on services and routes', async () => {
    const s = await bed.api.call('POST', '/services', {name: 'ka-svc', url: 'http://127.0.0.1:9'})
    const r = await bed.api.call('POST', `/services/ka-svc/plugins`, {name: 'key-auth'})
    assert.equal(r.status, 201)
    assert.deepEqual(r.body.service, {id: s.body.id})
    assert.deepEqual(r.body.config, {key_names: ['apikey'], hide_credentials: false, anonymous: null, key_in_header: true, key_in_query: true, key_in_body: false, run_on_preflight: true, realm: null})
    const list = await bed.api.call('GET', '/services/ka-svc/plugins')
    assert.equal(list.body.data.length, 1)
    const form = await bed.api.form('POST', '/services/ka-svc/plugins', 'name=correlation-id&config.echo_downstream=true')
    assert.equal(form.status, 201)
    assert.equal(form.body.config.echo_downstream, true)
  })

  test("credentials under Kong's URLs: generated keys, hashed passwords, acls, cascade", async () => {
    await bed.api.call('POST', '/consumers', {username: 'carol'})
    const k = await bed.api.call('POST', '/consumers/carol/key-auth', {})
    assert.equal(k.status, 201)
    assert.match(k.body.key, /^[0-9a-f]{32}$/)
    const given = await bed.api.call('POST', '/consumers/carol/key-auth', {key: 'my-key'})
    assert.equal(given.body.key, 'my-key')
    assert.equal((await bed.api.call('GET', '/consumers/carol/keyauth_credentials')).body.data.length, 2)
    assert.equal((await bed.api.call('GET', '/key-auths/my-key')).status, 200)
    const dup = await bed.api.call('POST', '/consumers/carol/key-auth', {key: 'my-key'})
    assert.equal(dup.status, 409)

    const b = await bed.api.call('POST', '/consumers/carol/basic-auth', {username: 'carol', password: 'secret'})
    assert.equal(b.status, 201)
    assert.notEqual(b.body.password, 'secret')
    assert.match(b.body.password, /^[0-9a-f]{40}$/)
    const patched = await bed.api.call('PATCH', `/consumers/carol/basic-auth/${b.body.id}`, {tags: ['x']})
    assert.equal(patched.body.password, b.body.password, 'a PATCH without password keeps the hash')

    const g = await bed.api.call('POST', '/consumers/carol/acls', {group: 'admins'})
    assert.equal(g.status, 201)
    assert.equal((await bed.api.call('POST', '/consumers/carol/acls', {group: 'admins'})).status, 409)

    assert.equal((await bed.api.call('DELETE', '/consumers/carol')).status, 204)
    assert.equal((await bed.api.call('GET', '/key-auths/my-key')).status, 404)
    assert.equal((await bed.api.call('GET', `/acls/${g.body.id}`)).status, 404)
  })

  test("key-auth ttl: the Admin API shows the seconds left, as Kong's; an update's ttl counts from the write", async () => {
    await bed.api.call('POST', '/consumers', {username: 'ttl-user'})
    const k = await bed.api.call('POST', '/consumers/ttl-user/key-auth', {key: 'ttl-key', ttl: 100})
    assert.equal(k.status, 201)
    // Kong's FLOOR(expiry - now): 99 or 100 right after the write
    assert.ok(k.body.ttl === 99 || k.body.ttl === 100, `ttl ${k.body.ttl}`)
    const plain = await bed.api.call('POST', '/consumers/ttl-user/key-auth', {key: 'no-ttl-key'})
    assert.equal(plain.body.ttl, null)
    // 30 seconds pass (the row's creation moved back, rather than the test waiting)
    await bed.api.pool.query(`UPDATE keyauth_credentials SET created_at = created_at - 30 WHERE key = 'ttl-key'`)
    const left = (await bed.api.call('GET', '/consumers/ttl-user/key-auth/ttl-key')).body.ttl
    assert.ok(left >= 69 && left <= 70, `ttl ${left}`)
    const listed = (await bed.api.call('GET', '/consumers/ttl-user/key-auth')).body.data
    assert.deepEqual(listed.map((c: any) => [c.key, c.ttl === null ? null : c.ttl >= 69 && c.ttl <= 70]).sort(), [['no-ttl-key', null], ['ttl-key', true]])
    // the same key by its own endpoint (a second may have passed since)
    const again = (await bed.api.call('GET', '/key-auths/ttl-key')).body.ttl
    assert.ok(again === left || again === left - 1, `ttl ${left}, then ${again}`)
    // PATCH with a ttl: the key lives that long from now (Kong's updated_at + ttl)
    const patched = await bed.api.call('PATCH', '/consumers/ttl-user/key-auth/ttl-key', {ttl: 100})
    assert.ok(patched.body.ttl === 99 || patched.body.ttl === 100, `ttl ${patched.body.ttl}`)
    const stored = (await bed.api.pool.query(`SELECT ttl FROM keyauth_credentials WHERE key = 'ttl-key'`)).rows[0].ttl
    assert.ok(stored >= 129 && stored <= 131, `stored ttl ${stored} (seconds from created_at)`)
    // PATCH without one keeps the expiry
    const tagged = await bed.api.call('PATCH', '/consumers/ttl-user/key-auth/ttl-key', {tags: ['t']})
    assert.ok(tagged.body.ttl === 99 || tagged.body.ttl === 100, `ttl ${tagged.body.ttl}`)
    // PUT replaces the entity: its ttl from now too, none when not given
    const put = await bed.api.call('PUT', '/consumers/ttl-user/key-auth/ttl-key', {ttl: 50})
    assert.ok(put.body.ttl === 49 || put.body.ttl === 50, `ttl ${put.body.ttl}`)
    assert.equal((await bed.api.call('PUT', '/consumers/ttl-user/key-auth/ttl-key', {})).body.ttl, null)
    assert.equal((await bed.api.call('DELETE', '/consumers/ttl-user')).status, 204)
  })

  test('basic-auth hashes whatever the client sends, at the top level too; keeps the stored hash', async () => {
    const c = await bed.api.call('POST', '/consumers', {username: 'dave'})
    const hash = (p: string) => createHash('sha1').update(p + c.body.id).digest('hex')
    const top = await bed.api.call('POST', '/basicauth_credentials', {consumer: {username: 'dave'}, username: 'dave1', password: 'pw'})
    assert.equal(top.status, 201)
    assert.equal(top.body.password, hash('pw'))
    const alias = await bed.api.call('POST', '/basic-auths', {consumer: {username: 'dave'}, username: 'dave2', password: 'pw2'})
    assert.equal(alias.body.password, hash('pw2'))
    const hexLike = 'a'.repeat(40)
    const h = await bed.api.call('POST', '/consumers/dave/basic-auth', {username: 'dave3', password: hexLike})
    assert.equal(h.body.password, hash(hexLike), 'a 40-hex password is a password, not a hash')
    const put = await bed.api.call('PUT', `/basic-auths/${h.body.id}`, {consumer: {id: c.body.id}, username: 'dave3', password: h.body.password})
    assert.equal(put.body.password, h.body.password, 'a PUT of the stored hash keeps it')
    const changed = await bed.api.call('PATCH', `/basic-auths/${h.body.id}`, {password: 'new'})
    assert.equal(changed.body.password, hash('new'))
    await bed.api.call('DELETE', '/consumers/dave')
  })

  test('plugin config: JSON values keep their types (no coercion); form values are coerced', async () => {
    const json = await bed.api.call('POST', '/plugins', {name: 'correlation-id', config: {echo_downstream: 'true'}})
    assert.equal(json.status, 400)
    assert.equal(json.body.fields.config.echo_downstream, 'expected a boolean')
    const num = await bed.api.call('POST', '/plugins', {name: 'rate-limiting', config: {minute: '5'}})
    assert.equal(num.body.fields.config.minute, 'expected a number')
    const form = await bed.api.form('POST', '/plugins', 'name=rate-limiting&config.minute=5&config.hide_client_headers=true')
    assert.equal(form.status, 201)
    assert.equal(form.body.config.minute, 5)
    assert.equal(form.body.config.hide_client_headers, true)
    await bed.api.call('DELETE', `/plugins/${form.body.id}`)
    const validate = await bed.api.call('POST', '/schemas/plugins/validate', {name: 'correlation-id', config: {echo_downstream: 'true'}})
    assert.equal(validate.status, 400)
  })

  test('cors, ip-restriction, request- and response-transformer: defaults filled, invalid configs refused', async () => {
    const post = (name: string, config: unknown) => bed.api.call('POST', '/schemas/plugins/validate', {name, config})
    const created = async (name: string, config: unknown) => {
      const r = await bed.api.call('POST', '/plugins', {name, config})
      assert.equal(r.status, 201, JSON.stringify(r.body))
      await bed.api.call('DELETE', `/plugins/${r.body.id}`)
      return r.body.config
    }
    assert.deepEqual(await created('cors', {}), {
      origins: null, headers: null, exposed_headers: null, max_age: null, credentials: false, private_network: false, preflight_continue: false, allow_origin_absent: true,
      methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'],
    })
    assert.deepEqual(await created('ip-restriction', {allow: ['10.0.0.0/8']}), {allow: ['10.0.0.0/8'], deny: null, status: null, message: null})
    const empty = {body: [], headers: [], querystring: []}
    assert.deepEqual(await created('request-transformer', {}), {http_method: null, remove: empty, rename: empty, replace: {...empty, uri: null}, add: empty, append: empty})
    const values = {json: [], json_types: [], headers: []}
    assert.deepEqual(await created('response-transformer', {}), {remove: {json: [], headers: []}, rename: {headers: [], json: []}, replace: values, add: values, append: values})

    assert.match((await post('cors', {origins: ['(']})).body.message, /config\.origins\.1: '\(' is not a valid regex/)
    assert.match((await post('cors', {methods: ['FETCH']})).body.message, /config\.methods\.1: expected one of/)
    assert.match((await post('ip-restriction', {})).body.message, /at least one of these fields must be non-empty: 'config.allow', 'config.deny'/)
    assert.match((await post('ip-restriction', {deny: ['10.0.0.0/33']})).body.message, /config\.deny\.1: invalid ip or cidr range: '10.0.0.0\/33'/)
    // Kong's messages: a header entry without a colon fails the list's match, a body or query entry check_for_value
    assert.match((await post('request-transformer', {add: {headers: ['novalue']}})).body.message, /config\.add\.headers\.1: invalid value: novalue/)
    assert.match((await post('request-transformer', {add: {body: ['novalue']}})).body.message, /config\.add\.body\.1: key 'novalue' has no value/)
    assert.match((await post('request-transformer', {http_method: 'get'})).body.message, /config\.http_method: invalid value: get/)
    assert.match((await post('response-transformer', {add: {json_types: ['date']}})).body.message, /config\.add\.json_types\.1: expected one of/)
  })

  // [plugin, config sent, config stored]: Kong 3.9's defaults fill what was not sent.
  const DEFAULTS: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['basic-auth', {}, {anonymous: null, hide_credentials: false, realm: 'service'}],
    ['basic-auth', {hide_credentials: true, realm: 'api'}, {anonymous: null, hide_credentials: true, realm: 'api'}],
    ['request-termination', {}, {status_code: 503, message: null, content_type: null, body: null, echo: false, trigger: null}],
    ['request-termination', {status_code: 403, content_type: 'text/plain', body: 'go away', trigger: 'x-stop'}, {status_code: 403, message: null, content_type: 'text/plain', body: 'go away', echo: false, trigger: 'x-stop'}],
    ['prometheus', {}, {per_consumer: false, status_code_metrics: false, ai_metrics: false, latency_metrics: false, bandwidth_metrics: false, upstream_health_metrics: false}],
    ['prometheus', {per_consumer: true, latency_metrics: true}, {per_consumer: true, status_code_metrics: false, ai_metrics: false, latency_metrics: true, bandwidth_metrics: false, upstream_health_metrics: false}],
    ['acl', {allow: ['admins']}, {allow: ['admins'], deny: null, hide_groups_header: false, always_use_authenticated_groups: false, include_consumer_groups: false}],
    ['acl', {deny: ['banned'], hide_groups_header: true}, {allow: null, deny: ['banned'], hide_groups_header: true, always_use_authenticated_groups: false, include_consumer_groups: false}],
    ['correlation-id', {}, {header_name: 'Kong-Request-ID', generator: 'uuid#counter', echo_downstream: false}],
    ['correlation-id', {header_name: 'X-Trace', generator: 'tracker'}, {header_name: 'X-Trace', generator: 'tracker', echo_downstream: false}],
  ]
  for (const [name, sent, stored] of DEFAULTS) {
    test(`${name} ${JSON.stringify(sent)}: created with Kong's defaults filled`, async () => {
      const r = await bed.api.call('POST', '/plugins', {name, config: sent})
      assert.equal(r.status, 201, JSON.stringify(r.body))
      assert.deepEqual(r.body.config, stored)
      assert.deepEqual((await bed.api.call('GET', `/plugins/${r.body.id}`)).body.config, stored, 'stored as answered')
      assert.equal((await bed.api.call('DELETE', `/plugins/${r.body.id}`)).status, 204)
    })
  }

  // [plugin, config, the field under fields.config ('' for config itself), its message]
  const INVALID: Array<[string, Record<string, unknown>, string, string]> = [
    ['basic-auth', {hide_credentials: 'yes'}, 'hide_credentials', 'expected a boolean'],
    ['basic-auth', {realm: 5}, 'realm', 'expected a string'],
    ['basic-auth', {nope: 1}, 'nope', 'unknown field'],
    ['request-termination', {status_code: 99}, 'status_code', 'value should be between 100 and 599'],
    ['request-termination', {status_code: 'teapot'}, 'status_code', 'expected an integer'],
    ['request-termination', {trigger: 'bad name'}, 'trigger', "bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"],
    // Kong's custom_validator on the config record: the error is config's own.
    ['request-termination', {message: 'm', body: 'b'}, '', 'message cannot be used with content_type or body'],
    ['request-termination', {content_type: 'text/plain'}, '', 'content_type requires a body'],
    ['request-termination', {echo: true, body: 'b'}, '', 'echo cannot be used with content_type and body'],
    ['rate-limiting', {minute: 10, hour: 5}, '', 'The limit for hour(5.0) cannot be lower than the limit for minute(10.0)'],
    ['prometheus', {per_consumer: 'true'}, 'per_consumer', 'expected a boolean'],
    ['prometheus', {status_code_metrics: 1}, 'status_code_metrics', 'expected a boolean'],
    ['prometheus', {nope: true}, 'nope', 'unknown field'],
  ]
  for (const [name, config, field, message] of INVALID) {
    test(`${name} ${JSON.stringify(config)}: 400 schema violation at config${field ? `.${field}` : ''}`, async () => {
      for (const path of ['/plugins', '/schemas/plugins/validate']) {
        const r = await bed.api.call('POST', path, {name, config})
        assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`)
        assert.equal(r.body.code, 2)
        assert.equal(r.body.name, 'schema violation')
        assert.equal(field ? r.body.fields.config[field] : r.body.fields.config, message)
        assert.equal(r.body.message, `schema violation (config${field ? `.${field}` : ''}: ${message})`)
      }
    })
  }

  /** Every plugin entry in a folder's files, nested or not, validated by the Admin API. */
  async function validatePluginsIn(dir: string): Promise<number> {
    let seen = 0
    const collect = (node: any, out: any[]) => {
      if (Array.isArray(node)) node.forEach((n) => collect(n, out))
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === 'plugins' && Array.isArray(v)) out.push(...v)
          collect(v, out)
        }
      }
      return out
    }
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      for (const p of collect(parse(readFileSync(join(dir, f), 'utf8')), [])) {
        seen++
        const res = await bed.api.call('POST', '/schemas/plugins/validate', {name: p.name, config: p.config ?? {}})
        assert.equal(res.status, 200, `${f} ${p.name}: ${JSON.stringify(res.body)}`)
      }
    }
    return seen
  }

  test('conformance files: every plugin config there is valid, with defaults filled', {skip: skipWithoutConformance('declarative')}, async () => {
    assert.ok((await validatePluginsIn(conformanceDir('declarative')!)) > 5)
  })

  test('fixture files: every plugin config there is valid, with defaults filled', async () => {
    assert.ok((await validatePluginsIn(fixturesDir('declarative'))) > 15)
  })
})
