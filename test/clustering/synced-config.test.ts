/**
 * A configuration that follows changes (synced-config.ts), on both sides: a control plane
 * applying the changes it read to its own configuration must end with the hashes and the
 * digest of that configuration read whole; a data plane following its deltas must end with
 * the same entities, and refuse a delta whose result is not the control plane's.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {describe, test} from 'node:test'
import fc from 'fast-check'
import {configHash} from '../../src/runtime/clustering/config-hash.js'
import {exportConfig, exportRow} from '../../src/runtime/clustering/export.js'
import {decodeFrame, type Change, type DeltaFrame} from '../../src/runtime/clustering/frame.js'
import {encodeDelta, encodeReconfigure} from '../../src/runtime/clustering/protocol.js'
import {DeltaMismatch, SyncedConfig} from '../../src/runtime/clustering/synced-config.js'
import {getSchema, KINDS, type EntitySet} from '../../src/runtime/schema/registry.js'
import {validateEntity} from '../../src/runtime/schema/validate.js'

type Row = Record<string, unknown> & {id: string}

function entity(kind: string, input: Record<string, unknown>): Row {
  const e = validateEntity(getSchema(kind)!, input, {defaults: true}) as Record<string, unknown>
  e.id = (input.id as string) ?? randomUUID()
  e.created_at = 1_700_000_000
  e.updated_at = 1_700_000_000
  return e as Row
}

/** The configuration as a set of kinds → rows, in no particular order (as a database may give it). */
function initial(): Record<string, Row[]> {
  const set = Object.fromEntries(KINDS.map((k) => [k, [] as Row[]]))
  const services = Array.from({length: 3}, (_, i) => entity('services', {name: `s${i}`, url: `http://127.0.0.1:${9000 + i}`}))
  set.services = services
  set.routes = Array.from({length: 300}, (_, i) => entity('routes', {name: `r${i}`, paths: [`/r/${i}`], service: {id: services[i % 3].id}}))
  set.consumers = Array.from({length: 20}, (_, i) => entity('consumers', {username: `c${i}`}))
  return set
}

/** One random change to `set` (in place), as the database would record it. */
function change(set: Record<string, Row[]>, [what, at, v]: [string, number, number]): Change {
  const pick = (kind: string) => set[kind][at % set[kind].length]
  switch (what) {
    case 'route+': {
      const r = entity('routes', {name: `new-${at}-${v}`, paths: [`/new/${at}/${v}`], service: {id: pick('services').id}})
      set.routes.push(r)
      return {kind: 'routes', id: r.id, entity: r}
    }
    case 'route~': {
      const old = pick('routes')
      const r = {...old, paths: [`/changed/${at}/${v}`], tags: [`v${v}`]}
      set.routes[set.routes.indexOf(old)] = r
      return {kind: 'routes', id: r.id, entity: r}
    }
    case 'route-': {
      const old = pick('routes')
      set.routes.splice(set.routes.indexOf(old), 1)
      return {kind: 'routes', id: old.id, entity: null}
    }
    case 'consumer~': {
      const old = pick('consumers')
      const c = {...old, custom_id: `id-${v}`}
      set.consumers[set.consumers.indexOf(old)] = c
      return {kind: 'consumers', id: c.id, entity: c}
    }
    default: {
      const p = entity('plugins', {name: 'request-termination', config: {status_code: 200 + (v % 5)}, route: {id: pick('routes').id}})
      set.plugins.push(p)
      return {kind: 'plugins', id: p.id, entity: p}
    }
  }
}

const asSet = (set: Record<string, Row[]>) => Object.fromEntries(Object.entries(set).map(([k, rows]) => [k, [...rows]])) as unknown as EntitySet

/** A delta frame as a DP decodes it, from changes in the entity shape. */
function deltaFrame(from: number, version: number, changes: Change[], cp: {hash: string; hashes: ReturnType<typeof configHash>; digest?: string}): DeltaFrame {
  const deltas = changes.map((c) => ({kind: c.kind, id: c.id, entity: c.entity && exportRow(getSchema(c.kind)!, c.entity)}))
  const frame = decodeFrame(encodeDelta({from, version, deltas, config_hash: cp.hash, hashes: cp.hashes, ...(cp.digest ? {kctl_digest: cp.digest} : {})}))
  assert.equal(frame.kind, 'delta')
  return frame as DeltaFrame
}

