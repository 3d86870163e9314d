/**
 * Kong's spec/03-plugins/36-request-transformer/02-access_spec.lua (3.9), ported in part:
 * its setup (the 29 routes and their plugins, as Kong's) and the describes "http method",
 * "remove", "rename" and "replace", with the same describe/it titles and assertions,
 * against a real node (Admin API over Postgres, its proxy, Kong's mock upstream),
 * strategy `postgres`. `assert.request(r)` reads what the upstream received (echoed by the
 * mock upstream). Kong's `pre-function` plugin is not bundled (route 21 has only the
 * transformer); multipart bodies are not rewritten yet (those cases are `todo`).
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const MULTIPART_TODO = {todo: 'not yet: request-transformer leaves multipart/form-data bodies untouched'}

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

describe(`Plugin: request-transformer(access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
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
  after(() => node?.close())

  const send = (method: string, path: string, headers: Record<string, string>, body?: unknown, query?: Record<string, string>) =>
    node.proxy.send(method, path, {headers, query, ...(typeof body === 'string' ? {raw: body} : body === undefined ? {} : {body})})
  const FORM = 'application/x-www-form-urlencoded'

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
    it('parameters on multipart POST', MULTIPART_TODO, async () => {
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
    it('parameters on multipart POST', MULTIPART_TODO, async () => {
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
    it('specified parameters on multipart POST', MULTIPART_TODO, async () => {
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
})
