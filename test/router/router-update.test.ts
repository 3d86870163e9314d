/**
 * A router (and proxy snapshot) updated in place of a rebuild must match every request
 * exactly as one built from scratch for the same entities. Random sequences of route and
 * service creates, updates and deletes (several per change set, services disabled and
 * deleted with their routes), routes drawn from a small vocabulary of hosts (exact,
 * wildcard, with port), prefix and regex paths, methods, headers, snis, protocols,
 * regex_priority and created_at ties so that they overlap and compete; after each change
 * set, many requests are matched by both and must give the same answer.
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import fc from 'fast-check'
import {buildRouter, updateRouter} from '../../src/runtime/router/router.js'
import type {Router, RouterRequest, RouteMatch} from '../../src/runtime/router/types.js'
import {buildSnapshot, updateSnapshot, type ChangedEntity} from '../../src/runtime/proxy/snapshot.js'
import {emptyEntitySet, type Entity, type EntitySet} from '../../src/runtime/schema/registry.js'
import {route, service, type RouteInput} from './fixtures.js'

const HOSTS = ['a.test', 'b.test', '*.test', 'a.*', 'a.test:8443', 'B.TEST']
const PATHS = ['/', '/a', '/a/b', '/ab', '/b', '~/a/\\d+$', '~/(?<x>a)/b', '~/b|/c', '/a/', '/c']
const METHODS = ['GET', 'POST', 'PUT']
const PROTOCOLS = [['http', 'https'], ['http'], ['https'], ['grpc', 'grpcs']]

type Svc = Entity<'services'>
type Rt = Entity<'routes'>

/** Draws of small naturals make a route (the same draw, the same route shape). */
const routeDraw = fc.record({
  hosts: fc.subarray(HOSTS, {maxLength: 3}),
  paths: fc.subarray(PATHS, {maxLength: 3}),
  methods: fc.subarray(METHODS, {maxLength: 2}),
  header: fc.integer({min: 0, max: 4}),
  sni: fc.boolean(),
  protocols: fc.integer({min: 0, max: PROTOCOLS.length - 1}),
  regexPriority: fc.integer({min: 0, max: 2}),
  createdAt: fc.integer({min: 0, max: 3}),
  strip: fc.boolean(),
  handling: fc.boolean(),
  service: fc.nat(),
})

type RouteDraw = typeof routeDraw extends fc.Arbitrary<infer T> ? T : never

const op = fc.oneof(
  {weight: 4, arbitrary: fc.record({op: fc.constant('route+' as const), draw: routeDraw})},
  {weight: 4, arbitrary: fc.record({op: fc.constant('route~' as const), at: fc.nat(), draw: routeDraw})},
  {weight: 2, arbitrary: fc.record({op: fc.constant('route-' as const), at: fc.nat()})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('service+' as const), enabled: fc.boolean()})},
  {weight: 2, arbitrary: fc.record({op: fc.constant('service~' as const), at: fc.nat(), enabled: fc.boolean(), path: fc.constantFrom('/', '/s', '/s/', null)})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('service-' as const), at: fc.nat()})},
)
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

const request = fc.record({
  method: fc.constantFrom(...METHODS, 'DELETE'),
  path: fc.constantFrom('/', '/a', '/a/', '/a/b', '/a/b/c', '/a/12', '/a/12/x', '/ab', '/abc', '/b', '/c/d', '/x'),
  host: fc.constantFrom('a.test', 'b.test', 'c.test', 'a.example', 'A.Test:8443', 'a.test:8443', 'other'),
  header: fc.constantFrom(undefined, '1', '2', 'x'),
  https: fc.boolean(),
  sni: fc.constantFrom(undefined, 'a.test', 'b.test'),
  port: fc.constantFrom(8000, 8443),
})

function toRequest(r: typeof request extends fc.Arbitrary<infer T> ? T : never): RouterRequest {
  return {method: r.method, path: r.path, host: r.host, headers: r.header === undefined ? {} : {'x-v': [r.header]}, scheme: r.https ? 'https' : 'http', sni: r.sni, port: r.port}
}

