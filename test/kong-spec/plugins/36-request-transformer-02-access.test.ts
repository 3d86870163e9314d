/**
 * Kong's spec/03-plugins/36-request-transformer/02-access_spec.lua (3.9), every describe,
 * with the same describe/it titles and assertions, against a real node (Admin API over
 * Postgres, its proxy, Kong's mock upstream), strategy `postgres`. `assert.request(r)`
 * reads what the upstream received (echoed by the mock upstream). Kong's `pre-function`
 * plugin is not bundled (route 21 has only the transformer; the thread-safety case holds
 * one request's body back from the client instead of slowing its read down). kctl runs
 * no Lua: the `untrusted_lua` describes run where kctl's template subset gives Kong's
 * outcome and are skipped, with the reason, where it does not.
 */
import assert from 'node:assert/strict'
import {request as httpRequest} from 'node:http'
import {after, before, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

/** What the mock upstream echoed: Kong's `assert.request(r)` helpers. */
function request(text: string) {
  const json = JSON.parse(text)
  const params = json.post_data?.params ?? {}
  return {
    json,
    header: (name: string) => {
      const v = json.headers[name.toLowerCase()]
      assert.notEqual(v, undefined, `expected the upstream to get header ${name}`)
      return v
    },
    /** A header sent several times: Node's server joins the lines with `, ` (Kong's list). */
    headerList: (name: string) => String(json.headers[name.toLowerCase()] ?? '').split(', '),
    noHeader: (name: string) => assert.equal(json.headers[name.toLowerCase()], undefined, `header ${name} should not reach the upstream`),
    formparam: (name: string) => {
      assert.ok(['form', 'multipart-form'].includes(json.post_data.kind), `expected a form body, got ${json.post_data.kind}`)
      assert.notEqual(params[name], undefined, `expected form param ${name}`)
      return params[name]
    },
    noFormparam: (name: string) => assert.equal(params[name], undefined, `form param ${name} should not reach the upstream`),
    queryparam: (name: string) => {
      assert.notEqual(json.uri_args[name], undefined, `expected query param ${name}`)
      return json.uri_args[name]
    },
    noQueryparam: (name: string) => assert.equal(json.uri_args[name], undefined, `query param ${name} should not reach the upstream`),
    jsonbody: () => {
      assert.equal(json.post_data.kind, 'json', `expected a JSON body, got ${json.post_data.kind}`)
      return {params, data: json.post_data.text}
    },
  }
}

// Kong starts a node for each top-level describe; here they share one node (each describe
// adds its own routes), closed when the file is done
let started: Promise<PluginSpecNode> | undefined
const specNode = () => (started ??= startPluginSpecNode())
after(async () => {
  await (await started)?.close()
})

describe(`Plugin: request-transformer(access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await specNode()
    const bp = node.bp
    const r: any[] = []
    const capturing = '~/requests/user1/(?P<user1>\\w+)/user2/(?P<user2>\\S+)'
    const named = '~/requests/user1/(?<user1>\\w+)/user2/(?<user2>\\S+)'
    const routes: Record<number, Record<string, unknown>> = {
      2: {preserve_host: true},
      10: {paths: [capturing], strip_path: false},
      11: {paths: [capturing]},
      12: {paths: ['/requests/'], strip_path: false},
      13: {paths: [capturing]},
      14: {paths: ['~/user1/(?P<user1>\\w+)/user2/(?P<user2>\\S+)']},
      15: {paths: [named], strip_path: false},
      16: {paths: [named], strip_path: false},
      17: {paths: [named], strip_path: false},
      18: {paths: [named], strip_path: false},
      19: {paths: [named], strip_path: false},
      23: {paths: ['/request']},
      29: {paths: ['~/(gw/)?api/(?<subpath>htest)$'], strip_path: false},
    }
    for (let i = 1; i <= 29; i++) r[i] = await bp.routes.insert({hosts: [`test${i}.test`], ...routes[i]})
    const configs: Record<number, Record<string, unknown>> = {
      1: {add: {headers: ['h1:v1', 'h2:value:2'], querystring: ['q1:v1'], body: ['p1:v1']}},
      2: {add: {headers: ['host:mark']}},
      3: {
        add: {headers: ['x-added:a1', 'x-added2:b1', 'x-added3:c2'], querystring: ['query-added:newvalue', 'p1:anything:1'], body: ['newformparam:newvalue']},
        remove: {headers: ['x-to-remove'], querystring: ['toremovequery']},
        append: {headers: ['x-added:a2', 'x-added:a3'], querystring: ['p1:a2', 'p2:b1']},
        replace: {headers: ['x-to-replace:false'], querystring: ['toreplacequery:no']},
      },
      4: {remove: {headers: ['x-to-remove'], querystring: ['q1'], body: ['toremoveform']}},
      5: {replace: {headers: ['h1:v1'], querystring: ['q1:v1'], body: ['p1:v1']}},
      6: {append: {headers: ['h1:v1', 'h1:v2', 'h2:v1'], querystring: ['q1:v1', 'q1:v2', 'q2:v1'], body: ['p1:v1', 'p1:v2', 'p2:value:1']}},
      7: {http_method: 'POST'},
      8: {http_method: 'GET'},
      9: {rename: {headers: ['x-to-rename:x-is-renamed'], querystring: ['originalparam:renamedparam'], body: ['originalparam:renamedparam']}},
      10: {add: {querystring: ['uri_param1:$(uri_captures.user1)', 'uri_param2[some_index][1]:$(uri_captures.user2)']}},
      11: {replace: {uri: '/requests/user2/$(uri_captures.user2)/user1/$(uri_captures.user1)'}},
      12: {add: {querystring: ["uri_param1:$(uri_captures.user1 or 'default1')", "uri_param2:$(uri_captures.user2 or 'default2')"]}},
      13: {replace: {uri: '/requests/user2/$(10 * uri_captures.user1)'}},
      14: {replace: {uri: '/requests$(uri_captures[0])'}},
      15: {add: {querystring: ['uri_param1:$(uri_captures.user1)', 'uri_param2:$(headers.host)'], headers: ['x-test-header:$(query_params.q1)']}, remove: {querystring: ['q1']}},
      16: {replace: {querystring: ["q2:$(headers['x-remove-header'])"]}, add: {querystring: ['q1:$(uri_captures.user1)'], headers: ["x-test-header:$(headers['x-remove-header'])"]}, remove: {headers: ['x-remove-header']}},
      17: {replace: {querystring: ["q2:$(headers['x-replace-header'])"], headers: ['x-replace-header:the new value']}, add: {querystring: ['q1:$(uri_captures.user1)'], headers: ["x-test-header:$(headers['x-replace-header'])"]}},
      18: {add: {querystring: ["q1:$('$(uri_captures.user1)')"]}},
      19: {add: {querystring: ['q1:$(ERROR())']}}, // will trigger a runtime error
      20: {http_method: 'POST', add: {headers: ['Content-Type:application/json'], body: ['body:somecontent']}},
      // Kong's route 21 also has a pre-function setting kong.ctx.shared.my_version (not bundled)
      21: {add: {querystring: ['shared_param1:$(shared.my_version)']}},
      22: {http_method: 'POST', remove: {headers: ['Authorization']}, add: {headers: ['Authorization:Basic test']}},
      23: {},
      24: {add: {headers: ['x-user-agent:$(foo(headers["User-Agent"]) == "table" and headers["User-Agent"][1] or headers["User-Agent"])']}},
      25: {add: {headers: ['X-Foo-Transformed:$(type(headers["X-Foo"]) == "table" and headers["X-Foo"][1] .. "-first" or headers["X-Foo"])']}},
      26: {add: {headers: ['X-aDDed:a1', 'x-aDDed2:b1', 'x-Added3:c2']}, remove: {headers: ['X-To-Remove']}, append: {headers: ['X-aDDed:a2', 'X-aDDed:a3']}, replace: {headers: ['x-to-Replace:false']}},
      27: {replace: {uri: '/requests/tést'}},
      // an invalid template (an assignment): fails when rendered
      28: {add: {headers: ['X-Write-Attempt:$(shared.written = true)']}},
      29: {replace: {uri: '/api/v2/$(uri_captures["subpath"])'}},
    }
    for (let i = 1; i <= 29; i++) await bp.plugins.insert({route: {id: r[i].id}, name: 'request-transformer', config: configs[i]})
    const rename = await bp.routes.insert({hosts: ['rename.mock']})
    await bp.plugins.insert({route: {id: rename.id}, name: 'request-transformer', config: {rename: {headers: ['rename:Rename', 'identical:identical'], querystring: ['inexist:exist']}}})
  })

  const send = (method: string, path: string, headers: Record<string, string>, body?: unknown, query?: Record<string, string>) =>
    node.proxy.send(method, path, {headers, query, ...(typeof body === 'string' ? {raw: body} : body === undefined ? {} : {body})})
  const FORM = 'application/x-www-form-urlencoded'
  /** Kong's `helpers.mock_upstream_url`. */
  const mockUpstreamUrl = () => `http://127.0.0.1:${node.upstream.port}`

  describe('http method', () => {
    it('changes the HTTP method from GET to POST', async () => {
      const res = await send('GET', '/request?hello=world&name=marco', {host: 'test7.test'})
      const json = JSON.parse(resStatus(200, res))
      assert.equal(json.vars.request_method, 'POST')
      assert.equal(json.uri_args.hello, 'world')
      assert.equal(json.uri_args.name, 'marco')
    })
    it('changes the HTTP method from POST to GET', async () => {
      const res = await send('POST', '/request?hello=world', {'Content-Type': FORM, host: 'test8.test'}, {name: 'marco'})
      const json = JSON.parse(resStatus(200, res))
      assert.equal(json.vars.request_method, 'GET')
      assert.equal(json.uri_args.hello, 'world')
      assert.equal(json.uri_args.name, 'marco')
    })
    it('changes the HTTP method from GET to POST and adds JSON body', async () => {
      const res = await send('GET', '/request', {host: 'test20.test'})
      const req = request(resStatus(200, res))
      req.jsonbody()
      assert.equal(req.json.vars.request_method, 'POST')
      assert.equal(req.json.post_data.error, undefined)
      assert.equal(req.header('Content-Type'), 'application/json')
    })
  })

  describe('remove', () => {
    it('specified header', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test4.test', 'x-to-remove': 'true', 'x-another-header': 'true'})))
      req.noHeader('x-to-remove')
      req.header('x-another-header')
    })
    it('parameters on url encoded form POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test4.test'}, {toremoveform: 'yes', nottoremove: 'yes'})))
      req.noFormparam('toremoveform')
      assert.equal(req.formparam('nottoremove'), 'yes')
    })
    it('parameters from JSON body in POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test4.test', 'content-type': 'application/json'}, {toremoveform: 'yes', nottoremove: 'yes'})))
      const json = req.jsonbody()
      assert.equal(json.params.toremoveform, undefined)
      assert.equal(json.params.nottoremove, 'yes')
    })
    it('does not fail if JSON body is malformed in POST', async () => {
      const json = JSON.parse(resStatus(200, await send('POST', '/request', {host: 'test4.test', 'content-type': 'application/json'}, 'malformed json body')))
      assert.equal(json.post_data.kind, 'json (error)')
      assert.notEqual(json.post_data.error, undefined)
    })
    it('does not fail if body is empty and content type is application/json in POST', async () => {
      const json = JSON.parse(resStatus(200, await send('POST', '/request', {host: 'test4.test', 'content-type': 'application/json'}, {})))
      assert.equal(json.post_data.text, '{}')
      assert.equal(json.headers['content-length'], '2')
    })
    it('does not fail if body is empty in POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test4.test'}, '')))
      // Kong's mock answers params = null for a body of no known type; ours leaves them out
      assert.equal(req.json.post_data.params ?? null, null)
      assert.equal(req.json.post_data.text, '')
      assert.equal(req.header('content-length'), '0')
    })
    it('parameters on multipart POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'multipart/form-data', host: 'test4.test'}, {toremoveform: 'yes', nottoremove: 'yes'})))
      req.noFormparam('toremoveform')
      assert.equal(req.formparam('nottoremove'), 'yes')
    })
    it('args on GET if it exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {'Content-Type': FORM, host: 'test4.test'}, {hello: 'world'}, {q1: 'v1', q2: 'v2'})))
      req.noQueryparam('q1')
      assert.equal(req.queryparam('q2'), 'v2')
    })
    it('preserves empty json array', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test4.test', 'content-type': 'application/json'}, '{"emptyarray":[]}')))
      assert.equal(req.jsonbody().data, '{"emptyarray":[]}')
    })
  })

  describe('rename', () => {
    it('specified header', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test9.test', 'x-to-rename': 'true', 'x-another-header': 'true'})))
      req.noHeader('x-to-rename')
      req.header('x-is-renamed')
      req.header('x-another-header')
    })
    it('does not add as new header if header does not exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test9.test', 'x-a-header': 'true'}, {})))
      req.noHeader('renamedparam')
      assert.equal(req.header('x-a-header'), 'true')
    })
    it('override value if target header already exist: #%s', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test9.test', 'x-to-rename': 'new-result', 'x-is-renamed': 'old-result'})))
      req.noHeader('x-to-rename')
      assert.equal(req.header('x-is-renamed'), 'new-result')
    })
    for (const seq of [1, 2, 3, 4, 5, 6]) {
      it(`override value if target header already exist with different format: #${seq}`, async () => {
        const req = request(resStatus(200, await send('GET', '/request', {host: 'test9.test', 'x-to-rename': 'new-result', 'X-Is-Renamed': 'old-result'})))
        req.noHeader('x-to-rename')
        assert.equal(req.header('x-is-renamed'), 'new-result')
      })
    }
    it('specified parameters in url encoded body on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test9.test'}, {originalparam: 'yes'})))
      req.noFormparam('originalparam')
      assert.equal(req.formparam('renamedparam'), 'yes')
    })
    it('does not add as new parameter in url encoded body if parameter does not exist on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test9.test'}, {'x-a-header': 'true'})))
      req.noFormparam('renamedparam')
      assert.equal(req.formparam('x-a-header'), 'true')
    })
    it('parameters from JSON body in POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test9.test', 'content-type': 'application/json'}, {originalparam: 'yes', nottorename: 'yes'})))
      const json = req.jsonbody()
      assert.equal(json.params.originalparam, undefined)
      assert.notEqual(json.params.renamedparam, undefined)
      assert.equal(json.params.renamedparam, 'yes')
      assert.equal(json.params.nottorename, 'yes')
    })
    it('does not fail if JSON body is malformed in POST', async () => {
      const json = JSON.parse(resStatus(200, await send('POST', '/request', {host: 'test9.test', 'content-type': 'application/json'}, 'malformed json body')))
      assert.equal(json.post_data.kind, 'json (error)')
      assert.notEqual(json.post_data.error, undefined)
    })
    it('parameters on multipart POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'multipart/form-data', host: 'test9.test'}, {originalparam: 'yes', nottorename: 'yes'})))
      req.noFormparam('originalparam')
      assert.equal(req.formparam('renamedparam'), 'yes')
      assert.equal(req.formparam('nottorename'), 'yes')
    })
    it('args on GET if it exists', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {'Content-Type': FORM, host: 'test9.test'}, undefined, {originalparam: 'true', nottorename: 'true'})))
      req.noQueryparam('originalparam')
      assert.equal(req.queryparam('renamedparam'), 'true')
      assert.equal(req.queryparam('nottorename'), 'true')
    })
    it('preserves empty json array', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test9.test', 'content-type': 'application/json'}, '{"emptyarray":[]}')))
      assert.equal(req.jsonbody().data, '{"emptyarray":[]}')
    })
    it('rename correctly when only changing capitalization', {skip: "Kong checks the header's case with a case-preserving mock server; Node's HTTP stack gives the upstream's header names in lower case"}, () => {})
    it('does not override existing value with nil', async () => {
      const json = JSON.parse(resStatus(200, await send('GET', '/request?exist=true', {host: 'rename.mock'})))
      assert.equal(json.vars.request_uri, '/request?exist=true')
    })
    it('does not remove when renaming to the identical name', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'rename.mock', identical: 'true'})))
      assert.equal(req.header('identical'), 'true')
    })
  })

  describe('replace', () => {
    it('specified header if it exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test5.test', h1: 'V', h2: 'v2'}, {})))
      assert.equal(req.header('h1'), 'v1')
      assert.equal(req.header('h2'), 'v2')
    })
    it('does not add as new header if header does not exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test5.test', h2: 'v2'}, {})))
      req.noHeader('h1')
      assert.equal(req.header('h2'), 'v2')
    })
    it('specified parameters in url encoded body on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test5.test'}, {p1: 'v', p2: 'v1'})))
      assert.equal(req.formparam('p1'), 'v1')
      assert.equal(req.formparam('p2'), 'v1')
    })
    it('does not add as new parameter in url encoded body if parameter does not exist on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test5.test'}, {p2: 'v1'})))
      req.noFormparam('p1')
      assert.equal(req.formparam('p2'), 'v1')
    })
    it('specified parameters in json body on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test5.test', 'content-type': 'application/json'}, {p1: 'v', p2: 'v1'})))
      const json = req.jsonbody()
      assert.equal(json.params.p1, 'v1')
      assert.equal(json.params.p2, 'v1')
    })
    it('does not fail if JSON body is malformed in POST', async () => {
      const json = JSON.parse(resStatus(200, await send('POST', '/request', {host: 'test5.test', 'content-type': 'application/json'}, 'malformed json body')))
      assert.equal(json.post_data.kind, 'json (error)')
      assert.notEqual(json.post_data.error, undefined)
    })
    it('does not add as new parameter in json if parameter does not exist on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test5.test', 'content-type': 'application/json'}, {p2: 'v1'})))
      const json = req.jsonbody()
      assert.equal(json.params.p1, undefined)
      assert.equal(json.params.p2, 'v1')
    })
    it('specified parameters on multipart POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'multipart/form-data', host: 'test5.test'}, {p1: 'v', p2: 'v1'})))
      assert.equal(req.formparam('p1'), 'v1')
      assert.equal(req.formparam('p2'), 'v1')
    })
    it('does not add as new parameter if parameter does not exist on multipart POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'multipart/form-data', host: 'test5.test'}, {p2: 'v1'})))
      req.noFormparam('p1')
      assert.equal(req.formparam('p2'), 'v1')
    })
    it('args on POST if it exist', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test5.test'}, {hello: 'world'}, {q1: 'v', q2: 'v2'})))
      assert.equal(req.queryparam('q1'), 'v1')
      assert.equal(req.queryparam('q2'), 'v2')
    })
    it('does not add new args on POST if it does not exist', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test5.test'}, {hello: 'world'}, {q2: 'v2'})))
      req.noQueryparam('q1')
      assert.equal(req.queryparam('q2'), 'v2')
    })
    it('preserves empty json array', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test5.test', 'content-type': 'application/json'}, '{"emptyarray":[], "p1":"v"}')))
      assert.ok(req.jsonbody().data.includes('"emptyarray":[]'))
    })
    // Kong's mock upstream answers the unknown path /api/v2/htest with 404 (still echoing
    // the request); ours echoes every path with 200: the rewritten URI is what is checked
    it('replaces request uri with optional capture prefix', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', '/api/htest', {host: 'test29.test'})))
      assert.equal(body.vars.request_uri, '/api/v2/htest')
    })
    it('replaces request uri with the capature prefix', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', '/gw/api/htest', {host: 'test29.test'})))
      assert.equal(body.vars.request_uri, '/api/v2/htest')
    })
    it('escape UTF-8 characters when replacing upstream path - enable after Kong 2.4', {skip: 'pending in Kong too'}, () => {})
  })

  describe('add', () => {
    it('new headers', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test1.test'})))
      assert.equal(req.header('h1'), 'v1')
      assert.equal(req.header('h2'), 'value:2')
    })
    it('does not change or append value if header already exists', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {h1: 'v3', host: 'test1.test'})))
      assert.equal(req.header('h1'), 'v3')
      assert.equal(req.header('h2'), 'value:2')
    })
    it('new parameter in url encoded body on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test1.test'}, {hello: 'world'})))
      assert.equal(req.formparam('hello'), 'world')
      assert.equal(req.formparam('p1'), 'v1')
    })
    it('does not change or append value to parameter in url encoded body on POST when parameter exists', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test1.test'}, {p1: 'should not change', hello: 'world'})))
      assert.equal(req.formparam('p1'), 'should not change')
      assert.equal(req.formparam('hello'), 'world')
    })
    it('new parameter in JSON body on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'application/json', host: 'test1.test'}, {hello: 'world'})))
      const params = req.jsonbody().params
      assert.equal(params.hello, 'world')
      assert.equal(params.p1, 'v1')
    })
    it('does not change or append value to parameter in JSON on POST when parameter exists', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'application/json', host: 'test1.test'}, {p1: 'this should not change', hello: 'world'})))
      const params = req.jsonbody().params
      assert.equal(params.hello, 'world')
      assert.equal(params.p1, 'this should not change')
    })
    it('does not fail if JSON body is malformed in POST', async () => {
      const json = JSON.parse(resStatus(200, await send('POST', '/request', {host: 'test1.test', 'content-type': 'application/json'}, 'malformed json body')))
      assert.equal(json.post_data.kind, 'json (error)')
      assert.notEqual(json.post_data.error, undefined)
    })
    it('new parameter on multipart POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'multipart/form-data', host: 'test1.test'}, {})))
      assert.equal(req.formparam('p1'), 'v1')
    })
    it('does not change or append value to parameter on multipart POST when parameter exists', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'multipart/form-data', host: 'test1.test'}, {p1: 'this should not change', hello: 'world'})))
      assert.equal(req.formparam('p1'), 'this should not change')
      assert.equal(req.formparam('hello'), 'world')
    })
    it('new querystring on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {'Content-Type': FORM, host: 'test1.test'}, undefined, {q2: 'v2'})))
      assert.equal(req.queryparam('q2'), 'v2')
      assert.equal(req.queryparam('q1'), 'v1')
    })
    it('does not change or append value to querystring on GET if querystring exists', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {'Content-Type': FORM, host: 'test1.test'}, undefined, {q1: 'v2'})))
      assert.equal(req.queryparam('q1'), 'v2')
    })
    it('should not change the host header', async () => {
      const json = JSON.parse(resStatus(200, await send('GET', '/get', {'Content-Type': 'application/json', host: 'test2.test'})))
      assert.equal(json.headers.host, 'test2.test')
    })
    it('preserves empty json array', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test1.test', 'content-type': 'application/json'}, '{"emptyarray":[]}')))
      assert.ok(req.jsonbody().data.includes('"emptyarray":[]'))
    })
  })

  describe('append ', () => {
    it('new header if header does not exists', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test6.test'})))
      assert.equal(req.header('h2'), 'v1')
    })
    it('values to existing headers', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test6.test'})))
      assert.deepEqual(req.headerList('h1'), ['v1', 'v2'])
    })
    it("can append a value with '#' (regression test for #29)", async () => {
      const route = await node.bp.routes.insert({hosts: ['test_append_hash.test']})
      await node.bp.plugins.insert({
        route: {id: route.id},
        name: 'request-transformer',
        config: {append: {headers: ['h1:v1', 'h1:v2', 'h1:#value_with_hash', 'h2:v1'], querystring: ['q1:v1', 'q1:v2', 'q2:v1'], body: ['p1:v1', 'p1:v2', 'p2:value:1']}},
      })
      // Kong's helpers.wait_until: the node serves the new route once it has rebuilt
      let res = await send('GET', '/request', {host: 'test_append_hash.test'})
      for (let i = 0; i < 100 && !res.text.includes('h1'); i++) {
        await new Promise((r) => setTimeout(r, 100))
        res = await send('GET', '/request', {host: 'test_append_hash.test'})
      }
      const req = request(resStatus(200, res))
      assert.deepEqual(req.headerList('h1'), ['v1', 'v2', '#value_with_hash'])
    })
    it('new querystring if querystring does not exists', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test6.test'}, {hello: 'world'})))
      assert.equal(req.queryparam('q2'), 'v1')
    })
    it('values to existing querystring', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test6.test'})))
      assert.deepEqual(req.queryparam('q1'), ['v1', 'v2'])
    })
    it('new parameter in url encoded body on POST if it does not exist', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test6.test'})))
      assert.deepEqual(req.formparam('p1'), ['v1', 'v2'])
      assert.deepEqual(req.formparam('p2'), 'value:1')
    })
    it('values to existing parameter in url encoded body if parameter already exist on POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': FORM, host: 'test6.test'}, {p1: 'v0'})))
      assert.deepEqual(req.formparam('p1'), ['v0', 'v1', 'v2'])
      assert.deepEqual(req.formparam('p2'), 'value:1')
    })
    it('does not fail if JSON body is malformed in POST', async () => {
      const json = JSON.parse(resStatus(200, await send('POST', '/request', {host: 'test6.test', 'content-type': 'application/json'}, 'malformed json body')))
      assert.equal(json.post_data.kind, 'json (error)')
      assert.notEqual(json.post_data.error, undefined)
    })
    it('does not change or append value to parameter on multipart POST', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {'Content-Type': 'multipart/form-data', host: 'test6.test'}, {p1: 'This should not change'})))
      assert.equal(req.formparam('p1'), 'This should not change')
    })
    it('preserves empty json array', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test6.test', 'content-type': 'application/json'}, '{"emptyarray":[]}')))
      assert.ok(req.jsonbody().data.includes('"emptyarray":[]'))
    })
  })

  describe('remove, replace, add and append ', () => {
    it('removes a header', async () => {
      request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'x-to-remove': 'true'}))).noHeader('x-to-remove')
    })
    it('replaces value of header, if header exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'x-to-replace': 'true'})))
      assert.equal(req.header('x-to-replace'), 'false')
    })
    it('does not add new header if to be replaced header does not exist', async () => {
      request(resStatus(200, await send('GET', '/request', {host: 'test3.test'}))).noHeader('x-to-replace')
    })
    it('add new header if missing', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test'})))
      assert.equal(req.header('x-added2'), 'b1')
    })
    it('does not add new header if it already exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'x-added3': 'c1'})))
      assert.equal(req.header('x-added3'), 'c1')
    })
    it('appends values to existing headers', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test'})))
      assert.deepEqual(req.headerList('x-added'), ['a1', 'a2', 'a3'])
    })
    it('adds new parameters on POST when query string key missing', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'})))
      assert.equal(req.queryparam('p2'), 'b1')
    })
    it('removes parameters on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'}, {toremovequery: 'yes', nottoremove: 'yes'})))
      req.noQueryparam('toremovequery')
      assert.equal(req.queryparam('nottoremove'), 'yes')
    })
    it('replaces parameters on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'}, {toreplacequery: 'yes'})))
      assert.equal(req.queryparam('toreplacequery'), 'no')
    })
    it('does not add new parameter if to be replaced parameters does not exist on GET', async () => {
      request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}))).noFormparam('toreplacequery')
    })
    it('adds parameters on GET if it does not exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM})))
      assert.equal(req.queryparam('query-added'), 'newvalue')
    })
    it('does not add new parameter if to be added parameters already exist on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, undefined, {'query-added': 'oldvalue'})))
      assert.equal(req.queryparam('query-added'), 'oldvalue')
    })
    it('appends parameters on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'}, {q1: '20'})))
      const value = req.queryparam('p1')
      assert.equal(value[0], 'anything:1')
      assert.equal(value[1], 'a2')
      assert.equal(req.queryparam('q1'), '20')
    })

    it('removes a header -- ignore case', async () => {
      request(resStatus(200, await send('GET', '/request', {host: 'test26.test', 'x-to-remove': 'true'}))).noHeader('X-To-Remove')
    })
    it("replaces value of header, if header exist -- don't change header case", async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test26.test', 'x-to-replace': 'true'})))
      assert.equal(req.header('x-to-Replace'), 'false')
    })
    it('add new header if missing -- keep configured case', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test26.test'})))
      assert.equal(req.header('x-aDDed2'), 'b1')
    })
    it('does not add new header if it already exist -- keep request case', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test26.test', 'x-added3': 'c1'})))
      assert.equal(req.header('x-added3'), 'c1')
    })
    it('appends values to existing headers -- keep config case', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test26.test', 'X-addeD': 'a0'})))
      assert.deepEqual(req.headerList('X-aDDed'), ['a0', 'a2', 'a3'])
    })
    it("appends values to added headers -- keep 'add' config case", async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test26.test'})))
      assert.deepEqual(req.headerList('X-Added'), ['a1', 'a2', 'a3'])
    })
    it('adds new parameters on POST when query string key missing', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'})))
      assert.equal(req.queryparam('p2'), 'b1')
    })
    it('removes parameters on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'}, {toremovequery: 'yes', nottoremove: 'yes'})))
      req.noQueryparam('toremovequery')
      assert.equal(req.queryparam('nottoremove'), 'yes')
    })
    it('replaces parameters on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'}, {toreplacequery: 'yes'})))
      assert.equal(req.queryparam('toreplacequery'), 'no')
    })
    it('does not add new parameter if to be replaced parameters does not exist on GET', async () => {
      request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}))).noFormparam('toreplacequery')
    })
    it('adds parameters on GET if it does not exist', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM})))
      assert.equal(req.queryparam('query-added'), 'newvalue')
    })
    it('does not add new parameter if to be added parameters already exist on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, undefined, {'query-added': 'oldvalue'})))
      assert.equal(req.queryparam('query-added'), 'oldvalue')
    })
    it('appends parameters on GET', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test3.test', 'Content-Type': FORM}, {hello: 'world'}, {q1: '20'})))
      const value = req.queryparam('p1')
      assert.equal(value[0], 'anything:1')
      assert.equal(value[1], 'a2')
      assert.equal(req.queryparam('q1'), '20')
    })
    it('preserves empty json array', async () => {
      const req = request(resStatus(200, await send('POST', '/request', {host: 'test3.test', 'content-type': 'application/json'}, '{"emptyarray":[]}')))
      assert.ok(req.jsonbody().data.includes('"emptyarray":[]'))
    })
  })

  describe('request rewrite using template', () => {
    it('template as querystring parameters on GET', async () => {
      const body = resStatus(200, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test10.test', 'Content-Type': FORM}, {hello: 'world'}, {q1: '20'}))
      const req = request(body)
      assert.equal(req.queryparam('uri_param1'), 'foo')
      assert.equal(req.json.vars.request_uri, '/requests/user1/foo/user2/bar?q1=20&uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar')
    })
    it('should update request path using hash', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test11.test'})))
      assert.equal(body.url, `${mockUpstreamUrl()}/requests/user2/bar/user1/foo`)
    })
    it('should not add querystring if hash missing', async () => {
      const req = request(resStatus(200, await send('GET', '/requests/', {host: 'test12.test'}, undefined, {q1: '20'})))
      req.queryparam('q1')
      assert.equal(req.queryparam('uri_param1'), 'default1')
      assert.equal(req.queryparam('uri_param2'), 'default2')
    })
    it('should fail when uri template is not a proper expression', async () => {
      resStatus(500, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test13.test'}))
    })
    it('should not fail when uri template rendered using index', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', '/user1/foo/user2/bar', {host: 'test14.test'})))
      assert.equal(body.url, `${mockUpstreamUrl()}/requests/user1/foo/user2/bar`)
    })
    it('validate using headers/req_querystring for rendering templates', async () => {
      const req = request(resStatus(200, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test15.test', 'Content-Type': FORM}, undefined, {q1: '20'})))
      req.noQueryparam('q1')
      assert.equal(req.queryparam('uri_param1'), 'foo')
      assert.equal(req.queryparam('uri_param2'), 'test15.test')
      assert.equal(req.header('x-test-header'), '20')
    })
    it('validate that removed header can be used as template', async () => {
      const req = request(resStatus(200, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test16.test', 'x-remove-header': 'its a test', 'Content-Type': FORM}, undefined, {q2: '20'})))
      req.noHeader('x-remove-header')
      assert.equal(req.queryparam('q1'), 'foo')
      assert.equal(req.queryparam('q2'), 'its a test')
      assert.equal(req.header('x-test-header'), 'its a test')
    })
    it('validate template will be rendered with old value of replaced header', async () => {
      const req = request(resStatus(200, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test17.test', 'x-replace-header': 'the old value', 'Content-Type': FORM}, undefined, {q2: '20'})))
      assert.equal(req.queryparam('q1'), 'foo')
      assert.equal(req.queryparam('q2'), 'the old value')
      assert.equal(req.header('x-test-header'), 'the old value')
      assert.equal(req.header('x-replace-header'), 'the new value')
    })
    it('validate template can be escaped', async () => {
      const req = request(resStatus(200, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test18.test', 'x-replace-header': 'the old value', 'Content-Type': FORM}, undefined, {q2: '20'})))
      assert.equal(req.queryparam('q1'), '$(uri_captures.user1)')
      assert.equal(req.queryparam('q2'), '20')
    })
    it('rendering error (query) should fail when rendering errors out', async () => {
      resStatus(500, await send('GET', '/requests/user1/foo/user2/bar', {host: 'test19.test', 'x-replace-header': 'the old value', 'Content-Type': FORM}, undefined, {q2: '20'}))
    })
    // Kong also finds `attempt to call global 'foo' (a nil value)` in its error.log; this
    // node logs in the test process, so the 500 is what is checked
    it('rendering error (header) is correctly propagated in error.log, issue #25', async () => {
      resStatus(500, await send('GET', '/', {host: 'test24.test'}))
    })
    it('type function is available in template environment', async () => {
      const req = request(resStatus(200, await send('GET', '/request', {host: 'test25.test', 'X-Foo': ['1', '2'] as unknown as string})))
      assert.equal(req.header('X-Foo-Transformed'), '1-first')
    })
    it("can inject a value from 'kong.ctx.shared'", {skip: "Kong's pre-function plugin (which sets kong.ctx.shared.my_version) is not bundled; `$(shared.x)` is covered in test/plugins"}, () => {})
    it('cannot write a value in `kong.ctx.shared`', async () => {
      resStatus(500, await send('GET', '/', {host: 'test28.test'}))
    })
  })

  describe('remove then add header (regression test)', () => {
    it('header already exists in request', async () => {
      const req = request(resStatus(200, await send('GET', '/', {host: 'test22.test', Authorization: 'Basic dGVzdDp0ZXN0', 'Content-Type': 'application/json'})))
      assert.equal(req.header('authorization'), 'Basic test')
    })
    it('header does not exist in request', async () => {
      const req = request(resStatus(200, await send('GET', '/', {host: 'test22.test', 'Content-Type': 'application/json'})))
      assert.equal(req.header('authorization'), 'Basic test')
    })
  })

  describe('query parameters are not #urlencoded to upstream URL', () => {
    const expected = '$&+,/:;?@'
    it('when plugin is not configured', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', `/request?expected=${expected}`, {host: 'test23.test'})))
      assert.equal(body.url, `${mockUpstreamUrl()}/?expected=${expected}`)
    })
  })
})

describe(`Plugin: request-transformer (thread safety) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await specNode()
    const route = await node.bp.routes.insert({hosts: ['test_thread_safety.test']})
    // Kong's pre-function slows the body read of one request down (`slow_body_delay`);
    // here the client holds the rest of that body back until the other request is answered
    await node.bp.plugins.insert({route: {id: route.id}, name: 'request-transformer', config: {add: {querystring: ['added_q:yes_q'], headers: ['added_h:yes_h'], body: ['added_b:yes_b']}}})
  })

  /** A POST whose body is sent in two halves: the second when `release` resolves. */
  function slowPost(h: string, k: string, q: string, release: Promise<void>): Promise<{status: number; text: string}> {
    const body = Buffer.from(JSON.stringify({k}))
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {host: '127.0.0.1', port: node.proxyPort, method: 'POST', path: `/request?q=${q}`, headers: {'content-type': 'application/json', host: 'test_thread_safety.test', h, 'content-length': String(body.length)}},
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8')}))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.write(body.subarray(0, 3))
      release.then(() => req.end(body.subarray(3)), reject)
    })
  }

  it('sends requests with the expected values for headers, body, query', async () => {
    let race = ''
    const check = (res: {status: number; text: string}, h: string, k: string, q: string) => {
      const req = request(resStatus(200, res as never))
      if (req.header('h') !== h) race += `expected: ${h}, received: ${req.header('h')}`
      if (req.jsonbody().params.k !== k) race += `expected: ${k}, received: ${req.jsonbody().params.k}`
      if (req.queryparam('q') !== q) race += `expected: ${q}, received: ${req.queryparam('q')}`
      assert.equal(req.header('added_h'), 'yes_h')
      assert.equal(req.jsonbody().params.added_b, 'yes_b')
      assert.equal(req.queryparam('added_q'), 'yes_q')
    }
    let release!: () => void
    const first = slowPost('vh1', 'b1', 'vq1', new Promise<void>((r) => (release = r)))
    const second = await slowPost('vh2', 'b2', 'vq2', Promise.resolve())
    release()
    check(await first, 'vh1', 'b1', 'vq1')
    check(second, 'vh2', 'b2', 'vq2')
    assert.equal(race, '')
  })
})

// Kong's `untrusted_lua` setting chooses how templates run: not at all (`off`), as any Lua
// (`on`) or in a sandbox. kctl runs no Lua: its templates are always its sandboxed
// Lua-expression subset, with `type`, `tostring` and `string.*` always there and no
// `require`. The cases whose outcome is the same under that rule run; the others are
// skipped with the reason.
describe(`Plugin: request-transformer(access) [#${strategy}] untrusted_lua=off`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await specNode()
    const r1 = await node.bp.routes.insert({hosts: ['testLuaOff.test']})
    const r2 = await node.bp.routes.insert({hosts: ['testLuaOff2.test']})
    await node.bp.plugins.insert({route: {id: r1.id}, name: 'request-transformer', config: {add: {headers: ['x-added:some_value']}}})
    await node.bp.plugins.insert({route: {id: r2.id}, name: 'request-transformer', config: {add: {headers: ["x-added:$(require('inspect')(string.sub(query_params.user, 1, 3)))"]}}})
  })
  it('correctly handles plain text value', async () => {
    const req = request(resStatus(200, await node.proxy.get('/', {headers: {host: 'testLuaOff.test', 'Content-Type': 'application/x-www-form-urlencoded'}})))
    assert.equal(req.header('x-added'), 'some_value')
  })
  // the 500 is Kong's; Kong logs that untrusted Lua is disabled, kctl that `require` is not available
  it('does not render lua expressions', async () => {
    resStatus(500, await node.proxy.get('/', {query: {user: 'foo'}, headers: {host: 'testLuaOff2.test', 'Content-Type': 'application/x-www-form-urlencoded'}}))
  })
})

describe(`Plugin: request-transformer(access) [#${strategy}] untrusted_lua=on`, () => {
  describe('using template', () => {
    it('renders the Lua expression without restrictions', {skip: "kctl runs no Lua: `require('inspect')` is not available to templates (there is no untrusted_lua = on)"}, () => {})
  })
})

describe(`Plugin: request-transformer(access) [#${strategy}] untrusted_lua=sandbox`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await specNode()
    const r1 = await node.bp.routes.insert({hosts: ['testLuaSandbox1.test']})
    const r3 = await node.bp.routes.insert({hosts: ['testLuaSandbox3.test']})
    await node.bp.plugins.insert({route: {id: r1.id}, name: 'request-transformer', config: {add: {headers: ['x-added:$(type(query_params.user))']}}})
    await node.bp.plugins.insert({route: {id: r3.id}, name: 'request-transformer', config: {add: {headers: ["x-added:$(require('inspect')('somestring'))"]}}})
  })
  describe('using template', () => {
    it('should succeed when template accesses allowed Lua function from sandbox', async () => {
      const req = request(resStatus(200, await node.proxy.get('/', {query: {user: 'foo'}, headers: {host: 'testLuaSandbox1.test', 'Content-Type': 'application/x-www-form-urlencoded'}})))
      assert.equal(req.header('x-added'), 'string')
    })
    it('should fail when template tries to access non allowed Lua function from sandbox', {skip: "kctl's templates always have string.sub (Kong's default sandbox has no `string`): the header is rendered"}, () => {})
    it('should fail when template tries to require non whitelisted module from sandbox', async () => {
      resStatus(500, await node.proxy.get('/', {query: {user: 'foo'}, headers: {host: 'testLuaSandbox3.test', 'Content-Type': 'application/x-www-form-urlencoded'}}))
    })
  })
})