describe('a configuration that follows changes', () => {
  test('a control plane applying the changes it read ends where reading everything again ends', () => {
    const set = initial()
    const cp = new SyncedConfig()
    let state = cp.loadOwn(asSet(set), 1)
    assert.deepEqual(state.hashes, configHash(exportConfig(cp.current()!.entities)))
    let version = 1
    const step = fc.tuple(fc.constantFrom('route+', 'route~', 'route-', 'consumer~', 'plugin+'), fc.nat({max: 10_000}), fc.nat({max: 99}))
    for (const batch of fc.sample(fc.array(step, {minLength: 1, maxLength: 6}), {seed: 4242, numRuns: 40})) {
      const changes = batch.map((s) => change(set, s))
      state = cp.applyOwn(changes, ++version)
      const whole = new SyncedConfig().loadOwn(asSet(set), version)
      assert.deepEqual(state.hashes, whole.hashes, `after ${batch.map((b) => b[0]).join(', ')}`)
      assert.equal(state.digest, whole.digest)
      // Kong's hash, of the export in id order
      const byId = Object.fromEntries(Object.entries(set).map(([k, rows]) => [k, [...rows].sort((a, b) => (a.id < b.id ? -1 : 1))]))
      assert.equal(state.hash, configHash(exportConfig(byId as unknown as EntitySet)).config)
    }
  })

  test('a data plane following deltas checks them with the digest, or with the config hash from a control plane that sends none', () => {
    const set = initial()
    const cp = new SyncedConfig()
    const first = cp.loadOwn(asSet(set), 1)
    const table = exportConfig(first.entities)
    const dpWithDigest = new SyncedConfig()
    const dpWithout = new SyncedConfig()
    for (const dp of [dpWithDigest, dpWithout]) {
      const full = decodeFrame(encodeReconfigure({timestamp: 0, config_table: table, config_hash: first.hash, hashes: first.hashes, kctl_version: 1}))
      dp.loadFull(full as Extract<typeof full, {kind: 'full'}>)
    }
    dpWithDigest.warm()
    let version = 1
    for (const s of fc.sample(fc.tuple(fc.constantFrom('route+', 'route~', 'route-', 'consumer~', 'plugin+'), fc.nat({max: 10_000}), fc.nat({max: 99})), {seed: 77, numRuns: 30})) {
      const c = change(set, s)
      const state = cp.applyOwn([c], ++version)
      for (const [dp, digest] of [[dpWithDigest, state.digest], [dpWithout, undefined]] as const) {
        const next = dp.prepareDelta(deltaFrame(version - 1, version, [c], {...state, digest}))
        next.commit()
        assert.equal(dp.hash, state.hash)
        assert.deepEqual(exportConfig(dp.current()!.entities), exportConfig(cp.current()!.entities))
      }
    }
    // a delta that does not lead to the control plane's configuration is refused, whole
    const c = change(set, ['route~', 5, 1])
    const state = cp.applyOwn([c], ++version)
    const wrong = {...c, entity: {...c.entity!, paths: ['/not-what-the-cp-has']}}
    assert.throws(() => dpWithDigest.prepareDelta(deltaFrame(version - 1, version, [wrong], state)), (err: unknown) => err instanceof DeltaMismatch && err.full && /digest/.test(err.message))
    assert.throws(() => dpWithout.prepareDelta(deltaFrame(version - 1, version, [wrong], {...state, digest: undefined})), (err: unknown) => err instanceof DeltaMismatch && err.full)
    // the refused delta changed nothing: the right one still applies
    dpWithDigest.prepareDelta(deltaFrame(version - 1, version, [c], state)).commit()
    assert.equal(dpWithDigest.hash, state.hash)
  })

  test('warming after a whole configuration stops between slices, answers what warm answers, and gives up once another configuration is current', () => {
    const set = initial()
    const cp = new SyncedConfig()
    const first = cp.loadOwn(asSet(set), 1)
    const table = exportConfig(first.entities)
    const load = (dp: SyncedConfig, hashes = first.hashes) => {
      const full = decodeFrame(encodeReconfigure({timestamp: 0, config_table: table, config_hash: first.hash, hashes, kctl_version: 1}))
      dp.loadFull(full as Extract<typeof full, {kind: 'full'}>)
    }
    // sliced: several stops for 323 entities, the same answer as in one go
    const dp = new SyncedConfig()
    load(dp)
    const steps = dp.warming()
    let stops = 0
    let r = steps.next()
    for (; !r.done; r = steps.next()) stops++
    assert.ok(stops >= 5, `${stops} stops`)
    assert.deepEqual(r.value, [])
    // warmed: a delta checked by digest applies
    const c = change(set, ['route~', 7, 3])
    const state = cp.applyOwn([c], 2)
    dp.prepareDelta(deltaFrame(1, 2, [c], state)).commit()
    assert.equal(dp.hash, state.hash)
    assert.deepEqual(exportConfig(dp.current()!.entities), exportConfig(cp.current()!.entities))

    // a kind whose hash differs from the control plane's is named, sliced or not
    const odd = {...first.hashes, routes: 'f'.repeat(32)}
    const a = new SyncedConfig()
    load(a, odd)
    assert.deepEqual(a.warm(), ['routes'])
    const b = new SyncedConfig()
    load(b, odd)
    const bSteps = b.warming()
    let rb = bSteps.next()
    while (!rb.done) rb = bSteps.next()
    assert.deepEqual(rb.value, ['routes'])

    // another whole configuration arrives between two slices: the old warming ends at once
    const c2 = new SyncedConfig()
    load(c2, odd)
    const stale = c2.warming()
    stale.next()
    stale.next()
    load(c2)
    assert.deepEqual(stale.next(), {done: true, value: []})
    assert.deepEqual(c2.warm(), [])
  })

  test('a control plane knows when an entity with a ttl runs out', () => {
    const set = initial()
    const consumer = set.consumers[0]
    set.keyauth_credentials = [{...entity('keyauth_credentials', {key: 'k1', consumer: {id: consumer.id}}), ttl: 60}]
    const cp = new SyncedConfig()
    cp.loadOwn(asSet(set), 1)
    assert.equal(cp.expiredBy(1_700_000_059), false)
    assert.equal(cp.expiredBy(1_700_000_060), true)
    const sooner = {...entity('keyauth_credentials', {key: 'k2', consumer: {id: consumer.id}}), ttl: 10}
    cp.applyOwn([{kind: 'keyauth_credentials', id: sooner.id, entity: sooner}], 2)
    assert.equal(cp.expiredBy(1_700_000_010), true)
  })
})