let clock = 1_800_000_000
let seq = 0
/** Sortable ids, so that created_at ties fall to the id and a test can place them. */
const nextId = () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`

function makeRoute(d: RouteDraw, services: Svc[], id: string, createdAt: number): Rt | null {
  const input: RouteInput = {
    id,
    created_at: createdAt,
    protocols: PROTOCOLS[d.protocols],
    regex_priority: d.regexPriority,
    strip_path: d.strip,
    path_handling: d.handling ? 'v1' : 'v0',
    service: services.length ? {id: services[d.service % services.length].id} : null,
  }
  if (d.hosts.length) input.hosts = d.hosts
  if (d.paths.length) input.paths = d.paths
  if (d.methods.length) input.methods = d.methods
  if (d.header) input.headers = {'x-v': d.header === 1 ? ['1'] : d.header === 2 ? ['1', '~*^2'] : d.header === 3 ? ['x'] : ['2']}
  if (d.sni) input.snis = ['a.test']
  try {
    return route(input)
  } catch {
    return null // a shape the schema refuses (e.g. snis on http only): not a route
  }
}

/** The entities and the changes one op makes (a service goes with its routes, as the cascade does). */
function apply(state: {routes: Rt[]; services: Svc[]}, o: Op): ChangedEntity[] {
  const changes: ChangedEntity[] = []
  switch (o.op) {
    case 'route+': {
      const r = makeRoute(o.draw, state.services, nextId(), clock + o.draw.createdAt)
      if (r) {
        state.routes.push(r)
        changes.push({kind: 'routes', id: r.id, entity: r})
      }
      break
    }
    case 'route~': {
      if (!state.routes.length) break
      const i = o.at % state.routes.length
      const old = state.routes[i]
      const r = makeRoute(o.draw, state.services, old.id, old.created_at)
      if (r) {
        state.routes[i] = r
        changes.push({kind: 'routes', id: r.id, entity: r})
      }
      break
    }
    case 'route-': {
      if (!state.routes.length) break
      const [r] = state.routes.splice(o.at % state.routes.length, 1)
      changes.push({kind: 'routes', id: r.id, entity: null})
      break
    }
    case 'service+': {
      const s = service({id: nextId(), name: `s${seq}`, url: `http://s${seq}.internal`, enabled: o.enabled})
      state.services.push(s)
      changes.push({kind: 'services', id: s.id, entity: s})
      break
    }
    case 'service~': {
      if (!state.services.length) break
      const i = o.at % state.services.length
      const old = state.services[i]
      const s = {...old, enabled: o.enabled, path: o.path} as Svc
      state.services[i] = s
      changes.push({kind: 'services', id: s.id, entity: s})
      break
    }
    case 'service-': {
      if (!state.services.length) break
      const [s] = state.services.splice(o.at % state.services.length, 1)
      for (const r of state.routes.filter((r) => r.service?.id === s.id)) changes.push({kind: 'routes', id: r.id, entity: null})
      state.routes = state.routes.filter((r) => r.service?.id !== s.id)
      changes.push({kind: 'services', id: s.id, entity: null})
      break
    }
  }
  return changes
}

/** What a match answers, comparable across routers. */
function answer(m: RouteMatch | null): unknown {
  if (!m) return null
  return {route: m.route.id, service: m.service ? [m.service.id, m.service.path, m.service.enabled] : null, prefix: m.prefix, captures: m.captures, upstreamPath: m.upstreamPath}
}

function sameMatching(updated: Router, fresh: Router, requests: RouterRequest[], where: string): void {
  assert.equal(updated.size, fresh.size, `${where}: matcher count`)
  assert.equal(updated.usesHeaders, fresh.usesHeaders, `${where}: usesHeaders`)
  for (const req of requests) assert.deepEqual(answer(updated.match(req)), answer(fresh.match(req)), `${where}: ${JSON.stringify(req)}`)
}

const entitySet = (state: {routes: Rt[]; services: Svc[]}): EntitySet => ({...emptyEntitySet(), routes: state.routes, services: state.services})

