/**
 * Kong's route matching, end to end: a real proxy on a loopback port in front of a real
 * upstream. Every route has its own service whose path is the route's name, so the path
 * the upstream receives tells which route won.
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {route, service, type RouteInput} from '../router/fixtures.js'
import {startBlackhole} from './blackhole.js'
import {get, startProxy, startUpstream, type TestContext} from './helpers.js'

/** A proxy serving `defs` (route name → route fields); answers which route a request took. */
async function routed(t: TestContext, defs: Record<string, RouteInput>) {
  const up = await startUpstream(t, 'echo')
  const services = Object.keys(defs).map((name) => service({name, host: '127.0.0.1', port: up.port, path: `/${name}`}))
  const routes = Object.entries(defs).map(([name, d], i) => route({name, service: {id: services[i].id}, ...d}))
  const {port} = await startProxy(t, {services, routes})
  const send = (path: string, headers: Record<string, string> = {}) => get(port, path, {headers})
  return {
    send,
    /** The upstream path of an answered request. */
    async path(path: string, headers?: Record<string, string>): Promise<string> {
      const r = await send(path, headers)
      assert.equal(r.status, 200, `${path}: ${r.body}`)
      return r.json().url
    },
    /** The name of the route that took the request, or 404. */
    async winner(path: string, headers?: Record<string, string>): Promise<string | 404> {
      const r = await send(path, headers)
      if (r.status === 404) {
        assert.equal(r.json().message, 'no Route matched with those values')
        return 404
      }
      assert.equal(r.status, 200, `${path}: ${r.body}`)
      return r.json().url.split('/')[1].split('?')[0]
    },
  }
}

describe('proxy routing: regex paths', () => {
  test('~ paths are regexes anchored at the start; strip_path removes the matched part', async (t) => {
    const p = await routed(t, {
      user: {paths: ['~/users/\\d+$']},
      items: {paths: ['~/items/(?<id>\\d+)']},
      keep: {paths: ['~/keep/[a-z]+'], strip_path: false},
    })
    assert.equal(await p.winner('/users/42'), 'user')
    assert.equal(await p.winner('/users/abc'), 404)
    assert.equal(await p.winner('/users/42/more'), 404, '$ anchors the end')
    assert.equal(await p.winner('/x/users/42'), 404, 'anchored at the start')
    assert.equal(await p.path('/items/7/detail?q=1'), '/items/detail?q=1')
    assert.equal(await p.path('/keep/abc/def'), '/keep/keep/abc/def')
  })
})