describe(`Plugin: request-transformer(access) [#${strategy}] untrusted_lua_sandbox_requires`, () => {
  describe('using template', () => {
    it('should successfully require whitelisted module from sandbox', {skip: 'kctl runs no Lua: there are no modules to require (no untrusted_lua_sandbox_requires)'}, () => {})
  })
})

describe(`Plugin: request-transformer(access) [#${strategy}] untrusted_lua_sandbox_environment`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await specNode()
    const r1 = await node.bp.routes.insert({hosts: ['testLuaEnvironment.test']})
    await node.bp.plugins.insert({route: {id: r1.id}, name: 'request-transformer', config: {add: {headers: ["x-added:$(string.format('u1:%s;u2:%s', query_params.user1,query_params.user2))"]}}})
  })
  describe('using template', () => {
    // kctl's templates always have `string` (Kong's untrusted_lua_sandbox_environment = string)
    it('should successfully access whitelisted Lua variables from sandbox', async () => {
      const req = request(resStatus(200, await node.proxy.get('/', {query: {user1: 'foo', user2: 'bar'}, headers: {host: 'testLuaEnvironment.test', 'Content-Type': 'application/x-www-form-urlencoded'}})))
      assert.equal(req.header('x-added'), 'u1:foo;u2:bar')
    })
  })
})