describe('router: incremental update', () => {
  test('after random change sets, an updated router matches like one built from scratch', () => {
    fc.assert(
      fc.property(fc.array(routeDraw, {maxLength: 25}), fc.array(fc.array(op, {minLength: 1, maxLength: 4}), {minLength: 1, maxLength: 12}), fc.array(request, {minLength: 60, maxLength: 60}), (initial, batches, reqs) => {
        const state = {services: [service({id: nextId(), name: `s${seq}`, url: 'http://s.internal/base'})] as Svc[], routes: [] as Rt[]}
        for (const d of initial) {
          const r = makeRoute(d, state.services, nextId(), clock + d.createdAt)
          if (r) state.routes.push(r)
        }
        const requests = reqs.map(toRequest)
        let router = buildRouter({routes: state.routes, services: state.services})
        let snapshot = buildSnapshot(entitySet(state))
        batches.forEach((batch, b) => {
          const changes = batch.flatMap((o) => apply(state, o))
          const routeIds = new Set(changes.filter((c) => c.kind === 'routes').map((c) => c.id))
          const changedServices = new Map(changes.filter((c) => c.kind === 'services').map((c) => [c.id, (c.entity as Svc | null) ?? null]))
          // the router alone, as a caller that knows the routes to compile again
          for (const r of state.routes) if (r.service?.id && changedServices.has(r.service.id)) routeIds.add(r.id)
          router = updateRouter(router, {routeIds, routes: state.routes.filter((r) => routeIds.has(r.id)), services: changedServices, all: {routes: state.routes, services: state.services}})
          const fresh = buildRouter({routes: state.routes, services: state.services})
          sameMatching(router, fresh, requests, `router, change set ${b}`)
          // and through the proxy snapshot, as a data plane applies a delta
          snapshot = updateSnapshot(snapshot, entitySet(state), changes)
          sameMatching(snapshot.router, fresh, requests, `snapshot, change set ${b}`)
        })
      }),
      {seed: 1616, numRuns: 150},
    )
  })

  test('many inserts at one place (ranks run out there): still the same matching', () => {
    const svc = service({id: nextId(), name: 'svc', url: 'http://s.internal'})
    // same priority key and created_at: the id decides; each new id sorts just after the first
    const first = route({id: 'id-0', created_at: clock, paths: ['/same'], service: {id: svc.id}})
    const last = route({id: 'id-z', created_at: clock, paths: ['/same'], service: {id: svc.id}})
    // one older route first, so that the inserts land between ranks 1 and 2 (halving toward 0 would take ~1,000)
    const older = route({id: 'id-old', created_at: clock - 1, paths: ['/same'], service: {id: svc.id}})
    const routes = [older, first, last]
    let router = buildRouter({routes, services: [svc]})
    for (let i = 0; i < 120; i++) {
      const r = route({id: `id-${String(999 - i)}`, created_at: clock, paths: ['/same', `/only/${i}`], service: {id: svc.id}, methods: i % 2 ? ['GET'] : undefined})
      routes.push(r)
      router = updateRouter(router, {routeIds: new Set([r.id]), routes: [r], services: new Map(), all: {routes, services: [svc]}})
      // and one out again now and then
      if (i % 10 === 9) {
        const [gone] = routes.splice(4, 1)
        router = updateRouter(router, {routeIds: new Set([gone.id]), routes: [], services: new Map(), all: {routes, services: [svc]}})
      }
    }
    const fresh = buildRouter({routes, services: [svc]})
    const requests: RouterRequest[] = []
    for (const method of ['GET', 'POST']) for (const path of ['/same', '/same/x', ...Array.from({length: 120}, (_, i) => `/only/${i}`)]) requests.push({method, path, host: 'h', headers: {}, scheme: 'http', port: 8000})
    sameMatching(router, fresh, requests, 'after 120 inserts')
    // without methods, the oldest, then the smallest id wins; with GET, the smallest id among the GET routes
    assert.equal(router.match({method: 'POST', path: '/same', host: 'h', headers: {}, scheme: 'http', port: 8000})?.route.id, 'id-old')
    assert.equal(router.match({method: 'GET', path: '/same', host: 'h', headers: {}, scheme: 'http', port: 8000})?.route.id, 'id-880')
  })

  test('a route with an invalid regex is refused and the previous router is unchanged', () => {
    const svc = service({name: 'svc', url: 'http://s.internal'})
    const ok = route({paths: ['/ok'], service: {id: svc.id}})
    const router = buildRouter({routes: [ok], services: [svc]})
    const bad = {...route({paths: ['/x'], service: {id: svc.id}}), paths: ['~/(']} as Rt
    assert.throws(() => updateRouter(router, {routeIds: new Set([ok.id, bad.id]), routes: [bad], services: new Map(), all: {routes: [bad], services: [svc]}}), /invalid regex path/)
    assert.equal(router.match({method: 'GET', path: '/ok', host: 'h', headers: {}, scheme: 'http', port: 8000})?.route.id, ok.id)
  })

  test('an updated snapshot keeps the plugin plans of unchanged routes and plans the changed ones as a build does', () => {
    const svc = service({name: 'svc', url: 'http://s.internal'})
    const routes = Array.from({length: 40}, (_, i) => route({paths: [`/r/${i}`], service: {id: svc.id}}))
    const plugin = (id: string, scope: {route?: string; service?: string}) =>
      ({id, name: 'cors', enabled: true, config: {}, protocols: ['http', 'https'], route: scope.route ? {id: scope.route} : null, service: scope.service ? {id: scope.service} : null, consumer: null}) as unknown as Entity<'plugins'>
    const plugins = [plugin('p-route', {route: routes[3].id}), plugin('p-service', {service: svc.id})]
    const set = (rs: Rt[]): EntitySet => ({...emptyEntitySet(), routes: rs, services: [svc], plugins})
    let snapshot = buildSnapshot(set(routes))
    // route 3 loses its route-scoped plugin's route (replaced by a new route), route 5 changes service-less
    const added = route({paths: ['/new'], service: {id: svc.id}})
    const changed = {...routes[5], service: null} as Rt
    const next = [...routes.filter((_, i) => i !== 3 && i !== 5), changed, added]
    snapshot = updateSnapshot(snapshot, set(next), [
      {kind: 'routes', id: routes[3].id, entity: null},
      {kind: 'routes', id: changed.id, entity: changed},
      {kind: 'routes', id: added.id, entity: added},
    ])
    const fresh = buildSnapshot(set(next))
    const plan = (s: typeof snapshot, id: string) => s.pluginPlan.forRoute(id).map((p) => `${p.def.name}:${p.base?.id}`)
    for (const r of [...next, routes[3]]) assert.deepEqual(plan(snapshot, r.id), plan(fresh, r.id), r.id)
    assert.deepEqual(plan(snapshot, added.id), ['cors:p-service'])
    assert.deepEqual(plan(snapshot, changed.id), [])
  })
})
