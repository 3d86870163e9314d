import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {buildRouter} from '../../src/runtime/router/router.js'
import type {RouterRequest} from '../../src/runtime/router/types.js'
import {normalizePath} from '../../src/runtime/router/normalize.js'
import {route, service, type RouteInput} from './fixtures.js'

const svc = service({name: 'svc', url: 'http://backend.internal:8080'})

function req(over: Partial<RouterRequest> = {}): RouterRequest {
  return {method: 'GET', path: '/', host: 'localhost', headers: {}, scheme: 'http', port: 8000, ...over}
}

/** Builds a router from named routes and answers the name of the winner (or null). */
function routerOf(defs: Record<string, RouteInput>) {
  const routes = Object.entries(defs).map(([name, d]) => route({name, service: {id: svc.id}, ...d}))
  const r = buildRouter({routes, services: [svc]})
  return (over: Partial<RouterRequest>) => r.match(req(over))?.route.name ?? null
}

describe('router: fields', () => {
  test('hosts: exact, wildcard suffix and prefix, port rules, case', () => {
    const m = routerOf({
      exact: {hosts: ['api.example.com']},
      suffix: {hosts: ['*.example.com']},
      prefix: {hosts: ['example.*']},
      port: {hosts: ['api.example.com:8443']},
    })
    assert.equal(m({host: 'api.example.com'}), 'exact')
    assert.equal(m({host: 'API.Example.com:8000'}), 'exact')
    assert.equal(m({host: 'x.y.example.com'}), 'suffix')
    assert.equal(m({host: 'example.org'}), 'prefix')
    assert.equal(m({host: 'example.com'}), 'prefix')
    assert.equal(m({host: 'other.org'}), null)
    // host:port rules compare with the port the client connected to (Kong's net.dst.port)
    assert.equal(m({host: 'api.example.com:8443', port: 8443}), 'exact')
    const onlyPort = routerOf({port: {hosts: ['api.example.com:8443']}})
    assert.equal(onlyPort({host: 'api.example.com', port: 8443}), 'port')
    assert.equal(onlyPort({host: 'api.example.com', port: 8000}), null)
  })

  test('plain hosts beat wildcard hosts', () => {
    const m = routerOf({wild: {hosts: ['*.example.com'], paths: ['/']}, plain: {hosts: ['a.example.com'], paths: ['/']}})
    assert.equal(m({host: 'a.example.com'}), 'plain')
    assert.equal(m({host: 'b.example.com'}), 'wild')
  })

  test('prefix paths: longest wins; regex paths anchored and ahead of prefixes', () => {
    const m = routerOf({
      root: {paths: ['/']},
      api: {paths: ['/api']},
      apiv1: {paths: ['/api/v1']},
      rx: {paths: ['~/api/v\\d+/users$']},
    })
    assert.equal(m({path: '/'}), 'root')
    assert.equal(m({path: '/apix'}), 'api')
    assert.equal(m({path: '/api/v1/things'}), 'apiv1')
    assert.equal(m({path: '/api/v2/users'}), 'rx')
    assert.equal(m({path: '/api/v1/users'}), 'rx')
    assert.equal(m({path: '/x/api/v2/users'}), 'root')
  })

  test('regex_priority orders regex paths', () => {
    const m = routerOf({
      low: {paths: ['~/items/\\d+'], regex_priority: 0},
      high: {paths: ['~/items/'], regex_priority: 10},
    })
    assert.equal(m({path: '/items/42'}), 'high')
    const n = routerOf({low: {paths: ['~/items/\\d+'], regex_priority: 5}, high: {paths: ['~/items/'], regex_priority: 1}})
    assert.equal(n({path: '/items/42'}), 'low')
    assert.equal(n({path: '/items/x'}), 'high')
  })

  test('methods and the number of fields', () => {
    const m = routerOf({any: {paths: ['/m']}, get: {paths: ['/m'], methods: ['GET']}, post: {paths: ['/m'], methods: ['POST', 'PUT']}})
    assert.equal(m({path: '/m'}), 'get')
    assert.equal(m({path: '/m', method: 'PUT'}), 'post')
    assert.equal(m({path: '/m', method: 'DELETE'}), 'any')
  })

  test('headers: keys AND, values OR, case-insensitive, ~* regex, more headers first', () => {
    const m = routerOf({
      one: {paths: ['/h'], headers: {'x-version': ['v1', 'V2']}},
      two: {paths: ['/h'], headers: {'x-version': ['v1'], 'x-tenant': ['~*^acme-\\d+$']}},
      none: {paths: ['/h']},
    })
    assert.equal(m({path: '/h', headers: {'x-version': 'V1'}}), 'one')
    assert.equal(m({path: '/h', headers: {'x-version': 'v2'}}), 'one')
    assert.equal(m({path: '/h', headers: {'x-version': 'v1', 'x-tenant': 'ACME-7'}}), 'two')
    assert.equal(m({path: '/h', headers: {'x-version': 'v2', 'x-tenant': 'acme-7'}}), 'one')
    assert.equal(m({path: '/h', headers: {'x-version': ['v9', 'v2']}}), 'one')
    assert.equal(m({path: '/h', headers: {'x-version': 'v3'}}), 'none')
  })

  test('snis apply only to https requests', () => {
    const m = routerOf({
      sni: {protocols: ['https'], snis: ['secure.example.com', '*.wild.test'], paths: ['/s']},
      plain: {paths: ['/s']},
    })
    assert.equal(m({path: '/s', scheme: 'https', sni: 'secure.example.com'}), 'sni')
    assert.equal(m({path: '/s', scheme: 'https', sni: 'a.wild.test'}), 'sni')
    assert.equal(m({path: '/s', scheme: 'https', sni: 'other.example.com'}), 'plain')
    // over plain http the sni condition is not considered (Kong #6425)
    assert.equal(m({path: '/s', scheme: 'http'}), 'sni')
  })

  test('ties: older created_at first; disabled services are left out', () => {
    const older = route({name: 'older', paths: ['/t'], created_at: 10, service: {id: svc.id}})
    const newer = route({name: 'newer', paths: ['/t'], created_at: 20, service: {id: svc.id}})
    const r = buildRouter({routes: [newer, older], services: [svc]})
    assert.equal(r.match(req({path: '/t'}))?.route.name, 'older')
    const off = service({name: 'off', url: 'http://x', enabled: false})
    const r2 = buildRouter({routes: [route({paths: ['/'], service: {id: off.id}})], services: [off]})
    assert.equal(r2.match(req()), null)
  })

  test('a route without service matches with service null', () => {
    const r = buildRouter({routes: [route({paths: ['/n'], service: null})], services: []})
    const m = r.match(req({path: '/n'}))
    assert.ok(m)
    assert.equal(m.service, null)
  })

  test('an invalid regex throws an error naming the route', () => {
    const bad = route({name: 'bad', paths: ['/ok'], service: {id: svc.id}})
    bad.paths = ['~/(unclosed']
    assert.throws(() => buildRouter({routes: [bad], services: [svc]}), /route bad: invalid regex path/)
  })

  test('regex captures and path normalization', () => {
    const r = buildRouter({routes: [route({paths: ['~/users/(?<id>\\d+)/(\\w+)'], service: {id: svc.id}})], services: [svc]})
    const m = r.match(req({path: '/users/7/posts/x'}))
    assert.deepEqual(m?.captures, {whole: '/users/7/posts', positional: ['7', 'posts'], named: {id: '7'}})
    assert.equal(normalizePath('/a/%7Efoo/../b/./c%2f'), '/a/b/c%2F')
    assert.equal(normalizePath('/%61pi'), '/api')
    // Kong's normalize(uri, true): repeated slashes merged, dot segments resolved from the left
    assert.equal(normalizePath('/foo//bar'), '/foo/bar')
    assert.equal(normalizePath('///a//b/'), '/a/b/')
    assert.equal(normalizePath('/a/b/../../..'), '/')
    assert.equal(normalizePath('/a/.'), '/a/')
    assert.equal(normalizePath('/route./req'), '/route./req')
  })
})

