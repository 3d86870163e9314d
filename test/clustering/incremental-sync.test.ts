/**
 * Incremental sync with real processes and a real Postgres: random sequences of creates,
 * updates and deletes of every entity kind (cascades included) through the Admin API,
 * while data planes follow by deltas. After each batch every DP has the CP's hash and
 * serves what a DP started fresh (whole configuration) serves, and every fourth batch a
 * CP started fresh (reading the whole configuration) has the hash of the CP that followed
 * the changes. A DP offline for 1,000
 * changes catches up by deltas from its cache; one further behind than the CP's history
 * gets the whole configuration.
 */
import assert from 'node:assert/strict'
import {rmSync} from 'node:fs'
import {describe, test} from 'node:test'
import fc from 'fast-check'
import {makeCa, makeCert} from '../helpers/certs.js'
import {clusterBed, freshDatabase, spawnDataPlane, spawnNode, startControlPlane, type ControlPlaneNode, type DataPlaneNode} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-incremental-sync-')

interface SyncStatus {
  configuration_hash: string
  sync: {version: number; deltas_applied: number; full_syncs: number; resyncs_requested: number}
}

const getJson = async (url: string) => (await fetch(url)).json()
const dpStatus = (dp: DataPlaneNode): Promise<SyncStatus> => getJson(`${dp.status}/status`)
const cpHash = async (cp: ControlPlaneNode): Promise<string> => (await getJson(`${cp.status}/status`)).configuration_hash