describe("proxy routing: Kong's priority rules", () => {
  test('regex paths go before prefixes, ordered by regex_priority, whatever their length', async (t) => {
    const p = await routed(t, {
      long: {paths: ['/api/v1/users/list']},
      rx: {paths: ['~/api/v\\d+/']},
      rxlow: {paths: ['~/api/v1/users/\\d+'], regex_priority: 0},
      rxhigh: {paths: ['~/api/v1/users/'], regex_priority: 10},
    })
    assert.equal(await p.winner('/api/v1/users/list'), 'rxhigh', 'regex_priority 10 beats 0 and beats any prefix')
    assert.equal(await p.winner('/api/v1/users/42'), 'rxhigh')
    assert.equal(await p.winner('/api/v2/things'), 'rx')
    const q = await routed(t, {
      short: {paths: ['~/prio/'], regex_priority: 5},
      precise: {paths: ['~/prio/exact$'], regex_priority: 1},
    })
    assert.equal(await q.winner('/prio/exact'), 'short', 'priority, not the longer regex')
  })

  test('the longest prefix wins, whatever the order routes were created in', async (t) => {
    const p = await routed(t, {
      lp: {paths: ['/lp']},
      deeper: {paths: ['/lp/deeper']},
      deepest: {paths: ['/lp/deeper/still']},
    })
    assert.equal(await p.winner('/lp/other'), 'lp')
    assert.equal(await p.winner('/lp/deeper/x'), 'deeper')
    assert.equal(await p.winner('/lp/deeper/still/x'), 'deepest')
    assert.equal(await p.path('/lp/deeper/still/x'), '/deepest/x')
    const q = await routed(t, {rdeepest: {paths: ['/rlp/a/b']}, rlp: {paths: ['/rlp']}})
    assert.equal(await q.winner('/rlp/a/b/c'), 'rdeepest')
    assert.equal(await q.winner('/rlp/a'), 'rlp')
  })

  test('hosts + paths beat paths alone, even a longer path; plain hosts beat wildcards', async (t) => {
    const p = await routed(t, {
      pathonly: {paths: ['/hp/long']},
      hostpath: {hosts: ['h.test'], paths: ['/hp']},
      wild: {hosts: ['*.wc.test']},
      plain: {hosts: ['api.wc.test']},
    })
    assert.equal(await p.winner('/hp/long/x', {host: 'h.test'}), 'hostpath')
    assert.equal(await p.winner('/hp/long/x', {host: 'other.test'}), 'pathonly')
    assert.equal(await p.winner('/hp/x', {host: 'other.test'}), 404)
    assert.equal(await p.winner('/', {host: 'api.wc.test'}), 'plain')
    assert.equal(await p.winner('/', {host: 'www.wc.test'}), 'wild')
    assert.equal(await p.winner('/', {host: 'api.wc.test:8000'}), 'plain', 'the port is ignored')
  })

  test('headers: names AND, values OR, the route with more headers first', async (t) => {
    const p = await routed(t, {
      plain: {paths: ['/hd']},
      versioned: {paths: ['/hd'], headers: {'x-version': ['v2', 'v3']}},
      gold: {paths: ['/hd'], headers: {'x-version': ['v2'], 'x-tier': ['gold']}},
    })
    assert.equal(await p.winner('/hd', {'x-version': 'v2'}), 'versioned')
    assert.equal(await p.winner('/hd', {'X-Version': 'v3'}), 'versioned', 'header names are case-insensitive')
    assert.equal(await p.winner('/hd', {'x-version': 'v1'}), 'plain')
    assert.equal(await p.winner('/hd'), 'plain')
    assert.equal(await p.winner('/hd', {'x-version': 'v2', 'x-tier': 'gold'}), 'gold')
    assert.equal(await p.winner('/hd', {'x-version': 'v3', 'x-tier': 'gold'}), 'versioned', 'gold needs both headers')
    const only = await routed(t, {hdonly: {headers: {'x-only': ['yes']}}})
    assert.equal(await only.winner('/any/path', {'x-only': 'yes'}), 'hdonly')
    assert.equal(await only.winner('/any/path', {'x-only': 'no'}), 404)
  })
})

describe('proxy: connect timeout', () => {
  test('an upstream that never answers the SYN gets 504 after connect_timeout, once per try', async (t) => {
    const hole = await startBlackhole(t)
    const once = service({name: 'once', host: '127.0.0.1', port: hole.port, connect_timeout: 300, retries: 0})
    const twice = service({name: 'twice', host: '127.0.0.1', port: hole.port, connect_timeout: 300, retries: 1})
    const {port} = await startProxy(t, {
      services: [once, twice],
      routes: [route({paths: ['/once'], service: {id: once.id}}), route({paths: ['/twice'], service: {id: twice.id}})],
    })
    for (const [path, tries] of [['/once', 1], ['/twice', 2]] as const) {
      const started = Date.now()
      const r = await get(port, path, {headers: {accept: 'application/json'}})
      const took = Date.now() - started
      assert.equal(r.status, 504, r.body)
      assert.equal(r.json().message, 'The upstream server is timing out')
      // A lower bound only: each try waits its full connect_timeout (the machine may be slow).
      assert.ok(took >= tries * 300 - 20, `${path} answered after ${took} ms`)
      assert.ok(took < 10_000, `${path} answered after ${took} ms`)
    }
  })
})