describe('router: upstream path (strip_path, path_handling)', () => {
  // Kong's documented table, plus the service path "/" cases.
  const cases: Array<[string | undefined, string, string, boolean, 'v0' | 'v1', string]> = [
    ['/s', '/fv0', '/fv0req', false, 'v0', '/s/fv0req'],
    ['/s', '/fv0', '/fv0', false, 'v0', '/s/fv0'],
    ['/s', '/fv1', '/fv1req', false, 'v1', '/sfv1req'],
    ['/s', '/fv1', '/fv1', false, 'v1', '/sfv1'],
    ['/s', '/tv0', '/tv0req', true, 'v0', '/s/req'],
    ['/s', '/tv0', '/tv0', true, 'v0', '/s'],
    ['/s', '/tv1', '/tv1req', true, 'v1', '/sreq'],
    ['/s', '/tv1', '/tv1', true, 'v1', '/s'],
    ['/s', '/fv0/', '/fv0/req', false, 'v0', '/s/fv0/req'],
    ['/s', '/fv0/', '/fv0/', false, 'v0', '/s/fv0/'],
    ['/s', '/fv1/', '/fv1/req', false, 'v1', '/sfv1/req'],
    ['/s', '/fv1/', '/fv1/', false, 'v1', '/sfv1/'],
    ['/s', '/tv0/', '/tv0/req', true, 'v0', '/s/req'],
    ['/s', '/tv0/', '/tv0/', true, 'v0', '/s/'],
    ['/s', '/tv1/', '/tv1/req', true, 'v1', '/sreq'],
    ['/s', '/tv1/', '/tv1/', true, 'v1', '/s'],
    [undefined, '/api', '/api/users', true, 'v0', '/users'],
    [undefined, '/api', '/api', true, 'v0', '/'],
    [undefined, '/api', '/api/users', false, 'v0', '/api/users'],
    ['/base/', '/api', '/api/users', true, 'v0', '/base/users'],
    ['/base/', '/api', '/api../x', true, 'v0', '/base/x'],
  ]
  for (const [spath, rpath, reqPath, strip, handling, want] of cases) {
    test(`service ${spath ?? '(none)'} route ${rpath} ${reqPath} strip=${strip} ${handling} → ${want}`, () => {
      const s = service({host: 'backend.internal', ...(spath ? {path: spath} : {})})
      const r = buildRouter({routes: [route({paths: [rpath], strip_path: strip, path_handling: handling, service: {id: s.id}})], services: [s]})
      assert.equal(r.match(req({path: normalizePath(reqPath)}))?.upstreamPath, want)
    })
  }

  test('regex strip removes the matched part', () => {
    const r = buildRouter({routes: [route({paths: ['~/v\\d+'], service: {id: svc.id}})], services: [svc]})
    assert.equal(r.match(req({path: '/v12/items'}))?.upstreamPath, '/items')
  })
})