async function call(cp: ControlPlaneNode, method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${cp.admin}${path}`, {method, headers: body ? {'content-type': 'application/json'} : {}, body: body ? JSON.stringify(body) : undefined})
  await res.arrayBuffer()
  assert.ok(res.status < 500, `${method} ${path} answered ${res.status}`)
  return res.status
}

/** Every row of a collection on the CP. */
async function list(cp: ControlPlaneNode, path: string): Promise<Array<Record<string, any>>> {
  return (await getJson(`${cp.admin}${path}?size=1000`)).data
}

async function sameHash(cp: ControlPlaneNode, dps: DataPlaneNode[]): Promise<string> {
  const hash = await cpHash(cp)
  for (const dp of dps) await until(`DP ${dp.status} to serve configuration ${hash}`, async () => (await dpStatus(dp)).configuration_hash === hash, {timeoutMs: 60_000})
  return hash
}

/** What a DP serves for a few paths: status, body and the header the plugins add. */
async function served(dp: DataPlaneNode, paths: string[]): Promise<string[]> {
  const out: string[] = []
  for (const p of paths) {
    const res = await fetch(`${dp.proxy}${p}`, {headers: {host: 'any.test'}})
    const body = (await res.text()).replace(/"request_id":\s*"[^"]*"/, '"request_id":"…"')
    out.push(`${p} ${res.status} ${res.headers.get('x-v') ?? '-'} ${body.slice(0, 120)}`)
  }
  return out
}

/** One random change; `r` are random naturals, `n` makes names unique. */
type Op = {kind: string; r: number[]}

async function applyOp(cp: ControlPlaneNode, op: Op, n: number, pem: {cert: string; key: string; ca: string}): Promise<void> {
  const pick = <T>(rows: T[], i = 0): T | undefined => (rows.length ? rows[op.r[i] % rows.length] : undefined)
  switch (op.kind) {
    case 'service+':
      await call(cp, 'POST', '/services', {name: `s${n}`, url: `${bed.upstreamUrl}/s${n}`})
      return
    case 'service~': {
      const s = pick(await list(cp, '/services'))
      if (s) await call(cp, 'PATCH', `/services/${s.id}`, {path: `/p${n}`, retries: op.r[1] % 10})
      return
    }
    case 'service-': {
      // its routes go first (each route's plugins go with it: cascade), then the service and its plugins
      const s = pick(await list(cp, '/services'))
      if (!s) return
      for (const r of await list(cp, `/services/${s.id}/routes`)) await call(cp, 'DELETE', `/routes/${r.id}`)
      await call(cp, 'DELETE', `/services/${s.id}`)
      return
    }
    case 'route+': {
      const s = pick(await list(cp, '/services'))
      if (s) await call(cp, 'POST', `/services/${s.id}/routes`, {name: `r${n}`, paths: [`/r${n}`], strip_path: op.r[1] % 2 === 0})
      return
    }
    case 'route~': {
      const r = pick(await list(cp, '/routes'))
      if (r) await call(cp, 'PATCH', `/routes/${r.id}`, {paths: [`/r${n}`, ...r.paths.slice(0, 1)], strip_path: !r.strip_path})
      return
    }
    case 'route-': {
      const r = pick(await list(cp, '/routes'))
      if (r) await call(cp, 'DELETE', `/routes/${r.id}`)
      return
    }
    case 'plugin+': {
      const scopes: Array<Record<string, unknown>> = [{}]
      const route = pick(await list(cp, '/routes'), 1)
      const service = pick(await list(cp, '/services'), 1)
      const consumer = pick(await list(cp, '/consumers'), 1)
      if (route) scopes.push({route: {id: route.id}})
      if (service) scopes.push({service: {id: service.id}})
      if (consumer) scopes.push({consumer: {id: consumer.id}})
      await call(cp, 'POST', '/plugins', {name: 'response-transformer', ...pick(scopes, 2), config: {add: {headers: [`x-v:${n}`]}}})
      return
    }
    case 'plugin~': {
      const p = pick(await list(cp, '/plugins'))
      if (p) await call(cp, 'PATCH', `/plugins/${p.id}`, op.r[1] % 3 === 0 ? {enabled: !p.enabled} : {config: {add: {headers: [`x-v:${n}`]}}})
      return
    }
    case 'plugin-': {
      const p = pick(await list(cp, '/plugins'))
      if (p) await call(cp, 'DELETE', `/plugins/${p.id}`)
      return
    }
    case 'consumer+':
      await call(cp, 'POST', '/consumers', {username: `c${n}`})
      return
    case 'consumer-': {
      // cascades: its credentials, acls and plugins
      const c = pick(await list(cp, '/consumers'))
      if (c) await call(cp, 'DELETE', `/consumers/${c.id}`)
      return
    }
    case 'credential+': {
      const c = pick(await list(cp, '/consumers'))
      if (!c) return
      const which = op.r[1] % 3
      if (which === 0) await call(cp, 'POST', `/consumers/${c.id}/key-auth`, {key: `k${n}`})
      else if (which === 1) await call(cp, 'POST', `/consumers/${c.id}/basic-auth`, {username: `b${n}`, password: `p${n}`})
      else await call(cp, 'POST', `/consumers/${c.id}/acls`, {group: `g${n % 4}`})
      return
    }
    case 'credential-': {
      const c = pick(await list(cp, '/consumers'))
      if (!c) return
      const path = [`/consumers/${c.id}/key-auth`, `/consumers/${c.id}/basic-auth`, `/consumers/${c.id}/acls`][op.r[1] % 3]
      const row = pick(await list(cp, path), 2)
      if (row) await call(cp, 'DELETE', `${path}/${row.id}`)
      return
    }
    case 'upstream+':
      await call(cp, 'POST', '/upstreams', {name: `u${n}.test`})
      return
    case 'upstream~': {
      const u = pick(await list(cp, '/upstreams'))
      if (u) await call(cp, 'PATCH', `/upstreams/${u.id}`, {slots: 100 + (op.r[1] % 100)})
      return
    }
    case 'upstream-': {
      // cascades: its targets
      const u = pick(await list(cp, '/upstreams'))
      if (u) await call(cp, 'DELETE', `/upstreams/${u.id}`)
      return
    }
    case 'target+': {
      const u = pick(await list(cp, '/upstreams'))
      if (u) await call(cp, 'POST', `/upstreams/${u.id}/targets`, {target: `127.0.0.${1 + (n % 200)}:${1000 + n}`, weight: op.r[1] % 100})
      return
    }
    case 'target-': {
      const u = pick(await list(cp, '/upstreams'))
      const t = u ? pick(await list(cp, `/upstreams/${u.id}/targets`), 1) : undefined
      if (u && t) await call(cp, 'DELETE', `/upstreams/${u.id}/targets/${t.id}`)
      return
    }
    case 'certificate+':
      await call(cp, 'POST', '/certificates', {cert: pem.cert, key: pem.key, snis: [`h${n}.test`], tags: [`t${n}`]})
      return
    case 'certificate-': {
      // cascades: its snis
      const c = pick(await list(cp, '/certificates'))
      if (c) await call(cp, 'DELETE', `/certificates/${c.id}`)
      return
    }
    case 'sni+': {
      const c = pick(await list(cp, '/certificates'))
      if (c) await call(cp, 'POST', '/snis', {name: `x${n}.test`, certificate: {id: c.id}})
      return
    }
    case 'sni-': {
      const s = pick(await list(cp, '/snis'))
      if (s) await call(cp, 'DELETE', `/snis/${s.id}`)
      return
    }
    case 'ca+':
      await call(cp, 'POST', '/ca_certificates', {cert: pem.ca, tags: [`t${n}`]})
      return
    case 'ca-': {
      const c = pick(await list(cp, '/ca_certificates'))
      if (c) await call(cp, 'DELETE', `/ca_certificates/${c.id}`)
      return
    }
    default:
      throw new Error(`unknown op ${op.kind}`)
  }
}

const KINDS = ['service+', 'service+', 'service~', 'service-', 'route+', 'route+', 'route+', 'route~', 'route-', 'plugin+', 'plugin+', 'plugin~', 'plugin-', 'consumer+', 'consumer-', 'credential+', 'credential-', 'upstream+', 'upstream~', 'upstream-', 'target+', 'target-', 'certificate+', 'certificate-', 'sni+', 'sni-', 'ca+', 'ca-']
const opArb = fc.record({kind: fc.constantFrom(...KINDS), r: fc.array(fc.nat({max: 1_000_000}), {minLength: 3, maxLength: 3})})

describe('incremental sync', () => {
  test('random changes of every kind reach the data planes as deltas; each batch leaves them equal to a fresh full sync', async (t) => {
    const tls = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile}
    const database = await freshDatabase(bed.pg, 'incsync_random')
    const cp = await startControlPlane(bed.dir, bed.pg, database, tls)
    t.after(() => cp.node.stop())
    const leaf = await makeCert('any.test')
    const ca = await makeCa()
    const pem = {cert: leaf.cert, key: leaf.key, ca: ca.cert}
    // a starting configuration, then two DPs that follow
    await call(cp, 'POST', '/services', {name: 'base', url: bed.upstreamUrl})
    await call(cp, 'POST', '/services/base/routes', {name: 'base', paths: ['/base']})
    const followers = [await spawnDataPlane(bed.dir, cp.cluster, tls), await spawnDataPlane(bed.dir, cp.cluster, tls)]
    t.after(() => Promise.all(followers.map((d) => d.node.stop())))
    await sameHash(cp, followers)

    const ops = fc.sample(opArb, {seed: 16016, numRuns: 96})
    let n = 0
    for (let batch = 0; batch < 8; batch++) {
      for (const op of ops.slice(batch * 12, batch * 12 + 12)) await applyOp(cp, op, n++, pem)
      const hash = await sameHash(cp, followers)
      if (batch % 4 === 3) {
        // the CP follows the database's changes instead of reading everything again: a CP
        // that has just read everything must come to the same configuration
        const second = await startControlPlane(bed.dir, bed.pg, database, tls)
        try {
          assert.equal(await cpHash(second), hash, `batch ${batch}: a CP that read the whole configuration has the same hash`)
        } finally {
          await second.node.stop()
          rmSync(second.node.prefix, {recursive: true, force: true})
        }
      }
      const fresh = await spawnDataPlane(bed.dir, cp.cluster, tls)
      try {
        await sameHash(cp, [fresh])
        const freshStatus = await dpStatus(fresh)
        assert.equal(freshStatus.sync.full_syncs, 1, 'the fresh DP got the whole configuration')
        const routes = await list(cp, '/routes')
        const paths = ['/nowhere', ...routes.slice(0, 6).map((r) => r.paths[0] as string)]
        const expected = await served(fresh, paths)
        for (const dp of followers) {
          const s = await dpStatus(dp)
          assert.equal(s.configuration_hash, hash)
          assert.equal(s.sync.version, freshStatus.sync.version, 'same configuration version as the fresh DP')
          assert.deepEqual(await served(dp, paths), expected, `batch ${batch}: DP ${dp.status} serves what a fresh DP serves`)
        }
      } finally {
        await fresh.node.stop()
        rmSync(fresh.node.prefix, {recursive: true, force: true})
      }
    }
    for (const dp of followers) {
      const s = await dpStatus(dp)
      assert.equal(s.sync.full_syncs, 1, 'one whole configuration (the first), then only deltas')
      assert.ok(s.sync.deltas_applied >= 8, `${s.sync.deltas_applied} deltas applied`)
      assert.equal(s.sync.resyncs_requested, 0)
    }
    const cpSync = (await getJson(`${cp.status}/status`)).sync
    assert.ok(cpSync.deltas_sent >= 16, `the CP sent ${cpSync.deltas_sent} deltas`)
  })

  test('a data plane offline for 1,000 changes catches up by deltas from its cache', async (t) => {
    const tls = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile}
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'incsync_offline'), tls)
    t.after(() => cp.node.stop())
    await call(cp, 'POST', '/services', {name: 'svc', url: bed.upstreamUrl})
    await call(cp, 'POST', '/services/svc/routes', {name: 'keep', paths: ['/keep']})
    const dp = await spawnDataPlane(bed.dir, cp.cluster, tls)
    await sameHash(cp, [dp])
    const before = await dpStatus(dp)
    await dp.node.stop()

    // 1,000 changes: 400 routes created, 300 of them updated, 300 deleted
    // (a few at a time: each is its own transaction and version whatever the concurrency)
    const inParallel = async (count: number, fn: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < count; i += 4) await Promise.all([i, i + 1, i + 2, i + 3].filter((j) => j < count).map(fn))
    }
    const ids: string[] = []
    await inParallel(400, async (i) => {
      const res = await fetch(`${cp.admin}/services/svc/routes`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: `o${i}`, paths: [`/o${i}`]})})
      assert.equal(res.status, 201)
      ids[i] = (await res.json()).id
    })
    await inParallel(300, (i) => call(cp, 'PATCH', `/routes/${ids[i]}`, {paths: [`/o${i}-new`]}))
    await inParallel(300, (i) => call(cp, 'DELETE', `/routes/${ids[i + 100]}`))

    const again = spawnNode(bed.dir, dp.values, {prefix: dp.node.prefix, status: dp.status})
    const back = {...dp, node: again}
    t.after(() => again.stop())
    await sameHash(cp, [back])
    const after = await dpStatus(back)
    assert.equal(after.sync.full_syncs, 0, 'no whole configuration after the restart')
    assert.equal(after.sync.deltas_applied, 1, 'one delta with the 1,000 changes')
    assert.ok(after.sync.version >= before.sync.version + 1000, `version ${before.sync.version} → ${after.sync.version}`)
    assert.match(again.output(), /serving configuration [0-9a-f]{32} \(version \d+\) from /)
    assert.equal((await fetch(`${back.proxy}/o5-new`)).status, 200)
    assert.equal((await fetch(`${back.proxy}/o5`)).status, 404)
    assert.equal((await fetch(`${back.proxy}/o150`)).status, 404)
    assert.equal((await fetch(`${back.proxy}/keep`)).status, 200)
  })

  test('a data plane further behind than the kept history gets the whole configuration', async (t) => {
    const tls = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile}
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'incsync_behind'), {...tls, kctl_cluster_sync_history: 10})
    t.after(() => cp.node.stop())
    await call(cp, 'POST', '/services', {name: 'svc', url: bed.upstreamUrl})
    const dp = await spawnDataPlane(bed.dir, cp.cluster, tls)
    await sameHash(cp, [dp])
    await dp.node.stop()
    for (let i = 0; i < 40; i++) await call(cp, 'POST', '/services/svc/routes', {paths: [`/b${i}`]})
    const again = spawnNode(bed.dir, dp.values, {prefix: dp.node.prefix, status: dp.status})
    const back = {...dp, node: again}
    t.after(() => again.stop())
    await sameHash(cp, [back])
    const s = await dpStatus(back)
    assert.equal(s.sync.full_syncs, 1, 'the whole configuration')
    assert.equal(s.sync.deltas_applied, 0)
    assert.equal((await fetch(`${back.proxy}/b39`)).status, 200)
    // and it follows by deltas from there
    await call(cp, 'POST', '/services/svc/routes', {paths: ['/later']})
    await sameHash(cp, [back])
    assert.equal((await dpStatus(back)).sync.deltas_applied, 1)
  })
})