describe('router: scale', () => {
  test('10,000 routes build and match correctly', () => {
    const routes = []
    for (let i = 0; i < 10_000; i++) {
      const kind = i % 4
      if (kind === 0) routes.push(route({name: `h${i}`, hosts: [`svc${i}.example.com`], service: {id: svc.id}}))
      else if (kind === 1) routes.push(route({name: `p${i}`, paths: [`/svc${i}/api`], service: {id: svc.id}}))
      else if (kind === 2) routes.push(route({name: `hp${i}`, hosts: ['shared.example.com'], paths: [`/t${i}`], methods: ['GET'], service: {id: svc.id}}))
      else routes.push(route({name: `w${i}`, hosts: [`*.zone${i}.test`], paths: ['/'], service: {id: svc.id}}))
    }
    const r = buildRouter({routes, services: [svc]})
    assert.equal(r.size, 10_000)
    for (let i = 0; i < 10_000; i += 97) {
      const kind = i % 4
      const q =
        kind === 0 ? req({host: `svc${i}.example.com`})
        : kind === 1 ? req({path: `/svc${i}/api/x`})
        : kind === 2 ? req({host: 'shared.example.com', path: `/t${i}/more`})
        : req({host: `a.zone${i}.test`, path: '/z'})
      const want = kind === 0 ? `h${i}` : kind === 1 ? `p${i}` : kind === 2 ? `hp${i}` : `w${i}`
      assert.equal(r.match(q)?.route.name, want)
    }
    // longest prefix among the shared-host routes: /t1234 must not lose to /t12
    assert.equal(r.match(req({host: 'shared.example.com', path: '/t1234'}))?.route.name, 'hp1234')
    assert.equal(r.match(req({host: 'nowhere.test', path: '/nothing'})), null)
  })
})
